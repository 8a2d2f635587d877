"""References between members (``$``), the build graph, and ``${…}`` interpolation."""

from __future__ import annotations

import pytest

from ivory.config.references import Step, parse_reference
from ivory.config.values import Text
from ivory.errors import BuildError, ConfigError, OverrideError
from tests.config.conftest import Load
from tests.config.constructors import CALLS

# The grammar.


@pytest.mark.parametrize(
    ("text", "key", "member", "steps"),
    [
        pytest.param("$", "optimizer", "optimizer", (), id="dollar"),
        pytest.param("$.model", None, "model", (), id="member"),
        pytest.param("$.model.head", None, "model", (Step("attr", "head"),), id="attribute"),
        pytest.param(
            "$.model.parameters()", None, "model", (Step("call", "parameters"),), id="call"
        ),
        pytest.param(
            "$.data.sizes.0",
            None,
            "data",
            (Step("attr", "sizes"), Step("index", index=0)),
            id="index",
        ),
        pytest.param(
            "$.data.items.-1",
            None,
            "data",
            (Step("attr", "items"), Step("index", index=-1)),
            id="negative",
        ),
    ],
)
def test_reference_grammar(
    text: str, key: str | None, member: str, steps: tuple[Step, ...]
) -> None:
    reference = parse_reference(text, key)
    assert (reference.member, reference.steps, reference.text) == (member, steps, text)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        pytest.param("$", 0, "'\\$' must stand under the key of the member", id="no-key"),
        pytest.param("$.", None, "'' is not a member name", id="empty"),
        pytest.param("$.a.b(1)", None, "neither an attribute, a call without arguments", id="args"),
        pytest.param("$.a.__class__", None, "'__class__' is private", id="dunder"),
        pytest.param("$.a._secret()", None, "'_secret\\(\\)' is private", id="private-call"),
        pytest.param("$.a;import os", None, "is not a member name", id="injection"),
    ],
)
def test_reference_grammar_errors(text: str, key: str | int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_reference(text, key)


# Building members.


def test_each_member_is_built_once_and_shared(load: Load) -> None:
    experiment = load(
        """
        scheduler: {class: scheduler, optimizer: $}
        optimizer: {class: optimizer, params: $.net.parameters(), lr: 1}
        net: {class: node, size: $.base.size}
        base: {class: node, size: 3}
        student: {class: node, teacher: $.net}
        first: $.net.sizes.0
        """
    )
    run = experiment.create_run()
    # Forward references: dependencies are built first; the run keeps file order.
    assert run.keys() == ["scheduler", "optimizer", "net", "base", "student", "first"]
    assert CALLS == ["node", "node", "optimizer", "scheduler", "node"]
    assert run.scheduler.optimizer is run.optimizer
    assert run.student.teacher is run.net
    assert run.optimizer.params == [3]
    assert run.net.size == 3
    assert run.first == 3


def test_a_reference_inside_a_list_and_a_nested_node(load: Load) -> None:
    experiment = load(
        """
        net: {class: node, size: 2}
        pair: {class: loose, items: [$.net, $.net.sizes.1], inner: {class: node, teacher: $.net}}
        """
    )
    run = experiment.create_run()
    assert run.pair.kwargs["items"] == [run.net, 4]
    assert run.pair.kwargs["inner"].teacher is run.net
    assert CALLS == ["node", "node", "loose"]


def test_b14_member_cycle_is_an_error_before_any_constructor(load: Load) -> None:
    experiment = load(
        """
        model: {class: node, teacher: $.student}
        student: {class: node, teacher: $.model}
        """
    )
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert str(info.value) == (
        "x.yaml:1:8: run.model: members refer to each other in a cycle: model -> student -> model"
    )
    with pytest.raises(ConfigError, match=r"model -> student -> model"):
        experiment.create_run()
    assert CALLS == []


def test_a_longer_cycle_and_a_self_reference(load: Load) -> None:
    with pytest.raises(ConfigError, match=r"cycle: a -> b -> c -> a"):
        load(
            "a: {class: node, teacher: $.b}\nb: {class: node, teacher: $.c}\n"
            "c: {class: node, teacher: $.a}\n"
        ).create_params()
    with pytest.raises(ConfigError, match=r"run\.a\.teacher: member 'a' refers to itself"):
        load("a: {class: node, teacher: $.a}\n").create_params()
    assert CALLS == []


def test_a_reference_to_no_member(load: Load) -> None:
    with pytest.raises(ConfigError) as info:
        load("a: {class: node, teacher: $.nope}\n").create_params()
    assert str(info.value) == (
        "x.yaml:1:27: run.a.teacher: reference '$.nope' names no member; members are: a"
    )


def test_a_reference_that_cannot_be_followed_at_build_time(load: Load) -> None:
    experiment = load("a: {class: node}\nb: {class: node, teacher: $.a.missing}\n")
    with pytest.raises(BuildError, match=r"run\.b\.teacher: cannot follow '\$\.a\.missing'"):
        experiment.create_run()


def test_a_constructor_that_raises_is_a_build_error(load: Load) -> None:
    experiment = load("a: {class: linear, in_features: 2}\nb: {class: picky, size: -1}\n")
    with pytest.raises(BuildError) as info:
        experiment.create_run()
    assert str(info.value) == "run.b: picky(...) raised ValueError: size must be >= 0, not -1"
    assert isinstance(info.value.__cause__, ValueError)
    assert CALLS == ["linear", "picky"]


def test_a_name_that_is_not_callable(load: Load) -> None:
    experiment = load("a: {class: math.pi}\n")
    with pytest.raises(ConfigError, match=r"run\.a\.class: 'math\.pi' is a float, not a class"):
        experiment.create_params()


def test_create_instance_builds_one_member_and_what_it_needs(load: Load) -> None:
    experiment = load(
        """
        other: {class: node}
        base: {class: node, size: 5}
        optimizer: {class: optimizer, params: $.base.parameters()}
        """
    )
    optimizer = experiment.create_instance("optimizer", lr=0.5)
    assert optimizer.params == [5]
    assert optimizer.lr == 0.5
    assert CALLS == ["node", "optimizer"]


def test_overriding_a_reference(load: Load) -> None:
    experiment = load(
        "a: {class: node, size: 1}\nb: {class: node, size: 2}\nc: {class: node, teacher: $.a}\n"
    )
    run = experiment.create_run({"c.teacher": Text("$.b")})
    assert run.c.teacher is run.b


# Interpolation.


@pytest.fixture
def dims(load: Load) -> Load:
    return load


B13 = """
dims: {hidden: 128}
model: {hidden: "${dims.hidden}"}
head: {class: linear, in_features: "${model.hidden}"}
"""


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        pytest.param({}, (128, 128, 128), id="none"),
        pytest.param({"dims.hidden": Text("256")}, (256, 256, 256), id="a-source"),
        pytest.param({"model.hidden": Text("64")}, (128, 64, 64), id="b-middle"),
    ],
)
def test_b13_interpolation_resolves_after_overrides(
    load: Load, override: dict[str, Text], expected: tuple[int, int, int]
) -> None:
    experiment = load(B13)
    params, _ = experiment.create_params(override)
    run = params.run
    assert (run.dims.hidden, run.model.hidden, run.head.in_features) == expected
    assert type(run.head.in_features) is int
    # The experiment keeps its interpolations for the next call.
    assert experiment.params.run.model.hidden == "${dims.hidden}"


def test_b13_built_member_gets_the_resolved_value(load: Load) -> None:
    run = load(B13).create_run({"dims.hidden": 32})
    assert run.head.in_features == 32


def test_b14_interpolation_cycle_is_an_error(load: Load) -> None:
    with pytest.raises(ConfigError) as info:
        load('a: "${b}"\nb: "${a}"\n').create_params()
    assert str(info.value) == "x.yaml:1:4: run.a: interpolations form a cycle: a -> b -> a"


def test_b14_an_override_replaces_a_self_reference(load: Load) -> None:
    experiment = load('name: "${name}"\n')
    params, update = experiment.create_params({"name": Text("exp1")})
    assert params.run.name == "exp1"
    assert update == {"name": "exp1"}
    with pytest.raises(ConfigError, match=r"run\.name: interpolations form a cycle: name -> name"):
        experiment.create_params()


def test_an_interpolation_that_names_nothing(load: Load) -> None:
    with pytest.raises(ConfigError) as info:
        load('dims: {hidden: 1}\nmodel: {size: "${dims.hiden}"}\n').create_params()
    assert str(info.value) == (
        "x.yaml:2:15: run.model.size: interpolation ${dims.hiden} names no parameter "
        "'dims.hiden'; did you mean ${dims.hidden}?"
    )


def test_relative_and_embedded_interpolations(load: Load) -> None:
    params, _ = load(
        'model: {a: 2, b: "${.a}", name: "net-${.a}x${model.a}"}\ntop: "${model.b}"\n'
    ).create_params()
    assert params.run.model.to_dict() == {"a": 2, "b": 2, "name": "net-2x2"}
    assert params.run.top == 2


def test_an_interpolated_value_that_does_not_fit_its_field(load: Load) -> None:
    experiment = load(
        'dims: {hidden: wide}\nhead: {class: linear, in_features: "${dims.hidden}"}\n'
    )
    with pytest.raises(
        ConfigError, match=r"run\.head\.in_features: Input should be a valid integer"
    ):
        experiment.create_params()
    params, _ = experiment.create_params({"dims.hidden": 8})
    assert params.run.head.in_features == 8


def test_an_override_value_may_interpolate(load: Load) -> None:
    params, _ = load(B13).create_params({"head.in_features": Text("${dims.hidden}")})
    assert params.run.head.in_features == 128


def test_an_escaped_dollar_brace_is_text(load: Load) -> None:
    params, _ = load('price: "\\\\${USD}"\n').create_params()
    assert params.run.price == "${USD}"


def test_an_override_error_in_an_interpolation_is_an_override_error(load: Load) -> None:
    with pytest.raises(OverrideError, match=r"names no parameter 'nothing'"):
        load(B13).create_params({"model.hidden": Text("${nothing}")})
