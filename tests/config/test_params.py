"""create_params (DESIGN §5): names, values, errors, and what never changes."""

from __future__ import annotations

import math
from typing import Any

import pytest

import ivory
from ivory.config.dump import dump_yaml
from ivory.config.params import Params
from ivory.config.values import Text
from ivory.errors import ConfigError, OverrideError
from tests.config.conftest import Load
from tests.config.constructors import CALLS

NET = """
model:
  class: net
  hidden_sizes: [64, 32]
  dropout: 0.5
optimizer: {class: optimizer, lr: 0.1}
scheduler: {class: scheduler, optimizer: $.optimizer}
datasets:
  data: {class: files, name: diabetes}
  fold: 0
"""


@pytest.fixture
def net(load: Load) -> ivory.Experiment:
    return load(NET)


# Names.


@pytest.mark.parametrize(
    ("name", "path"),
    [
        pytest.param("model.dropout", ("model", "dropout"), id="full"),
        pytest.param("run.model.dropout", ("model", "dropout"), id="with-section"),
        pytest.param("dropout", ("model", "dropout"), id="short"),
        pytest.param("data.name", ("datasets", "data", "name"), id="short-two"),
        pytest.param("lr", ("optimizer", "lr"), id="short-lr"),
        pytest.param("momentum", ("optimizer", "momentum"), id="unset-field"),
        pytest.param("fold", ("datasets", "fold"), id="value-member"),
    ],
)
def test_names_resolve(net: ivory.Experiment, name: str, path: tuple[str, ...]) -> None:
    value = 0.25 if path[-1] != "name" else "iris"
    value = 3 if path[-1] == "fold" else value
    params, update = net.create_params({name: value})
    node: Any = params.run
    for key in path:
        node = node[key]
    assert node == value
    assert update == {name: value}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("model.hidden_sizes.0", [100, 32], id="dot"),
        pytest.param("model.hidden_sizes[1]", [64, 100], id="bracket"),
        pytest.param("hidden_sizes.1", [64, 100], id="short-index"),
        pytest.param("hidden_sizes[-1]", [64, 100], id="negative"),
    ],
)
def test_list_elements(net: ivory.Experiment, name: str, expected: list[int]) -> None:
    params, update = net.create_params({name: Text("100")})
    assert params.run.model.hidden_sizes == expected
    assert update == {name: 100}


def test_colon_lists_build_a_whole_list(net: ivory.Experiment) -> None:
    args = {"hidden_sizes:0": Text("8"), "hidden_sizes:1": 4, "hidden_sizes:2": Text("2")}
    params, update = net.create_params(args)
    assert params.run.model.hidden_sizes == [8, 4, 2]
    assert update == {"hidden_sizes:0": 8, "hidden_sizes:1": 4, "hidden_sizes:2": 2}


def test_colon_list_with_a_gap(net: ivory.Experiment) -> None:
    with pytest.raises(OverrideError) as info:
        net.create_params({"hidden_sizes:0": 1, "hidden_sizes:2": 2})
    assert str(info.value) == (
        "hidden_sizes:0=1 hidden_sizes:2=2: hidden_sizes: a colon list must number its items 0, "
        "1, … without gaps (got 0, 2)"
    )


def test_adding_a_key_needs_a_plus(load: Load) -> None:
    experiment = load("consts: {a: 1}\nmodel: {class: loose}\n")
    with pytest.raises(OverrideError, match=r"unknown key consts\.b; consts has a \(write "):
        experiment.create_params({"consts.b": 2})
    params, update = experiment.create_params({"+consts.b": 2, "model.y": Text("[1]")})
    assert params.run.consts.to_dict() == {"a": 1, "b": 2}
    assert params.run.model.y == [1]  # A constructor that takes **kwargs accepts new keys.
    assert update == {"+consts.b": 2, "model.y": [1]}


def test_a_new_argument_of_a_constructor_needs_no_plus(net: ivory.Experiment) -> None:
    params, _ = net.create_params({"optimizer.momentum": Text("0.9")})
    assert params.run.optimizer.momentum == 0.9


def test_ambiguous_short_name_lists_candidates(load: Load) -> None:
    experiment = load("a: {class: optimizer, lr: 1}\nb: {class: optimizer, lr: 2}\n")
    with pytest.raises(OverrideError) as info:
        experiment.create_params(lr=3)
    (issue,) = info.value.issues
    assert issue.path == "lr"
    assert issue.message == "ambiguous name: it matches a.lr, b.lr; give one of these paths"
    assert issue.value == 3
    assert issue.source == "lr=3"


def test_unknown_short_name_suggests_the_closest(net: ivory.Experiment) -> None:
    with pytest.raises(OverrideError) as info:
        net.create_params({"dropot": Text("0.1")})
    assert str(info.value) == (
        "dropot=0.1: unknown name 'dropot': no parameter is called so; did you mean model.dropout?"
    )


def test_a_path_error_names_what_lies_there(net: ivory.Experiment) -> None:
    with pytest.raises(OverrideError) as info:
        net.create_params({"model.dropout.x": 1, "model.hidden_sizes.a": 1})
    assert [issue.message for issue in info.value.issues] == [
        "model.dropout is a float value, not a mapping or a list",
        "model.hidden_sizes is a list; index it with a number (got 'a')",
    ]


# B01: list elements by index.

B01 = """
model:
  hidden_sizes: [64, 32]
  layers:
    - {units: 8, act: relu}
    - {units: 4, act: relu}
"""


def test_b01_list_index_override(load: Load) -> None:
    experiment = load(B01)
    params, _ = experiment.create_params({"model.hidden_sizes.0": Text("100")})
    assert params.run.model.hidden_sizes == [100, 32]
    assert all(type(size) is int for size in params.run.model.hidden_sizes)

    params, _ = experiment.create_params({"model.layers.1.units": Text("16")})
    assert params.run.model.layers == [{"units": 8, "act": "relu"}, {"units": 16, "act": "relu"}]
    assert isinstance(params.run.model.layers, list)

    with pytest.raises(OverrideError) as info:
        experiment.create_params({"model.hidden_sizes.5": Text("7")})
    assert str(info.value) == (
        "model.hidden_sizes.5=7: index 5 is out of range: model.hidden_sizes has 2 elements"
    )

    params, _ = experiment.create_params({"model.hidden_sizes[1]": Text("16")})
    assert params.run.model.hidden_sizes == [64, 16]
    assert "hidden_sizes[1]" not in params.run.model


# B02: keys with dots or leading digits.

B02 = """
tokenizer:
  special:
    "bos.token": "<s>"
  20s_window: 4
"""


def test_b02_escaped_dot_and_leading_digit(load: Load) -> None:
    experiment = load(B02)
    params, update = experiment.create_params({r"tokenizer.special.bos\.token": Text("<b>")})
    assert params.run.tokenizer.special.to_dict() == {"bos.token": "<b>"}
    assert update == {r"tokenizer.special.bos\.token": "<b>"}

    params, _ = experiment.create_params({"tokenizer.20s_window": Text("8")})
    assert params.run.tokenizer["20s_window"] == 8

    with pytest.raises(OverrideError) as info:
        experiment.create_params({"tokenizer.special.bos.token": Text("<b>")})
    (issue,) = info.value.issues
    assert issue.path == "tokenizer.special.bos.token"
    assert issue.message == (
        "unknown key tokenizer.special.bos; the key 'bos.token' exists: escape its dots as "
        r"tokenizer.special.bos\.token"
    )


# B03: misspelled keys.


def test_b03_misspelled_keys_are_listed_together(load: Load) -> None:
    experiment = load(
        """
        trainer: {max_epochs: 10, output_dir: runs}
        tracking: {experiment: demo}
        """
    )
    before = experiment.params.to_dict()
    with pytest.raises(OverrideError) as info:
        experiment.create_params(
            {"trainer.max_epoch": 5, "trainer.ouput_dir": "x", "tracking.experment": "demo2"}
        )
    assert [(issue.path, issue.message) for issue in info.value.issues] == [
        ("trainer.max_epoch", "unknown key trainer.max_epoch; did you mean trainer.max_epochs?"),
        ("trainer.ouput_dir", "unknown key trainer.ouput_dir; did you mean trainer.output_dir?"),
        (
            "tracking.experment",
            "unknown key tracking.experment; did you mean tracking.experiment?",
        ),
    ]
    assert "+" not in str(info.value)
    assert experiment.params.to_dict() == before


def test_b03_an_unknown_key_with_no_close_name_lists_the_keys_without_advice_to_add_it(
    load: Load,
) -> None:
    experiment = load("trainer: {class: trainer, optimizer: {lr: 1}}\n")
    with pytest.raises(OverrideError) as info:
        experiment.create_params({"trainer.zzz": 1})
    assert [(issue.path, issue.message) for issue in info.value.issues] == [
        (
            "trainer.zzz",
            "unknown key trainer.zzz; trainer has class, optimizer, scheduler, callbacks, "
            "max_epochs, output_dir",
        ),
    ]


def test_b03_misspelled_constructor_arguments(load: Load) -> None:
    experiment = load("trainer: {class: trainer, optimizer: {lr: 1}}\n")
    with pytest.raises(OverrideError) as info:
        experiment.create_params({"trainer.max_epoch": 5, "trainer.ouput_dir": "x"})
    assert [issue.message for issue in info.value.issues] == [
        "unknown key trainer.max_epoch; did you mean trainer.max_epochs?",
        "unknown key trainer.ouput_dir; did you mean trainer.output_dir?",
    ]
    assert CALLS == []


# Values.


def test_values_are_validated_by_field_type(net: ivory.Experiment) -> None:
    params, update = net.create_params(lr=1, dropout=Text("1e-3"))
    assert params.run.optimizer.lr == 1.0
    assert type(params.run.optimizer.lr) is float
    assert params.run.model.dropout == 0.001
    assert update == {"lr": 1.0, "dropout": 0.001}


def test_b05_scientific_notation_override(load: Load) -> None:
    experiment = load("optimizer: {class: optimizer, lr: 1e-3}\nextra: {ratio: 1e-1}\n")
    params, update = experiment.create_params(
        {"optimizer.lr": Text("1e-4"), "extra.ratio": Text("2E-1")}
    )
    assert params.run.optimizer.lr == 0.0001
    assert type(params.run.optimizer.lr) is float
    assert params.run.extra.ratio == 0.2
    assert update == {"optimizer.lr": 0.0001, "extra.ratio": 0.2}


def test_b19_non_finite_override_and_round_trip(load: Load) -> None:
    experiment = load(
        """
        early_stop: {class: early_stop, min_delta: .nan, max_loss: 1.0, floor: -.inf}
        seed: 123456789012345678901
        """
    )
    params, update = experiment.create_params({"early_stop.max_loss": Text("inf")})
    assert params.run.early_stop.max_loss == math.inf
    assert update == {"early_stop.max_loss": math.inf}
    saved = dump_yaml(params.to_dict())
    assert "seed: 123456789012345678901\n" in saved
    reloaded = ivory.Experiment.from_text(saved, name="x", registry=experiment.registry)
    again, _ = reloaded.create_params()
    stop = again.run.early_stop
    assert math.isnan(stop.min_delta)
    assert (stop.max_loss, stop.floor) == (math.inf, -math.inf)
    assert again.run.seed == 123456789012345678901


def test_a_float_for_an_int_field_names_path_type_and_value(load: Load) -> None:
    experiment = load("head: {class: linear, in_features: 3}\n")
    with pytest.raises(OverrideError) as info:
        experiment.create_params(in_features=0.5)
    (issue,) = info.value.issues
    assert (issue.path, issue.value, issue.source) == (
        "run.head.in_features",
        0.5,
        "in_features=0.5",
    )
    assert issue.message == (
        "Input should be a valid integer, got a number with a fractional part (got 0.5)"
    )


# Swapping a constructor.


def test_swapping_a_constructor_revalidates_the_node(load: Load) -> None:
    experiment = load("optimizer: {class: optimizer, lr: '0.5'}\n")
    params, update = experiment.create_params({"optimizer.class": Text("adam")})
    assert params.run.optimizer.to_dict() == {"class": "adam", "lr": 0.5}
    assert update == {"optimizer.class": "adam"}
    run = experiment.create_run({"optimizer.class": Text("adam"), "betas": Text("[0.5, 0.6]")})
    assert run.optimizer.betas == (0.5, 0.6)


def test_swapping_to_a_constructor_that_refuses_present_keys(load: Load) -> None:
    experiment = load("optimizer: {class: optimizer, lr: 0.5, momentum: 0.9}\n")
    with pytest.raises(OverrideError) as info:
        experiment.create_params({"optimizer.class": Text("adam")})
    (issue,) = info.value.issues
    assert (issue.path, issue.source) == ("run.optimizer.momentum", "optimizer.class=adam")
    assert issue.message == "unknown key; accepted: params, lr, betas"
    # Replacing the whole node works.
    params, _ = experiment.create_params(optimizer={"class": "adam", "lr": 0.1})
    assert params.run.optimizer.to_dict() == {"class": "adam", "lr": 0.1}


def test_swapping_to_an_unknown_constructor(load: Load) -> None:
    experiment = load("optimizer: {class: optimizer, lr: 0.5}\n")
    with pytest.raises(OverrideError) as info:
        experiment.create_params({"optimizer.class": Text("adan")})
    assert str(info.value) == (
        "optimizer.class=adan: run.optimizer.class: unknown constructor name 'adan'; did you "
        "mean 'adam'?"
    )


# Every error together, and nothing changes.


def test_every_error_of_a_call_is_reported_together(net: ivory.Experiment) -> None:
    with pytest.raises(OverrideError) as info:
        net.create_params(
            {
                "dropot": 1,
                "model.dropout": Text("high"),
                "model.hidden_sizes.9": 1,
                "lr": Text("x"),
            }
        )
    assert [issue.path for issue in info.value.issues] == [
        "dropot",
        "model.hidden_sizes.9",
        "run.model.dropout",
        "run.optimizer.lr",
    ]
    assert all(isinstance(issue.source, str) and issue.source for issue in info.value.issues)
    assert CALLS == []


def test_override_errors_and_file_errors_together(load: Load) -> None:
    experiment = load("head: {class: linear}\nx: 1\n")
    with pytest.raises(OverrideError) as info:
        experiment.create_params(y=1)
    assert str(info.value).splitlines() == [
        "y=1: unknown name 'y': no parameter is called so",
        "x.yaml:1:7: run.head.in_features: required; give a value",
    ]


def test_the_callers_args_and_the_experiment_never_change(net: ivory.Experiment) -> None:
    before = net.params.to_dict()
    sizes = [1, 2]
    args: dict[str, Any] = {"hidden_sizes": sizes, "data": {"class": "files", "name": "x"}}
    params, update = net.create_params(args)
    params.run.model.hidden_sizes.append(3)
    params.run.datasets.data["name"] = "changed"
    update["hidden_sizes"].append(4)
    assert sizes == [1, 2]
    assert args == {"hidden_sizes": [1, 2], "data": {"class": "files", "name": "x"}}
    assert net.params.to_dict() == before
    with pytest.raises(OverrideError):
        net.create_params({"lr": Text("x"), "hidden_sizes.0": 7})
    assert net.params.to_dict() == before


def test_overlapping_overrides_are_an_error(net: ivory.Experiment) -> None:
    with pytest.raises(OverrideError) as info:
        net.create_params({"hidden_sizes.1": 5, "model": None, "lr": 1, "optimizer.lr": 2})
    assert [str(issue) for issue in info.value.issues] == [
        "model=None: model overlaps the override hidden_sizes.1=5; give one of them",
        "optimizer.lr=2: optimizer.lr overlaps the override lr=1; give one of them",
    ]


def test_params_access(net: ivory.Experiment) -> None:
    params, _ = net.create_params()
    assert isinstance(params, Params)
    assert params.run.model.dropout == params["run"]["model"]["dropout"] == 0.5
    assert params.run.datasets.data.name == "diabetes"
    plain = params.to_dict()
    assert type(plain["run"]["model"]) is dict
    assert plain["run"]["model"]["hidden_sizes"] == [64, 32]
    plain["run"]["model"]["hidden_sizes"].append(1)
    assert params.run.model.hidden_sizes == [64, 32]
    with pytest.raises(AttributeError, match=r"no parameter 'dropot'; the keys here are: class"):
        _ = params.run.model.dropot


def test_another_section(load: Load) -> None:
    experiment = load("a: 1\ntask: {repeat: 1}\n")
    params, update = experiment.create_params({"repeat": 3}, name="task")
    assert params.task.repeat == 3
    assert update == {"repeat": 3}
    assert experiment.params.task.repeat == 1


def test_text_for_a_whole_node(net: ivory.Experiment) -> None:
    params, _ = net.create_params({"datasets.data": Text("{class: files, name: iris}")})
    assert params.run.datasets.data.to_dict() == {"class": "files", "name": "iris"}


def test_path_errors_name_the_override(net: ivory.Experiment) -> None:
    with pytest.raises(OverrideError, match=r"empty segment in path 'model\.\.x'"):
        net.create_params({"model..x": 1})
    with pytest.raises(OverrideError, match=r"unclosed '\[' in path"):
        net.create_params({"hidden_sizes[0": 1})


def test_an_override_of_a_file_error_is_still_a_config_error(load: Load) -> None:
    experiment = load("head: {class: linear, in_features: x}\n")
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert not isinstance(info.value, OverrideError)
    params, _ = experiment.create_params(in_features=2)
    assert params.run.head.in_features == 2


# Names of functions and the bounds of folds, judged before anything is built.

SPLIT = """
node: {class: node}
datasets:
  class: ivory.data.Datasets
  data: {class: ivory.data.SklearnData, name: diabetes, n_splits: 5}
  fold: 0
metrics:
  class: ivory.callbacks.metrics.Metrics
  mse:
  r2: sklearn.metrics.r2_score
"""

CLOSE_TO_R2 = (
    "cannot import 'sklearn.metrics.r2_scor': 'sklearn.metrics' has no attribute 'r2_scor'; "
    "did you mean 'sklearn.metrics.r2_score' or 'sklearn.metrics.rand_score' or "
    "'sklearn.metrics.f1_score'?"
)
METRIC_VALUES = (
    "expected nothing (a known metric), the registered name or import path of a function, or a "
    "function"
)
FOLDS = "must be in -1..4 for data with n_splits: 5, -1 being the test part"


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        pytest.param(
            SPLIT.replace("r2_score", "r2_scor"),
            {},
            ("run.metrics.r2", CLOSE_TO_R2, "x.yaml:9:7", "sklearn.metrics.r2_scor"),
            id="metric-in-the-file",
        ),
        pytest.param(
            SPLIT,
            {"metrics.r2": Text("sklearn.metrics.r2_scor")},
            (
                "run.metrics.r2",
                CLOSE_TO_R2,
                "metrics.r2=sklearn.metrics.r2_scor",
                "sklearn.metrics.r2_scor",
            ),
            id="metric-override",
        ),
        pytest.param(
            SPLIT,
            {"metrics.bogus": Text("1")},
            ("run.metrics.bogus", f"{METRIC_VALUES} (got 1)", "metrics.bogus=1", 1),
            id="metric-not-a-name",
        ),
        pytest.param(
            SPLIT.replace("  mse:\n", "  mean_squared:\n"),
            {},
            (
                "run.metrics.mean_squared",
                "no known metric is called 'mean_squared'; give its function (known: mse, rmse, "
                "mae, r2, accuracy, log_loss, f1) (got null)",
                "x.yaml:8:3",
                None,
            ),
            id="metric-unknown-and-empty",
        ),
        pytest.param(
            SPLIT.replace("r2_score", "r2_score.__name__"),
            {},
            (
                "run.metrics.r2",
                "import path 'sklearn.metrics.r2_score.__name__' is not allowed: it names the "
                "private '__name__'; use the public name, or add "
                "'sklearn.metrics.r2_score.__name__' to 'allowed_modules' in client.yaml or call "
                "ivory.registry.allow('sklearn.metrics.r2_score.__name__') if you trust it",
                "x.yaml:9:7",
                "sklearn.metrics.r2_score.__name__",
            ),
            id="metric-refused",
        ),
        pytest.param(
            SPLIT, {"fold": 9}, ("run.datasets.fold", f"{FOLDS} (got 9)", "fold=9", 9), id="fold"
        ),
        pytest.param(
            SPLIT.replace("fold: 0", "fold: -2"),
            {},
            ("run.datasets.fold", f"{FOLDS} (got -2)", "x.yaml:5:9", -2),
            id="fold-in-the-file",
        ),
        pytest.param(
            SPLIT.replace("n_splits: 5", "n_splits: 5, test_size: 0"),
            {"fold": -1},
            (
                "run.datasets.fold",
                "must be in 0..4 for data with n_splits: 5 (it has no test part) (got -1)",
                "fold=-1",
                -1,
            ),
            id="fold-without-a-test-part",
        ),
    ],
)
def test_names_and_folds_are_checked_before_anything_is_built(
    load: Load, text: str, args: dict[str, Any], expected: tuple[str, str, str, Any]
) -> None:
    experiment = load(text)
    with pytest.raises(ConfigError) as info:
        experiment.create_run(args)
    (issue,) = info.value.issues
    assert (issue.path, issue.message, issue.source, issue.value) == expected
    assert isinstance(info.value, OverrideError) == bool(args)
    assert CALLS == []


def test_names_and_folds_that_fit(load: Load) -> None:
    experiment = load(
        SPLIT.replace("  mse:\n", "  mse:\n  mae: sklearn.metrics.mean_absolute_error\n")
    )
    for fold in (-1, 4):
        params, _ = experiment.create_params(fold=fold)
        assert params.run.datasets.fold == fold
    run = experiment.create_run(fold=-1)
    assert (run.datasets.fold, len(run.datasets.val)) == (-1, len(run.datasets.test))
    assert list(run.metrics.functions) == ["mse", "mae", "r2"]


def test_a_fold_is_checked_when_the_data_is_built_where_not_known_before(load: Load) -> None:
    experiment = load(
        """
        data: {class: ivory.data.SklearnData, name: diabetes, n_splits: 5}
        datasets: {class: ivory.data.Datasets, data: $.data}
        """
    )
    experiment.create_params(fold=9)  # The data is another member: it is known once built.
    with pytest.raises(ivory.BuildError, match=rf"^run\.datasets\.fold: {FOLDS} \(got 9\)$"):
        experiment.create_run(fold=9)
