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

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_VALUE_LENGTH",
    "flatten",
    "format_value",
    "key_problems",
    "tracker_key",
]

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
    leaves = list(_leaves(to_serializable(tree), ()))
    problems = _key_problems(leaves, prefix)
    if problems:
        raise ConfigError(
            [ConfigIssue(_shown(path, prefix), message) for path, message in problems]
        )
    flat: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for path, value in leaves:
        raw = ".".join(str(segment) for segment in path)
        key = tracker_key(raw)
        if key != raw:
            renamed[key] = format_path(path)
        text = format_value(value)
        if len(text) > MAX_VALUE_LENGTH:
            warnings.warn(
                f"{_shown(path, prefix)}: value of {len(text)} characters cut to the tracker's "
                f"limit of {MAX_VALUE_LENGTH}; params.yaml keeps it whole",
                IvoryWarning,
                stacklevel=3,
            )
            text = text[: MAX_VALUE_LENGTH - len(TRUNCATED)] + TRUNCATED
        flat[key] = text
    return flat, renamed


def key_problems(tree: dict[str, Any], prefix: str = "") -> list[tuple[Path, str]]:
    """The paths of `tree` that cannot be tracked, each with why: `flatten`'s errors, unraised.

    Args:
        tree: A section of parameters.
        prefix: The section name, used in the paths that messages name.

    Returns:
        ``(path in tree, message)`` for every path whose key another path already has (the
        message names both), or whose key is too long.

    Example:
        >>> for path, message in key_problems({"a@b": 1, "a_b": 2}):
        ...     print(path, message.split(" (")[0])
        ('a_b',) flattens to the tracker key 'a_b', as a@b does
    """
    return _key_problems(list(_leaves(to_serializable(tree), ())), prefix)


def _key_problems(leaves: list[tuple[Path, Any]], prefix: str) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    origin: dict[str, Path] = {}
    for path, _ in leaves:
        raw = ".".join(str(segment) for segment in path)
        key = tracker_key(raw)
        if key in origin:
            other = _shown(origin[key], prefix)
            why = _why(raw, origin[key])
            message = f"flattens to the tracker key {key!r}, as {other} does{why}"
            problems.append((path, f"{message}; rename one of them"))
        elif len(key) > MAX_KEY_LENGTH:
            problems.append(
                (path, f"the tracker key is {len(key)} characters long (limit {MAX_KEY_LENGTH})")
            )
        else:
            origin[key] = path
    return problems


def _shown(path: Path, prefix: str) -> str:
    return format_path((prefix, *path) if prefix else path)


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
