"""Writing parameters back out: plain values, and YAML that loads back to the same values."""

from __future__ import annotations

import enum
import io
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
    """YAML 1.2 text of `tree` that `ivory.config.loader.load_text` reads back equal."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 4096
    stream = io.StringIO()
    yaml.dump(to_serializable(tree), stream)
    return stream.getvalue()
