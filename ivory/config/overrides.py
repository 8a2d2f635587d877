r"""Resolving override names against a section and applying their values.

Names are full dotted paths (``model.hidden_sizes``), list elements (``hidden_sizes.0`` or
``hidden_sizes[0]``), short names matched by suffix (``lr`` for ``optimizer.lr``), colon lists
(``hidden_sizes:0``, ``hidden_sizes:1``, …) and escaped dots (``special.bos\.token``). A leading
``+`` adds a key the file does not have. Nothing here guesses: a name that matches nothing or
several things is an error that says what it could have meant.

Values written as text (`Text`, from the command line) are parsed for the field they land in,
found through the constructor of the nearest node above them and the types of its fields: a
string field takes the text as written, any other field its YAML reading.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivory.config.check import Issue
from ivory.config.form import constructor_key
from ivory.config.paths import Path, format_path, parse_path
from ivory.config.schema import (
    accepts_str,
    allows_none,
    annotation_at,
    field_annotation,
    field_names,
    model_for,
)
from ivory.config.values import Text, parse_scalar, unquote
from ivory.errors import RegistryError
from ivory.registry import CONSTRUCTOR_KEYS, Registry

__all__ = ["Resolved", "apply_overrides", "collapse_colon_lists"]

_COLON = re.compile(r"^(?P<base>.+):(?P<index>\d+)$")
_NULLS = ("null", "Null", "NULL", "~")


@dataclass
class Resolved:
    """An override whose name was resolved to a path of the section.

    Attributes:
        given: The name as the caller wrote it (for a colon list, its base name).
        path: The path in the section.
        source: The override as text (``name=value``), for messages.
        parts: For a colon list, the names as given (``hidden_sizes:0``, …) in item order.
    """

    given: str
    path: Path
    source: str
    parts: list[str] = field(default_factory=list)


@dataclass
class Collapsed:
    """Overrides with colon lists gathered: name to value, and the names each list came from."""

    values: dict[str, Any]
    parts: dict[str, list[str]]


def collapse_colon_lists(updates: Mapping[str, Any]) -> tuple[Collapsed, list[Issue]]:
    """Gather ``name:0``, ``name:1``, … into one list value under ``name``."""
    result: dict[str, Any] = {}
    lists: dict[str, dict[int, tuple[str, Any]]] = {}
    for key, value in updates.items():
        match = _COLON.match(key) if isinstance(key, str) else None
        if match:
            lists.setdefault(match["base"], {})[int(match["index"])] = (key, value)
            result.setdefault(match["base"], None)
        else:
            result[key] = value
    issues: list[Issue] = []
    parts: dict[str, list[str]] = {}
    for base, items in lists.items():
        given = " ".join(_source(items[i][0], items[i][1], None) for i in sorted(items))
        if sorted(items) != list(range(len(items))):
            numbers = ", ".join(map(str, sorted(items)))
            issues.append(
                Issue(
                    (),
                    f"a colon list must number its items 0, 1, … without gaps (got {numbers})",
                    override=given,
                    name=base,
                )
            )
            result.pop(base, None)
            continue
        if base in updates:
            message = "given both whole and as a colon list; give one"
            issues.append(Issue((), message, override=given, name=base))
            result.pop(base, None)
            continue
        result[base] = [items[i][1] for i in range(len(items))]
        parts[base] = [items[i][0] for i in range(len(items))]
    return Collapsed(result, parts), issues


def apply_overrides(
    section: dict[str, Any], updates: Collapsed, registry: Registry, section_name: str
) -> tuple[list[Resolved], list[Issue]]:
    """Set each override in `section` (in place), resolving its name first.

    Returns:
        The resolved overrides, and an issue for each name that could not be resolved or set.
    """
    resolved: list[Resolved] = []
    issues: list[Issue] = []
    index: list[Path] | None = None

    def paths() -> list[Path]:
        nonlocal index
        if index is None:
            index = list(_paths(section, ()))
        return index

    for given, value in updates.values.items():
        source = _source(str(given), value, updates.parts.get(given))
        try:
            path = _resolve(section, str(given), registry, paths, section_name)
            _check_overlap(path, resolved)
            new = _coerce(section, path, value, registry)
            old = _set(section, path, new)
        except _Unresolved as exc:
            issues.append(Issue((), exc.message, value, override=source))
            continue
        resolved.append(Resolved(str(given), path, source, updates.parts.get(given, [])))
        if old is _ABSENT or isinstance(old, dict | list) or isinstance(new, dict | list):
            index = None  # The tree changed shape; list its paths again when needed.
    return resolved, issues


def _check_overlap(path: Path, resolved: list[Resolved]) -> None:
    """Refuse an override of a node that another override of the call sets or lies in."""
    for other in resolved:
        shorter = min(len(path), len(other.path))
        if path[:shorter] == other.path[:shorter]:
            raise _Unresolved(
                f"{format_path(path)} overlaps the override {other.source}; give one of them"
            )


def _source(given: str, value: Any, parts: list[str] | None) -> str:
    if parts:
        return " ".join(_source(part, item, None) for part, item in zip(parts, value, strict=True))
    return f"{given}={value}" if isinstance(value, Text) else f"{given}={value!r}"


class _Unresolved(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _paths(node: Any, path: Path) -> Iterator[Path]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield (*path, i)
            yield from _paths(item, (*path, i))


# Names.


def _resolve(
    section: dict[str, Any],
    given: str,
    registry: Registry,
    index: Callable[[], list[Path]],
    section_name: str,
) -> Path:
    adding = given.startswith("+")
    try:
        segments = parse_path(given[1:] if adding else given)
    except ValueError as exc:
        raise _Unresolved(str(exc)) from exc
    if len(segments) > 1 and segments[0] == section_name and segments[1] in section:
        segments = segments[1:]  # A path pasted from an error message, with its section.

    # A full path from the top of the section.
    walked, failure = _walk(section, segments, registry, adding)
    if walked is not None:
        return walked
    if adding or (segments[0] in section and failure):
        raise _Unresolved(failure or "cannot add this key")

    # A short name: a key anywhere named like its first segment, then the rest from there.
    matches, failures = _anchored(section, segments, registry, index())
    if not matches:
        matches = [path for path in _unset_fields(section, registry) if _ends_with(path, segments)]
    if not matches and len(failures) == 1:
        raise _Unresolved(failures[0])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        listed = ", ".join(format_path(path) for path in matches)
        raise _Unresolved(f"ambiguous name: it matches {listed}; give one of these paths")
    raise _Unresolved(_unknown(given, segments, index()))


def _anchored(
    section: dict[str, Any], segments: tuple[str, ...], registry: Registry, index: list[Path]
) -> tuple[list[Path], list[str]]:
    """Paths that end like `segments`: its first segment is a key, the rest is walked from it.

    Returns:
        The paths found, and why the walk failed below each key that matched the first segment.
    """
    matches: list[Path] = []
    failures: list[str] = []
    for path in index:
        if not path or str(path[-1]) != segments[0] or isinstance(path[-1], bool):
            continue
        node = _value_at(section, path)
        if len(segments) == 1:
            matches.append(path)
            continue
        if not isinstance(node, dict | list):
            continue
        walked, failure = _walk(node, segments[1:], registry, False, path)
        if walked is not None:
            matches.append((*path, *walked))
        else:
            failures.append(failure)
    return matches, failures


def _value_at(tree: Any, path: Path) -> Any:
    for segment in path:
        tree = tree[segment]
    return tree


def _ends_with(path: Path, segments: tuple[str, ...]) -> bool:
    if len(path) < len(segments):
        return False
    return all(
        str(a) == b for a, b in zip(path[len(path) - len(segments) :], segments, strict=True)
    )


def _walk(
    section: Any,
    segments: tuple[str, ...],
    registry: Registry,
    adding: bool,
    above: Path = (),
) -> tuple[Path | None, str]:
    """Follow `segments` from `section` (found at `above`); return the path, or None and why not.

    The path returned is relative to `section`; messages name full paths.
    """
    node: Any = section
    path: list[str | int] = []
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        full = (*above, *path)
        where = format_path(full) or "the top"
        if isinstance(node, list):
            if not re.fullmatch(r"-?\d+", segment):
                return None, f"{where} is a list; index it with a number (got {segment!r})"
            position = int(segment)
            if not -len(node) <= position < len(node):
                return None, (
                    f"index {position} is out of range: {where} has "
                    f"{len(node)} element{'s' if len(node) != 1 else ''}"
                )
            path.append(position % len(node))
            node = node[position]
            continue
        if not isinstance(node, dict):
            kind = "null" if node is None else f"a {type(node).__name__} value"
            return None, f"{where} is {kind}, not a mapping or a list"
        key = _key_in(node, segment)
        if key is not _ABSENT:
            path.append(key)
            node = node[key]
            continue
        if last and (adding or _accepts(node, segment, registry)):
            return (*path, segment), ""
        return None, _unknown_key(node, segment, segments[depth:], list(full), registry)
    return tuple(path), ""


_ABSENT: Any = object()


def _key_in(node: dict[Any, Any], segment: str) -> Any:
    """The key of `node` that `segment` names: the text itself, or an int key written so."""
    if segment in node:
        return segment
    if re.fullmatch(r"-?\d+", segment) and int(segment) in node:
        return int(segment)
    return _ABSENT


def _constructor(node: dict[str, Any], registry: Registry) -> Any:
    """The constructor a node names, or None when it names none or an unknown one."""
    kind = constructor_key(node)
    if kind is None:
        return None
    name = node[kind]
    if not isinstance(name, str):
        return name if callable(name) else None
    try:
        return registry.get(name)
    except RegistryError:
        return None


def _accepts(node: dict[str, Any], key: str, registry: Registry) -> bool:
    constructor = _constructor(node, registry)
    if constructor is None:
        return False
    kind = constructor_key(node)
    kwargs = {k: v for k, v in node.items() if k != kind}
    accepted, _ = field_annotation(constructor, kwargs, key)
    return accepted


def _unknown_key(
    node: dict[str, Any],
    segment: str,
    rest: tuple[str, ...],
    path: list[str | int],
    registry: Registry,
) -> str:
    full = format_path((*path, segment))
    joined = ".".join(rest)
    if len(rest) > 1 and joined in node:
        escaped = format_path((*path, joined))
        return f"unknown key {full}; the key {joined!r} exists: escape its dots as {escaped}"
    names = [str(key) for key in node] + _field_names(node, registry)
    close = difflib.get_close_matches(segment, names, n=1, cutoff=0.5)
    message = f"unknown key {full}"
    if close:
        message += f"; did you mean {format_path((*path, close[0]))}?"
    elif names:
        where = format_path(path) or "the top"
        message += f"; {where} has {', '.join(names[:12])}{', …' if len(names) > 12 else ''}"
        if constructor_key(node) is None:
            # Only a plain mapping takes new keys; a constructor's node takes its arguments.
            message += f" (write +{full}=... to add a new key)"
    return message


def _field_names(node: dict[str, Any], registry: Registry) -> list[str]:
    constructor = _constructor(node, registry)
    if constructor is None:
        return []
    kind = constructor_key(node)
    model = model_for(constructor, {k: v for k, v in node.items() if k != kind})
    return [] if model is None else [name for name in field_names(model) if name not in node]


def _unset_fields(section: dict[str, Any], registry: Registry) -> Iterator[Path]:
    """Paths of the constructor arguments a node could take but does not set."""
    stack: list[tuple[Any, Path]] = [(section, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for name in _field_names(node, registry):
                yield (*path, name)
            stack.extend((value, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(node))


def _unknown(given: str, segments: tuple[str, ...], index: list[Path]) -> str:
    last = segments[-1]
    by_last: dict[str, list[Path]] = {}
    for path in index:
        if path and isinstance(path[-1], str):
            by_last.setdefault(path[-1], []).append(path)
    close = difflib.get_close_matches(last, list(by_last), n=3, cutoff=0.6)
    message = f"unknown name {given!r}: no parameter is called so"
    if close:
        options = [format_path(path) for name in close for path in by_last[name]]
        message += "; did you mean " + " or ".join(options) + "?"
    return message


# Values.


def _coerce(section: dict[str, Any], path: Path, value: Any, registry: Registry) -> Any:
    """Parse command-line text for the field it lands in; other values are copied unchanged."""
    if path and path[-1] in CONSTRUCTOR_KEYS:
        if isinstance(value, Text):
            text = str(value)
            return unquote(text) if unquote(text) is not None else text
        return value
    if not _holds_text(value):
        return _copy(value)
    if isinstance(value, Text):
        _refuse_sweep(value)
    return _parse(value, _annotation(section, path, registry))


def _refuse_sweep(value: Text) -> None:
    """One set of parameters takes one value; a sweep (``0,1,2``, ``0-4``) needs a task."""
    from ivory.config.grammar import Sweep, parse_value
    from ivory.errors import ConfigError

    try:
        parsed = parse_value(str(value))
    except ConfigError:
        return  # Not valid sweep text: the field's own parsing judges it.
    if isinstance(parsed, Sweep):
        raise _Unresolved(
            f"this value sweeps {len(parsed)} values; one run takes one value: run a task "
            "(ivory run, Task.product) or quote the value to keep it as text"
        )


def _holds_text(value: Any) -> bool:
    if isinstance(value, Text):
        return True
    if isinstance(value, list):
        return any(_holds_text(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_text(item) for item in value.values())
    return False


def _copy(value: Any) -> Any:
    """A copy of the containers of `value`, so the caller's objects never enter the tree."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(item) for item in value]
    return value


def _parse(value: Any, annotation: Any) -> Any:
    if isinstance(value, list):
        return [_parse(item, annotation_at(annotation, (i,))) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _parse(item, annotation_at(annotation, (key,))) for key, item in value.items()}
    if not isinstance(value, Text):
        return value
    text = str(value)
    if accepts_str(annotation):
        if text in _NULLS and allows_none(annotation):
            return None
        quoted = unquote(text)
        return quoted if quoted is not None else text
    return parse_scalar(text)


def _annotation(section: dict[str, Any], path: Path, registry: Registry) -> Any:
    """The type of the field at `path`: from the nearest node above it that names a constructor."""
    nodes: list[Any] = [section]
    for segment in path[:-1]:
        nodes.append(nodes[-1][segment])
    for depth in range(len(path) - 1, -1, -1):
        node = nodes[depth]
        if not isinstance(node, dict) or not isinstance(path[depth], str):
            continue
        constructor = _constructor(node, registry)
        if constructor is None:
            continue
        kind = constructor_key(node)
        kwargs = {k: v for k, v in node.items() if k != kind}
        _, annotation = field_annotation(constructor, kwargs, str(path[depth]))
        return annotation_at(annotation, path[depth + 1 :])
    return Any


def _set(section: dict[str, Any], path: Path, value: Any) -> Any:
    """Set the value at `path`; return the value it replaces, or `_ABSENT`."""
    node: Any = section
    for segment in path[:-1]:
        node = node[segment]
    old = node.get(path[-1], _ABSENT) if isinstance(node, dict) else node[path[-1]]
    node[path[-1]] = value
    return old
