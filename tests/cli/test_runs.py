"""``ivory runs``, ``show``, ``kill``, ``clean`` and ``ui`` against a real store."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import ivory
from ivory.cli.main import app
from ivory.cli.ui import ui_command
from ivory.config.loader import load_text


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def client(workdir: Path) -> ivory.Client:
    return ivory.create_client(workdir)


@pytest.fixture
def mlflow(workdir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")


def test_runs_prints_a_table_of_runs_changes_and_metrics(
    runner: CliRunner, client: ivory.Client
) -> None:
    client.create_run("digits", epochs=2).start("both")
    client.create_run("digits", epochs=1, lr=0.2)  # created, never started

    result = runner.invoke(app, ["runs", "digits"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].strip() == "digits: 2 runs"
    header = lines[2]
    for column in ("run", "status", "changes", "accuracy", "best_epoch", "val_loss"):
        assert f" {column} " in header
    newer, older = ([cell.strip() for cell in line.split("│")[1:-1]] for line in lines[4:6])
    assert newer[:2] == ["run#1", "RUNNING"]
    assert newer[4] == "epochs=1 lr=0.2"
    assert older[:2] == ["run#0", "FINISHED"]
    assert older[4] == "epochs=2"
    assert (
        f"{client.load_run(client.get_run_id('digits', run=0)).monitor.best_score:.4g}" in lines[5]
    )


def test_runs_of_an_untracked_experiment_is_an_error(runner: CliRunner, workdir: Path) -> None:
    result = runner.invoke(app, ["runs", "digits"])
    assert result.exit_code == 1
    assert "error: no MLflow experiment is called 'digits'" in result.output


def test_show_prints_the_resolved_parameters(runner: CliRunner, workdir: Path) -> None:
    result = runner.invoke(app, ["show", "digits", "lr=1e-2", "hidden_sizes=[16,8]"])
    assert result.exit_code == 0, result.output
    tree = load_text(result.output).tree
    assert tree["run"]["model"]["lr"] == 0.01
    assert tree["run"]["model"]["hidden_sizes"] == [16, 8]
    assert tree["experiment"]["name"] == "digits"
    assert not (workdir / "mlruns").exists()

    section = runner.invoke(app, ["show", "digits", "--section", "experiment"])
    assert load_text(section.output).tree == {"experiment": {"name": "digits"}}


def test_show_refuses_bad_overrides_and_sections(runner: CliRunner, workdir: Path) -> None:
    result = runner.invoke(app, ["show", "digits", "lrr=1"])
    assert result.exit_code == 2
    assert "unknown name 'lrr'" in result.output
    result = runner.invoke(app, ["show", "digits", "-s", "model"])
    assert result.exit_code == 2
    assert "error: model: no such section; the sections are: run, " in result.output


def test_kill_marks_the_newest_running_run(
    runner: CliRunner, client: ivory.Client, mlflow: MlflowClient
) -> None:
    first = client.create_run("digits")
    second = client.create_run("digits")
    result = runner.invoke(app, ["kill", "digits"])
    assert result.exit_code == 0, result.output
    assert result.output == "run#1 marked KILLED; its training stops after the current epoch\n"
    assert mlflow.get_run(second.id).info.status == "KILLED"
    assert mlflow.get_run(first.id).info.status == "RUNNING"

    again = runner.invoke(app, ["kill", "digits"])
    assert again.exit_code == 1
    assert again.output == "error: run#1 is not running (it is KILLED)\n"
    assert runner.invoke(app, ["kill", "digits", "-n", "0"]).exit_code == 0
    assert mlflow.get_run(first.id).info.status == "KILLED"


def test_kill_stops_a_training_in_progress(
    runner: CliRunner, client: ivory.Client, mlflow: MlflowClient
) -> None:
    run = client.create_run("digits", epochs=30, patience=30)
    model = run.model
    step = model.train_step
    killed: list[int] = []

    def train_step(input: object, target: object) -> object:
        if run.trainer.epoch == 1 and not killed:
            killed.append(run.trainer.epoch)
            assert runner.invoke(app, ["kill", "digits"]).exit_code == 0
        return step(input, target)

    model.train_step = train_step
    run.start("both")
    assert run.trainer.epoch == 1
    assert mlflow.get_run(run.id).info.status == "KILLED"
    assert [m.step for m in mlflow.get_metric_history(run.id, "val_loss")] == [0, 1]


def test_clean_removes_deleted_runs(
    runner: CliRunner, client: ivory.Client, mlflow: MlflowClient
) -> None:
    runs = [client.create_run("digits").id for _ in range(3)]
    mlflow.delete_run(runs[1])
    mlflow.delete_run(runs[2])
    result = runner.invoke(app, ["clean", "digits"])
    assert result.exit_code == 0, result.output
    assert result.output == "removed 2 deleted runs of digits\n"
    # Their numbers are free for a new process (this one goes on from where it was).
    assert ivory.create_client(client.directory).create_run("digits").name == "run#1"


def test_ui_command_uses_the_same_store(client: ivory.Client) -> None:
    command = ui_command(client.tracker.tracking_uri, port=5123)
    assert command[1:] == [
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        client.tracker.tracking_uri,
        "--host",
        "127.0.0.1",
        "--port",
        "5123",
        "--workers",
        "1",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_ui_starts_on_a_loopback_port_and_ctrl_c_stops_it(workdir: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ivory", "ui", "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == (
            f"MLflow UI on sqlite:///{workdir / 'mlflow.db'}: http://127.0.0.1:{port} "
            "(Ctrl-C stops it)\n"
        )
        deadline = time.monotonic() + 60
        while not listening(port) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.25)
        assert listening(port)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0
    deadline = time.monotonic() + 30
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not listening(port)


def test_runs_says_when_its_limit_hides_older_runs(runner: CliRunner, client: ivory.Client) -> None:
    for _ in range(3):
        client.create_run("digits")
    result = runner.invoke(app, ["runs", "digits", "--limit", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].strip() == "digits: showing the newest 2 of 3 runs (--limit N for more)"
    assert [line.split("│")[1].strip() for line in lines[4:6]] == ["run#2", "run#1"]
    whole = runner.invoke(app, ["runs", "digits", "--limit", "3"])
    assert whole.output.splitlines()[0].strip() == "digits: 3 runs"


def test_clean_leaves_no_empty_folder_of_a_removed_run(
    runner: CliRunner, client: ivory.Client, mlflow: MlflowClient, workdir: Path
) -> None:
    kept = client.create_run("digits", epochs=1)
    kept.start("train")
    removed = client.create_run("digits", epochs=1)
    removed.start("train")
    mlflow.delete_run(removed.id)
    assert runner.invoke(app, ["clean", "digits"]).exit_code == 0
    assert sorted(path.name for path in (workdir / "mlruns").iterdir()) == [kept.id]


def test_clean_removes_an_emptied_experiment_folder_of_mlflow_layout(
    runner: CliRunner, client: ivory.Client, mlflow: MlflowClient, workdir: Path
) -> None:
    # An experiment made by MLflow itself keeps its runs in mlruns/<experiment id>/<run id>.
    root = workdir / "mlruns"
    experiment_id = mlflow.create_experiment("digits")
    folder = root / experiment_id
    assert mlflow.get_experiment(experiment_id).artifact_location == str(folder)
    run = client.create_run("digits", epochs=1)
    run.start("train")
    assert (folder / run.id / "artifacts" / "params.yaml").is_file()
    mlflow.delete_run(run.id)
    assert runner.invoke(app, ["clean", "digits"]).exit_code == 0
    assert not folder.exists()
    assert root.is_dir()
    assert mlflow.get_experiment(experiment_id).lifecycle_stage == "active"
