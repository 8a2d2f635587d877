"""Run names stay unique when several processes create runs in one store at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

from ivory.tracking.mlflow import MlflowTracker

CREATE = """
import sys
from ivory.tracking.mlflow import MlflowTracker

tracker = MlflowTracker(sys.argv[1])
experiment_id = tracker.create_experiment("race")
for _ in range(int(sys.argv[2])):
    name, _ = tracker.create_run(
        experiment_id, kind="run", params={"run": {"x": 1}}, section="run", update={},
        source_name="", parent_id=None,
    )
    print(name)
"""


def test_of_two_runs_holding_a_name_the_later_moves_on(workdir: Path) -> None:
    tracker = MlflowTracker(workdir)
    experiment_id = tracker.create_experiment("race")
    mlflow = MlflowClient(tracking_uri=tracker.tracking_uri)
    mlflow.create_run(experiment_id, run_name="run#0", start_time=1000)
    early = mlflow.create_run(experiment_id, run_name="run#1", start_time=2000).info.run_id
    late = mlflow.create_run(experiment_id, run_name="run#1", start_time=3000).info.run_id

    assert tracker._settle_name(experiment_id, "run", "run#1", late) == "run#2"
    assert tracker._settle_name(experiment_id, "run", "run#1", early) == "run#1"
    assert mlflow.get_run(late).info.run_name == "run#2"


def test_a_run_does_not_keep_a_name_another_run_already_kept(workdir: Path) -> None:
    # The race clocks cannot settle: `kept` checked the name when it alone had it; `early`,
    # created before it but visible only after that check, must move on though it is older.
    tracker = MlflowTracker(workdir)
    experiment_id = tracker.create_experiment("race")
    mlflow = MlflowClient(tracking_uri=tracker.tracking_uri)
    kept = mlflow.create_run(experiment_id, run_name="run#0", start_time=3000).info.run_id
    assert tracker._settle_name(experiment_id, "run", "run#0", kept) == "run#0"
    early = mlflow.create_run(experiment_id, run_name="run#0", start_time=2000).info.run_id

    assert tracker._settle_name(experiment_id, "run", "run#0", early) == "run#1"
    assert mlflow.get_run(kept).info.run_name == "run#0"
    assert mlflow.get_run(early).info.run_name == "run#1"


def test_four_processes_creating_runs_at_once_get_distinct_names(workdir: Path) -> None:
    MlflowTracker(workdir).create_experiment("race")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CREATE, str(workdir), "8"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    printed: list[str] = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        printed.extend(out.split())

    mlflow = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = mlflow.get_experiment_by_name("race")
    assert experiment is not None
    stored = [run.info.run_name for run in mlflow.search_runs([experiment.experiment_id])]
    assert len(stored) == 32
    assert len(set(stored)) == 32
    assert sorted(printed) == sorted(stored)
