"""``ivory run`` end to end, as a subprocess, on the bundled example and a real store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import write


def ivory(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivory", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )


def test_run_diabetes_prints_the_run_and_its_metrics(workdir: Path) -> None:
    first = ivory(workdir, "run", "diabetes")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"run#0 mse=\d+(\.\d+)? r2=0\.\d+\n", first.stdout)

    second = ivory(workdir, "run", "diabetes", "max_depth=3", "fold=1")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("run#1 mse=")

    mlflow = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = mlflow.get_experiment_by_name("diabetes")
    assert experiment is not None
    (run,) = mlflow.search_runs([experiment.experiment_id], "attributes.run_name = 'run#1'")
    assert run.data.params["estimator.max_depth"] == "3"
    assert run.data.params["datasets.fold"] == "1"


def test_bad_override_exits_2_with_one_line_and_no_run(workdir: Path) -> None:
    result = ivory(workdir, "run", "diabetes", "max_dept=3")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: max_dept=3: unknown name 'max_dept': no parameter is called so; "
        "did you mean estimator.max_depth?\n"
    )
    mlflow = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    assert [e.name for e in mlflow.search_experiments()] == ["Default"]


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["run", "nodriver"], id="run"),
        pytest.param(["run", "nodriver", "fold=0,1"], id="task"),
        pytest.param(["optimize", "nodriver", "lr=float(0.1,1)", "--n-trials", "1"], id="study"),
    ],
)
def test_a_run_with_no_driver_exits_2_before_anything_is_tracked(
    workdir: Path, args: list[str]
) -> None:
    write(workdir, "configs/nodriver.yaml", "monitor: {metric: mse, mode: min}\nfold: 0\nlr: 1\n")
    result = ivory(workdir, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: {workdir / 'configs/nodriver.yaml'}:1:1: run: no member drives the run: it "
        "needs a trainer or an estimator (a member whose class has a start method)\n"
    )
    mlflow = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    assert [e.name for e in mlflow.search_experiments()] == ["Default"]


def test_wrong_type_exits_2_naming_path_and_value(workdir: Path) -> None:
    result = ivory(workdir, "run", "diabetes", "fold=x")
    assert result.returncode == 2
    assert result.stderr == (
        "error: fold=x: run.datasets.fold: Input should be a valid integer, unable to parse "
        "string as an integer (got 'x')\n"
    )
    assert "Traceback" not in result.stderr


def test_item_without_equals_is_a_usage_error(workdir: Path) -> None:
    result = ivory(workdir, "run", "diabetes", "max_depth")
    assert result.returncode == 2
    assert result.stderr == "error: max_depth: expected NAME=VALUE\n"


def test_a_duplicate_override_exits_2_before_anything_is_tracked(workdir: Path) -> None:
    result = ivory(workdir, "run", "diabetes", "max_depth=3", "fold=1", "max_depth=4")
    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        result.stderr == "error: max_depth: given twice (max_depth=3, max_depth=4); give it once\n"
    )
    mlflow = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    assert [e.name for e in mlflow.search_experiments()] == ["Default"]


def test_the_first_run_prints_no_mlflow_info_lines(workdir: Path) -> None:
    (workdir / "mlflow.db").unlink()  # MLflow creates its tables: it says so at INFO
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_LOGGING_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "ivory", "run", "diabetes", "n_estimators=5"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("run#0 mse=")


def test_a_warning_is_one_line_without_ivory_source(workdir: Path) -> None:
    result = ivory(
        workdir,
        "optimize",
        "diabetes",
        "n_estimators=int(5,12,step=5)",
        "--n-trials",
        "1",
        "--no-tracking",
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line.lower()]
    assert warnings == [
        "warning: n_estimators=int(5,12,step=5): the step 5 does not divide the range 5 to 12; "
        "the upper bound is lowered to 10"
    ]
    assert ".py:" not in result.stderr


def test_a_failing_single_run_is_one_line_and_exits_1(workdir: Path) -> None:
    result = ivory(workdir, "run", "digits", "n_features=10", "epochs=1")
    assert result.returncode == 1
    assert result.stdout == ""
    assert re.fullmatch(r"run#0 FAILED: ValueError: matmul: [^\n]*\n", result.stderr)

    # The traceback is the run's error.txt, and IVORY_FULL_ERROR=1 shows it too.
    mlflow = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = mlflow.get_experiment_by_name("digits")
    assert experiment is not None
    (run,) = mlflow.search_runs([experiment.experiment_id])
    assert run.info.status == "FAILED"
    error = Path(mlflow.download_artifacts(run.info.run_id, "error.txt", str(workdir)))
    assert error.read_text().startswith("Traceback (most recent call last):")
    full = subprocess.run(
        [sys.executable, "-m", "ivory", "run", "digits", "n_features=10", "epochs=1"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "IVORY_FULL_ERROR": "1"},
    )
    assert full.returncode == 1
    assert full.stderr.startswith("Traceback (most recent call last):")
    assert full.stderr.splitlines()[-1].startswith("ValueError: matmul: ")
    assert "╭" not in full.stderr  # typer's pretty exceptions are off


def test_a_killed_run_says_so_and_exits_1(workdir: Path) -> None:
    # A member marks its own run KILLED after the first epoch, as `ivory kill` does.
    write(
        workdir,
        "killer.py",
        """
        class Killer:
            def on_epoch_end(self, run):
                run.tracker.set_terminated(run.id, "KILLED")
        """,
    )
    write(workdir, "configs/killed.yaml", "extends: digits\nkiller: {class: killer.Killer}\n")
    result = ivory(workdir, "run", "killed")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "run#0 KILLED\n"
