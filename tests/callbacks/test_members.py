"""Results, Metrics, Monitor and EarlyStopping on their own."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from ivory.callbacks.early_stopping import EarlyStopping
from ivory.callbacks.metrics import Metrics
from ivory.callbacks.monitor import Monitor
from ivory.callbacks.results import Results, concatenate
from ivory.core.run import Run


def results(mode: str, index: list[int], output: Any, target: Any) -> Results:
    made = Results()
    made.step(mode, index, output, target)
    return made


def test_results_mean_averages_rows_per_index_sorted() -> None:
    made = results(
        "val", [3, 1, 3, 2], [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.2, 0.8]], [0, 1, 0, 1]
    )
    mean = made.mean()
    np.testing.assert_array_equal(mean.val["index"], [1, 2, 3])
    np.testing.assert_allclose(mean.val["output"], [[0.5, 0.5], [0.2, 0.8], [0.5, 0.5]])
    np.testing.assert_allclose(mean.val["target"], [1, 1, 0])


def test_results_mean_keeps_the_first_of_values_it_cannot_average() -> None:
    made = results("test", [1, 0, 1], ["b", "a", "c"], ["x", "y", "z"])
    mean = made.mean()
    assert mean.test["output"].tolist() == ["a", "b"]
    assert mean.test["target"].tolist() == ["y", "x"]


def test_concatenate_joins_val_and_test_and_drops_train() -> None:
    first = results("val", [0, 1], [1.0, 2.0], [1.0, 2.0])
    first.step("train", [2, 3], [0.0, 0.0], [0.0, 0.0])
    first.step("test", [9], [4.0], [4.0])
    second = results("val", [2, 3], [3.0, 4.0], [3.0, 4.0])
    second.step("test", [9], [6.0], [4.0])
    joined = concatenate([first, second])
    assert list(joined) == ["val", "test"]
    assert joined.val["index"].tolist() == [0, 1, 2, 3]
    assert joined.test["output"].tolist() == [4.0, 6.0]
    assert concatenate([first, second], reduction="mean").test["output"].tolist() == [5.0]


def test_results_without_target_and_missing_mode() -> None:
    made = Results()
    made.step("test", [0, 1], [1.0, 2.0])
    assert np.isnan(made.test["target"]).all()
    with pytest.raises(AttributeError, match=r"no 'val' results yet \(have: test\)"):
        _ = made.val


def run_with(**members: Any) -> Run:
    return Run(None, **members)


def test_metrics_give_labels_to_label_metrics_and_scores_to_others() -> None:
    metrics = Metrics(accuracy=None, log_loss=None)
    run = run_with(results=Results(), metrics=metrics)
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    run.results.step("val", [0, 1, 2], scores, [0, 1, 1])
    metrics.on_epoch_begin(run)
    metrics["loss"] = 0.5
    metrics.on_epoch_end(run)
    assert metrics.values["accuracy"] == pytest.approx(2 / 3)
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3
    assert metrics.values["log_loss"] == pytest.approx(expected)
    assert metrics.history == {
        "loss": {0: 0.5},
        "accuracy": {0: metrics.values["accuracy"]},
        "log_loss": {0: metrics.values["log_loss"]},
    }


def test_metrics_on_the_test_part_only_with_targets() -> None:
    metrics = Metrics(mae=None)
    run = run_with(results=Results(), metrics=metrics)
    run.results.step("test", [0, 1], [1.0, 3.0])
    metrics.on_test_end(run)
    assert metrics.test_values == {}
    run.results.step("test", [0, 1], [1.0, 3.0], [2.0, 2.0])
    metrics.on_test_end(run)
    assert metrics.test_values == {"mae": 1.0}


def test_metrics_show_epoch_keeps_history() -> None:
    metrics = Metrics()
    metrics.history = {"loss": {0: 3.0, 1: 2.0, 2: 2.5}}
    metrics.values = {"loss": 2.5}
    metrics.show_epoch(1)
    assert metrics.values == {"loss": 2.0}
    assert metrics.history == {"loss": {0: 3.0, 1: 2.0, 2: 2.5}}


def epoch(run: Run, value: float) -> None:
    run.metrics.on_epoch_begin(run)
    run.metrics["val_loss"] = value
    run.metrics.on_epoch_end(run)
    run.monitor.on_epoch_end(run)
    run.early_stopping.on_epoch_end(run)


@pytest.mark.parametrize(
    ("mode", "values", "best", "stopped"),
    [
        pytest.param("min", [3.0, 2.0, 2.5, 2.1, 2.0], (2.0, 1), 4, id="min"),
        pytest.param("max", [1.0, 2.0, 1.5, 1.9, 2.0], (2.0, 1), 4, id="max"),
        pytest.param("min", [3.0, 2.0, 2.5, 1.0, 2.0, 3.0], (1.0, 3), -1, id="improves-in-time"),
    ],
)
def test_monitor_and_early_stopping(
    mode: Any, values: list[float], best: tuple[float, int], stopped: int
) -> None:
    run = run_with(
        metrics=Metrics(), monitor=Monitor("val_loss", mode), early_stopping=EarlyStopping(3)
    )
    run.early_stopping.on_fit_begin(run)
    for value in values:
        epoch(run, value)
    assert (run.monitor.best_score, run.monitor.best_epoch) == best
    assert run.early_stopping.stopped_epoch == stopped
    assert (run.stop_request is not None) == (stopped >= 0)
    assert run.monitor.best_state is not None
    assert run.monitor.best_state["metrics"]["values"] == {"val_loss": best[0]}


def test_monitor_names_the_metrics_it_has() -> None:
    from ivory.errors import IvoryError

    run = run_with(metrics=Metrics(), monitor=Monitor("mse"))
    run.metrics["loss"] = 1.0
    with pytest.raises(IvoryError, match=r"monitor.metric: no metric 'mse' \(available: loss\)"):
        run.monitor.on_epoch_end(run)


def test_early_stopping_needs_a_monitor() -> None:
    from ivory.errors import BuildError

    run = run_with(early_stopping=EarlyStopping(2))
    with pytest.raises(BuildError, match="early_stopping: needs a 'monitor' member"):
        run.early_stopping.on_fit_begin(run)
