"""Flattening a parameter tree into tracker keys and values, within MLflow's limits.

The rule, applied the same way whether parameters are logged one by one or in batches:

- Keys are the path joined with dots (``estimator.max_depth``). A list of scalars is one value
  (``[64, 32]``); a list holding mappings is flattened by index (``layers.0.units``).
- A character that MLflow refuses in a key (anything but letters, digits, ``_``, ``-``, ``.``,
  space and ``/``; letters include unicode ones) becomes ``_``: ``MAP@k`` is logged as
  ``MAP_k``. The mapping from changed keys to their paths is returned so that it can be
  recorded with the run (``param_keys.yaml``).
- Two paths that give the same key (``model["dropout.p"]`` and ``model.dropout.p``, or
  ``MAP@k`` next to ``MAP_k``) are an error naming both, before anything is logged.
- Values are written as YAML scalars: ``true``, ``null``, ``0.001``, ``inf``, ``nan``; an enum
  as its value, a path as its text; a string as itself, so the empty string is logged empty.
  Tracked values are for reading and searching; ``params.yaml`` keeps the exact types.
- A value longer than 6000 characters is cut to fit, ending with ``...[truncated]``, with a
  warning naming the path, its length and the limit; the untruncated value stays in the
  ``params.yaml`` artifact. A key longer than 250 characters is an error.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator
from typing import Any

from ivory.config.dump import to_serializable
from ivory.config.paths import Path, format_path
from ivory.errors import ConfigError, ConfigIssue, IvoryWarning

__all__ = ["MAX_KEY_LENGTH", "MAX_VALUE_LENGTH", "flatten", "format_value", "tracker_key"]

MAX_KEY_LENGTH = 250
MAX_VALUE_LENGTH = 6000
TRUNCATED = "...[truncated]"
_BAD_KEY_CHARACTER = re.compile(r"[^\w\-. /]")


def flatten(tree: dict[str, Any], prefix: str = "") -> tuple[dict[str, str], dict[str, str]]:
    """Flatten `tree` into ``{key: value}`` for the tracker.

    Args:
        tree: A section of parameters.
        prefix: The section name, used in the paths of messages.

    Returns:
        The flat parameters, and ``{logged key: original path}`` for every key the rule changed.

    Raises:
        ConfigError: Two paths flatten to the same key, or a key is too long.
    """
    flat: dict[str, str] = {}
    origin: dict[str, Path] = {}
    renamed: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for path, value in _leaves(to_serializable(tree), ()):
        raw = ".".join(str(segment) for segment in path)
        key = tracker_key(raw)
        shown = format_path((prefix, *path) if prefix else path)
        if key in origin:
            other = format_path((prefix, *origin[key]) if prefix else origin[key])
            why = _why(raw, origin[key])
            issues.append(
                ConfigIssue(
                    shown,
                    f"flattens to the tracker key {key!r}, as {other} does{why}; "
                    "rename one of them",
                )
            )
            continue
        if len(key) > MAX_KEY_LENGTH:
            issues.append(
                ConfigIssue(
                    shown, f"the tracker key is {len(key)} characters long (limit {MAX_KEY_LENGTH})"
                )
            )
            continue
        origin[key] = path
        if key != raw:
            renamed[key] = format_path(path)
        text = format_value(value)
        if len(text) > MAX_VALUE_LENGTH:
            warnings.warn(
                f"{shown}: value of {len(text)} characters cut to the tracker's limit of "
                f"{MAX_VALUE_LENGTH}; params.yaml keeps it whole",
                IvoryWarning,
                stacklevel=3,
            )
            text = text[: MAX_VALUE_LENGTH - len(TRUNCATED)] + TRUNCATED
        flat[key] = text
    if issues:
        raise ConfigError(issues)
    return flat, renamed


def tracker_key(text: str) -> str:
    """The key MLflow accepts for a dotted path: each character it refuses becomes ``_``.

    Example:
        >>> tracker_key("metrics_cfg.MAP@k"), tracker_key("学习率")
        ('metrics_cfg.MAP_k', '学习率')
    """
    return _BAD_KEY_CHARACTER.sub("_", text)


def _why(raw: str, other: Path) -> str:
    if _BAD_KEY_CHARACTER.search(raw) or _BAD_KEY_CHARACTER.search(".".join(map(str, other))):
        return " (characters MLflow refuses in keys become '_')"
    return ""


def _leaves(node: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    if isinstance(node, dict):
        if not node and path:  # An empty section (a task's) has nothing to log.
            yield path, node
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list) and any(isinstance(item, dict | list) for item in node):
        for i, item in enumerate(node):
            yield from _leaves(item, (*path, i))
    else:
        yield path, node


def format_value(value: Any) -> str:
    """The tracker text of one value (a YAML scalar, or a flow list of scalars)."""
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)
