"""Runs tracked in a real SQLite MLflow store."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import ivory
from ivory.config.loader import load_text


@pytest.fixture
def client(workdir: Path) -> ivory.Client:
    return ivory.create_client(workdir)


@pytest.fixture
def mlflow(workdir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")


def test_default_store_is_sqlite_in_the_working_directory(client: ivory.Client) -> None:
    assert client.tracker.tracking_uri == f"sqlite:///{client.directory / 'mlflow.db'}"


def test_tracking_uri_from_the_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{workdir / 'other.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert ivory.create_client(workdir).tracker.tracking_uri == uri


def test_a_run_is_tracked_with_params_artifact_metrics_and_status(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    run = client.create_run("diabetes", max_depth=3, fold=1)
    run.start("both")
    assert run.name == "run#0"

    record = mlflow.get_run(run.id)
    experiment = mlflow.get_experiment(record.info.experiment_id)
    assert experiment.name == "diabetes"
    assert record.info.run_name == "run#0"
    assert record.info.status == "FINISHED"
    assert record.data.params["estimator.max_depth"] == "3"
    assert record.data.params["datasets.fold"] == "1"
    assert record.data.params["datasets.data.name"] == "diabetes"
    assert record.data.params["metrics.mse"] == "null"
    assert set(record.data.metrics) == {
        "mse",
        "r2",
        "best_score",
        "best_epoch",
        "test_mse",
        "test_r2",
    }
    assert record.data.metrics["mse"] == pytest.approx(run.metrics["mse"])
    assert record.data.tags["mlflow.source.name"] == str(client.directory / "configs/diabetes.yaml")
    assert load_text(record.data.tags["ivory.update"]).tree == {"max_depth": 3, "fold": 1}

    # The saved parameters are the run's parameters, read back equal.
    saved = Path(mlflow.download_artifacts(run.id, "params.yaml")).read_text()
    assert load_text(saved).tree == run.params.to_dict()


def test_artifacts_written_in_place_are_the_ones_mlflow_lists(
    client: ivory.Client, mlflow: MlflowClient
) -> None:
    run = client.create_run("diabetes")
    run.start("both")
    listed = {info.path for info in mlflow.list_artifacts(run.id)}
    assert listed == {"params.yaml", "current", "best", "test"}
    states = {info.path for info in mlflow.list_artifacts(run.id, "test")}
    assert "test/monitor.json" in states


def test_the_sqlite_store_has_a_write_ahead_log_synced_at_checkpoints(
    client: ivory.Client,
) -> None:
    engine = client.tracker.client._tracking_client.store.engine
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (journal, synchronous) == ("wal", 1)  # 1 is NORMAL


def test_runs_are_numbered_per_experiment(client: ivory.Client) -> None:
    names = [client.create_run("diabetes").name for _ in range(3)]
    assert names == ["run#0", "run#1", "run#2"]


class Exploding:
    def start(self, run: object) -> None:
        raise RuntimeError("boom")


ivory.register("tests.exploding", Exploding)


def test_a_run_that_raises_ends_failed_with_its_error(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    (workdir / "explode.yaml").write_text("driver: {class: tests.exploding}\n")
    run = client.create_run("explode")
    with pytest.raises(RuntimeError, match="boom"):
        run.start()
    record = mlflow.get_run(run.id)
    assert record.info.status == "FAILED"
    error = Path(mlflow.download_artifacts(run.id, "error.txt")).read_text()
    assert "RuntimeError: boom" in error


def test_a_bad_override_creates_no_run(client: ivory.Client, mlflow: MlflowClient) -> None:
    with pytest.raises(ivory.OverrideError, match="max_dept"):
        client.create_run("diabetes", max_dept=3)
    assert [e.name for e in mlflow.search_experiments()] == ["Default"]


TYPED = """
values:
  text_number: "1"
  integer: 1
  real: 1.0
  text_true: "true"
  truth: true
  nothing: null
  small: 1.0e-3
  big: 12345678901234567890
  sizes: [64, 32]
  words: ["a", "1"]
  nested: {deep: {"k.with.dots": x, 学习率: 0.01}}
  empty_text: ""
"""


def test_params_yaml_round_trips_exactly(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    (workdir / "typed.yaml").write_text(TYPED, encoding="utf-8")
    run = client.create_run("typed")
    saved = client.load_params(run.id).to_dict()
    assert saved == run.params.to_dict()
    values = saved["run"]["values"]
    assert [type(values[k]) for k in ("text_number", "integer", "real", "text_true")] == [
        str,
        int,
        float,
        str,
    ]
    assert values["big"] == 12345678901234567890
    assert values["nested"]["deep"] == {"k.with.dots": "x", "学习率": 0.01}
    params = mlflow.get_run(run.id).data.params
    assert params["values.text_number"] == "1"
    assert params["values.empty_text"] == ""
    assert params["values.nested.deep.k.with.dots"] == "x"


def test_tags_name_the_update_source_commit_and_parent(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    import subprocess

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(workdir), *args], capture_output=True, text=True, check=True
        )
        return result.stdout.strip()

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    from ivory.tracking.mlflow import _git_commit

    _git_commit.cache_clear()
    parent = client.create_run("diabetes")
    experiment = client.create_experiment("diabetes")
    params, update = experiment.create_params(max_depth=2)
    from ivory.core.run import create_run

    child = create_run(parent, params, update, "run")
    tags = mlflow.get_run(child.id).data.tags
    assert tags["mlflow.source.name"] == str(workdir / "configs" / "diabetes.yaml")
    assert tags["mlflow.source.git.commit"] == git("rev-parse", "HEAD")
    assert tags["mlflow.parentRunId"] == parent.id
    assert tags["ivory.update"] == "max_depth: 2"
    assert tags["ivory.kind"] == "run"
    assert child.parent_id == parent.id
