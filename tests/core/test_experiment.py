"""The seed API on the bundled diabetes example: Experiment, create_params, create_run."""

from __future__ import annotations

from pathlib import Path

import pytest

import ivory
from ivory.config.values import Text


@pytest.fixture
def experiment(workdir: Path) -> ivory.Experiment:
    return ivory.create_client(workdir, tracker=False).create_experiment("diabetes")


def test_experiment_is_the_file_in_full_form(experiment: ivory.Experiment) -> None:
    assert experiment.name == "diabetes"
    assert list(experiment.params) == ["run", "study", "experiment"]
    assert experiment.params.experiment.to_dict() == {"name": "diabetes", "library": "sklearn"}
    assert list(experiment.params.run) == ["datasets", "estimator", "results", "metrics", "monitor"]
    # Members without a constructor get the default registered for their name and library.
    assert experiment.params.run.estimator["class"] == "sklearn_estimator"
    assert experiment.params.run.results.to_dict() == {"class": "results"}
    assert experiment.params.run.monitor.to_dict() == {
        "class": "monitor",
        "metric": "mse",
        "mode": "min",
    }


def test_seed_example_create_params(experiment: ivory.Experiment) -> None:
    before = experiment.params.to_dict()
    args = {"max_depth": 3}
    params, update = experiment.create_params(args, fold=2)
    assert update == {"max_depth": 3, "fold": 2}
    assert params.run.estimator.max_depth == 3
    assert params["run"]["datasets"]["fold"] == 2
    assert experiment.params.to_dict() == before
    assert args == {"max_depth": 3}


def test_full_dotted_paths_list_indices_and_short_names(workdir: Path) -> None:
    experiment = ivory.Experiment.from_text(
        """
        model: {class: ivory.data.Data}
        hidden: {sizes: [64, 32], layers: [{units: 8}, {units: 4}]}
        """,
        name="paths",
    )
    params, update = experiment.create_params({"hidden.sizes.0": 100, "hidden.layers[1].units": 16})
    assert params.run.hidden.sizes == [100, 32]
    assert params.run.hidden.layers == [{"units": 8}, {"units": 16}]
    assert update == {"hidden.sizes.0": 100, "hidden.layers[1].units": 16}
    params, _ = experiment.create_params({"sizes.1": 7})
    assert params.run.hidden.sizes == [64, 7]


def test_params_attribute_item_access_and_to_dict(experiment: ivory.Experiment) -> None:
    params, _ = experiment.create_params()
    assert params.run.datasets.fold == params["run"]["datasets"]["fold"] == 0
    plain = params.to_dict()
    assert type(plain["run"]) is dict
    with pytest.raises(AttributeError, match="no parameter 'nope'"):
        _ = params.run.nope


def test_text_values_are_parsed_for_their_field(experiment: ivory.Experiment) -> None:
    params, update = experiment.create_params(max_depth=Text("3"), n_estimators=Text("10"))
    assert params.run.estimator.max_depth == 3
    assert update == {"max_depth": 3, "n_estimators": 10}


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        pytest.param(
            {"max_dept": 3},
            "max_dept",
            "unknown name 'max_dept': no parameter is called so; did you mean estimator.max_depth?",
            id="unknown-short-name",
        ),
        pytest.param(
            {"fold": 0.5},
            "run.datasets.fold",
            "Input should be a valid integer, got a number with a fractional part (got 0.5)",
            id="float-for-int",
        ),
        pytest.param(
            {"estimator.n_estimatorz": 3},
            "estimator.n_estimatorz",
            "unknown key estimator.n_estimatorz; did you mean estimator.n_estimators?",
            id="unknown-key-in-node",
        ),
    ],
)
def test_bad_override_is_an_error_naming_path_and_value(
    experiment: ivory.Experiment, overrides: dict[str, object], path: str, message: str
) -> None:
    with pytest.raises(ivory.OverrideError) as info:
        experiment.create_params(overrides)
    (issue,) = info.value.issues
    assert issue.path == path
    assert issue.message == message
    assert issue.value == next(iter(overrides.values()))


def test_all_errors_of_a_call_are_reported_together(experiment: ivory.Experiment) -> None:
    with pytest.raises(ivory.OverrideError) as info:
        experiment.create_params({"max_dept": 3, "fold": "x"})
    assert [issue.path for issue in info.value.issues] == ["max_dept", "run.datasets.fold"]


def test_create_run_builds_members_in_file_order(experiment: ivory.Experiment) -> None:
    run = experiment.create_run(max_depth=2)
    assert run.keys() == ["datasets", "estimator", "results", "metrics", "monitor"]
    assert run.estimator.model.max_depth == 2
    assert run.datasets.fold == 0
    assert repr(run) == "Run(num_instances=5)"


def test_create_instance_builds_one_member_and_what_it_needs(
    experiment: ivory.Experiment,
) -> None:
    monitor = experiment.create_instance("monitor", metric="r2", mode="max")
    assert (monitor.metric, monitor.mode) == ("r2", "max")
