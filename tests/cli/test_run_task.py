"""``ivory run`` with sweeps: a task of nested runs, its lines, its summary and its exit status."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from ivory.cli.main import app
from tests.conftest import write

TOY = '''
class Toy:
    """Scores (x - 3) ** 2; raises when x == fail."""

    def __init__(self, x: float = 0.0, fail: float = -1.0, sizes: list[int] | None = None):
        self.x, self.fail, self.sizes, self.epoch = x, fail, sizes, -1

    def start(self, run):
        if run.mode != "train":
            return
        if self.x == self.fail:
            raise ValueError(f"x={self.x} fails")
        self.epoch = 0
        run.on_epoch_begin()
        run.metrics.values["score"] = (self.x - 3) ** 2
        run.on_epoch_end()
'''


@pytest.fixture
def toy(workdir: Path) -> Path:
    write(workdir, "sweeptoy.py", TOY)
    write(
        workdir,
        "configs/toy.yaml",
        """
        estimator: {class: sweeptoy.Toy, x: 0.0, sizes: [1]}
        metrics:
        monitor: {metric: score, mode: min}
        """,
    )
    return workdir


def ivory(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def store(workdir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")


def runs_of(workdir: Path, name: str) -> dict[str, Any]:
    mlflow = store(workdir)
    experiment = mlflow.get_experiment_by_name(name)
    assert experiment is not None
    return {run.info.run_name: run for run in mlflow.search_runs([experiment.experiment_id])}


def test_diabetes_fold_0_4_is_a_five_fold_cross_validation(workdir: Path) -> None:
    result = ivory("run", "diabetes", "fold=0-4")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()

    # One line per run, then the table with a row per run and the mean ± std of each metric.
    for fold in range(5):
        assert re.fullmatch(rf"run#{fold} fold={fold} mse=\d+(\.\d+)? r2=0\.\d+", lines[fold])
    assert lines[5].split() == ["run", "fold", "mse", "r2", "status"]
    for fold in range(5):
        assert lines[6 + fold].split()[:2] == [f"run#{fold}", str(fold)]
        assert lines[6 + fold].split()[-1] == "FINISHED"
    assert re.fullmatch(
        r"mean ± std \(n=5\) +\d+(\.\d+)? ± \d+(\.\d+)? +0\.\d+ ± 0\.\d+", lines[-1].strip()
    )

    # The task is the parent of the five runs, one per fold, and ended FINISHED.
    runs = runs_of(workdir, "diabetes")
    task = runs["task#0"]
    assert task.info.status == "FINISHED"
    assert task.data.tags["ivory.sweep.fold"] == "[0, 1, 2, 3, 4]"
    children = [runs[f"run#{fold}"] for fold in range(5)]
    assert [child.data.tags["mlflow.parentRunId"] for child in children] == [task.info.run_id] * 5
    assert [child.data.params["datasets.fold"] for child in children] == ["0", "1", "2", "3", "4"]
    assert {child.info.status for child in children} == {"FINISHED"}


def test_a_failing_run_exits_1_and_is_named(toy: Path) -> None:
    result = ivory("run", "toy", "x=1,2,3", "fail=2")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "run#0 x=1.0 score=4",
        "run#1 x=2.0 FAILED: ValueError: x=2.0 fails",
        "run#2 x=3.0 score=0",
    ]
    assert [line.split() for line in lines[3:7]] == [
        ["run", "x", "score", "status"],
        ["run#0", "1.0", "4", "FINISHED"],
        ["run#1", "2.0", "FAILED"],
        ["run#2", "3.0", "0", "FINISHED"],
    ]
    assert lines[7].split() == ["mean", "±", "std", "(n=2)", "2", "±", "2.828"]
    assert result.stderr == "error: 1 of 3 runs failed: run#1 (task#0)\n"

    runs = runs_of(toy, "toy")
    assert runs["run#1"].info.status == "FAILED"
    assert runs["task#0"].info.status == "FAILED"
    assert runs["task#0"].data.tags["ivory.task.failed"] == "run#1"


def test_fail_fast_stops_the_task(toy: Path) -> None:
    result = ivory("run", "toy", "x=1,2,3", "fail=2", "--fail-fast")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "run#0 x=1.0 score=4",
        "run#1 x=2.0 FAILED: ValueError: x=2.0 fails",
    ]
    assert sorted(runs_of(toy, "toy")) == ["run#0", "run#1", "task#0"]


def test_repeat_runs_the_grid_again(toy: Path) -> None:
    result = ivory("run", "toy", "x=range(1,3)", "-r", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:4] == [
        "run#0 x=1.0 score=4",
        "run#1 x=2.0 score=1",
        "run#2 x=1.0 score=4",
        "run#3 x=2.0 score=1",
    ]
    assert runs_of(toy, "toy")["task#0"].data.tags["ivory.task.repeat"] == "2"


def test_repeat_alone_makes_a_task(toy: Path) -> None:
    result = ivory("run", "toy", "--repeat", "2", "x=5")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["run#0 score=4", "run#1 score=4"]
    assert runs_of(toy, "toy")["task#0"].data.tags["ivory.fixed.x"] == "5.0"


def test_b06_a_list_value_is_one_run_not_a_sweep(toy: Path) -> None:
    result = ivory("run", "toy", "sizes=[64,32]", "x=3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "run#0 score=0\n"
    runs = runs_of(toy, "toy")
    assert sorted(runs) == ["run#0"]
    assert runs["run#0"].data.params["estimator.sizes"] == "[64, 32]"


def test_b05_scientific_sweep_from_the_command_line(toy: Path) -> None:
    result = ivory("run", "toy", "x=1.0e-5,1.0e-6")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["run#0 x=1e-05 score=9", "run#1 x=1e-06 score=9"]
    runs = runs_of(toy, "toy")
    assert [runs[f"run#{i}"].data.params["estimator.x"] for i in (0, 1)] == ["1e-05", "1e-06"]


@pytest.mark.parametrize(
    ("override", "stderr"),
    [
        pytest.param(
            "x=range(0,",
            "error: x=range(0,: this '(' is never closed\n"
            "error:     x=range(0,\n"
            "error:            ^\n",
            id="grammar",
        ),
        pytest.param(
            "x=1,a",
            "error: x=a: run.estimator.x: Input should be a valid number, unable to parse string "
            "as a number (got 'a')\n",
            id="value",
        ),
        pytest.param(
            "y=1,2",
            "error: y=1: unknown name 'y': no parameter is called so\n",
            id="name",
        ),
    ],
)
def test_a_bad_sweep_exits_2_before_any_run(toy: Path, override: str, stderr: str) -> None:
    result = ivory("run", "toy", override)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == stderr
    assert [e.name for e in store(toy).search_experiments()] == ["Default"]


def test_a_progress_bar_on_a_terminal(toy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    result = ivory("run", "toy", "x=1,2,3")
    assert result.exit_code == 0, result.stderr
    assert "task#0" in result.stderr
    assert "3/3" in result.stderr
    assert "run#2 x=3.0 score=0" in result.stdout
