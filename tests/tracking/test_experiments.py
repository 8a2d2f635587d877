"""CASES B28: deleted, empty or unknown experiments are clear errors; nothing is logged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import ivory
from tests.conftest import write

MEMBERS = "metrics: {mse: }\n"


@pytest.fixture
def client(workdir: Path) -> ivory.Client:
    return ivory.create_client(workdir)


@pytest.fixture
def mlflow(workdir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")


def run_count(mlflow: MlflowClient) -> int:
    ids = [e.experiment_id for e in mlflow.search_experiments(view_type=3)]
    return len(mlflow.search_runs(ids, run_view_type=3))


def test_b28_deleted_experiment_name(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    mlflow.delete_experiment(mlflow.create_experiment("exp-a"))
    write(workdir, "configs/b28.yaml", "experiment: {name: exp-a}\n" + MEMBERS)
    with pytest.raises(
        ivory.TrackingError,
        match=r"experiment.name: the MLflow experiment 'exp-a' exists but is deleted; restore it "
        r"\(mlflow experiments restore --experiment-id \d+\) or choose another name",
    ):
        client.create_run("b28")
    assert run_count(mlflow) == 0


def test_b28_empty_experiment_name(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    write(workdir, "configs/b28.yaml", "experiment: {name: ''}\n" + MEMBERS)
    # Caught when the file is loaded, with its position.
    with pytest.raises(
        ivory.ConfigError, match=r"b28.yaml:1:14: experiment.name: the experiment name must be"
    ):
        client.create_run("b28")
    assert run_count(mlflow) == 0


def test_b28_nonexistent_experiment_id(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    write(workdir, "configs/b28.yaml", "experiment: {id: '999999'}\n" + MEMBERS)
    with pytest.raises(
        ivory.TrackingError, match=r"experiment.id: no MLflow experiment has the id '999999'"
    ):
        client.create_run("b28")
    assert run_count(mlflow) == 0


def test_b28_an_existing_experiment_id_is_used(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    experiment_id = mlflow.create_experiment("chosen")
    write(workdir, "configs/b28.yaml", f"experiment: {{id: '{experiment_id}'}}\n" + MEMBERS)
    run = client.create_run("b28")
    assert mlflow.get_run(run.id).info.experiment_id == experiment_id


def test_b28_deleted_default_experiment(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    mlflow.delete_experiment("0")
    # ivory never falls back on the default experiment: a run goes to its own experiment.
    run = client.create_run("diabetes")
    assert mlflow.get_experiment(mlflow.get_run(run.id).info.experiment_id).name == "diabetes"

    # Naming the deleted default experiment is a clear error.
    write(workdir, "configs/b28.yaml", "experiment: {name: Default}\n" + MEMBERS)
    with pytest.raises(
        ivory.TrackingError,
        match=r"experiment.name: the default experiment 'Default' exists but is deleted",
    ):
        client.create_run("b28")
    assert run_count(mlflow) == 1


def test_b28_on_the_command_line_exits_non_zero_without_a_run(
    workdir: Path, mlflow: MlflowClient
) -> None:
    mlflow.delete_experiment(mlflow.create_experiment("exp-a"))
    trainer = "trainer: {class: ivory.core.trainer.Trainer}\n"  # A runnable experiment.
    write(workdir, "configs/b28.yaml", "experiment: {name: exp-a}\n" + MEMBERS + trainer)
    result = subprocess.run(
        [sys.executable, "-m", "ivory", "run", "b28"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: experiment.name: the MLflow experiment 'exp-a' exists but is deleted"
    )
    assert run_count(mlflow) == 0


def test_b28_empty_name_reaching_the_tracker_is_refused(client: ivory.Client) -> None:
    with pytest.raises(ivory.ConfigError, match=r"experiment.name: the experiment name must not"):
        client.tracker.create_experiment("  ")
