"""Client: finding runs by name and query, loading what they saved, housekeeping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

import ivory
from ivory.callbacks.results import Results


@pytest.fixture
def client(workdir: Path) -> ivory.Client:
    return ivory.create_client(workdir)


@pytest.fixture
def mlflow(workdir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")


@pytest.fixture
def digits(client: ivory.Client) -> list[ivory.Run]:
    """Two finished digits runs (folds 0 and 1), three epochs each."""
    runs = []
    for fold in (0, 1):
        run = client.create_run("digits", epochs=3, fold=fold)
        run.start("both")
        runs.append(run)
    return runs


def test_load_run_rebuilds_equal_members_with_the_same_predictions(
    client: ivory.Client, digits: list[ivory.Run]
) -> None:
    original = digits[1]
    loaded = client.load_run(original.id, "test")

    assert loaded.name == "run#1"
    assert loaded.id == original.id
    assert loaded.keys() == original.keys()
    assert loaded.params.to_dict() == original.params.to_dict()
    assert repr(loaded.model) == repr(original.model)
    for saved, trained in zip(loaded.model.weights, original.model.weights, strict=True):
        np.testing.assert_array_equal(saved, trained)
    _, test_input, _ = original.datasets.test.get()
    np.testing.assert_array_equal(
        loaded.model.predict(test_input), original.model.predict(test_input)
    )
    assert loaded.trainer.epoch == original.trainer.epoch
    assert loaded.monitor.best_epoch == original.monitor.best_epoch
    assert loaded.metrics.history == original.metrics.history
    np.testing.assert_array_equal(loaded.results.test["output"], original.results.test["output"])


def test_load_run_best_and_current_states(client: ivory.Client, digits: list[ivory.Run]) -> None:
    run = digits[0]
    current = client.load_run(run.id, "current")
    best = client.load_run(run.id, "best")
    assert current.trainer.epoch == 2
    assert best.trainer.epoch == run.monitor.best_epoch
    assert best.monitor.best_epoch == run.monitor.best_epoch


def test_load_run_of_a_missing_mode_names_what_was_saved(
    workdir: Path, client: ivory.Client
) -> None:
    run = client.create_run("digits", epochs=1)
    run.start("train")
    with pytest.raises(
        ivory.TrackingError, match=r"run#0 has no saved 'test' states \(saved: current, best\)"
    ):
        client.load_run(run.id, "test")


def test_load_instance_builds_only_that_member(
    client: ivory.Client, digits: list[ivory.Run]
) -> None:
    monitor = client.load_instance(digits[0].id, "monitor")
    assert repr(monitor) == repr(digits[0].monitor)
    model = client.load_instance(digits[0].id, "model", "best")
    assert model.n_classes == 10


def test_load_results_of_one_run(client: ivory.Client, digits: list[ivory.Run]) -> None:
    results = client.load_results(digits[0].id)
    assert isinstance(results, Results)
    assert list(results) == ["train", "val", "test"]
    np.testing.assert_array_equal(results.val["index"], digits[0].results.val["index"])


def test_load_results_of_many_runs_joins_val_and_test(
    client: ivory.Client, digits: list[ivory.Run]
) -> None:
    ids = [run.id for run in digits]
    joined = client.load_results(ids)
    assert list(joined) == ["val", "test"]
    assert len(joined.val["index"]) == sum(len(run.results.val["index"]) for run in digits)
    assert len(joined.test["index"]) == 2 * len(digits[0].results.test["index"])

    # Each test sample was predicted by both runs: the mean averages them, sorted by index.
    mean = client.load_results(ids, reduction="mean")
    test_index = np.sort(digits[0].results.test["index"])
    np.testing.assert_array_equal(mean.test["index"], test_index)
    order = [np.argsort(run.results.test["index"]) for run in digits]
    expected = (
        digits[0].results.test["output"][order[0]] + digits[1].results.test["output"][order[1]]
    ) / 2
    np.testing.assert_allclose(mean.test["output"], expected)
    assert sorted(mean.val["index"].tolist()) == sorted(joined.val["index"].tolist())


def test_load_params_is_the_saved_parameter_file(
    client: ivory.Client, digits: list[ivory.Run]
) -> None:
    params = client.load_params(digits[1].id)
    assert params == digits[1].params.to_dict()
    assert params.run.datasets.fold == 1


def test_get_run_id_by_number_and_latest(client: ivory.Client, digits: list[ivory.Run]) -> None:
    assert client.get_run_id("digits", run=0) == digits[0].id
    assert client.get_run_id("digits", run=-1) == digits[1].id
    with pytest.raises(ivory.TrackingError, match=r"no run#7 \(run#0 to run#1\)"):
        client.get_run_id("digits", run=7)
    with pytest.raises(ivory.IvoryError, match="give exactly one of run=N, task=N, study=N"):
        client.get_run_id("digits", fold=1)
    with pytest.raises(ivory.TrackingError, match="no MLflow experiment is called 'diabetes'"):
        client.get_run_id("diabetes", run=0)


@pytest.fixture
def forests(client: ivory.Client) -> list[str]:
    """Four created (not started) diabetes runs with different depths and folds."""
    values = [(3, 0), (4, 1), (6, 1), (8, 2)]
    return [client.create_run("diabetes", max_depth=d, fold=f).id for d, f in values]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"fold": 1}, [2, 1], id="exact-short-name"),
        pytest.param({"datasets.fold": 1}, [2, 1], id="exact-full-path"),
        pytest.param({"fold": "1"}, [2, 1], id="exact-as-text"),
        pytest.param({"fold": [0, 2]}, [3, 0], id="any-of-list"),
        pytest.param({"max_depth": (4, 6)}, [2, 1], id="inclusive-range"),
        pytest.param({"max_depth": (None, 3)}, [0], id="open-range"),
        pytest.param({"fold": 1, "max_depth": (5, 9)}, [2], id="all-conditions"),
        pytest.param({"data.name": "diabetes"}, [3, 2, 1, 0], id="string"),
        pytest.param({"fold": 5}, [], id="no-match"),
        pytest.param({}, [3, 2, 1, 0], id="no-query"),
    ],
)
def test_search_run_ids(
    client: ivory.Client, forests: list[str], query: dict[str, object], expected: list[int]
) -> None:
    assert client.search_run_ids("diabetes", **query) == [forests[i] for i in expected]


def test_search_run_ids_refuses_unknown_and_ambiguous_names(
    client: ivory.Client, forests: list[str]
) -> None:
    with pytest.raises(
        ivory.IvoryError,
        match=r"max_dept: no tracked parameter is called so; did you mean estimator.max_depth",
    ):
        client.search_run_ids("diabetes", max_dept=3)
    with pytest.raises(
        ivory.IvoryError,
        match=r"class: matches several parameters: datasets.class, datasets.data.class, ",
    ):
        client.search_run_ids("diabetes", **{"class": "x"})


def test_set_terminated_the_latest_or_given_runs(
    client: ivory.Client, mlflow: MlflowClient, forests: list[str]
) -> None:
    assert client.set_terminated("diabetes", "KILLED") == [forests[3]]
    assert mlflow.get_run(forests[3]).info.status == "KILLED"
    assert client.set_terminated("diabetes", run=[0, 1]) == forests[:2]
    assert [mlflow.get_run(i).info.status for i in forests] == [
        "FINISHED",
        "FINISHED",
        "RUNNING",
        "KILLED",
    ]
    with pytest.raises(ivory.TrackingError, match="unknown run status 'DONE'"):
        client.set_terminated("diabetes", "DONE")


def test_remove_deleted_runs_frees_their_numbers_and_artifacts(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient, forests: list[str]
) -> None:
    artifacts = Path(mlflow.get_run(forests[3]).info.artifact_uri.removeprefix("file://"))
    assert (artifacts / "params.yaml").is_file()
    mlflow.delete_run(forests[3])
    assert client.create_run("diabetes").name == "run#4"  # a deleted run keeps its number

    assert client.remove_deleted_runs("diabetes") == 1
    assert not artifacts.exists()
    assert client.remove_deleted_runs("diabetes") == 0
    names = [
        r.info.run_name for r in mlflow.search_runs([mlflow.get_run(forests[0]).info.experiment_id])
    ]
    assert sorted(names) == ["run#0", "run#1", "run#2", "run#4"]
    assert client.create_run("diabetes").name == "run#5"


def test_pickled_states_load_only_when_allowed(client: ivory.Client) -> None:
    run = client.create_run("diabetes", n_estimators=5)
    run.start("both")
    with pytest.raises(
        ivory.TrackingError, match=r"test/estimator.pkl is a pickle.*allow_pickle=True"
    ):
        client.load_run(run.id)
    loaded = client.load_run(run.id, allow_pickle=True)
    _, test_input, _ = run.datasets.test.get()
    np.testing.assert_array_equal(
        loaded.estimator.predict(test_input), run.estimator.predict(test_input)
    )


def test_client_yaml_allows_pickle_for_every_load(workdir: Path, client: ivory.Client) -> None:
    run = client.create_run("diabetes", n_estimators=5)
    run.start("train")
    (workdir / "client.yaml").write_text("tracker: {allow_pickle: true}\n")
    trusting = ivory.create_client(workdir)
    assert trusting.load_instance(run.id, "estimator", "current").model.n_estimators == 5


def test_a_client_without_tracker_cannot_load(workdir: Path) -> None:
    client = ivory.create_client(workdir, tracker=False)
    with pytest.raises(ivory.IvoryError, match="does not track runs"):
        client.load_run("0123")


def test_a_state_not_saved_is_an_error_for_load_instance(
    workdir: Path, client: ivory.Client
) -> None:
    (workdir / "configs" / "nopickle.yaml").write_text(
        (workdir / "configs" / "diabetes.yaml")
        .read_text()
        .replace("allow_pickle: true", "allow_pickle: false")
    )
    run = client.create_run("nopickle", n_estimators=5)
    run.start("train")
    with pytest.raises(
        ivory.TrackingError, match=r"run#0: no saved 'current' state of member 'estimator'"
    ):
        client.load_instance(run.id, "estimator", "current")
    assert client.load_instance(run.id, "monitor", "current").best_epoch == 0


def test_training_continued_from_a_loaded_run_equals_training_straight_through(
    client: ivory.Client,
) -> None:
    straight = client.create_run("digits", epochs=4, patience=10)
    straight.start("train")

    first = client.create_run("digits", epochs=2, patience=10)
    first.start("train")
    resumed = client.load_run(first.id, "current")
    resumed.start("train")  # two more epochs, on the same tracked run

    assert resumed.trainer.epoch == straight.trainer.epoch == 3
    for a, b in zip(resumed.model.weights, straight.model.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.metrics.history == straight.metrics.history
    assert client.load_instance(first.id, "trainer", "current").epoch == 3


def test_load_run_of_a_task_needs_no_states(client: ivory.Client) -> None:
    task = client.create_experiment("digits").create_task()
    for run in task.product(fold=[0, 1], epochs=1):
        run.start("train")
    loaded = client.load_run(task.id)
    assert type(loaded) is ivory.Task
    assert (loaded.name, loaded.id) == (task.name, task.id)


# The project directory and client.yaml are checked before anything is made.


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        pytest.param("missing", "does not exist", id="missing"),
        pytest.param("file", "is not a directory", id="file"),
    ],
)
def test_a_project_directory_that_is_not_one_is_a_config_error(
    tmp_path: Path, kind: str, message: str
) -> None:
    directory = tmp_path / "project"
    if kind == "file":
        directory.write_text("")
    with pytest.raises(ivory.ConfigError, match=rf"^the project directory {directory} {message}$"):
        ivory.create_client(directory)
    with pytest.raises(ivory.ConfigError, match=message) as caught:
        ivory.create_client(str(directory), tracker=False)
    assert caught.value.value == str(directory)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "tracker: {interval: 1.0, bogus: 1}\n",
            "client.yaml:1:33: tracker.bogus: unknown key; accepted: tracking_uri, "
            "artifact_location, allow_pickle, interval",
            id="unknown-key",
        ),
        pytest.param(
            "tracker:\n  intervall: 2\n",
            "client.yaml:2:14: tracker.intervall: unknown key; did you mean 'interval'?",
            id="did-you-mean",
        ),
        pytest.param(
            "tracker: {interval: fast}\n",
            "client.yaml:1:21: tracker.interval: Input should be a valid number (got 'fast')",
            id="interval-text",
        ),
        pytest.param(
            "tracker: {interval: 0}\n",
            "client.yaml:1:21: tracker.interval: Input should be greater than 0 (got 0)",
            id="interval-zero",
        ),
        pytest.param(
            "tracker: {allow_pickle: 'yes'}\n",
            "client.yaml:1:25: tracker.allow_pickle: Input should be a valid boolean (got 'yes')",
            id="pickle-text",
        ),
        pytest.param(
            "tracker: [1]\n",
            "client.yaml:1:10: tracker: expected a mapping of tracking_uri, artifact_location, "
            "allow_pickle, interval (got a list)",
            id="tracker-list",
        ),
        pytest.param(
            "trackers: {interval: 2}\n",
            "client.yaml:1:11: trackers: unknown key; did you mean 'tracker'?",
            id="top-level",
        ),
        pytest.param(
            "allowed_modules: mymodule\n",
            "client.yaml:1:18: allowed_modules: expected a list (got a string)",
            id="modules-text",
        ),
        pytest.param(
            "client:\n  tracker: {interval: -1}\n",
            "client.yaml:2:23: client.tracker.interval: Input should be greater than 0 (got -1)",
            id="under-client",
        ),
        pytest.param(
            "tuner: {bogus: 1}\n",
            "client.yaml:1:16: tuner.bogus: unknown key; accepted: storage, sampler, pruner, "
            "heartbeat_interval, grace_period, max_retry, directory",
            id="tuner-unknown-key",
        ),
        pytest.param(
            "tuner: [sqlite:///x.db]\n",
            "client.yaml:1:8: tuner: expected a mapping (got a list)",
            id="tuner-list",
        ),
    ],
)
def test_bad_client_settings_are_config_errors_naming_their_line(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "client.yaml").write_text(text)
    with pytest.raises(ivory.ConfigError) as caught:
        ivory.create_client(tmp_path)
    assert str(caught.value) == f"{tmp_path}/{message}"
    assert list(tmp_path.iterdir()) == [tmp_path / "client.yaml"]  # no store was made
    with pytest.raises(ivory.ConfigError):
        ivory.create_client(tmp_path, tracker=False)


def test_every_bad_client_setting_is_reported_in_file_order(tmp_path: Path) -> None:
    (tmp_path / "client.yaml").write_text(
        "tracker:\n  interval: fast\n  allow_pickle: 2\ntuner: {storage: 3}\nextra: 1\n"
    )
    with pytest.raises(ivory.ConfigError) as caught:
        ivory.create_client(tmp_path)
    assert [
        (issue.source.removeprefix(f"{tmp_path}/"), issue.path) for issue in caught.value.issues
    ] == [
        ("client.yaml:2:13", "tracker.interval"),
        ("client.yaml:3:17", "tracker.allow_pickle"),
        ("client.yaml:4:18", "tuner.storage"),
        ("client.yaml:5:8", "extra"),
    ]


def test_client_settings_reach_the_tracker_and_the_tuner(workdir: Path) -> None:
    (workdir / "client.yaml").write_text(
        "tracker: {interval: 2, allow_pickle: true}\ntuner: {heartbeat_interval: 5}\n"
    )
    client = ivory.create_client(workdir)
    assert client.tracker.interval == 2.0
    assert client.tracker.allow_pickle is True
    assert client.tuner == {"heartbeat_interval": 5}
    (workdir / "client.yaml").write_text("tracker:\n")
    assert ivory.create_client(workdir).tracker.interval == 1.0


def test_a_bad_sampler_of_the_client_tuner_names_client_yaml(workdir: Path) -> None:
    (workdir / "client.yaml").write_text(
        "tuner:\n  sampler: {class: optuna.samplers.TPESampler, sed: 0}\n"
    )
    client = ivory.create_client(workdir)
    message = (
        rf"^{workdir}/client\.yaml:2:53: tuner\.sampler\.sed: unknown key; did you mean 'seed'\?$"
    )
    with pytest.raises(ivory.ConfigError, match=message):
        client.create_study("diabetes", "forest")
    experiments = MlflowClient(tracking_uri=client.tracker.tracking_uri).search_experiments()
    assert [e.name for e in experiments] == ["Default"]


def test_unknown_experiment_lists_only_visible_parameter_files(workdir: Path) -> None:
    (workdir / ".pre-commit-hooks.yaml").write_text("- id: ivory-validate\n")
    (workdir / "configs" / ".draft.yaml").write_text("a: 1\n")
    (workdir / "configs" / "folder.yaml").mkdir()
    (workdir / "client.yaml").write_text("tracker:\n")
    client = ivory.create_client(workdir, tracker=False)
    with pytest.raises(ivory.ConfigError, match=r"; experiments here: diabetes, digits$"):
        client.create_experiment("nothing")
