"""Tracked runs: what reaches MLflow when a run stops early, fails, is interrupted or killed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient

import ivory
from ivory.callbacks.pruning import Pruning
from tests.conftest import write
from tests.core.scripted import HOOKS, TINY


@pytest.fixture
def client(workdir: Path) -> Iterator[ivory.Client]:
    write(workdir, "configs/tiny.yaml", TINY)
    HOOKS.clear()
    yield ivory.create_client(workdir)
    HOOKS.clear()


@pytest.fixture
def mlflow(workdir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")


def history(mlflow: MlflowClient, run_id: str, key: str) -> dict[int, float]:
    return {m.step: m.value for m in mlflow.get_metric_history(run_id, key)}


def test_early_stopped_epoch_is_tracked_and_best_restored_for_test(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    run = client.create_run("tiny")
    run.start("both")

    record = mlflow.get_run(run.id)
    assert record.info.status == "FINISHED"
    assert history(mlflow, run.id, "val_loss") == {0: 5.0, 1: 4.0, 2: 3.0, 3: 3.5, 4: 3.6, 5: 3.7}
    assert history(mlflow, run.id, "best_score") == {0: 5.0, 1: 4.0, 2: 3.0, 3: 3.0, 4: 3.0, 5: 3.0}
    assert history(mlflow, run.id, "best_epoch") == {0: 0, 1: 1, 2: 2, 3: 2, 4: 2, 5: 2}
    assert record.data.tags["ivory.stopped"].startswith("early stopping at epoch 5")

    # current/ holds the end of training, best/ the best epoch, test/ the restored best tested.
    assert client.load_instance(run.id, "model", "current").weight.tolist() == [6.0]
    assert client.load_instance(run.id, "model", "best").weight.tolist() == [3.0]
    assert client.load_instance(run.id, "trainer", "best").epoch == 2
    tested = client.load_run(run.id, "test")
    assert tested.model.weight.tolist() == [3.0]
    assert tested.trainer.epoch == 5
    np.testing.assert_array_equal(tested.results.test["output"], np.full(4, 3.0))


def test_start_again_logs_on_the_same_run(client: ivory.Client, mlflow: MlflowClient) -> None:
    run = client.create_run("tiny", epochs=2)
    run.start("train")
    assert mlflow.get_run(run.id).info.status == "FINISHED"
    run.start("train")
    assert mlflow.get_run(run.id).info.status == "FINISHED"
    assert list(history(mlflow, run.id, "val_loss")) == [0, 1, 2, 3]
    assert client.load_instance(run.id, "trainer", "current").epoch == 3


class Boom(RuntimeError):
    pass


def fail_at(epoch: int) -> Any:
    def hook(model: Any, current: int) -> None:
        if current == epoch:
            raise Boom(f"failed at epoch {epoch}")

    return hook


def test_a_run_that_raises_is_failed_with_its_metrics_so_far(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    HOOKS.append(fail_at(2))
    run = client.create_run("tiny")
    with pytest.raises(Boom, match="failed at epoch 2"):
        run.start("both")
    record = mlflow.get_run(run.id)
    assert record.info.status == "FAILED"
    assert history(mlflow, run.id, "val_loss") == {0: 5.0, 1: 4.0}
    error = Path(mlflow.download_artifacts(run.id, "error.txt")).read_text()
    assert "Boom: failed at epoch 2" in error
    assert client.load_instance(run.id, "trainer", "current").epoch == 2
    assert client.load_instance(run.id, "model", "best").weight.tolist() == [2.0]


def test_ctrl_c_ends_the_run_killed_keeping_its_metrics(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    def interrupt(model: Any, epoch: int) -> None:
        if epoch == 3:
            raise KeyboardInterrupt

    HOOKS.append(interrupt)
    run = client.create_run("tiny")
    with pytest.raises(KeyboardInterrupt):
        run.start("both")
    assert mlflow.get_run(run.id).info.status == "KILLED"
    assert list(history(mlflow, run.id, "val_loss")) == [0, 1, 2]


def test_a_killed_run_stops_after_its_epoch(client: ivory.Client, mlflow: MlflowClient) -> None:
    run = client.create_run("tiny", patience=100)
    assert client.tracker.status_is_cheap  # a SQL store: the status is read after every epoch

    def kill(model: Any, epoch: int) -> None:
        if epoch == 2:  # as `ivory kill tiny` would, from another process
            assert client.set_terminated("tiny", "KILLED") == [run.id]

    HOOKS.append(kill)
    run.start("both")
    record = mlflow.get_run(run.id)
    assert record.info.status == "KILLED"
    assert record.data.tags["ivory.stopped"] == "killed"
    assert list(history(mlflow, run.id, "val_loss")) == [0, 1, 2]
    assert run.trainer.epoch == 2
    assert "test" not in run.results  # a killed run is not tested
    assert client.load_instance(run.id, "trainer", "current").epoch == 2


def test_changed_parameters_are_an_error_before_anything_runs(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    run = client.create_run("tiny")
    run.params["run"]["trainer"]["epochs"] = 10  # the same value: harmless
    run.start("train")
    run.params["run"]["trainer"]["epochs"] = 3
    run.params["run"]["early_stopping"]["patience"] = 1
    with pytest.raises(
        ivory.TrackingError,
        match=r"run#0: parameters cannot change once logged: trainer.epochs \(logged '10', "
        r"now '3'\); early_stopping.patience \(logged '3', now '1'\)",
    ):
        run.start("train")
    assert run.trainer.epoch == 5  # nothing more ran
    assert mlflow.get_run(run.id).data.params["trainer.epochs"] == "10"


def test_log_params_again_is_harmless_and_adds_new_keys(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    run = client.create_run("tiny")
    tracker = client.tracker
    tracker.log_params(run.id, run.params.run.to_dict())
    tracker.log_params(run.id, {"extra": {"note": "x"}})
    params = mlflow.get_run(run.id).data.params
    assert params["extra.note"] == "x"
    assert params["trainer.batch_size"] == "100"
    with pytest.raises(ivory.TrackingError, match=r"extra.note \(logged 'x', now 'y'\)"):
        tracker.log_params(run.id, {"extra": {"note": "y"}, "other": 1})
    assert "other" not in mlflow.get_run(run.id).data.params


def test_pruning_reports_each_epoch_and_prunes_after_tracking(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=3.55, n_warmup_steps=3))
    ids: list[str] = []

    def objective(trial: optuna.Trial) -> float:
        run = client.create_run("tiny", patience=100)
        run["pruning"] = Pruning(trial)
        ids.append(run.id)
        run.start("train")
        return float(run.monitor.best_score)

    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.intermediate_values == {0: 5.0, 1: 4.0, 2: 3.0, 3: 3.5, 4: 3.6}
    record = mlflow.get_run(ids[0])
    assert record.info.status == "FINISHED"
    assert record.data.tags["ivory.stopped"] == "pruned at epoch 4"
    assert list(history(mlflow, ids[0], "val_loss")) == [0, 1, 2, 3, 4]


def test_pruning_without_a_trial_does_nothing(client: ivory.Client) -> None:
    run = client.create_run("tiny", patience=100, epochs=3)
    run["pruning"] = Pruning()
    run.start("train")
    assert run.trainer.epoch == 2


def test_a_loaded_run_restores_the_saved_best_state(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    run = client.create_run("tiny")
    run.start("train")
    loaded = client.load_run(run.id, "current")
    assert loaded.model.weight.tolist() == [6.0]
    loaded.trainer.epochs = 0
    loaded.start("both")
    assert loaded.model.weight.tolist() == [3.0]  # from best/
    np.testing.assert_array_equal(loaded.results.test["output"], np.full(4, 3.0))
    assert mlflow.get_run(run.id).info.status == "FINISHED"
    assert client.load_instance(run.id, "model", "test").weight.tolist() == [3.0]


def test_load_run_refuses_an_import_path_outside_the_allowlist(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    run = client.create_run("tiny", epochs=1)
    run.start("train")
    # Someone with write access to the store edits the saved parameters.
    artifacts = Path(mlflow.get_run(run.id).info.artifact_uri.removeprefix("file://"))
    saved = (artifacts / "params.yaml").read_text()
    (artifacts / "params.yaml").write_text(saved.replace("tests.scripted", "os.system"))
    fresh = ivory.create_client(client.directory)
    with pytest.raises(ivory.RegistryError, match=r"import path 'os\.system' is not allowed"):
        fresh.load_run(run.id, "current")
