"""Writing parameters back out: plain values, and YAML that loads back to the same values."""

from __future__ import annotations

import enum
import functools
import io
import math
import pathlib
from typing import Any

__all__ = ["dump_yaml", "to_serializable"]


def to_serializable(value: Any) -> Any:
    """Turn a parameter tree into plain dicts, lists and YAML scalars.

    Enums become their values, paths their text, tuples lists, numpy scalars Python numbers.
    Floats stay floats (NaN and infinities included) and integers stay exact.
    """
    if isinstance(value, dict):
        return {to_serializable(key): to_serializable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_serializable(item) for item in value]
    if isinstance(value, enum.Enum):
        return to_serializable(value.value)
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    return str(value)


def dump_yaml(tree: Any) -> str:
    """YAML 1.2 text of `tree` that `ivory.config.loader.load_text` reads back equal.

    Floats in exponent form keep a decimal point (``1.0e-05``, not ``1e-05``), so that readers
    of YAML 1.1 (PyYAML's ``safe_load``) read them as floats too, not as strings (CASES B05).

    Example:
        >>> print(dump_yaml({"lr": 1e-05, "big": 1e20, "ratio": 0.5}), end="")
        lr: 1.0e-05
        big: 1.0e+20
        ratio: 0.5
    """
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.Representer = _representer()
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 4096
    stream = io.StringIO()
    yaml.dump(to_serializable(tree), stream)
    return stream.getvalue()


@functools.cache
def _representer() -> Any:
    """The safe representer of ruamel.yaml, with floats that YAML 1.1 readers take as floats."""
    from ruamel.yaml.representer import SafeRepresenter

    class Representer(SafeRepresenter):
        pass

    def represent_float(representer: Any, value: float) -> Any:
        text = repr(value)
        mantissa, marker, exponent = text.partition("e")
        if not marker or not math.isfinite(value):
            return SafeRepresenter.represent_float(representer, value)
        if "." not in mantissa:
            mantissa += ".0"
        return representer.represent_scalar("tag:yaml.org,2002:float", f"{mantissa}e{exponent}")

    Representer.add_representer(float, represent_float)
    return Representer
