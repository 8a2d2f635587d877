"""The value grammar: sweeps for tasks, distributions for studies, errors with a caret."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivory.config.grammar import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Sweep,
    is_distribution,
    parse_distribution,
    parse_value,
)
from ivory.config.values import Text
from ivory.errors import ConfigError, OverrideError

SWEEPS = [
    pytest.param("0,1,2", ("0", "1", "2"), id="comma-list"),
    pytest.param(" 0 , 1 ", ("0", "1"), id="comma-list-spaces"),
    pytest.param("range(0,5)", (0, 1, 2, 3, 4), id="range-start-stop"),
    pytest.param("range(3)", (0, 1, 2), id="range-stop"),
    pytest.param("range(0, 10, 3)", (0, 3, 6, 9), id="range-step"),
    pytest.param("range(5,0,-2)", (5, 3, 1), id="range-down"),
    pytest.param(
        "range(0,1,0.1)", (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), id="range-dec"
    ),
    pytest.param("linspace(0,1,5)", (0.0, 0.25, 0.5, 0.75, 1.0), id="linspace"),
    pytest.param("linspace(2,3,1)", (2.0,), id="linspace-one"),
    pytest.param("logspace(-5,-2,4)", (1e-05, 0.0001, 0.001, 0.01), id="logspace"),
    pytest.param("logspace(0,3,4,base=2)", (1.0, 2.0, 4.0, 8.0), id="logspace-base"),
    pytest.param("0-4", (0, 1, 2, 3, 4), id="inclusive"),
    pytest.param("10-20-2", (10, 12, 14, 16, 18, 20), id="inclusive-step"),
    pytest.param("0-0.5:5", (0.0, 0.125, 0.25, 0.375, 0.5), id="inclusive-count"),
    pytest.param("3-10:4", (3, 5, 8, 10), id="inclusive-int-picks"),
    pytest.param("0-1-0.25", (0.0, 0.25, 0.5, 0.75, 1.0), id="inclusive-float-step"),
    pytest.param("4-0", (4, 3, 2, 1, 0), id="inclusive-down"),
    pytest.param("-1-2", (-1, 0, 1, 2), id="inclusive-negative-start"),
    pytest.param("-3--1", (-3, -2, -1), id="inclusive-negative-both"),
    pytest.param("1-2,5-6", (1, 2, 5, 6), id="ranges-joined"),
    pytest.param("0-1,7", (0, 1, "7"), id="range-and-value"),
    pytest.param("choice(a, 'b c', 3)", ("a", "'b c'", "3"), id="choice"),
    pytest.param("'a','b'", ("'a'", "'b'"), id="quoted-items"),
    pytest.param("[64,32],[128]", ("[64,32]", "[128]"), id="lists-swept"),
    pytest.param("1.0e-5,1.0e-6", ("1.0e-5", "1.0e-6"), id="scientific-items"),
    pytest.param("-1,-2", ("-1", "-2"), id="negative-items"),
]


@pytest.mark.parametrize(("text", "values"), SWEEPS)
def test_sweeps(text: str, values: tuple[Any, ...]) -> None:
    sweep = parse_value(text)
    assert isinstance(sweep, Sweep)
    assert sweep.values == values
    expected = [Text if isinstance(v, str) else type(v) for v in values]
    assert [type(v) for v in sweep.values] == expected
    assert sweep.text == text


def test_computed_values_are_exact_numbers() -> None:
    floats = parse_value("range(0,1,0.1)")
    assert isinstance(floats, Sweep)
    assert floats.values[3] == 0.3  # decimal steps, not 0.30000000000000004
    ints = parse_value("range(0,5)")
    assert isinstance(ints, Sweep)
    assert all(type(v) is int for v in ints)


SINGLES = [
    pytest.param("1e-3", id="scientific-is-no-range"),
    pytest.param("1e-10", id="scientific-long"),
    pytest.param("-3", id="negative"),
    pytest.param("-1.5e-3", id="negative-scientific"),
    pytest.param("[64,32]", id="list"),
    pytest.param("[[1,2],[3]]", id="nested-list"),
    pytest.param("{a: 1, b: 2}", id="mapping"),
    pytest.param("'a,b'", id="quoted-comma"),
    pytest.param('"0-4"', id="quoted-range"),
    pytest.param("2020-01-01", id="date"),
    pytest.param("x-y", id="words-with-dash"),
    pytest.param("it's", id="apostrophe"),
    pytest.param("a=b", id="equals"),
    pytest.param("^feat_[0-9]+$", id="regex"),
    pytest.param("relu(x)", id="unknown-function-text"),
    pytest.param("", id="empty"),
    pytest.param("true", id="bool"),
]


@pytest.mark.parametrize("text", SINGLES)
def test_single_values_stay_text(text: str) -> None:
    value = parse_value(text)
    assert isinstance(value, Text)
    assert value == text


def caret(message: str) -> int:
    """The column of the caret relative to the shown text."""
    lines = message.splitlines()
    return lines[-1].index("^") - lines[-2].index(lines[-2].strip())


ERRORS = [
    pytest.param("0,,2", 2, "empty item in a comma list", id="empty-item"),
    pytest.param("0,", 2, "empty item in a comma list", id="trailing-comma"),
    pytest.param("range(0,5", 5, r"this '\(' is never closed", id="unclosed-paren"),
    pytest.param("[64,32", 0, r"this '\[' is never closed", id="unclosed-bracket"),
    pytest.param("64]", 2, r"this '\]' closes nothing", id="stray-bracket"),
    pytest.param("(]", 1, r"expected '\)' to close", id="mismatched"),
    pytest.param("'abc", 0, "this ' is never closed", id="unclosed-quote"),
    pytest.param("range(0,x)", 8, r"stop must be a number \(got 'x'\)", id="range-not-number"),
    pytest.param("range(0,5,0)", 10, "must not be 0", id="range-zero-step"),
    pytest.param("range(5,0)", 0, "is empty", id="range-empty"),
    pytest.param("range(1,2,3,4)", 12, r"takes 1 to 3 arguments \(got 4\)", id="range-arity"),
    pytest.param("range(0,,2)", 8, "empty argument", id="range-empty-arg"),
    pytest.param("linspace(0,1)", 12, r"takes 3 arguments \(got 2\)", id="linspace-arity"),
    pytest.param("linspace(0,1,2.5)", 13, "num must be an integer", id="linspace-num"),
    pytest.param("linspace(0,1,0)", 13, "num must be at least 1", id="linspace-zero"),
    pytest.param("linspace(0,1,3,foo=1)", 15, "unknown keyword 'foo'", id="bad-keyword"),
    pytest.param("rnage(0,5)", 0, "did you mean range", id="misspelt-function"),
    pytest.param("int(1,5)", 0, r"search space for `ivory optimize`", id="distribution"),
    pytest.param("1-2-0", 4, "the step must not be 0", id="inclusive-zero-step"),
    pytest.param("0-4-1:3", 5, "not both", id="inclusive-step-and-count"),
    pytest.param("0-2:5", 4, "without repeats", id="inclusive-too-many-picks"),
    pytest.param("range(1000000)", 0, "at most 100000", id="too-large"),
]


@pytest.mark.parametrize(("text", "column", "message"), ERRORS)
def test_malformed_values_point_a_caret(text: str, column: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_value(text)
    assert not isinstance(info.value, OverrideError)
    assert str(info.value).splitlines()[-2] == f"    {text}"
    assert caret(str(info.value)) == column


def test_error_with_a_name_shows_the_override() -> None:
    with pytest.raises(OverrideError, match="empty item") as info:
        parse_value("0,,2", name="fold")
    assert str(info.value) == (
        "fold=0,,2: empty item in a comma list; remove the extra comma\n    fold=0,,2\n           ^"
    )
    assert info.value.path == "fold"
    assert info.value.source == "fold=0,,2"
    assert info.value.value == "0,,2"


DISTRIBUTIONS = [
    pytest.param("int(10, 300, step=10)", IntDistribution(10, 300, 10), id="int-step"),
    pytest.param("int(2,16)", IntDistribution(2, 16), id="int"),
    pytest.param("int(1, 1024, log)", IntDistribution(1, 1024, 1, True), id="int-log"),
    pytest.param("int(-5, 5)", IntDistribution(-5, 5), id="int-negative"),
    pytest.param("float(1e-5,1e-2,log)", FloatDistribution(1e-5, 1e-2, None, True), id="float-log"),
    pytest.param("float(1e-5,1e-2,log=true)", FloatDistribution(1e-5, 1e-2, None, True), id="log="),
    pytest.param("float(0, 1, step=0.1)", FloatDistribution(0.0, 1.0, 0.1), id="float-step"),
    pytest.param("float(0, 1)", FloatDistribution(0.0, 1.0), id="float"),
    pytest.param(
        "choice(sqrt, log2, 1.0)", CategoricalDistribution(("sqrt", "log2", 1.0)), id="choice"
    ),
    pytest.param(
        "choice('1', 1, null, true)", CategoricalDistribution(("1", 1, None, True)), id="typed"
    ),
]


@pytest.mark.parametrize(("text", "expected"), DISTRIBUTIONS)
def test_distributions(text: str, expected: object) -> None:
    assert parse_distribution(text) == expected
    assert is_distribution(text)


def test_distribution_types_are_exact() -> None:
    space = parse_distribution("float(1, 10)")
    assert isinstance(space, FloatDistribution)
    assert type(space.low) is float
    assert type(space.high) is float
    assert type(parse_distribution("int(1, 10)").low) is int  # type: ignore[union-attr]


DISTRIBUTION_ERRORS = [
    pytest.param("int(1.5, 3)", 4, "low must be an integer", id="int-float"),
    pytest.param("int(3, 1)", 7, r"high must not be below low", id="reversed"),
    pytest.param("int(1, 3, step=0)", 15, "step must be positive", id="zero-step"),
    pytest.param("int(1)", 5, r"int\(low, high\) takes 2 arguments \(got 1\)", id="arity"),
    pytest.param("int(1, 2, 3)", 10, r"takes 2 arguments \(got 3\)", id="too-many"),
    pytest.param("int(1, 9, foo=2)", 10, "unknown keyword 'foo'", id="keyword"),
    pytest.param("int(1, 9, step=2, step=3)", 18, "given twice", id="twice"),
    pytest.param("float(0, 1, log)", 6, "a log scale needs low > 0", id="log-zero"),
    pytest.param("float(1e-5, 1, step=0.1, log)", 15, "takes no step", id="log-step"),
    pytest.param("float(1, 2, log=maybe)", 16, "log must be true or false", id="log-value"),
    pytest.param("float(a, 2)", 6, "low must be a number", id="not-number"),
    pytest.param("choice()", 7, "needs at least one value", id="empty-choice"),
    pytest.param("range(0, 3)", 0, "expected a distribution", id="sweep"),
    pytest.param("3", 0, "expected a distribution", id="value"),
    pytest.param("float(1, 2", 5, r"this '\(' is never closed", id="unclosed"),
]


@pytest.mark.parametrize(("text", "column", "message"), DISTRIBUTION_ERRORS)
def test_malformed_distributions_point_a_caret(text: str, column: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_distribution(text)
    assert caret(str(info.value)) == column


def test_distribution_error_with_a_name() -> None:
    with pytest.raises(OverrideError, match="low must be an integer") as info:
        parse_distribution("int(0.5, 2)", name="max_depth")
    assert str(info.value).splitlines() == [
        "max_depth=int(0.5, 2): low must be an integer (got '0.5')",
        "    max_depth=int(0.5, 2)",
        "                  ^",
    ]


def test_distributions_suggest_through_a_trial() -> None:
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    n = parse_distribution("int(10, 300, step=10)").suggest(trial, "n")
    lr = parse_distribution("float(1e-5, 1e-2, log)").suggest(trial, "lr")
    kind = parse_distribution("choice(sqrt, log2)").suggest(trial, "kind")
    assert n % 10 == 0
    assert 10 <= n <= 300
    assert 1e-5 <= lr <= 1e-2
    assert kind in ("sqrt", "log2")
    assert trial.distributions["lr"] == optuna.distributions.FloatDistribution(1e-5, 1e-2, log=True)


@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=8))
def test_comma_lists_of_ints_round_trip(numbers: list[int]) -> None:
    sweep = parse_value(",".join(map(str, numbers)))
    assert isinstance(sweep, Sweep)
    assert [int(v) for v in sweep] == numbers


@given(st.integers(-50, 50), st.integers(-50, 50))
def test_inclusive_ranges_include_both_ends(start: int, stop: int) -> None:
    sweep = parse_value(f"{start}-{stop}")
    assert isinstance(sweep, Sweep)
    assert sweep.values[0] == start
    assert sweep.values[-1] == stop
    assert len(sweep) == abs(stop - start) + 1


def test_create_params_refuses_a_sweep_and_names_the_way_out() -> None:
    import ivory

    experiment = ivory.Experiment.from_text(
        "estimator: {class: ivory.data.Data}\nfold: 0\nnote: x\n", name="grammar"
    )
    with pytest.raises(OverrideError, match="fold=0-4: this value sweeps 5 values") as info:
        experiment.create_params({"fold": Text("0-4")})
    assert "run a task (ivory run, Task.product)" in str(info.value)
    _, update = experiment.create_params({"note": Text("'a,b'"), "fold": Text("1")})
    assert update == {"note": "a,b", "fold": 1}
