"""Building the members of a run from validated parameters.

Members are built in dependency order (a member that another refers to comes first; otherwise
file order), each exactly once: every reference to a member is the same object. Nested nodes are
built before the node that takes them.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from ivory.config.check import builds_objects, member_order, references_in
from ivory.config.form import constructor_key
from ivory.config.paths import Path, format_path
from ivory.config.references import is_reference, parse_reference
from ivory.config.schema import validate_kwargs
from ivory.errors import BuildError, IvoryError
from ivory.registry import Registry

__all__ = ["build_members"]

logger = logging.getLogger(__name__)


def build_members(
    section: dict[str, Any], registry: Registry, *, only: str | None = None, prefix: str = "run"
) -> dict[str, Any]:
    """Build every member of a validated section (or `only` one and what it needs).

    Returns:
        Member name to instance, in file order. A member whose value is null is None; a plain
        value (no constructor) is that value.

    Raises:
        BuildError: A reference cannot be followed, members form a cycle, or a constructor raised.
    """
    order, issues = member_order(section)
    if issues:
        raise BuildError("; ".join(f"{prefix}.{format_path(i.path)}: {i.message}" for i in issues))
    if only is not None:
        if only not in section:
            raise BuildError(f"no member {only!r}; members are: {', '.join(section)}")
        order = [name for name in order if name in _needed(section, only)]
    namespace: dict[str, Any] = {}
    for name in order:
        namespace[name] = _build(section[name], name, (prefix, name), namespace, registry)
    return {name: namespace[name] for name in section if name in namespace}


def _needed(section: dict[str, Any], name: str) -> set[str]:
    needed = {name}
    stack = [name]
    while stack:
        current = stack.pop()
        for _, reference in references_in(section[current], current, (current,)):
            if not isinstance(reference, str) and reference.member not in needed:
                needed.add(reference.member)
                stack.append(reference.member)
    return needed


def _build(node: Any, key: Any, path: Path, namespace: dict[str, Any], registry: Registry) -> Any:
    if is_reference(node):
        reference = parse_reference(node, key)
        try:
            return reference.resolve(namespace)
        except Exception as exc:
            raise BuildError(f"{format_path(path)}: cannot follow {node!r}: {exc}") from exc
    if isinstance(node, list):
        return [_build(item, key, (*path, i), namespace, registry) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    kind = constructor_key(node)
    if kind is None:
        return {k: _build(v, k, (*path, k), namespace, registry) for k, v in node.items()}

    # Build the arguments first, then validate the literal ones into their field types.
    name = node[kind]
    constructor = registry.get(name) if isinstance(name, str) else name
    built: dict[str, Any] = {}
    deferred: set[str] = set()
    for arg, value in node.items():
        if arg == kind:
            continue
        built[arg] = _build(value, arg, (*path, arg), namespace, registry)
        if builds_objects(value):
            deferred.add(arg)
    result = validate_kwargs(constructor, built, deferred, partial=kind == "def")
    if result.issues:
        loc, message, _ = result.issues[0]
        raise BuildError(f"{format_path((*path, *loc))}: {message}")
    kwargs = {
        arg: (built[arg] if arg in deferred else result.typed.get(arg, built[arg])) for arg in built
    }

    # Call the constructor.
    if kind == "def":
        return functools.partial(constructor, **kwargs) if kwargs else constructor
    try:
        return constructor(**kwargs)
    except IvoryError:
        raise
    except Exception as exc:
        label = name if isinstance(name, str) else getattr(name, "__qualname__", repr(name))
        raise BuildError(
            f"{format_path(path)}: {label}(...) raised {type(exc).__name__}: {exc}"
        ) from exc
