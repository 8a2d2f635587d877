"""A working directory with the toy experiment, and helpers to read its MLflow store."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write

HERE = Path(__file__).resolve().parent

TOY = """
trainer: {class: toymodels.Toy, epochs: 1}
metrics:
monitor: {metric: loss, mode: min}
study:
  objective:
    xy:
      x: float(-2.0, 3.0)
      y: int(0, 4)
  tuner:
    sampler: {class: optuna.samplers.RandomSampler, seed: 0}
"""


def make_toy(directory: Path) -> Path:
    """Put ``toymodels.py`` and ``configs/toy.yaml`` in `directory`; return it."""
    shutil.copy(HERE / "toymodels.py", directory / "toymodels.py")
    write(directory, "configs/toy.yaml", TOY)
    return directory


@pytest.fixture
def toy(workdir: Path) -> Path:
    """The working directory with ``toymodels.py`` and ``configs/toy.yaml``."""
    return make_toy(workdir)


def mlflow_client(directory: Path) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{directory / 'mlflow.db'}")


def all_runs(directory: Path, experiment: str) -> list[Any]:
    """Every run of an experiment."""
    client = mlflow_client(directory)
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    return list(client.search_runs([found.experiment_id]))


def runs_of(directory: Path, experiment: str) -> dict[str, Any]:
    """Every run of an experiment, by run name (names are unique)."""
    runs = all_runs(directory, experiment)
    named = {run.info.run_name: run for run in runs}
    assert len(named) == len(runs), sorted(run.info.run_name for run in runs)
    return named


def snapshot(directory: Path, experiment: str) -> dict[str, Any]:
    """What the MLflow store holds of an experiment's runs, by name, to compare before and after.

    Each run: its status, parameters, tags, the history of each metric and its artifacts.
    """
    client = mlflow_client(directory)
    taken: dict[str, Any] = {}
    for name, run in runs_of(directory, experiment).items():
        run_id = run.info.run_id
        history = {
            key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)]
            for key in run.data.metrics
        }
        artifacts = sorted(a.path for a in client.list_artifacts(run_id))
        taken[name] = (run.info.status, run.data.params, run.data.tags, history, artifacts)
    return taken


def study_names(url: str) -> list[str]:
    """The names of the Optuna studies in the storage at `url`."""
    import optuna

    storage = optuna.storages.RDBStorage(url)
    try:
        return sorted(summary.study_name for summary in storage.get_all_studies())
    finally:
        storage.engine.dispose()
