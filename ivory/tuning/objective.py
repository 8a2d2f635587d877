"""Objectives: a study's suggests by name, read from the file, the command line or Python.

A suggest turns an Optuna trial into the update of one run. It is either a space (a mapping of
parameter names to distributions, see `ivory.tuning.space`) or a Python function that takes the
trial (plus bound arguments) and calls ``trial.suggest_*`` with the run's parameter names
(``lr``, ``hidden_sizes:0`` for the items of a list). A function that samples helper values
(a number of layers) returns the update itself as a mapping. In the parameter file::

    study:
      objective:
        forest:                              # a space
          n_estimators: int(10, 300, step=10)
          max_depth: int(2, 16)
        lr: mypackage.suggest.suggest_lr     # a function
        layers: {def: mypackage.suggest.suggest_layers, max_layers: 3}   # with bound arguments

Every suggest is checked against the run's parameters before a study exists: each name must be
one `create_params` accepts, and each bound, choice and branch must fit its field.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ivory.config.form import constructor_key
from ivory.config.loader import SourceMap
from ivory.config.paths import format_path
from ivory.errors import ConfigError, ConfigIssue, IvoryError, RegistryError, TuningError
from ivory.registry import Registry
from ivory.tuning.space import Space, read_space, read_updates

if TYPE_CHECKING:
    from ivory.core.base import Creator

__all__ = ["FunctionSuggest", "Objective", "SpaceSuggest", "Suggest", "read_objective"]

logger = logging.getLogger(__name__)

OBJECTIVE_PATH = ("study", "objective")


@dataclass
class SpaceSuggest:
    """A suggest that samples a search space.

    Attributes:
        name: The suggest name.
        space: What it samples.
        path: Where it was written (``study.objective.forest``, or ``""`` for the command line).
        source: ``file:line:col`` of it, or the override text.
    """

    name: str
    space: Space
    path: str = ""
    source: str = ""

    def __call__(self, trial: Any) -> dict[str, Any]:
        """The run update sampled from `trial`."""
        return self.space.suggest(trial)


@dataclass
class FunctionSuggest:
    """A suggest that calls a Python function with the trial and its bound arguments.

    Attributes:
        name: The suggest name.
        function: Called as ``function(trial, **bound)``; it calls ``trial.suggest_*``.
        bound: Arguments bound to it.
        path: Where it was declared.
        source: ``file:line:col`` of it.
    """

    name: str
    function: Callable[..., Any]
    bound: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    source: str = ""

    def __call__(self, trial: Any) -> dict[str, Any]:
        """The run update: what the function returned, or else every parameter it suggested.

        Raises:
            TuningError: The function returned something other than None or a mapping.
        """
        returned = self.function(trial, **self.bound)
        if returned is None:
            return dict(trial.params)
        if isinstance(returned, Mapping):
            return dict(returned)
        label = getattr(self.function, "__qualname__", repr(self.function))
        raise TuningError(
            f"the suggest function {label} returned {returned!r}; it returns nothing (every "
            "suggested name updates the run) or a mapping of run updates"
        )


Suggest = SpaceSuggest | FunctionSuggest


class Objective:
    """The suggests of a study, by name, in order.

    ``objective["forest"]``, ``objective.forest`` and ``"forest" in objective`` all work.
    """

    def __init__(self, suggests: Mapping[str, Suggest] | None = None) -> None:
        self._suggests: dict[str, Suggest] = dict(suggests or {})

    def __getitem__(self, name: str) -> Suggest:
        return self._suggests[name]

    def __getattr__(self, name: str) -> Suggest:
        suggests = self.__dict__.get("_suggests", {})
        if name in suggests:
            return suggests[name]  # type: ignore[no-any-return]
        raise AttributeError(f"no suggest {name!r}; suggests: {', '.join(suggests) or 'none'}")

    def __contains__(self, name: object) -> bool:
        return name in self._suggests

    def __iter__(self) -> Iterator[str]:
        return iter(self._suggests)

    def __len__(self) -> int:
        return len(self._suggests)

    def __repr__(self) -> str:
        return f"Objective({list(self._suggests)!r})"

    def names(self) -> list[str]:
        """The suggest names, in order."""
        return list(self._suggests)

    def select(self, name: str | None = None) -> Suggest:
        """The suggest called `name`; with no name, the only one there is.

        Raises:
            ConfigError: No such suggest, none at all, or several and no name.
        """
        import difflib

        names = self.names()
        if name:
            if name in self._suggests:
                return self._suggests[name]
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]}?" if close else ""
            known = f" (suggests: {', '.join(names)})" if names else ""
            raise ConfigError.single(
                format_path((*OBJECTIVE_PATH, name)), f"no suggest {name!r}{known}{hint}"
            )
        if len(names) == 1:
            return self._suggests[names[0]]
        if not names:
            raise ConfigError.single(
                format_path(OBJECTIVE_PATH),
                "nothing to tune: give a search space (n_estimators=int(10, 300)) or declare "
                "suggests under study.objective",
            )
        raise ConfigError.single(
            format_path(OBJECTIVE_PATH),
            f"several suggests ({', '.join(names)}); name the one to optimize",
        )


def read_objective(
    node: Any, sources: SourceMap, registry: Registry
) -> tuple[dict[str, Suggest], list[ConfigIssue]]:
    """Read the suggests of a file's ``study.objective`` section.

    Returns:
        The suggests by name, and every problem found.
    """
    if node is None:
        return {}, []
    where = format_path(OBJECTIVE_PATH)
    if not isinstance(node, Mapping):
        return {}, [
            ConfigIssue(
                where,
                f"study.objective maps suggest names to spaces or functions (got {node!r})",
                sources.find(OBJECTIVE_PATH),
                node,
            )
        ]
    suggests: dict[str, Suggest] = {}
    issues: list[ConfigIssue] = []
    for name, value in node.items():
        path = (*OBJECTIVE_PATH, name)
        found, more = _read_suggest(str(name), value, format_path(path), path, sources, registry)
        issues += more
        if found is not None:
            suggests[str(name)] = found
    return suggests, issues


def _read_suggest(
    name: str,
    value: Any,
    where: str,
    path: tuple[Any, ...],
    sources: SourceMap,
    registry: Registry,
) -> tuple[Suggest | None, list[ConfigIssue]]:
    source = sources.find(path)
    if callable(value):
        return _function(name, value, {}, where, source)
    if isinstance(value, str):
        return _function_at(name, value, {}, where, source, registry)
    if isinstance(value, Mapping) and constructor_key(value) == "def":
        bound = {k: v for k, v in value.items() if k != "def"}
        return _function_at(name, value["def"], bound, where, source, registry)
    if isinstance(value, Mapping) and constructor_key(value) is not None:
        key = constructor_key(value)
        return None, [
            ConfigIssue(
                where,
                f"a suggest function is declared with def:, not {key}: (it is called with each "
                "trial, not built once)",
                source,
            )
        ]
    space, issues = read_space(value, path, sources)
    return SpaceSuggest(name, space, where, source), issues


def _function_at(
    name: str, target: Any, bound: dict[str, Any], where: str, source: str, registry: Registry
) -> tuple[Suggest | None, list[ConfigIssue]]:
    if not isinstance(target, str):
        return None, [
            ConfigIssue(where, f"def: takes an import path or a registered name (got {target!r})")
        ]
    try:
        function = registry.get(target)
    except RegistryError as exc:
        return None, [ConfigIssue(where, str(exc), source, target)]
    return _function(name, function, bound, where, source)


def _function(
    name: str, function: Any, bound: dict[str, Any], where: str, source: str
) -> tuple[Suggest | None, list[ConfigIssue]]:
    if isinstance(function, functools.partial):
        function, bound = function.func, {**function.keywords, **bound}
    if not callable(function):
        return None, [ConfigIssue(where, f"{function!r} is not callable", source)]
    try:
        inspect.signature(function).bind(object(), **bound)
    except TypeError as exc:
        label = getattr(function, "__qualname__", repr(function))
        return None, [
            ConfigIssue(
                where,
                f"{label} cannot be called as {label}(trial, "
                f"{', '.join(f'{k}=...' for k in bound)}): {exc}".replace("(trial, )", "(trial)"),
                source,
            )
        ]
    except ValueError:
        pass  # A builtin without a signature: it will tell at the first trial.
    return FunctionSuggest(name, function, dict(bound), where, source), []


def read_suggests(
    args: Any, suggests: Mapping[str, Any], registry: Registry
) -> tuple[str | None, dict[str, Suggest], dict[str, Any], list[ConfigIssue]]:
    """Read the suggests given to `create_study` in Python or on the command line.

    `args` is a suggest name to keep (``"forest"``), or a mapping read like `suggests`. In
    `suggests`, a distribution (``"int(10, 300)"`` or a distribution object) joins one space
    named after its parameters (``n_estimators.max_depth``); a callable or an import path is a
    suggest function; a mapping is a space; any other value is a fixed update of every trial.

    Returns:
        ``(the suggest name to keep or None, the suggests by name, fixed updates, issues)``.
    """
    keep: str | None = None
    given: dict[str, Any] = {}
    if isinstance(args, str):
        keep = args
    elif isinstance(args, Mapping):
        given.update(args)
    elif args is not None:
        raise IvoryError(f"args must be a suggest name or a mapping (got {args!r})")
    given.update(suggests)

    # Functions and spaces by name; the distributions gather into one space.
    found: dict[str, Suggest] = {}
    issues: list[ConfigIssue] = []
    loose: dict[str, Any] = {}
    for name, value in given.items():
        if callable(value):
            suggest, more = _function(name, value, {}, name, "")
        elif isinstance(value, Mapping):
            suggest, more = _read_suggest(name, value, name, (name,), SourceMap(), registry)
        else:
            loose[name] = value
            continue
        issues += more
        if suggest is not None:
            found[name] = suggest
    space, fixed, more = read_updates(loose)
    issues += more
    if space:
        joined = ".".join(parameter.name for parameter in space)
        found[joined] = SpaceSuggest(joined, space)
    return keep, found, fixed, issues


def check_suggest(
    suggest: Suggest, creator: Creator, fixed: Mapping[str, Any]
) -> list[ConfigIssue]:
    """Check a suggest's names and values against the parameters of the runs it would create.

    A space is checked on updates that take every bound, choice and branch once; a function is
    called once with a throwaway in-memory trial.
    """
    if isinstance(suggest, SpaceSuggest):
        variants = suggest.space.variants()
        by_name = {p.name: (p.path, p.source) for p in suggest.space.walk()}
    else:
        found, issues = _dry_run(suggest)
        if issues:
            return issues
        variants = [found]
        by_name = dict.fromkeys(found, (suggest.path, suggest.source))
    # A fixed value of a name the suggest samples would be overwritten by every trial.
    sampled = {name for variant in variants for name in variant}
    issues = [
        ConfigIssue(
            name,
            f"the suggest {suggest.name!r} samples {name}, so every trial would replace this "
            f"fixed value; leave it out, or give a range instead ({name}=int(a, b), "
            "float(a, b) or choice(...))",
            f"{name}={value}",
            value,
        )
        for name, value in fixed.items()
        if name in sampled
    ]
    seen: set[tuple[str, str]] = set()
    for variant in variants:
        try:
            creator.create_params({**fixed, **variant})
        except ConfigError as exc:
            for issue in exc.issues:
                converted = _to_space(issue, by_name, suggest)
                key = (converted.path, converted.message)
                if key not in seen:
                    seen.add(key)
                    issues.append(converted)
    return issues


def _to_space(
    issue: ConfigIssue, by_name: Mapping[str, tuple[str, str]], suggest: Suggest
) -> ConfigIssue:
    """Point an issue of `create_params` at the parameter of the space that caused it."""
    for name, (path, source) in by_name.items():
        if issue.source.startswith(f"{name}="):
            message = issue.message
            if issue.path not in (name, path):
                message = f"{issue.path}: {message}"
            if isinstance(suggest, FunctionSuggest):
                message = f"{name} (suggested by {suggest.path or suggest.name}): {message}"
                return ConfigIssue(path, message, source)
            if issue.has_value:
                return ConfigIssue(path, message, source, issue.value)
            return ConfigIssue(path, message, source)
    return issue


def _dry_run(suggest: FunctionSuggest) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """Call a suggest function once on a throwaway in-memory trial; return what it suggested."""
    trial = throwaway_trial()
    try:
        return suggest(trial), []
    except Exception as exc:
        label = getattr(suggest.function, "__qualname__", repr(suggest.function))
        return {}, [
            ConfigIssue(
                suggest.path or suggest.name,
                f"{label} raised on a trial: {type(exc).__name__}: {exc}",
                suggest.source,
            )
        ]


def throwaway_trial() -> Any:
    """A trial of a new in-memory study, to see what a suggest function samples."""
    import optuna

    quiet = logging.getLogger("optuna.storages._in_memory")
    disabled, quiet.disabled = quiet.disabled, True
    try:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    finally:
        quiet.disabled = disabled
    return study.ask()
