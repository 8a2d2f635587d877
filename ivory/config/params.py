"""Parameters of a run, and `create_params`: copy, override, interpolate, validate.

The experiment's parameter tree is a template: it may hold ``???`` values and interpolations
that only overrides complete. `create_params` deep-copies it, applies the overrides, resolves
``${…}`` interpolations (OmegaConf), validates every member node, and reports every problem of
the call in one `ConfigError`. The experiment's own tree is never changed.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any

from ivory.config import interpolation
from ivory.config.check import Issue, check_members
from ivory.config.loader import SourceMap
from ivory.config.overrides import Resolved, apply_overrides, collapse_colon_lists
from ivory.config.paths import Path, format_path
from ivory.config.schema import no_value
from ivory.errors import ConfigError, ConfigIssue, OverrideError
from ivory.registry import CONSTRUCTOR_KEYS, Registry

__all__ = ["Params", "create_params", "to_plain"]

DEFAULT_SECTIONS: dict[str, dict[str, Any]] = {"task": {}, "study": {}}


class Params(dict[str, Any]):
    """A parameter tree with attribute and item access.

    ``params.run.model.lr`` is ``params["run"]["model"]["lr"]``. Keys that are not
    identifiers, or that clash with a `dict` method, are reached by item access.
    """

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        super().__init__({key: _wrap(value) for key, value in (data or {}).items()})

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"no parameter {name!r}; the keys here are: {', '.join(map(str, self))}"
            ) from None

    def __deepcopy__(self, memo: dict[int, Any]) -> Params:
        return Params(copy.deepcopy(dict(self), memo))

    def to_dict(self) -> dict[str, Any]:
        """A deep copy as plain dicts and lists."""
        plain: dict[str, Any] = to_plain(self)
        return plain


def _wrap(value: Any) -> Any:
    if isinstance(value, Params):
        return value
    if isinstance(value, dict):
        return Params(value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


def to_plain(value: Any) -> Any:
    """A deep copy of `value` with `Params` turned back into plain dicts."""
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    return value


def create_params(
    tree: Mapping[str, Any],
    sources: SourceMap,
    registry: Registry,
    updates: Mapping[str, Any],
    name: str = "run",
) -> tuple[Params, dict[str, Any]]:
    """Copy `tree`, apply `updates` to section `name`, and validate the result.

    Args:
        tree: The experiment's parameters (full form); never changed.
        sources: Where each node of `tree` was written.
        registry: Resolves constructor names.
        updates: Override names (as the caller gave them) to values; never changed.
        name: The section the names are relative to.

    Returns:
        ``(params, update)``: the new parameters, and each name as given mapped to its final value.

    Raises:
        OverrideError: A name could not be resolved or a value does not fit (with every issue).
        ConfigError: The parameters are invalid without any override being at fault.
    """
    # Copy the tree; the caller's mapping and the template stay as they are.
    params: dict[str, Any] = to_plain(tree)
    if name not in params:
        params[name] = to_plain(DEFAULT_SECTIONS.get(name, {}))
    section = params[name]
    if not isinstance(section, dict):
        raise ConfigError(ConfigIssue(name, "a section must be a mapping", sources.find((name,))))

    # Apply the overrides.
    collapsed, issues = collapse_colon_lists(updates)
    resolved, override_issues = apply_overrides(section, collapsed, registry, name)
    issues += override_issues

    # Resolve interpolations now that every override is in place.
    section, interpolation_issues = _interpolate(section)
    issues += interpolation_issues

    # Validate every member node.
    checked, check_issues = check_members(section, registry)
    issues += check_issues
    issues += _check_experiment(params.get("experiment"))
    if issues:
        raise _error(issues, resolved, sources, name, bool(override_issues))
    params[name] = checked
    return Params(params), _update(checked, resolved)


def _interpolate(section: dict[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
    """Resolve ``${…}`` in `section`, or say which interpolation cannot be resolved."""
    if not interpolation.has_interpolation(section):
        return section, []
    problems = interpolation.find_problems(section)
    if problems:
        return section, [Issue(path, message, value) for path, message, value in problems]
    try:
        return interpolation.resolve(section), []
    except Exception as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return section, [Issue((), f"cannot resolve an interpolation: {message}")]


def _update(checked: dict[str, Any], resolved: list[Resolved]) -> dict[str, Any]:
    """Each override name as given to its final (validated) value."""
    update: dict[str, Any] = {}
    for item in resolved:
        value = _value_at(checked, item.path)
        if item.parts and isinstance(value, list):
            update.update(zip(item.parts, value, strict=False))
        else:
            update[item.given] = value
    return update


_EXPERIMENT_KEYS = ("name", "id", "library", "description", "tags", "schema")


def _check_experiment(experiment: Any) -> list[Issue]:
    if not isinstance(experiment, dict):
        return []
    issues: list[Issue] = []
    name = experiment.get("name")
    if not isinstance(name, str) or not name.strip():
        issues.append(
            Issue(("..experiment", "name"), "the experiment name must be a non-empty string", name)
        )
    for key in experiment:
        if key not in _EXPERIMENT_KEYS:
            close = difflib.get_close_matches(str(key), _EXPERIMENT_KEYS, n=1, cutoff=0.5)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "accepted: " + ", ".join(_EXPERIMENT_KEYS)
            )
            issues.append(Issue(("..experiment", key), f"unknown key; {hint}", experiment[key]))
    return issues


def _value_at(tree: Any, path: Path) -> Any:
    for segment in path:
        tree = tree[segment]
    return tree


def _error(
    issues: list[Issue], resolved: list[Resolved], sources: SourceMap, name: str, overrides: bool
) -> ConfigError:
    converted: list[ConfigIssue] = []
    by_override = False
    for issue in issues:
        path = issue.path
        if path and path[0] == "..experiment":
            full: Path = ("experiment", *path[1:])
            source = sources.find(full)
        elif issue.override:
            given = issue.name or issue.override.split("=", 1)[0]
            converted.append(_issue(given, issue, issue.override))
            by_override = True
            continue
        else:
            full = (name, *path)
            source = sources.find(full)
            for item in resolved:
                if _caused_by(item.path, path):
                    source, by_override = item.source, True
        converted.append(_issue(format_path(full), issue, source))
    cls = OverrideError if by_override or overrides else ConfigError
    return cls(converted)


def _caused_by(override: Path, path: Path) -> bool:
    """Whether an issue at `path` comes from the override of `override`.

    An override sets its path and all below it; swapping a constructor (``optimizer.class``)
    re-validates every key of its node.
    """
    if path[: len(override)] == override:
        return True
    return (
        bool(override)
        and override[-1] in CONSTRUCTOR_KEYS
        and path[: len(override) - 1] == (override[:-1])
    )


def _issue(path: str, issue: Issue, source: str) -> ConfigIssue:
    if issue.value is no_value():
        return ConfigIssue(path, issue.message, source)
    return ConfigIssue(path, issue.message, source, issue.value)
