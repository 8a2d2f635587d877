"""Matching tracked runs against a query of parameter conditions (`Client.search_run_ids`).

A query maps parameter names to conditions. A name is a full dotted key as tracked
(``datasets.fold``) or a suffix of one (``fold``); a condition is a value (equal), a list of
values (any of them) or a ``(low, high)`` tuple (an inclusive range). A tracked value matches a
value when its text is the text ivory would log for that value, or when it reads back (as YAML)
equal to it, so ``fold=1``, ``fold="1"`` and ``lr=1e-3`` all work.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from ivory.errors import IvoryError
from ivory.tracking.flatten import format_value, tracker_key

__all__ = ["match_runs", "matches", "resolve_key"]


def match_runs(runs: Iterable[Any], query: Mapping[str, Any]) -> list[Any]:
    """The runs (MLflow records) whose parameters satisfy every condition of `query`.

    Raises:
        IvoryError: A name matches no tracked parameter, or several.
    """
    runs = list(runs)
    if not query:
        return runs
    keys = {key for run in runs for key in run.data.params}
    resolved = {resolve_key(name, keys): condition for name, condition in query.items()}
    return [
        run
        for run in runs
        if all(
            key in run.data.params and matches(run.data.params[key], condition)
            for key, condition in resolved.items()
        )
    ]


def resolve_key(name: str, keys: set[str]) -> str:
    """The tracked key that `name` stands for: itself, or the one key ending with ``.name``.

    Raises:
        IvoryError: No key or several keys match.
    """
    # A name as written in the file finds the key it was logged under (``MAP@k``: ``MAP_k``).
    name = tracker_key(name)
    if name in keys:
        return name
    found = sorted(key for key in keys if key.endswith(f".{name}"))
    if len(found) == 1:
        return found[0]
    if found:
        raise IvoryError(f"{name}: matches several parameters: {', '.join(found)}; give more")
    suffixes: dict[str, set[str]] = {}
    for key in keys:
        parts = key.split(".")
        for i in range(len(parts)):
            suffixes.setdefault(".".join(parts[i:]), set()).add(key)
    similar = difflib.get_close_matches(name, sorted(suffixes), n=3, cutoff=0.6)
    close = sorted({key for suffix in similar for key in suffixes[suffix]})[:3]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise IvoryError(f"{name}: no tracked parameter is called so{hint}")


def matches(text: str, condition: Any) -> bool:
    """Whether a tracked value (`text`) satisfies `condition`.

    Example:
        >>> matches("3", (1, 3)), matches("0.001", 1e-3), matches("sqrt", ["log2", "sqrt"])
        (True, True, True)
    """
    if isinstance(condition, tuple):
        if len(condition) != 2:
            raise IvoryError(f"a range is a (low, high) pair (got {condition!r})")
        value = _read(text)
        low, high = condition
        try:
            return bool((low is None or value >= low) and (high is None or value <= high))
        except TypeError:
            return False
    if isinstance(condition, list | set | frozenset):
        return any(_is(text, item) for item in condition)
    return _is(text, condition)


def _is(text: str, value: Any) -> bool:
    if text == format_value(value):
        return True
    read = _read(text)
    if isinstance(read, bool) or isinstance(value, bool):
        return read is value
    try:
        return bool(read == value)
    except Exception:
        return False


@functools.lru_cache(maxsize=4096)
def _read(text: str) -> Any:
    from ivory.config.values import parse_scalar

    return parse_scalar(text)
