"""Typed validation: a model per constructor, every error of a file in one pass, in user terms."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

import ivory
from ivory.config.dump import dump_yaml
from ivory.config.schema import model_for, signature_model, validate_kwargs
from ivory.errors import ConfigError, OverrideError
from ivory.registry import Registry
from tests.config.conftest import Load
from tests.config.constructors import (
    CALLS,
    Activation,
    CallbackCfg,
    Cat,
    Dog,
    Layer,
    Level,
    Net,
    OptimizerCfg,
    SchedulerCfg,
    Window,
)

# The format of errors.


def test_every_error_of_a_file_in_one_pass_with_file_line_col_and_path(load: Load) -> None:
    experiment = load(
        """
        model:
          class: net
          hidden_sizes: [64, ten]
          act: swish
          dropout: 2
          mode: medium
          bogus: 1
        blocks:
          class: blocks
          first: {units: 4, extra: 1}
          pet: {kind: cat, lives: many}
        data: {class: files, root: 3}
        """
    )
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert str(info.value).splitlines() == [
        "x.yaml:3:22: run.model.hidden_sizes.1: Input should be a valid integer, unable to parse "
        "string as an integer (got 'ten')",
        "x.yaml:4:8: run.model.act: Input should be 'relu' or 'gelu' (got 'swish')",
        "x.yaml:5:12: run.model.dropout: Input should be less than or equal to 1 (got 2)",
        "x.yaml:6:9: run.model.mode: Input should be 'fast' or 'slow' (got 'medium')",
        "x.yaml:7:10: run.model.bogus: unknown key; accepted: hidden_sizes, act, level, dropout, "
        "mode, warmup, copy",
        "x.yaml:10:28: run.blocks.first.extra: unknown key; accepted: units, act",
        "x.yaml:11:27: run.blocks.pet.lives: Input should be a valid integer, unable to parse "
        "string as an integer (got 'many')",
        "x.yaml:12:28: run.data.root: Input is not a valid path for <class 'pathlib.Path'> (got 3)",
    ]
    first = info.value.issues[0]
    assert (first.path, first.value, first.source) == (
        "run.model.hidden_sizes.1",
        "ten",
        "x.yaml:3:22",
    )
    assert (info.value.path, info.value.value, info.value.source) == (
        first.path,
        first.value,
        first.source,
    )
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, OverrideError)
    assert CALLS == []


def test_errors_in_a_file_loaded_by_path(tmp_path: pathlib.Path, registry: Registry) -> None:
    from tests.conftest import write

    path = write(tmp_path, "exp.yaml", "model:\n  class: net\n  hidden_sizes: [1]\n  mode: 3\n")
    experiment = ivory.Experiment.from_file(str(path), registry=registry)
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert (
        str(info.value) == f"{path}:4:9: run.model.mode: Input should be 'fast' or 'slow' (got 3)"
    )


# Models from signatures.


def test_string_annotations_are_resolved() -> None:
    model = model_for(Net)
    assert model is not None
    assert model.model_fields["hidden_sizes"].annotation == list[int]
    assert model.model_fields["mode"].is_required() is False


def test_annotated_metadata_is_kept(load: Load) -> None:
    experiment = load("model: {class: net, hidden_sizes: [1], dropout: -0.5}")
    with pytest.raises(ConfigError, match=r"run\.model\.dropout: Input should be greater than"):
        experiment.create_params()


def test_values_are_coerced_to_their_field_types(load: Load) -> None:
    experiment = load(
        "model: {class: net, hidden_sizes: ['64', 32.0], dropout: 0, act: GELU, level: 2}"
    )
    params, _ = experiment.create_params()
    model = params.run.model
    assert model.hidden_sizes == [64, 32]
    assert type(model.hidden_sizes[1]) is int
    assert model.dropout == 0.0
    assert type(model.dropout) is float
    assert model.act is Activation.GELU
    assert model.level is Level.HIGH
    run = experiment.create_run()
    assert run.model.act is Activation.GELU
    assert run.model.hidden_sizes == [64, 32]


def test_a_parameter_named_like_a_pydantic_attribute(load: Load) -> None:
    params, _ = load("model: {class: net, hidden_sizes: [1], copy: 'false'}").create_params()
    assert params.run.model["copy"] is False  # A dict method's name: item access.
    with pytest.raises(ConfigError, match=r"run\.model\.copy: Input should be a valid boolean"):
        load("model: {class: net, hidden_sizes: [1], copy: maybe}").create_params()


def test_unknown_keys_are_errors_unless_the_constructor_takes_kwargs(load: Load) -> None:
    with pytest.raises(ConfigError, match=r"run\.model\.hidden_size: unknown key; did you mean"):
        load("model: {class: net, hidden_size: [1]}").create_params()
    params, _ = load("loose: {class: loose, x: '3', anything: [1], other: {a: 1}}").create_params()
    assert params.run.loose.to_dict() == {
        "class": "loose",
        "x": 3,
        "anything": [1],
        "other": {"a": 1},
    }


def test_missing_required_argument(load: Load) -> None:
    with pytest.raises(ConfigError) as info:
        load("model: {class: net}\n").create_params()
    assert str(info.value) == "x.yaml:1:8: run.model.hidden_sizes: required; give a value"


def test_nested_models_dicts_of_dicts_lists_dataclasses_and_unions(load: Load) -> None:
    experiment = load(
        """
        blocks:
          class: blocks
          blocks: {enc: {a: {units: 1}, b: {units: '2', act: gelu}}}
          layers: [{units: 3}, {units: 4, act: GELU}]
          window: {size: 5}
          pet: {kind: dog}
        """
    )
    params, _ = experiment.create_params()
    # The parameter tree holds plain values; the built object gets models.
    assert params.run.blocks.blocks.to_dict() == {
        "enc": {
            "a": {"units": 1, "act": Activation.RELU},
            "b": {"units": 2, "act": Activation.GELU},
        }
    }
    blocks = experiment.create_run().blocks
    assert blocks.blocks == {"enc": {"a": Layer(units=1), "b": Layer(units=2, act=Activation.GELU)}}
    assert blocks.layers == [Layer(units=3), Layer(units=4, act=Activation.GELU)]
    assert blocks.window == Window(size=5, stride=1)
    assert blocks.pet == Dog(kind="dog")
    assert blocks.first == Layer(units=3)  # A default given as an instance.


@pytest.mark.parametrize(
    ("node", "path", "message"),
    [
        pytest.param(
            "{blocks: {enc: {a: {units: x}}}}",
            "run.blocks.blocks.enc.a.units",
            "Input should be a valid integer, unable to parse string as an integer (got 'x')",
            id="dict-of-dict",
        ),
        pytest.param(
            "{blocks: {enc: {a: {units: 1, size: 2}}}}",
            "run.blocks.blocks.enc.a.size",
            "unknown key; accepted: units, act",
            id="dict-of-dict-unknown",
        ),
        pytest.param(
            "{layers: [{units: 1}, {units: 1, unit: 2}]}",
            "run.blocks.layers.1.unit",
            "unknown key; did you mean 'units'?",
            id="list-unknown",
        ),
        pytest.param(
            "{layers: [{units: 1}, {act: relu}]}",
            "run.blocks.layers.1.units",
            "required; give a value",
            id="list-missing",
        ),
        pytest.param(
            "{window: {size: 1, strid: 2}}",
            "run.blocks.window.strid",
            "unknown key; did you mean 'stride'?",
            id="dataclass-unknown",
        ),
        pytest.param(
            "{pet: {kind: cow}}",
            "run.blocks.pet",
            "Input tag 'cow' found using 'kind' does not match any of the expected tags: 'cat', "
            "'dog' (got {'kind': 'cow'})",
            id="discriminator",
        ),
        pytest.param(
            "{pet: {kind: dog, lives: 3}}",
            "run.blocks.pet.lives",
            "unknown key; accepted: kind, bark",
            id="union-member-unknown",
        ),
        pytest.param(
            "{first: null}",
            "run.blocks.first",
            "Input should be a valid dictionary or instance of Layer (got null: the field is not "
            "optional)",
            id="not-optional",
        ),
    ],
)
def test_nested_errors_have_user_paths(load: Load, node: str, path: str, message: str) -> None:
    experiment = load(f"blocks: {node[:-1]}, class: blocks}}\n")
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert [(issue.path, issue.message) for issue in info.value.issues] == [(path, message)]


def test_a_misspelled_key_in_a_list_item_is_reported_with_the_missing_one(load: Load) -> None:
    experiment = load("blocks: {class: blocks, layers: [{units: 1}, {unit: 2}]}")
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert [(issue.path, issue.message) for issue in info.value.issues] == [
        ("run.blocks.layers.1.units", "required; give a value"),
        ("run.blocks.layers.1.unit", "unknown key; did you mean 'units'?"),
    ]


def test_union_keeps_int_and_float_apart(load: Load) -> None:
    experiment = load("model: {class: net, hidden_sizes: [1], warmup: 100}")
    params, _ = experiment.create_params()
    assert params.run.model.warmup == 100
    assert type(params.run.model.warmup) is int
    assert "warmup: 100\n" in dump_yaml(params.to_dict())
    params, _ = experiment.create_params(warmup=0.1)
    assert params.run.model.warmup == 0.1


def test_path_fields(load: Load) -> None:
    params, _ = load("data: {class: files, root: datasets/mnist}").create_params()
    assert params.run.data.root == pathlib.Path("datasets/mnist")
    assert "root: datasets/mnist\n" in dump_yaml(params.to_dict())
    run = load("data: {class: files, out: out/dir}").create_run()
    assert run.data.root == pathlib.Path("data")
    assert run.data.out == pathlib.Path("out/dir")


def test_explicitly_registered_models(registry: Registry) -> None:
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        depth: int = 2

    class Tree:
        __ivory_model__ = Settings

        def __init__(self, **kwargs: Any) -> None:
            self.settings = Settings(**kwargs)

    registry.register("tree", Tree)
    registry.register("settings", Settings)
    experiment = ivory.Experiment.from_text(
        "tree: {class: tree, depth: '3'}\nsettings: {class: settings, depth: 4}\n",
        name="x",
        registry=registry,
    )
    run = experiment.create_run()
    assert run.tree.settings.depth == 3
    assert run.settings == Settings(depth=4)  # A pydantic model is its own schema.
    bad = ivory.Experiment.from_text("tree: {class: tree, width: 3}", name="x", registry=registry)
    with pytest.raises(ConfigError, match=r"run\.tree\.width: unknown key; did you mean 'depth'"):
        bad.create_params()


def test_a_constructor_without_a_signature_accepts_anything() -> None:
    assert signature_model(max) is None
    result = validate_kwargs(max, {"key": 1}, set())
    assert result.typed == {"key": 1}
    assert result.issues == []


def test_literal_values_beside_references_are_still_coerced(load: Load) -> None:
    experiment = load(
        """
        net: {class: node, size: 2}
        optimizer: {class: optimizer, params: $.net.parameters(), lr: 1}
        """
    )
    params, _ = experiment.create_params()
    assert params.run.optimizer.lr == 1.0
    assert type(params.run.optimizer.lr) is float
    run = experiment.create_run()
    assert run.optimizer.params == [2]
    assert type(run.optimizer.lr) is float


def test_def_nodes_bind_some_arguments(load: Load) -> None:
    experiment = load("fn: {def: scale, factor: '3'}\nplain: {def: scale}\n")
    params, _ = experiment.create_params()
    assert params.run.fn.factor == 3.0
    run = experiment.create_run()
    assert run.fn(2.0) == 6.0
    assert run.plain(2.0) == 4.0
    with pytest.raises(ConfigError, match=r"run\.fn\.factr: unknown key; did you mean 'factor'"):
        load("fn: {def: scale, factr: 3}").create_params()


# Values that name a function or a class.


@pytest.mark.parametrize(
    ("node", "path", "message"),
    [
        pytest.param(
            "{class: wrapper, model: scale}",
            "run.wrap.model",
            "'scale' is a function, not a class",
            id="a-function-for-a-class",
        ),
        pytest.param(
            "{class: wrapper, model: ivory.data.Dta}",
            "run.wrap.model",
            "cannot import 'ivory.data.Dta': 'ivory.data' has no attribute 'Dta'; did you mean "
            "'ivory.data.Data' or 'ivory.data.Dataset'?",
            id="a-typo",
        ),
        pytest.param(
            "{class: wrapper, model: nett}",
            "run.wrap.model",
            "unknown constructor name 'nett'; did you mean 'net'?",
            id="a-registered-name",
        ),
        pytest.param(
            "{class: wrapper, model: net, hooks: [math.sqrt, math.pi]}",
            "run.wrap.hooks.1",
            "'math.pi' is a float, not a function",
            id="in-a-list",
        ),
        pytest.param(
            "{class: wrapper, model: net, loss: math.tau}",
            "run.wrap.loss",
            "'math.tau' is a float, not a function",
            id="optional",
        ),
    ],
)
def test_names_of_functions_and_classes_are_resolved(
    load: Load, node: str, path: str, message: str
) -> None:
    experiment = load(f"wrap: {node}\n")
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert [(issue.path, issue.message) for issue in info.value.issues] == [(path, message)]


def test_an_empty_value_checks_the_name_it_stands_for(load: Load) -> None:
    experiment = load("wrap: {class: wrapper, model: net, loss: null}\n")
    params, _ = experiment.create_params()
    assert params.run.wrap.to_dict() == {"class": "wrapper", "model": "net", "loss": None}
    run = experiment.create_run()
    assert run.wrap.loss.__name__ == "fsum"
    assert run.wrap.hooks == []


# B06: typing of override literals.


@pytest.fixture
def typed(load: Load) -> ivory.Experiment:
    return load(
        r"""
        flags: {class: typed, use_amp: false}
        run: {class: typed, tag: x, note: hello, maybe: y}
        model: {class: typed, hidden_sizes: [1]}
        data: {class: typed, query: q, pattern: '^feat_[0-9]+$'}
        sched: {class: typed, warmup: 1}
        """.replace("run: {", "info: {")
    )


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("flags.use_amp", "true", True, id="1-bool"),
        pytest.param("info.tag", "true", True, id="2-any-bare"),
        pytest.param("info.tag", "'true'", "true", id="2-any-quoted"),
        pytest.param("info.tag", "null", None, id="3-any-null"),
        pytest.param("info.tag", "'null'", "null", id="3-any-quoted-null"),
        pytest.param("model.hidden_sizes", "[128,64]", [128, 64], id="4-list"),
        pytest.param("info.tag", "'[1,2]'", "[1,2]", id="4-quoted-list"),
        pytest.param("data.query", "a=b", "a=b", id="5-equals"),
        pytest.param("data.pattern", "^x$", "^x$", id="6-dollar"),
        pytest.param("info.note", "", "", id="7-empty"),
        pytest.param("sched.warmup", "100", 100, id="8-int"),
        pytest.param("sched.warmup", "0.1", 0.1, id="8-float"),
        pytest.param("info.note", "123", "123", id="str-number"),
        pytest.param("info.note", "null", "null", id="str-null"),
        pytest.param("info.maybe", "null", None, id="optional-str-null"),
        pytest.param("info.maybe", "'null'", "null", id="optional-str-quoted-null"),
    ],
)
def test_b06_override_literals_are_typed_by_field(
    typed: ivory.Experiment, name: str, text: str, expected: Any
) -> None:
    from ivory.config.values import Text

    params, update = typed.create_params({name: Text(text)})
    section, key = name.split(".")
    value = params.run[section][key]
    assert value == expected
    assert type(value) is type(expected)
    assert update == {name: expected}


def test_b06_yaml_value_with_a_dollar_loads_as_written(typed: ivory.Experiment) -> None:
    params, _ = typed.create_params()
    assert params.run.data.pattern == "^feat_[0-9]+$"
    assert params.run.sched.warmup == 1
    assert type(params.run.sched.warmup) is int


def test_b06_list_value_from_the_command_line_is_one_value(typed: ivory.Experiment) -> None:
    from ivory.config.values import Text

    with pytest.raises(OverrideError, match=r"model\.hidden_sizes\.1: Input should be a valid"):
        typed.create_params({"model.hidden_sizes": Text("[1, x]")})


# B08: None, Optional and missing values.


def test_b08_optional_member_set_to_null_builds_nothing(load: Load) -> None:
    from ivory.config.values import Text

    experiment = load(
        """
        trainer: {class: trainer, optimizer: {lr: 0.1}}
        scheduler: {class: scheduler, optimizer: $.trainer}
        """
    )
    params, _ = experiment.create_params({"scheduler": Text("null")})
    assert params.run.scheduler is None
    run = experiment.create_run({"scheduler": Text("null")})
    assert run.scheduler is None
    assert CALLS == ["trainer"]


def test_b08_optional_field_set_to_null(load: Load) -> None:
    from ivory.config.values import Text

    experiment = load("trainer: {class: trainer, optimizer: {lr: 0.1}}")
    run = experiment.create_run({"trainer.scheduler": Text("null")})
    assert run.trainer.scheduler is None
    assert run.trainer.optimizer == OptimizerCfg(lr=0.1)
    assert experiment.create_run().trainer.scheduler == SchedulerCfg(step=10)


def test_b08_required_nullable_field(load: Load) -> None:
    with pytest.raises(ConfigError) as info:
        load("model: {class: model, size: 2}").create_params()
    assert str(info.value) == (
        "x.yaml:1:8: run.model.checkpoint: required; give a value (null is allowed)"
    )
    params, _ = load("model: {class: model, checkpoint: null}").create_params()
    assert params.run.model.checkpoint is None


def test_b08_null_for_a_required_field_that_is_not_optional(load: Load) -> None:
    from ivory.config.values import Text

    experiment = load("trainer: {class: trainer, optimizer: {lr: 0.1}}")
    with pytest.raises(OverrideError) as info:
        experiment.create_params({"trainer.optimizer": Text("null")})
    (issue,) = info.value.issues
    assert issue.path == "run.trainer.optimizer"
    assert issue.message == (
        "Input should be a valid dictionary or instance of OptimizerCfg (got null: the field is "
        "not optional)"
    )
    assert issue.source == "trainer.optimizer=null"


def test_b08_missing_value_below_an_argument_is_reported_once(load: Load) -> None:
    experiment = load(
        """
        trainer:
          class: trainer
          optimizer: {lr: "???"}
        """
    )
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert str(info.value) == (
        "x.yaml:3:19: run.trainer.optimizer.lr: missing value (???); give one in the file or as "
        "an override"
    )
    params, _ = experiment.create_params(lr=0.5)
    assert params.run.trainer.optimizer.lr == 0.5


# B11: list items do not inherit from the item before.


def test_b11_list_items_take_defaults_not_the_previous_item(load: Load) -> None:
    experiment = load(
        """
        trainer:
          class: trainer
          optimizer: {lr: 0.1}
          callbacks: [{}, {every: 2, mode: max}, {every: 3}]
        callbacks:
          - {class: callback}
          - {class: callback, every: 2, mode: max}
          - {class: callback, every: 3}
        """
    )
    expected = [
        {"every": 1, "mode": "min"},
        {"every": 2, "mode": "max"},
        {"every": 3, "mode": "min"},
    ]
    run = experiment.create_run()
    assert run.trainer.callbacks == [CallbackCfg(**item) for item in expected]
    assert [vars(callback) for callback in run.callbacks] == expected


def test_b11_list_items_given_as_a_colon_list(load: Load) -> None:
    from ivory.config.values import Text

    experiment = load("trainer: {class: trainer, optimizer: {lr: 0.1}}")
    params, update = experiment.create_params(
        {
            "callbacks:0": Text("{}"),
            "callbacks:1": Text("{every: 2, mode: max}"),
            "callbacks:2": Text("{every: 3}"),
        }
    )
    assert params.run.trainer.callbacks == [
        {"every": 1, "mode": "min"},
        {"every": 2, "mode": "max"},
        {"every": 3, "mode": "min"},
    ]
    assert update == {
        "callbacks:0": {"every": 1, "mode": "min"},
        "callbacks:1": {"every": 2, "mode": "max"},
        "callbacks:2": {"every": 3, "mode": "min"},
    }


# B15: enums by name or value, and round trip.


def test_b15_enum_by_value_by_name_and_round_trip(load: Load) -> None:
    from ivory.config.values import Text

    experiment = load("model: {class: net, hidden_sizes: [1], act: relu}")
    params, _ = experiment.create_params()
    assert params.run.model.act is Activation.RELU

    params, update = experiment.create_params({"model.act": Text("GELU")})
    assert params.run.model.act is Activation.GELU
    assert update == {"model.act": Activation.GELU}
    saved = dump_yaml(params.to_dict())
    assert "act: gelu\n" in saved
    reloaded = ivory.Experiment.from_text(saved, name="x", registry=experiment.registry)
    assert reloaded.create_params()[0].run.model.act is Activation.GELU

    with pytest.raises(OverrideError) as info:
        experiment.create_params({"model.act": Text("swish")})
    (issue,) = info.value.issues
    assert (issue.path, issue.value) == ("run.model.act", "swish")
    assert issue.message == "Input should be 'relu' or 'gelu' (got 'swish')"


def test_enum_with_int_values_by_name_and_value(load: Load) -> None:
    from ivory.config.values import Text

    experiment = load("model: {class: net, hidden_sizes: [1]}")
    assert experiment.create_params(level=Text("HIGH"))[0].run.model.level is Level.HIGH
    assert experiment.create_params(level=Text("2"))[0].run.model.level is Level.HIGH


def test_model_instances_are_accepted_as_values(load: Load) -> None:
    experiment = load("blocks: {class: blocks}")
    params, _ = experiment.create_params({"blocks.pet": Cat(kind="cat", lives=3)})
    assert params.run.blocks.pet.to_dict() == {"kind": "cat", "lives": 3}
