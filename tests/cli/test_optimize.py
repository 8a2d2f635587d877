"""``ivory optimize``: spaces from the file and the command line, resume, errors, the output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from ivory.cli.main import app
from tests.tuning.conftest import make_toy, mlflow_client, runs_of, snapshot, study_names


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def toy(workdir: Path) -> Path:
    return make_toy(workdir)


def storage(directory: Path) -> str:
    return f"sqlite:///{directory / 'optuna.db'}"


def test_optimize_diabetes_forest_leaves_a_study_run_with_its_best_and_plots(
    workdir: Path,
) -> None:
    # As a user runs it (a subprocess), on the bundled example; smaller forests keep it quick.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivory",
            "optimize",
            "diabetes",
            "forest",
            "--n-trials",
            "3",
            "n_estimators=int(10, 30, step=10)",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"^diabetes\.forest\.study#0: 3 trials \(3 complete, 0 pruned, 0 failed\), "
        r"best mse=\d+(\.\d+)? at trial \d$",
        result.stdout,
        re.MULTILINE,
    )
    assert "best trials of diabetes.forest.study#0" in result.stdout
    assert "3/3" in result.stderr  # The progress bar.

    runs = runs_of(workdir, "diabetes")
    study = runs["study#0"]
    assert study.info.status == "FINISHED"
    assert {"best.n_estimators", "best.max_depth", "best.max_features"} <= set(study.data.tags)
    plots = {a.path for a in mlflow_client(workdir).list_artifacts(study.info.run_id, "plots")}
    assert plots == {"plots/optimization_history.png", "plots/param_importances.png"}
    stored = optuna.load_study(study_name="diabetes.forest.study#0", storage=storage(workdir))
    assert {t.params["n_estimators"] for t in stored.trials} <= {10, 20, 30}


def test_a_space_on_the_command_line_is_a_suggest_of_its_own(runner: CliRunner, toy: Path) -> None:
    result = runner.invoke(app, ["optimize", "toy", "x=float(-1, 1)", "--n-trials", "2"])
    assert result.exit_code == 0, result.output
    assert "toy.x.study#0: 2 trials (2 complete, 0 pruned, 0 failed)" in result.output
    stored = optuna.load_study(study_name="toy.x.study#0", storage=storage(toy))
    assert all(set(t.params) == {"x"} and -1 <= t.params["x"] <= 1 for t in stored.trials)


def test_fixed_updates_and_resume_by_number(runner: CliRunner, toy: Path) -> None:
    first = runner.invoke(app, ["optimize", "toy", "xy", "--n-trials", "2", "epochs=2"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["optimize", "toy", "xy", "-n", "0", "--n-trials", "1"])
    assert again.exit_code == 0, again.output
    assert "toy.xy.study#0: 3 trials (3 complete" in again.output
    runs = runs_of(toy, "toy")
    assert sorted(runs) == ["run#0", "run#1", "run#2", "study#0"]
    assert runs["run#0"].data.params["trainer.epochs"] == "2"


def _lines(*lines: str) -> str:
    """A pattern matching exactly these error lines as the command prints them, nothing else."""
    return "^" + "".join(re.escape(f"error: {line}\n") for line in lines) + "$"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["xy", "x=float(1, 0)"],
            r"x=float\(1, 0\): high must not be below low \(0 < 1\)\n.*x=float\(1, 0\)\n.*\^",
            id="low_above_high",
        ),
        pytest.param(["forest"], r"no suggest 'forest' \(suggests: xy\)", id="unknown_suggest"),
        pytest.param(["xy", "fold"], r"fold: expected NAME=DIST or NAME=VALUE", id="stray_item"),
        pytest.param(["xy", "epoch=2"], r"unknown name 'epoch'", id="unknown_fixed_update"),
        pytest.param(
            ["xy", "y=int(2,"],
            _lines(
                "y=int(2,: this '(' is never closed",
                "    y=int(2,",
                "         ^",
            ),
            id="unclosed_parenthesis",
        ),
        pytest.param(
            ["xy", "x=flaot(1,2)"],
            _lines(
                "x=flaot(1,2): expected a distribution: int(low, high[, step=S][, log]), "
                "float(low, high[, step=S][, log]) or choice(v1, v2, ...); did you mean float?",
                "    x=flaot(1,2)",
                "      ^",
            ),
            id="unknown_distribution",
        ),
        pytest.param(
            ["xy", "y=int(1,5,stp=2)"],
            _lines(
                "y=int(1,5,stp=2): unknown keyword 'stp' of int(...); int(...) takes step, log",
                "    y=int(1,5,stp=2)",
                "              ^",
            ),
            id="unknown_keyword",
        ),
    ],
)
def test_bad_command_lines_exit_2_before_anything_is_stored(
    runner: CliRunner, toy: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["optimize", "toy", *args, "--n-trials", "1"])
    assert result.exit_code == 2, result.output
    assert re.search(message, result.output, re.DOTALL), result.output
    assert "Traceback" not in result.output
    assert not (toy / "optuna.db").exists()


def test_a_storage_url_that_cannot_be_used_exits_1(runner: CliRunner, toy: Path) -> None:
    result = runner.invoke(
        app, ["optimize", "toy", "xy", "--n-trials", "1", "--storage", "nosuchdb://x/y"]
    )
    assert result.exit_code == 1, result.output
    assert "error: cannot open the study storage nosuchdb://x/y" in result.output


def test_resuming_in_another_storage_exits_2_and_changes_nothing(
    runner: CliRunner, toy: Path
) -> None:
    first = runner.invoke(app, ["optimize", "toy", "xy", "--n-trials", "2"])
    assert first.exit_code == 0, first.output
    before = snapshot(toy, "toy")

    args = ["optimize", "toy", "xy", "-n", "0", "--storage", "sqlite:///other.db"]
    result = runner.invoke(app, [*args, "--n-trials", "1"])
    assert result.exit_code == 2, result.output
    assert result.output == (
        "error: run_number: study#0 has no Optuna study named 'toy.xy.study#0' in "
        f"sqlite:///other.db (study#0 is in {storage(toy.resolve())}); resume it with that "
        "storage (--storage), or leave out the number to start a new study\n"
    )
    assert not (toy / "other.db").exists()
    assert study_names(storage(toy)) == ["toy.xy.study#0"]
    assert snapshot(toy, "toy") == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["-n", "7"],
            2,
            "error: run_number: there is no study#7 to resume; a new study would be study#0 "
            "(leave out the number to start one)\n",
            id="resume_refused",
        ),
        pytest.param(
            ["--storage", "nosuchdb://x/y"],
            1,
            "error: cannot open the study storage nosuchdb://x/y: the storage refused (Can't load "
            "plugin: sqlalchemy.dialects:nosuchdb)\n",
            id="storage_unusable",
        ),
        pytest.param(
            ["y=int(4, 2)"],
            2,
            "error: y=int(4, 2): high must not be below low (2 < 4)\n"
            "error:     y=int(4, 2)\n"
            "error:              ^\n",
            id="bad_space",
        ),
    ],
)
def test_a_study_that_fails_to_open_shows_no_progress_bar(
    runner: CliRunner, toy: Path, args: list[str], code: int, message: str
) -> None:
    result = runner.invoke(app, ["optimize", "toy", "xy", *args, "--n-trials", "1"])
    assert result.exit_code == code, result.output
    assert result.output == message


def test_a_trial_that_raises_ends_the_command_with_one_line_and_exit_1(
    runner: CliRunner, toy: Path
) -> None:
    result = runner.invoke(app, ["optimize", "toy", "xy", "fail=true", "--n-trials", "2"])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        "error: study#0 FAILED: RuntimeError: the toy was asked to fail"
    )
    assert "Traceback" not in result.output
    runs = runs_of(toy, "toy")
    assert (runs["study#0"].info.status, runs["run#0"].info.status) == ("FAILED", "FAILED")


def test_a_fixed_value_of_a_sampled_name_is_an_error_before_any_study(
    runner: CliRunner, toy: Path
) -> None:
    result = runner.invoke(app, ["optimize", "toy", "xy", "x=0.5", "--n-trials", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: x=0.5: the suggest 'xy' samples x, so every trial would replace this fixed value; "
        "leave it out, or give a range instead (x=int(a, b), float(a, b) or choice(...))\n"
    )
    assert not (toy / "optuna.db").exists()
    assert mlflow_client(toy).get_experiment_by_name("toy") is None  # Nothing was tracked.
