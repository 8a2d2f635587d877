"""The core Trainer with early stopping, without a tracker: epochs, stops, restarts, best state."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ivory
from tests.core.scripted import LOSSES, TINY


def create(text: str = TINY, **kwargs: Any) -> ivory.Run:
    experiment = ivory.Experiment.from_text(text, name="tiny")
    return experiment.create_run(kwargs)


def test_trains_epoch_by_epoch_and_records_losses_and_results() -> None:
    run = create(patience=100, epochs=4)
    run.start("train")
    assert run.trainer.epoch == 3
    assert run.trainer.global_step == 3  # one batch per epoch
    assert run.metrics.history["val_loss"] == dict(enumerate(LOSSES[:4]))
    assert run.metrics.history["loss"] == dict.fromkeys(range(4), 1.0)
    assert len(run.results.train["index"]) + len(run.results.val["index"]) == 16
    np.testing.assert_array_equal(run.results.val["output"], np.full(8, 4.0))


def test_early_stopping_ends_training_at_the_stopping_epoch() -> None:
    run = create()
    run.start("train")
    # Best at epoch 2; epochs 3, 4, 5 do not improve: training ends after epoch 5, whose
    # metrics are recorded like the others.
    assert run.trainer.epoch == 5
    assert run.early_stopping.stopped_epoch == 5
    assert list(run.metrics.history["val_loss"]) == [0, 1, 2, 3, 4, 5]
    assert run.stop_request is not None
    assert run.stop_request.reason == (
        "early stopping at epoch 5: no better val_loss than 3 (epoch 2) for 3 epochs"
    )


def test_start_again_continues_and_patience_counts_afresh() -> None:
    run = create(epochs=2)
    run.start("train")
    run.start("train")
    run.start("train")
    # Epochs 0-5: the third start stops at epoch 5 (three epochs after the best, epoch 2).
    assert run.trainer.epoch == 5
    run.start("train")
    # A new start does not stop at once: the wait starts from zero, and epoch 6 improves.
    assert run.trainer.epoch == 7
    assert run.monitor.best_epoch == 7
    assert list(run.metrics.history["val_loss"]) == list(range(8))


def test_both_without_tracker_restores_the_best_state_then_tests() -> None:
    run = create()
    run.start("both")
    assert run.monitor.best_epoch == 2
    assert run.model.weight.tolist() == [3.0]  # the weight after epoch 2
    assert run.trainer.epoch == 5  # counters are not rewound
    np.testing.assert_array_equal(run.results.test["output"], np.full(4, 3.0))
    np.testing.assert_array_equal(run.results.val["output"], np.full(8, 3.0))
    assert run.metrics.test_values == {}  # no metric functions, only losses
    assert run.metrics.values == {"loss": 1.0, "val_loss": 3.0}  # those of the best epoch
    assert list(run.metrics.history["val_loss"]) == [0, 1, 2, 3, 4, 5]


def test_test_mode_predicts_the_test_part_only() -> None:
    run = create()
    run.start("test")
    assert list(run.results) == ["test"]
    assert run.trainer.epoch == -1


def test_early_stopping_must_follow_the_monitor() -> None:
    text = TINY.replace("monitor: {metric: val_loss}\n", "").replace(
        "early_stopping: {patience: 3}\n", "early_stopping: {patience: 3}\nmonitor: {}\n"
    )
    with pytest.raises(ivory.BuildError, match="early_stopping: must come after 'monitor'"):
        create(text).start("train")


def test_the_trainer_needs_a_model_member() -> None:
    text = TINY.replace("model:", "net:")
    with pytest.raises(ivory.BuildError, match=r"trainer.model: the run has no member 'model'"):
        create(text).start("train")


def test_the_trainer_names_the_missing_step() -> None:
    text = TINY.replace("model: {class: tests.scripted, losses: " + str(LOSSES) + "}", "model: {}")
    with pytest.raises(
        ivory.BuildError, match=r"member 'model' \(dict\) has no train_step\(input, target\)"
    ):
        create(text).start("train")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("epochs", -1, "epochs must be 0 or more", id="epochs"),
        pytest.param("batch_size", 0, "batch_size must be 1 or more", id="batch_size"),
        pytest.param("patience", 0, "patience must be 1 or more", id="patience"),
    ],
)
def test_bad_settings_are_refused_when_built(key: str, value: int, message: str) -> None:
    with pytest.raises(ivory.BuildError, match=message):
        create(TINY, **{key: value})


def test_digits_mlp_learns_and_early_stops() -> None:
    from pathlib import Path

    path = Path(__file__).parents[2] / "configs" / "digits.yaml"
    run = ivory.Experiment.from_file(str(path)).create_run()
    run.start("both")
    assert 3 <= run.trainer.epoch < 39
    assert run.early_stopping.stopped_epoch == run.trainer.epoch
    assert run.metrics.history["accuracy"][run.monitor.best_epoch] > 0.9
    assert run.metrics.test_values["accuracy"] > 0.9


def test_the_trainer_needs_datasets() -> None:
    text = TINY.replace("datasets:", "data_sets:")
    with pytest.raises(ivory.BuildError, match="trainer: the run has no 'datasets' member"):
        create(text).start("train")
