"""Validation of a section of members: constructors, their arguments, references and cycles.

`check_members` walks a section once and reports every problem it finds; it builds nothing.
Constructor names are resolved through the registry (which imports the constructor's module, but
calls nothing), and so are the names of functions that arguments give (fields marked
`CallableName`, such as the metrics), so a typo, a refused import path or a bad argument is found
before any member is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ivory.config.form import constructor_key
from ivory.config.loader import is_missing
from ivory.config.paths import Path
from ivory.config.references import Reference, is_reference, parse_reference
from ivory.config.schema import no_value, validate_kwargs
from ivory.errors import RegistryError
from ivory.registry import Registry

__all__ = [
    "Issue",
    "builds_objects",
    "check_members",
    "member_order",
    "name_refusal",
    "references_in",
]


@dataclass
class Issue:
    """A problem at a path relative to the section."""

    path: Path
    message: str
    value: Any = field(default_factory=no_value)
    override: str = ""
    """For a name that could not be resolved: the override as the caller wrote it."""
    name: str = ""
    """For such an override: its name, when it is not the text before the override's ``=``."""


def references_in(
    node: Any, key: str | int | None, path: Path
) -> Iterator[tuple[Path, Reference | str]]:
    """Every reference below `node`, parsed, or the parse error's message."""
    if is_reference(node):
        try:
            yield path, parse_reference(node, key)
        except ValueError as exc:
            yield path, str(exc)
    elif isinstance(node, dict):
        for child_key, value in node.items():
            yield from references_in(value, child_key, (*path, child_key))
    elif isinstance(node, list):
        # A "$" inside a list refers to the member named like the list's key.
        for i, item in enumerate(node):
            yield from references_in(item, key, (*path, i))


def member_order(members: dict[str, Any]) -> tuple[list[str], list[Issue]]:
    """The order to build members in: dependencies first, file order otherwise.

    Returns:
        The order, and issues for unknown references, malformed references and cycles.
    """
    issues: list[Issue] = []
    depends: dict[str, list[str]] = {}
    for name, node in members.items():
        depends[name] = []
        for path, reference in references_in(node, name, (name,)):
            if isinstance(reference, str):
                issues.append(
                    Issue(path, f"invalid reference: {reference}", _value_at(members, path))
                )
            elif reference.member not in members:
                issues.append(
                    Issue(
                        path,
                        f"reference {reference.text!r} names no member; members are: "
                        + ", ".join(members),
                        reference.text,
                    )
                )
            elif reference.member == name:
                issues.append(Issue(path, f"member {name!r} refers to itself", reference.text))
            elif reference.member not in depends[name]:
                depends[name].append(reference.member)
    cycle = _find_cycle(depends)
    if cycle:
        issues.append(
            Issue((cycle[0],), "members refer to each other in a cycle: " + " -> ".join(cycle))
        )
        return list(members), issues
    order: list[str] = []
    done: set[str] = set()
    remaining = list(members)
    while remaining:
        for name in remaining:
            if all(dep in done for dep in depends[name]):
                order.append(name)
                done.add(name)
                remaining.remove(name)
                break
    return order, issues


def _find_cycle(depends: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for dep in depends.get(name, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if state.get(dep) is None and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[name] = 2
        return None

    for name in depends:
        if state.get(name) is None and (cycle := visit(name)):
            return cycle
    return None


def _value_at(tree: Any, path: Path) -> Any:
    for segment in path:
        tree = tree[segment]
    return tree


def check_members(
    members: dict[str, Any], registry: Registry
) -> tuple[dict[str, Any], list[Issue]]:
    """Validate every node of a section of members.

    Args:
        members: The section (member name to node).
        registry: Resolves constructor names.

    Returns:
        The section with validated values written back (coerced to their field types), and every
        issue found.
    """
    issues: list[Issue] = []
    checked = {
        name: _check(node, name, (name,), registry, issues) for name, node in members.items()
    }
    _, order_issues = member_order(checked)
    return checked, issues + order_issues


def _check(node: Any, key: Any, path: Path, registry: Registry, issues: list[Issue]) -> Any:
    if isinstance(node, list):
        return [_check(item, key, (*path, i), registry, issues) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        if is_missing(node):
            issues.append(
                Issue(path, "missing value (???); give one in the file or as an override")
            )
        return node
    kind = constructor_key(node)
    if kind is None:
        return {k: _check(v, k, (*path, k), registry, issues) for k, v in node.items()}
    return _check_constructor(node, kind, path, registry, issues)


def _check_constructor(
    node: dict[str, Any], kind: str, path: Path, registry: Registry, issues: list[Issue]
) -> dict[str, Any]:
    others = [key for key in ("class", "call", "def") if key in node and key != kind]
    if others:
        issues.append(
            Issue((*path, others[0]), f"a node takes one of class, call or def (has {kind!r} too)")
        )
    name = node[kind]
    kwargs = {key: value for key, value in node.items() if key != kind}

    # Check the children first, innermost nodes before the node that takes them.
    deferred: set[str] = set()
    checked: dict[str, Any] = {}
    for key, value in kwargs.items():
        checked[key] = _check(value, key, (*path, key), registry, issues)
        if is_reference(value) or builds_objects(value) or is_missing(value):
            deferred.add(key)

    # Resolve the constructor, then validate the arguments against its model.
    constructor: Any = name
    if isinstance(name, str):
        try:
            constructor = registry.get(name)
        except RegistryError as exc:
            issues.append(Issue((*path, kind), str(exc), name))
            return {kind: name, **checked}
        if not callable(constructor):
            message = f"{name!r} is a {type(constructor).__name__}, not a class or function"
            issues.append(Issue((*path, kind), message, name))
            return {kind: name, **checked}
    elif not callable(name):
        issues.append(Issue((*path, kind), f"expected a constructor name (got {name!r})", name))
        return {kind: name, **checked}
    result = validate_kwargs(constructor, checked, deferred, partial=kind == "def")
    for loc, message, value in result.issues:
        # A missing value (???) below an argument is reported where it stands, once.
        if not is_missing(value):
            issues.append(Issue((*path, *loc), message, value))

    # Resolve the names of functions and classes that arguments give (metrics: {r2: NAME}).
    for loc, target, marker in result.names:
        if is_reference(target) or is_missing(target):
            continue
        refusal = name_refusal(registry, target, marker.kind)
        if refusal is not None:
            value = _value_at(checked, loc)
            if value is None:
                refusal += f" (an empty value stands for {target!r})"
            issues.append(Issue((*path, *loc), refusal, value))
    if result.issues:
        return {kind: name, **checked}
    return {kind: name, **{key: result.plain.get(key, value) for key, value in checked.items()}}


def name_refusal(registry: Registry, name: str, kind: str = "function") -> str | None:
    """Why `name` names no function (or no class, by `kind`), or None when it names one.

    The name is judged as ``ivory validate`` judges it: an import path into a module not imported
    yet from its package's files (`ivory.config.validate.CheckingRegistry.name_refusal`), so that
    checking parameters imports nothing; the constructor that takes the name imports it when it
    is built.

    Example:
        >>> from ivory.registry import registry
        >>> name_refusal(registry, "math.sqrt") is None
        True
        >>> name_refusal(registry, "math.pi")
        "'math.pi' is a float, not a function"
    """
    from ivory.config.validate import CheckingRegistry

    return CheckingRegistry(registry).name_refusal(name, kind)


def builds_objects(value: Any) -> bool:
    """Whether a value holds something built at run time (a nested node or a reference)."""
    if isinstance(value, dict):
        return constructor_key(value) is not None or any(builds_objects(v) for v in value.values())
    if isinstance(value, list):
        return any(builds_objects(item) for item in value)
    return is_reference(value)
