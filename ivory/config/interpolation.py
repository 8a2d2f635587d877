"""``${a.b}`` value interpolation, resolved by OmegaConf after the overrides are applied.

Cycles are found here first, so that a cyclic file is an error naming the cycle
(``a -> b -> a``) rather than a `RecursionError` inside OmegaConf.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from ivory.config.paths import Path, format_path

__all__ = ["find_cycle", "find_problems", "has_interpolation", "resolve"]

_INTERPOLATION = re.compile(r"(?<!\\)\$\{([^${}]+)\}")


def has_interpolation(tree: Any) -> bool:
    r"""Whether any string in `tree` contains ``${…}``, or its escaped form ``\${…}``."""
    return any(_INTERPOLATION.search(text) or "\\${" in text for _, text in _strings(tree, ()))


def _strings(node: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _strings(item, (*path, i))
    elif isinstance(node, str) and "${" in node:
        yield path, node


def _target(expression: str, path: Path = ()) -> Path | None:
    """The path an interpolation at `path` points to; None for a resolver call."""
    expression = expression.strip()
    if ":" in expression:  # A resolver call such as ${oc.env:HOME}: no node dependency.
        return None
    dots = len(expression) - len(expression.lstrip("."))
    base = path[: max(len(path) - dots, 0)] if dots else ()
    rest = expression[dots:]
    segments = tuple(int(p) if p.isdigit() else p for p in rest.split(".")) if rest else ()
    return (*base, *segments)


def _exists(tree: Any, path: Path) -> bool:
    for segment in path:
        if isinstance(tree, dict) and segment in tree:
            tree = tree[segment]
        elif isinstance(tree, dict) and str(segment) in tree:
            tree = tree[str(segment)]
        elif isinstance(tree, list) and isinstance(segment, int) and 0 <= segment < len(tree):
            tree = tree[segment]
        else:
            return False
    return True


def find_problems(tree: Any) -> list[tuple[Path, str, str]]:
    """Interpolations that name no node, and the first cycle: ``(path, message, text)``.

    Example:
        >>> find_problems({"a": "${b}", "b": "${a}"})
        [(('a',), 'interpolations form a cycle: a -> b -> a', '${b}')]
    """
    problems: list[tuple[Path, str, str]] = []
    names: list[str] | None = None
    for path, text in _strings(tree, ()):
        for match in _INTERPOLATION.finditer(text):
            target = _target(match.group(1), path)
            if target is None or _exists(tree, target):
                continue
            if names is None:
                names = [format_path(p) for p in _all_paths(tree, ())]
            wanted = format_path(target)
            close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
            hint = f"; did you mean ${{{close[0]}}}?" if close else ""
            problems.append(
                (path, f"interpolation {match.group(0)} names no parameter {wanted!r}{hint}", text)
            )
    if problems:
        return problems
    cycle = find_cycle(tree)
    if cycle:
        first = next(path for path, _ in _strings(tree, ()) if format_path(path) == cycle[0])
        text = _value(tree, first)
        problems.append((first, "interpolations form a cycle: " + " -> ".join(cycle), text))
    return problems


def _all_paths(node: Any, path: Path) -> Iterator[Path]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _all_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield (*path, i)
            yield from _all_paths(item, (*path, i))


def _value(tree: Any, path: Path) -> Any:
    for segment in path:
        tree = tree[segment]
    return tree


def find_cycle(tree: Any) -> list[str] | None:
    """The first cycle of interpolations, as the list of paths around it, or None."""
    edges: dict[Path, list[Path]] = {}
    for path, text in _strings(tree, ()):
        for match in _INTERPOLATION.finditer(text):
            target = _target(match.group(1), path)
            if target is not None:
                edges.setdefault(path, []).append(target)

    def depends(target: Path) -> list[Path]:
        # A node depends on every interpolating leaf at or below it, and on its own edges.
        return [
            source
            for source in edges
            if source[: len(target)] == target or target[: len(source)] == source
        ]

    state: dict[Path, int] = {}
    stack: list[Path] = []

    def visit(node: Path) -> list[Path] | None:
        state[node] = 1
        stack.append(node)
        for target in edges.get(node, []):
            for source in depends(target) or []:
                if state.get(source) == 1:
                    return [*stack[stack.index(source) :], source]
                if state.get(source) is None and (cycle := visit(source)):
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in edges:
        if state.get(node) is None and (cycle := visit(node)):
            return [format_path(p) for p in cycle]
    return None


def resolve(tree: dict[str, Any]) -> dict[str, Any]:
    """Resolve every interpolation of `tree` with OmegaConf; the result holds plain values.

    Raises:
        omegaconf.errors.OmegaConfBaseException: An interpolation names no node.
    """
    from omegaconf import OmegaConf

    config = OmegaConf.create(tree, flags={"allow_objects": True})
    resolved = OmegaConf.to_container(config, resolve=True)
    assert isinstance(resolved, dict)
    return resolved  # type: ignore[return-value]
