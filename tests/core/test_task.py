"""Task: product and chain over nested runs, tracked in a real MLflow SQLite store."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow.tracking import MlflowClient

import ivory
from ivory.config.grammar import Sweep
from ivory.config.values import Text
from ivory.core.task import RunRecord, Task, summarize_metrics
from ivory.errors import ConfigError, OverrideError
from ivory.tracking import create_tracker


class Toy:
    """A driver whose score is ``(x - 3) ** 2 + y``; it raises when ``x == fail``."""

    def __init__(
        self,
        x: float = 0.0,
        y: float = 0.0,
        fail: float | None = None,
        sizes: list[int] | None = None,
        note: str = "",
    ) -> None:
        self.x, self.y, self.fail = x, y, fail
        self.sizes = sizes or []
        self.note = note
        self.epoch = -1

    def start(self, run: Any) -> None:
        if run.mode != "train":
            return
        if self.fail is not None and self.x == self.fail:
            raise ValueError(f"x={self.x} fails")
        self.epoch = 0
        run.on_epoch_begin()
        run.metrics.values["score"] = (self.x - 3) ** 2 + self.y
        run.on_epoch_end()


class Optimizer:
    def __init__(self, lr: float = 0.1) -> None:
        self.lr = lr


class Exploding:
    def __init__(self, size: int = 1) -> None:
        if size < 0:
            raise ValueError("size must not be negative")


ivory.register("tests.task.toy", Toy)
ivory.register("tests.task.optimizer", Optimizer)
ivory.register("tests.task.exploding", Exploding)

TOY = """
estimator: {class: tests.task.toy, x: 0.0, y: 0.0}
optimizer: {class: tests.task.optimizer, lr: 1e-3}
part: {class: tests.task.exploding}
metrics:
monitor: {metric: score, mode: min}
"""


@pytest.fixture
def experiment(workdir: Path) -> ivory.Experiment:
    experiment = ivory.Experiment.from_text(TOY, name="toy")
    experiment.set_tracker(create_tracker(str(workdir)))
    return experiment


@pytest.fixture
def mlflow(workdir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")


def run_all(task: Task, runs: Any) -> list[RunRecord]:
    return list(task.execute(runs, mode="train"))


def nested(mlflow: MlflowClient, task: Task) -> list[Any]:
    experiment = mlflow.get_experiment_by_name("toy")
    assert experiment is not None
    runs = mlflow.search_runs(
        [experiment.experiment_id],
        f"tags.mlflow.parentRunId = '{task.id}'",
        order_by=["start_time"],
    )
    return sorted(runs, key=lambda run: int(run.info.run_name.split("#")[1]))


def test_product_is_a_grid_with_the_first_name_outermost_repeated(
    experiment: ivory.Experiment, mlflow: MlflowClient
) -> None:
    task = experiment.create_task()
    runs = task.product({"y": 1.5}, repeat=2, x=[1, 2], note=["a", "b"])
    assert runs.total == 8
    records = run_all(task, runs)

    expected = [{"x": x, "note": n} for x in (1.0, 2.0) for n in ("a", "b")] * 2
    assert [record.values for record in records] == expected
    assert [record.name for record in records] == [f"run#{i}" for i in range(8)]
    assert all(record.status == "FINISHED" for record in records)
    assert [record.metrics["score"] for record in records] == [5.5, 5.5, 2.5, 2.5] * 2

    # Every nested run is a child of the task, with its values logged.
    children = nested(mlflow, task)
    assert [child.info.run_name for child in children] == [f"run#{i}" for i in range(8)]
    assert [child.data.params["estimator.x"] for child in children] == [
        "1.0",
        "1.0",
        "2.0",
        "2.0",
    ] * 2
    assert {child.data.params["estimator.y"] for child in children} == {"1.5"}
    assert {child.info.status for child in children} == {"FINISHED"}

    # The task is tagged with what it swept and ends FINISHED.
    record = mlflow.get_run(task.id)
    assert record.info.status == "FINISHED"
    assert record.data.tags["ivory.task.method"] == "product"
    assert record.data.tags["ivory.task.repeat"] == "2"
    assert record.data.tags["ivory.sweep.x"] == "[1.0, 2.0]"
    assert record.data.tags["ivory.sweep.note"] == '["a", "b"]'
    assert record.data.tags["ivory.fixed.y"] == "1.5"
    assert task.status == "FINISHED"


def test_product_takes_command_line_text_through_the_grammar(experiment: ivory.Experiment) -> None:
    task = experiment.create_task()
    runs = task.product(x=Text("0-1"), y=Text("range(0,1,0.5)"), note=Text("'a,b'"))
    records = run_all(task, runs)
    assert [record.values for record in records] == [
        {"x": 0.0, "y": 0.0},
        {"x": 0.0, "y": 0.5},
        {"x": 1.0, "y": 0.0},
        {"x": 1.0, "y": 0.5},
    ]


def test_sweep_values_from_python(experiment: ivory.Experiment) -> None:
    import numpy as np

    task = experiment.create_task()
    runs = task.product(x=np.array([1.0, 2.0]), y=range(2), note=Sweep(("p", "q")))
    assert runs.total == 8
    assert [type(run.params.run.estimator.y) for run in runs] == [float] * 8


def test_b05_scientific_notation_sweep(experiment: ivory.Experiment, mlflow: MlflowClient) -> None:
    task = experiment.create_task()
    lrs: list[Any] = []
    for run in task.product({"optimizer.lr": Text("1.0e-5,1.0e-6")}):
        lrs.append(run.params.run.optimizer.lr)
        assert run.update == {"optimizer.lr": lrs[-1]}
        saved = experiment.tracker.load_params(run.id)  # type: ignore[union-attr]
        assert type(saved["run"]["optimizer"]["lr"]) is float
        assert saved["run"]["optimizer"]["lr"] == lrs[-1]
        text = Path(mlflow.download_artifacts(run.id, "params.yaml")).read_text()
        assert yaml.safe_load(text)["run"]["optimizer"]["lr"] == lrs[-1]  # YAML 1.1 readers too
        run.start("train")
    assert lrs == [1e-05, 1e-06]
    assert [type(lr) for lr in lrs] == [float, float]
    params = [child.data.params["optimizer.lr"] for child in nested(mlflow, task)]
    assert params == ["1e-05", "1e-06"]
    assert mlflow.get_run(task.id).data.tags["ivory.sweep.optimizer.lr"] == "[1e-05, 1e-06]"


def test_b06_lists_are_not_sweeps(experiment: ivory.Experiment) -> None:
    task = experiment.create_task()
    one = task.product(sizes=Text("[128,64]"), note=Text("'[1,2]'"))
    assert one.total == 1
    (run,) = list(one)
    assert run.params.run.estimator.sizes == [128, 64]
    assert run.params.run.estimator.note == "[1,2]"

    two = experiment.create_task().product(sizes=Text("[64,32],[128]"))
    assert [run.params.run.estimator.sizes for run in two] == [[64, 32], [128]]

    python = experiment.create_task().product(sizes=[[64, 32]])
    assert [run.params.run.estimator.sizes for run in python] == [[64, 32]]


@pytest.mark.parametrize(
    ("mode", "values", "best"),
    [
        pytest.param("min", [1.0, 3.0, 6.0], 3.0, id="min-best-in-the-middle"),
        pytest.param("max", [6.0, 3.0, 1.0], 6.0, id="max-best-first"),
    ],
)
def test_chain_carries_the_truly_best_value(
    experiment: ivory.Experiment, mlflow: MlflowClient, mode: str, values: list[float], best: float
) -> None:
    task = experiment.create_task()
    runs = task.chain({"monitor.mode": mode}, x=values, y=[0.5, 0.0])
    assert runs.total == 5
    records = run_all(task, runs)

    assert [record.values for record in records] == [
        *({"x": x} for x in values),
        {"x": best, "y": 0.5},
        {"x": best, "y": 0.0},
    ]
    tags = mlflow.get_run(task.id).data.tags
    assert tags["ivory.best.x"] == str(best)
    assert tags["ivory.best.y"] == ("0.5" if mode == "max" else "0.0")
    assert tags["ivory.task.method"] == "chain"


def test_chain_without_best_param_keeps_file_values(experiment: ivory.Experiment) -> None:
    task = experiment.create_task()
    records = run_all(task, task.chain(x=[1.0, 3.0], y=[2.0, 1.0], use_best_param=False))
    assert [record.values for record in records] == [{"x": 1.0}, {"x": 3.0}, {"y": 2.0}, {"y": 1.0}]
    assert [record.metrics["score"] for record in records] == [4.0, 0.0, 11.0, 10.0]


def test_chain_needs_a_monitor_for_best_values(workdir: Path) -> None:
    experiment = ivory.Experiment.from_text(
        "estimator: {class: tests.task.toy}\nmetrics:\n", name="toy"
    )
    experiment.set_tracker(create_tracker(str(workdir)))
    task = experiment.create_task()
    with pytest.raises(ConfigError, match=r"run.monitor: chain\(use_best_param=True\) needs"):
        task.chain(x=[1, 2], y=[1, 2])


def test_a_failing_run_is_recorded_and_the_task_goes_on(
    experiment: ivory.Experiment, mlflow: MlflowClient
) -> None:
    task = experiment.create_task()
    records = run_all(task, task.product(x=[1.0, 2.0, 3.0], fail=2.0))

    assert [record.status for record in records] == ["FINISHED", "FAILED", "FINISHED"]
    assert records[1].error == "ValueError: x=2.0 fails"
    assert records[1].name == "run#1"
    failed = mlflow.get_run(records[1].id)
    assert failed.info.status == "FAILED"
    path = mlflow.download_artifacts(records[1].id, "error.txt")
    assert "ValueError: x=2.0 fails" in Path(path).read_text()

    task_run = mlflow.get_run(task.id)
    assert task_run.info.status == "FAILED"
    assert task_run.data.tags["ivory.task.failed"] == "run#1"
    assert summarize_metrics(records)["score"].count == 2


def test_fail_fast_stops_at_the_first_failure(
    experiment: ivory.Experiment, mlflow: MlflowClient
) -> None:
    task = experiment.create_task()
    task.fail_fast = True
    records = run_all(task, task.product(x=[1.0, 2.0, 3.0], fail=2.0))
    assert [record.status for record in records] == ["FINISHED", "FAILED"]
    assert len(nested(mlflow, task)) == 2
    assert mlflow.get_run(task.id).info.status == "FAILED"


def test_a_run_that_cannot_be_built_is_recorded_and_skipped(experiment: ivory.Experiment) -> None:
    task = experiment.create_task()
    records = run_all(task, task.product({"part.size": [1, -1, 2]}))
    assert [record.status for record in records] == ["FINISHED", "FAILED", "FINISHED"]
    assert records[1].name == ""
    assert records[1].error.startswith("BuildError: run.part: tests.task.exploding(...) raised")
    assert task.status == "FAILED"


def test_a_loop_that_raises_ends_the_task_failed(
    experiment: ivory.Experiment, mlflow: MlflowClient
) -> None:
    task = experiment.create_task()
    runs = task.product(x=[1.0, 2.0, 3.0], fail=2.0)
    next(runs).start("train")
    with pytest.raises(ValueError, match=r"x=2\.0 fails"):
        next(runs).start("train")
    runs.close()
    assert [record.status for record in task.records] == ["FINISHED", "FAILED"]
    assert mlflow.get_run(task.id).info.status == "FAILED"


def test_stopping_early_ends_the_task_killed(
    experiment: ivory.Experiment, mlflow: MlflowClient
) -> None:
    task = experiment.create_task()
    runs = task.product(x=[1.0, 2.0, 3.0])
    next(runs).start("train")
    runs.close()
    assert mlflow.get_run(task.id).info.status == "KILLED"


ERRORS = [
    pytest.param({"max_dept": [1, 2]}, "max_dept=1: unknown name 'max_dept'", id="unknown"),
    pytest.param(
        {"x": [1.0, "a", 2.0, "b"]},
        r"x='a': run.estimator.x: Input should be a valid number",
        id="value",
    ),
    pytest.param({"x": Text("0,,1")}, "x=0,,1: empty item in a comma list", id="grammar"),
    pytest.param({"x": []}, "x: nothing to sweep", id="empty"),
]


@pytest.mark.parametrize(("kwargs", "message"), ERRORS)
@pytest.mark.parametrize("method", ["product", "chain"])
def test_bad_names_and_values_fail_before_any_run(
    experiment: ivory.Experiment,
    mlflow: MlflowClient,
    kwargs: dict[str, Any],
    message: str,
    method: str,
) -> None:
    task = experiment.create_task()
    sweep: Callable[..., Any] = getattr(task, method)
    with pytest.raises(OverrideError, match=message):
        sweep(kwargs, y=[1.0, 2.0])
    assert nested(mlflow, task) == []
    assert task.records == []


def test_every_bad_value_is_reported_at_once(experiment: ivory.Experiment) -> None:
    task = experiment.create_task()
    with pytest.raises(OverrideError) as info:
        task.product(x=[1.0, "a", "b"], y=[0.0, "c"])
    assert [issue.source for issue in info.value.issues] == ["x='a'", "x='b'", "y='c'"]


def test_repeat_must_be_positive(experiment: ivory.Experiment) -> None:
    with pytest.raises(ConfigError, match="repeat must be a positive integer"):
        experiment.create_task().product(x=[1, 2], repeat=0)


def test_runs_release_their_members_when_done(experiment: ivory.Experiment) -> None:
    task = experiment.create_task()
    members: list[weakref.ref[Any]] = []

    def watch(run: ivory.Run) -> None:
        members.extend(weakref.ref(member) for member in run.values() if member is not None)

    for record in task.execute(task.product(x=[1.0, 2.0, 3.0]), "train", on_start=watch):
        assert record.status == "FINISHED"
    assert members
    assert [ref() for ref in members] == [None] * len(members)


def test_nested_params_name_their_task(experiment: ivory.Experiment) -> None:
    task = experiment.create_task()
    (run,) = list(task.product(x=1.0))
    assert run.params["task"] == {"name": task.name, "id": task.id}
    assert run.parent_id == task.id


def test_untracked_task_yields_runs(workdir: Path) -> None:
    experiment = ivory.Experiment.from_text(TOY, name="toy")
    task = experiment.create_task()
    records = list(task.execute(task.product(x=[1.0, 5.0]), "train"))
    assert [record.score for record in records] == [4.0, 4.0]
    assert task.status == "FINISHED"
    assert task.id == ""


def test_load_results_averages_predictions_per_sample_across_folds(workdir: Path) -> None:
    import numpy as np

    client = ivory.create_client(workdir)
    task = client.create_task("diabetes")
    records = list(task.execute(task.product(fold=range(5), n_estimators=5, max_depth=3)))
    ids = [record.id for record in records]
    assert [record.status for record in records] == ["FINISHED"] * 5

    each = [client.load_results(run_id) for run_id in ids]
    mean = client.load_results(ids, reduction="mean")

    # Validation: each non-test sample was predicted once, by the fold that held it out.
    val_index = np.concatenate([results["val"]["index"] for results in each])
    assert len(val_index) == len(set(val_index.tolist()))
    np.testing.assert_array_equal(mean["val"]["index"], np.sort(val_index))

    # Test: the same held-out samples in every fold; their predictions are averaged.
    outputs = []
    for results in each:
        order = np.argsort(results["test"]["index"])
        np.testing.assert_array_equal(results["test"]["index"][order], mean["test"]["index"])
        outputs.append(results["test"]["output"][order])
    assert not np.allclose(outputs[0], outputs[1])
    np.testing.assert_allclose(mean["test"]["output"], np.mean(outputs, axis=0))
    assert len(mean["test"]["index"]) + len(mean["val"]["index"]) == 442
