"""What every command shares: the project directory, overrides, warnings and error output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivory.cli.common import parse_overrides, show_warning
from ivory.cli.main import app
from ivory.errors import IvoryWarning, OverrideError


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


@pytest.mark.parametrize(
    ("items", "message"),
    [
        pytest.param(
            ["max_depth=3", "max_depth=4"],
            "max_depth: given twice (max_depth=3, max_depth=4); give it once",
            id="twice",
        ),
        pytest.param(
            ["fold=1", "fold=2", "fold=1"],
            "fold: given 3 times (fold=1, fold=2, fold=1); give it once",
            id="three-times",
        ),
        pytest.param(
            ["lr=0.1", " lr=0.2"],
            "lr: given twice (lr=0.1,  lr=0.2); give it once",
            id="spaces",
        ),
    ],
)
def test_a_name_given_twice_is_an_override_error(items: list[str], message: str) -> None:
    with pytest.raises(OverrideError) as caught:
        parse_overrides(items)
    assert str(caught.value) == message
    assert caught.value.path == items[0].partition("=")[0]


def test_distinct_names_are_overrides_in_order() -> None:
    assert parse_overrides(["max_depth=3", "estimator.max_depth=4", "a=b=c"]) == {
        "max_depth": "3",
        "estimator.max_depth": "4",
        "a": "b=c",
    }


def test_show_warning_prints_the_message_only() -> None:
    stream = io.StringIO()
    show_warning(IvoryWarning("lr: cut\nsecond line"), IvoryWarning, "/x/ivory/a.py", 3, stream)
    assert stream.getvalue() == "warning: lr: cut\nwarning: second line\n"


def test_typer_pretty_exceptions_are_off() -> None:
    assert app.pretty_exceptions_enable is False
