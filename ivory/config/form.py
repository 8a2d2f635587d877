"""The short and full forms of a parameter file, and the constructors members get by default.

The short form lists a run's members at the top level; the full form has sections ``run:``,
``task:``, ``study:`` and ``experiment:``. Both become the full form here, with every member
that declares no constructor given the default registered for its name and library, written
out as an explicit ``class:`` (or ``def:``) key so that the saved parameters say what was built.
"""

from __future__ import annotations

from typing import Any

from ivory.config.loader import Document, SourceMap, yaml_kind
from ivory.config.paths import format_path
from ivory.errors import ConfigError, ConfigIssue
from ivory.registry import CONSTRUCTOR_KEYS, Registry

__all__ = ["RESERVED", "SECTIONS", "constructor_key", "normalize"]

SECTIONS = ("run", "task", "study", "experiment")
RESERVED = ("library", "extends", "include", *SECTIONS)


def constructor_key(node: Any) -> str | None:
    """The constructor key (``class``, ``call`` or ``def``) of a node, or None."""
    if isinstance(node, dict):
        for key in CONSTRUCTOR_KEYS:
            if key in node:
                return key
    return None


def normalize(
    document: Document, name: str, registry: Registry
) -> tuple[dict[str, Any], SourceMap]:
    """Turn a composed document into the full form with default constructors filled in.

    Args:
        document: The composed file.
        name: The experiment name (the file stem).
        registry: Where default constructors are looked up.

    Returns:
        The full-form tree and its source map (paths now start with the section).
    """
    tree = dict(document.tree)
    library = tree.pop("library", None)
    _check_form(tree, library, document.sources)
    if "run" in tree:
        sources = document.sources
        run = tree.pop("run")
        full: dict[str, Any] = {"run": run if isinstance(run, dict) else {}}
        full.update(tree)
    else:
        sources = document.sources.prefixed(("run",))
        sections = {key: tree.pop(key) for key in SECTIONS if key in tree}
        for key in sections:
            sources.update(SourceMap({(key,): document.sources.find((key,))}))
        full = {"run": tree, **sections}
        # Sections keep their own paths; move their nested positions back out of "run".
        for path in list(document.sources):
            if path and path[0] in sections:
                sources.set(path, document.sources.find(path))
    experiment = full.get("experiment")
    experiment = dict(experiment) if isinstance(experiment, dict) else {}
    experiment.setdefault("name", name)
    if library is not None:
        experiment.setdefault("library", library)
    full["experiment"] = experiment
    if isinstance(full["run"], dict):
        full["run"] = fill_defaults(full["run"], registry, library, top=True)
    return full, sources


def _check_form(tree: dict[Any, Any], library: Any, sources: SourceMap) -> None:
    """Refuse a `library` that is not a name, and keys beside ``run:`` in the full form.

    Raises:
        ConfigError: With every problem found.
    """
    issues: list[ConfigIssue] = []
    if library is not None and not (isinstance(library, str) and library):
        issues.append(
            ConfigIssue(
                "library",
                "expected a library name such as sklearn",
                sources.find(("library",)),
                library,
            )
        )
    for key in ("extends", "include"):
        if key in tree:
            issues.append(
                ConfigIssue(
                    key,
                    f"{key} names a sibling file, so it works only in a file loaded by path "
                    "(Experiment.from_file)",
                    sources.find((key,)),
                    tree[key],
                )
            )
    for key in SECTIONS:
        value = tree.get(key)
        if value is not None and not isinstance(value, dict):
            issues.append(
                ConfigIssue(
                    key,
                    f"the {key} section must be a mapping (got {yaml_kind(value)})",
                    sources.find((key,)),
                    value,
                )
            )
    if "run" in tree:
        for key in tree:
            if key not in RESERVED:
                issues.append(
                    ConfigIssue(
                        format_path((key,)),
                        f"unknown section {key!r}: beside 'run:' the top level takes only "
                        + ", ".join(k for k in RESERVED if k != "run")
                        + " (put members under 'run:')",
                        sources.find((key,)),
                    )
                )
    if issues:
        raise ConfigError(issues)


def fill_defaults(
    members: dict[str, Any], registry: Registry, library: str | None, *, top: bool
) -> dict[str, Any]:
    """Give each member without a constructor key the default registered for its name."""
    result: dict[str, Any] = {}
    for key, value in members.items():
        result[key] = _with_default(key, value, registry, library, top=top)
    return result


def _with_default(
    key: Any, value: Any, registry: Registry, library: str | None, *, top: bool
) -> Any:
    if isinstance(value, dict):
        # A node may choose the library of its own defaults ("library: torch").
        local_library = library
        if isinstance(value.get("library"), str):
            local_library = value["library"]
            if constructor_key(value) is None:
                value = {k: v for k, v in value.items() if k != "library"}
        children = {
            k: _with_default(k, v, registry, local_library, top=False) for k, v in value.items()
        }
        if constructor_key(children) is None and isinstance(key, str):
            default = registry.default(key, local_library)
            if default is not None:
                kind, name = default
                return {kind: name, **children}
        return children
    if isinstance(value, list):
        return [_with_default(None, item, registry, library, top=False) for item in value]
    if value is None and isinstance(key, str) and top:
        default = registry.default(key, library)
        if default is not None:
            return {default[0]: default[1]}
    if value is None and isinstance(key, str) and not top:
        default = registry.default(key, library)
        if default is not None and default[0] == "def":
            return {default[0]: default[1]}
    return value
