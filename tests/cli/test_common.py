"""What every command shares: the project directory, overrides, warnings and error output."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivory.cli.main import app


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["run", "diabetes"], id="run"),
        pytest.param(["show", "diabetes"], id="show"),
        pytest.param(["validate", "diabetes"], id="validate"),
        pytest.param(["runs", "diabetes"], id="runs"),
        pytest.param(["optimize", "diabetes"], id="optimize"),
        pytest.param(["kill", "diabetes"], id="kill"),
        pytest.param(["clean", "diabetes"], id="clean"),
        pytest.param(["ui"], id="ui"),
        pytest.param(["schema"], id="schema"),
    ],
)
def test_a_missing_project_directory_exits_2_with_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nonexistent"
    result = CliRunner().invoke(app, [command[0], "-C", str(missing), *command[1:]])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: the project directory {missing} does not exist\n"
    assert not missing.exists()


@pytest.mark.parametrize("command", ["run", "optimize", "show"])
def test_a_bad_client_yaml_exits_2_before_anything_runs(workdir: Path, command: str) -> None:
    (workdir / "client.yaml").write_text("tracker: {interval: fast}\ntuner: {bogus: 1}\n")
    result = CliRunner().invoke(app, [command, "diabetes"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines == [
        f"error: {workdir}/client.yaml:1:21: tracker.interval: Input should be a valid number "
        "(got 'fast')",
        f"error: {workdir}/client.yaml:2:16: tuner.bogus: unknown key; accepted: storage, sampler, "
        "pruner, heartbeat_interval, grace_period, max_retry, directory",
    ]
    assert not (workdir / "mlruns").exists()
