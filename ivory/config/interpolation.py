"""``${a.b}`` value interpolation, resolved by OmegaConf after the overrides are applied.

Cycles are found here first, so that a cyclic file is an error naming the cycle
(``a -> b -> a``) rather than a `RecursionError` inside OmegaConf.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ivory.config.paths import Path, format_path

__all__ = ["find_cycle", "has_interpolation", "resolve"]

_INTERPOLATION = re.compile(r"(?<!\\)\$\{([^${}]+)\}")


def has_interpolation(tree: Any) -> bool:
    """Whether any string in `tree` contains ``${…}``."""
    return any(_INTERPOLATION.search(text) for _, text in _strings(tree, ()))


def _strings(node: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _strings(item, (*path, i))
    elif isinstance(node, str) and "${" in node:
        yield path, node


def _target(expression: str) -> Path | None:
    expression = expression.strip()
    if ":" in expression:  # A resolver call such as ${oc.env:HOME}: no node dependency.
        return None
    return tuple(int(p) if p.isdigit() else p for p in expression.split("."))


def find_cycle(tree: Any) -> list[str] | None:
    """The first cycle of interpolations, as the list of paths around it, or None."""
    edges: dict[Path, list[Path]] = {}
    for path, text in _strings(tree, ()):
        for match in _INTERPOLATION.finditer(text):
            target = _target(match.group(1))
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
