"""Search spaces: the parameters a suggest samples, read from the file or the command line.

A space maps parameter names (the names `create_params` takes: ``n_estimators``,
``optimizer.lr``, ``hidden_sizes:0``) to distributions written in the value grammar
(`ivory.config.grammar`): ``int(a, b[, step=s][, log])``, ``float(a, b[, step=s][, log])`` and
``choice(v1, v2, ...)``. A parameter may instead map each of its choices to a sub-space, sampled
only when that choice is drawn (a conditional space)::

    optimizer.class:
      sgd: {optimizer.momentum: float(0.0, 0.9)}
      adam:                               # no sub-space
    optimizer.lr: float(1e-5, 1e-1, log)

Everything here is checked before a study exists, without importing Optuna: bounds, steps,
log scales, integer ranges Optuna can store (64 bits), repeated choices, and a name suggested
with two different distributions. A step that does not divide its range lowers the upper bound
(as Optuna would, once per trial) with a single warning here instead. Choices that are not plain
scalars (``choice([64, 64], [128])``) are handed to Optuna as their JSON text, so that they
persist in any storage, and turned back into real values for the run.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ivory.config.grammar import (
    DISTRIBUTION_FUNCTIONS,
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    is_distribution,
    parse_distribution,
)
from ivory.config.loader import SourceMap
from ivory.config.paths import Path, format_path
from ivory.errors import ConfigError, ConfigIssue, IvoryWarning

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Parameter",
    "Space",
    "check_distribution",
    "decode_value",
    "format_distribution",
    "from_optuna",
    "read_space",
    "read_updates",
    "suggest_value",
    "to_optuna",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_PLAIN = (str, int, float, bool, type(None))
_CALLED = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class Parameter:
    """One sampled parameter.

    Attributes:
        name: The name the run is updated with (as `create_params` takes it).
        distribution: What it is sampled from.
        path: Where it was written, for messages (``study.objective.forest.max_depth``, or the
            name itself on the command line).
        source: ``file:line:col`` or the override text.
        branches: For a conditional parameter, the sub-space of each choice, in order.
    """

    name: str
    distribution: Distribution
    path: str = ""
    source: str = ""
    branches: tuple[tuple[Any, Space], ...] = ()


@dataclass(frozen=True)
class Space:
    """The parameters of one suggest, in the order they are sampled."""

    parameters: tuple[Parameter, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters)

    def walk(self) -> Iterator[Parameter]:
        """Every parameter, those of every branch included (depth first)."""
        for parameter in self.parameters:
            yield parameter
            for _, branch in parameter.branches:
                yield from branch.walk()

    def distributions(self) -> dict[str, Distribution]:
        """Every parameter name that can be sampled, with its distribution."""
        return {parameter.name: parameter.distribution for parameter in self.walk()}

    def merged(self, other: Space) -> Space:
        """This space with the parameters of `other` replacing or added after its own."""
        replaced = {parameter.name: parameter for parameter in other}
        kept = [replaced.pop(p.name, p) for p in self.parameters]
        return Space((*kept, *replaced.values()))

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Sample every parameter from an Optuna trial; return the run update, by name.

        A conditional parameter comes before the parameters of the branch it drew, so that a
        swapped constructor is in place when its own arguments are set.
        """
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            value = suggest_value(trial, parameter.name, parameter.distribution)
            values[parameter.name] = value
            for choice, branch in parameter.branches:
                if _same(choice, value):
                    values.update(branch.suggest(trial))
        return values

    def variants(self) -> list[dict[str, Any]]:
        """Updates that together take every bound, every choice and every branch once.

        Used to check names and value types against the run's parameters before a study exists.
        """
        variants: list[dict[str, Any]] = []
        count = max([2, *(_size(p.distribution) for p in self.parameters)])
        for i in range(count):
            variant: dict[str, Any] = {}
            for parameter in self.parameters:
                variant[parameter.name] = _pick(parameter.distribution, i)
            variants.append(variant)

        # Each branch on top of the first variant, with its own choice drawn.
        for parameter in self.parameters:
            for choice, branch in parameter.branches:
                for inner in branch.variants() if branch else [{}]:
                    variants.append({**variants[0], parameter.name: copy.deepcopy(choice), **inner})
        return variants


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _size(distribution: Distribution) -> int:
    if isinstance(distribution, CategoricalDistribution):
        return len(distribution.choices)
    return 2


def _pick(distribution: Distribution, i: int) -> Any:
    if isinstance(distribution, CategoricalDistribution):
        return copy.deepcopy(distribution.choices[i % len(distribution.choices)])
    return distribution.low if i % 2 == 0 else distribution.high


# Reading spaces.


def read_space(node: Any, path: Path, sources: SourceMap) -> tuple[Space, list[ConfigIssue]]:
    """Read a space written in a parameter file, at `path` (``study.objective.<suggest>``).

    Returns:
        The space, and every problem found (an empty list when it is valid).
    """
    where = format_path(path)
    if not isinstance(node, Mapping) or not node:
        got = "an empty mapping" if isinstance(node, Mapping) else repr(node)
        return Space(), [
            ConfigIssue(
                where,
                "a search space maps parameter names to distributions "
                f"(int(a, b), float(a, b) or choice(...)); got {got}",
                sources.find(path),
            )
        ]
    parameters: list[Parameter] = []
    issues: list[ConfigIssue] = []
    for key, value in node.items():
        key_path = (*path, key)
        name_path, source = format_path(key_path), sources.find(key_path)
        if not isinstance(key, str) or not key.strip():
            issues.append(ConfigIssue(name_path, "a parameter name must be text", source, key))
            continue
        if isinstance(value, Mapping):
            parameter, found = _read_conditional(key, value, key_path, sources)
        elif isinstance(value, str):
            parameter, found = _read_distribution(key, value, name_path, source, named=False)
        else:
            parameter, found = (
                None,
                [
                    ConfigIssue(
                        name_path,
                        "expected a distribution: int(low, high[, step=S][, log]), "
                        "float(low, high[, step=S][, log]) or choice(v1, v2, ...), or a mapping of "
                        f"choices to sub-spaces (got {value!r})",
                        source,
                        value,
                    )
                ],
            )
        issues += found
        if parameter is not None:
            parameters.append(parameter)
    space = Space(tuple(parameters))
    issues += _clashes(space)
    return space, issues


def _read_distribution(
    name: str, text: str, path: str, source: str, *, named: bool
) -> tuple[Parameter | None, list[ConfigIssue]]:
    try:
        distribution = parse_distribution(text, name if named else None)
    except ConfigError as exc:
        hint = ""
        if not named and text.count("(") > text.count(")"):
            hint = (
                "\n    (inside a {...} flow mapping, YAML splits at commas: quote the "
                "distribution, 'int(0, 4)', or write the space in block style)"
            )
        return None, [
            ConfigIssue(path, issue.message + hint, source, text) if not named else issue
            for issue in exc.issues
        ]
    checked, issues = check_distribution(distribution, path, source)
    if issues:
        return None, issues
    return Parameter(name, checked, path, source), []


def _read_conditional(
    name: str, node: Mapping[Any, Any], path: Path, sources: SourceMap
) -> tuple[Parameter | None, list[ConfigIssue]]:
    where, source = format_path(path), sources.find(path)
    if not node:
        return None, [
            ConfigIssue(where, "a conditional space needs at least one choice", source, {})
        ]
    branches: list[tuple[Any, Space]] = []
    issues: list[ConfigIssue] = []
    for choice, sub in node.items():
        if sub is None:
            branches.append((choice, Space()))
            continue
        branch, found = read_space(sub, (*path, choice), sources)
        issues += found
        branches.append((choice, branch))
    choices = tuple(choice for choice, _ in branches)
    distribution = CategoricalDistribution(choices)
    checked, found = check_distribution(distribution, where, source)
    issues += found
    return Parameter(name, checked, where, source, tuple(branches)), issues


def _clashes(space: Space) -> list[ConfigIssue]:
    """Issues for a name sampled with two distributions, or sampled by a space and its branch."""
    issues: list[ConfigIssue] = []
    seen: dict[str, Parameter] = {}
    top = {parameter.name for parameter in space}
    for parameter in space.walk():
        first = seen.setdefault(parameter.name, parameter)
        if first is parameter:
            continue
        if parameter.name in top:
            message = (
                f"{parameter.name!r} is sampled by the space above ({first.path}); "
                "a branch cannot sample it again"
            )
        elif first.distribution != parameter.distribution:
            message = (
                f"{parameter.name!r} is sampled as {format_distribution(first.distribution)} at "
                f"{first.path} and as {format_distribution(parameter.distribution)} here; "
                "Optuna needs one distribution per name"
            )
        else:
            continue
        issues.append(ConfigIssue(parameter.path, message, parameter.source))
    return issues


def read_updates(
    updates: Mapping[str, Any],
) -> tuple[Space, dict[str, Any], list[ConfigIssue]]:
    """Split command-line or keyword updates into a space and the fixed updates.

    A value written as a distribution (``n_estimators=int(10, 300)``, or a distribution object)
    is sampled; any other value is a fixed update of every trial.

    Returns:
        ``(space, fixed updates, issues)``.

    Example:
        >>> space, fixed, issues = read_updates({"max_depth": "int(2, 8)", "fold": "1"})
        >>> [p.name for p in space], fixed, issues
        (['max_depth'], {'fold': '1'}, [])
    """
    parameters: list[Parameter] = []
    fixed: dict[str, Any] = {}
    issues: list[ConfigIssue] = []
    for name, value in updates.items():
        source = f"{name}={value}"
        if isinstance(value, IntDistribution | FloatDistribution | CategoricalDistribution):
            checked, found = check_distribution(value, name, source)
            issues += found
            if not found:
                parameters.append(Parameter(name, checked, name, source))
        elif isinstance(value, str) and _meant_as_distribution(value):
            parameter, found = _read_distribution(name, value, name, source, named=True)
            issues += found
            if parameter is not None:
                parameters.append(parameter)
        else:
            fixed[name] = value
    return Space(tuple(parameters)), fixed, issues


def _meant_as_distribution(text: str) -> bool:
    """Whether `text` is written as a distribution, or as a malformed one.

    A call of int, float or choice, even unclosed (``int(2,``), or of a name close to one
    (``flaot(1, 2)``), is read as a distribution, so that it fails with a caret under the bad
    character instead of reaching its field as text.
    """
    if is_distribution(text):
        return True
    match = _CALLED.match(text)
    if match is None:
        return False
    name = match["name"].lower()
    close = difflib.get_close_matches(name, DISTRIBUTION_FUNCTIONS, n=1, cutoff=0.75)
    return name in DISTRIBUTION_FUNCTIONS or bool(close)


# Checking distributions.


def check_distribution(
    distribution: Distribution, path: str, source: str = ""
) -> tuple[Distribution, list[ConfigIssue]]:
    """Check what the grammar cannot: what Optuna can store, and steps that fit their range.

    Returns:
        The distribution (its upper bound lowered to the last step, with one `IvoryWarning`,
        when the step does not divide the range), and the problems found.
    """
    if isinstance(distribution, CategoricalDistribution):
        return distribution, _check_choices(distribution, path, source)
    issues: list[ConfigIssue] = []
    low, high, step = distribution.low, distribution.high, distribution.step
    if isinstance(distribution, IntDistribution):
        for bound, value in (("low", low), ("high", high)):
            if not INT64_MIN <= value <= INT64_MAX:
                issues.append(
                    ConfigIssue(
                        path,
                        f"the {bound} bound {value} is outside the 64-bit integers Optuna "
                        f"stores ({INT64_MIN} to {INT64_MAX})",
                        source,
                        value,
                    )
                )
    if low > high:
        issues.append(ConfigIssue(path, f"low {low} is above high {high}", source, low))
    if distribution.log and low <= 0:
        issues.append(
            ConfigIssue(path, f"the low bound must be > 0 with log (got {low})", source, low)
        )
    if step is not None and distribution.log and step != 1:
        issues.append(ConfigIssue(path, "step and log cannot be used together", source, step))
    if step is not None and step <= 0:
        issues.append(ConfigIssue(path, f"step must be positive (got {step})", source, step))
    if issues or step is None:
        return distribution, issues

    # Lower the upper bound to the last step, once, here.
    exact_low, exact_high, exact_step = (Decimal(str(v)) for v in (low, high, step))
    steps = (exact_high - exact_low) // exact_step
    adjusted = exact_low + steps * exact_step
    if adjusted == exact_high:
        return distribution, []
    new_high: Any = int(adjusted) if isinstance(distribution, IntDistribution) else float(adjusted)
    where = f"{source}: {path}" if source and not source.startswith(f"{path}=") else source or path
    warnings.warn(
        f"{where}: the step {step} does not divide the range {low} to {high}; "
        f"the upper bound is lowered to {new_high}",
        IvoryWarning,
        stacklevel=4,
    )
    return replace(distribution, high=new_high), []


def _check_choices(
    distribution: CategoricalDistribution, path: str, source: str
) -> list[ConfigIssue]:
    seen: list[str] = []
    issues: list[ConfigIssue] = []
    for choice in distribution.choices:
        key = _encode(choice)
        if key in seen:
            issues.append(
                ConfigIssue(path, f"the choice {_show(choice)} is listed twice", source, choice)
            )
        seen.append(key)
        for number in _ints(choice):
            if not INT64_MIN <= number <= INT64_MAX:
                issues.append(
                    ConfigIssue(
                        path,
                        f"the choice {_show(choice)} holds {number}, outside the 64-bit "
                        "integers Optuna stores",
                        source,
                        choice,
                    )
                )
    return issues


def _ints(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _ints(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ints(item)


# Text and Optuna forms.


def format_distribution(distribution: Distribution) -> str:
    """The distribution in the grammar it is written in.

    Example:
        >>> format_distribution(FloatDistribution(1e-5, 0.1, None, True))
        'float(1e-05, 0.1, log)'
        >>> format_distribution(CategoricalDistribution(("sqrt", 1.0, [64, 64])))
        'choice(sqrt, 1.0, [64, 64])'
    """
    if isinstance(distribution, CategoricalDistribution):
        return f"choice({', '.join(_show(choice) for choice in distribution.choices)})"
    kind = "int" if isinstance(distribution, IntDistribution) else "float"
    parts = [repr(distribution.low), repr(distribution.high)]
    if distribution.step is not None and not (kind == "int" and distribution.step == 1):
        parts.append(f"step={distribution.step!r}")
    if distribution.log:
        parts.append("log")
    return f"{kind}({', '.join(parts)})"


def _show(choice: Any) -> str:
    if isinstance(choice, str):
        return choice
    return json.dumps(choice)


def _encode(choice: Any) -> str:
    return json.dumps(choice, sort_keys=True)


def _encoded(distribution: CategoricalDistribution) -> bool:
    return not all(isinstance(choice, _PLAIN) for choice in distribution.choices)


def to_optuna(distribution: Distribution) -> BaseDistribution:
    """The Optuna distribution (choices that are not plain scalars as their JSON text)."""
    from optuna import distributions

    if isinstance(distribution, IntDistribution):
        return distributions.IntDistribution(
            distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    if isinstance(distribution, FloatDistribution):
        return distributions.FloatDistribution(
            distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    choices = distribution.choices
    if _encoded(distribution):
        return distributions.CategoricalDistribution([_encode(choice) for choice in choices])
    return distributions.CategoricalDistribution(list(choices))


def from_optuna(distribution: BaseDistribution) -> str:
    """An Optuna distribution in the grammar's text (for messages)."""
    from optuna import distributions

    if isinstance(distribution, distributions.IntDistribution):
        found: Distribution = IntDistribution(
            distribution.low, distribution.high, distribution.step, distribution.log
        )
    elif isinstance(distribution, distributions.FloatDistribution):
        found = FloatDistribution(
            distribution.low, distribution.high, distribution.step, distribution.log
        )
    elif isinstance(distribution, distributions.CategoricalDistribution):
        found = CategoricalDistribution(tuple(distribution.choices))
    else:
        return repr(distribution)
    return format_distribution(found)


def suggest_value(trial: Any, name: str, distribution: Distribution) -> Any:
    """Sample `name` from an Optuna trial; a choice comes back as its real value (a list too)."""
    if isinstance(distribution, IntDistribution):
        return int(
            trial.suggest_int(
                name,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )
        )
    if isinstance(distribution, FloatDistribution):
        return float(
            trial.suggest_float(
                name,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )
        )
    if not _encoded(distribution):
        return trial.suggest_categorical(name, list(distribution.choices))
    encoded = [_encode(choice) for choice in distribution.choices]
    picked = trial.suggest_categorical(name, encoded)
    return copy.deepcopy(distribution.choices[encoded.index(picked)])


def decode_value(distribution: Distribution, value: Any) -> Any:
    """The real value of a stored trial parameter (the inverse of the JSON text of a choice)."""
    if isinstance(distribution, CategoricalDistribution) and _encoded(distribution):
        encoded = [_encode(choice) for choice in distribution.choices]
        if value in encoded:
            return copy.deepcopy(distribution.choices[encoded.index(value)])
    return value
