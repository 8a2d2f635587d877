"""``ivory schema``: writing the JSON Schema files, and ``--check`` for CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivory.cli.main import app
from tests.conftest import write

MODELINE = "# yaml-language-server: $schema=../schemas/experiment.schema.json"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "configs/watch.yaml", f"{MODELINE}\nmonitor: {{metric: mse, mode: max}}\n")
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["schema", *args])
    return result.exit_code, result.stdout, result.stderr


def test_writes_then_checks(project: Path) -> None:
    code, out, err = invoke()
    assert (code, out, err) == (0, "", "wrote schemas/experiment.schema.json\n")
    schema = json.loads((project / "schemas/experiment.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"

    assert invoke("--check") == (0, "", "1 schema file is up to date\n")
    assert invoke() == (0, "", "schemas/experiment.schema.json is up to date\n")


def test_check_fails_on_a_stale_or_missing_file(project: Path) -> None:
    code, _, err = invoke("--check")
    assert code == 1
    assert err == (
        "schemas/experiment.schema.json is stale\nrun `ivory schema` and commit the result\n"
    )
    invoke()
    path = project / "schemas/experiment.schema.json"
    path.write_text(path.read_text().replace("Tracks the best", "Tracked the best"))
    code, _, err = invoke("--check")
    assert code == 1
    assert err.startswith("schemas/experiment.schema.json is stale\n")


def test_stdout_prints_strict_json_and_writes_nothing(project: Path) -> None:
    code, out, _ = invoke("--stdout")
    assert code == 0
    assert json.loads(out)["title"] == "ivory parameter file"
    assert not (project / "schemas").exists()


def test_modules_register_constructors_and_typed_experiments_get_a_file(project: Path) -> None:
    write(
        project,
        "schema_cli_mod.py",
        """
        from pydantic import BaseModel

        import ivory


        @ivory.register("schema_cli.scale")
        def scale(factor: float = 2.0) -> float:
            '''Scale things.

            Args:
                factor: What to multiply by.
            '''
            return factor


        class Params(BaseModel):
            fold: int
        """,
    )
    write(
        project,
        "configs/typed.yaml",
        "# yaml-language-server: $schema=../schemas/typed.schema.json\n"
        "experiment: {schema: schema_cli_mod.Params}\nfold: 0\n",
    )
    write(project, "configs/plain.yaml", "fold: 0\n")
    code, _, err = invoke("-m", "schema_cli_mod")
    assert code == 0
    assert err.splitlines() == [
        f"warning: plain.yaml: make its first line `{MODELINE}`",
        "wrote schemas/experiment.schema.json",
        "wrote schemas/typed.schema.json",
    ]
    definitions = json.loads((project / "schemas/experiment.schema.json").read_text())[
        "definitions"
    ]
    factor = definitions["params.schema_cli_mod.scale"]["properties"]["factor"]
    assert factor["description"] == "What to multiply by."
    assert factor["default"] == 2.0


def test_a_module_that_does_not_import_is_a_usage_error(project: Path) -> None:
    code, _, err = invoke("-m", "no_such_module_here")
    assert code == 2
    assert err == "error: --module no_such_module_here: No module named 'no_such_module_here'\n"
