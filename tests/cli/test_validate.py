"""``ivory validate``: every problem of every file, exit codes for CI, text and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivory.cli.main import app
from tests.conftest import CONFIGS, write


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project holding the bundled configs plus two broken files."""
    monkeypatch.chdir(tmp_path)
    for config in CONFIGS.glob("*.yaml"):
        write(tmp_path, f"configs/{config.name}", config.read_text())
    write(
        tmp_path,
        "broken/a.yaml",
        """
        library: sklearn
        estimator:
          model: sklearn.ensemble.RandomForestRegressor
          n_estimators: many
        monitor: {metric: mse, mode: low}
        """,
    )
    write(tmp_path, "broken/b.yaml", "x: [1, 2\n")
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_valid_configs_exit_0() -> None:
    # The real command, as CI runs it, from the project root (configs/ by default).
    root = CONFIGS.parent
    result = subprocess.run(
        [sys.executable, "-m", "ivory", "validate"], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    count = len(list(CONFIGS.glob("*.yaml")))
    assert result.stderr == f"{count} files valid\n"


def test_invalid_files_exit_1_with_one_line_per_problem(project: Path) -> None:
    code, out, err = invoke("broken", "configs")
    assert code == 1
    assert out.splitlines() == [
        "broken/a.yaml:4:17: run.estimator.n_estimators: Input should be an int in the range "
        "[1, inf) (got 'many')",
        "broken/a.yaml:5:30: run.monitor.mode: Input should be 'min' or 'max' (got 'low')",
        "broken/b.yaml:2:1: invalid YAML: expected ',' or ']', but got '<stream end>'",
    ]
    files = 2 + len(list(CONFIGS.glob("*.yaml")))
    assert err == f"3 problems in 2 of {files} files\n"


def test_json_format(project: Path) -> None:
    code, out, _ = invoke("broken/a.yaml", "configs/diabetes.yaml", "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert document["valid"] is False
    assert document["error_count"] == 2
    assert [(f["file"], f["valid"]) for f in document["files"]] == [
        ("broken/a.yaml", False),
        ("configs/diabetes.yaml", True),
    ]
    assert document["files"][0]["errors"][0] == {
        "file": "broken/a.yaml",
        "line": 4,
        "column": 17,
        "path": "run.estimator.n_estimators",
        "message": "Input should be an int in the range [1, inf) (got 'many')",
        "value": "many",
    }


def test_overrides_are_checked_with_the_file(project: Path) -> None:
    code, out, _ = invoke("configs/diabetes.yaml", "--set", "max_depth=2,4,many", "-s", "fold=0-4")
    assert code == 1
    assert out.splitlines() == [
        "configs/diabetes.yaml: max_depth=many: run.estimator.max_depth: Input should be an int "
        "in the range [1, inf) or None (got 'many')"
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["configs", "--set", "max_depth=2,4,8"],
            [
                "configs/digits.yaml: max_depth=2,4,8: unknown name 'max_depth': no parameter is "
                "called so"
            ],
            id="unknown-name-of-a-sweep-once",
        ),
        pytest.param(
            ["configs/diabetes.yaml", "--set", "fold=9"],
            [
                "configs/diabetes.yaml: fold=9: run.datasets.fold: must be in -1..4 for data with "
                "n_splits: 5, -1 being the test part (got 9)"
            ],
            id="fold-out-of-range",
        ),
        pytest.param(
            ["configs/diabetes.yaml", "--set", "metrics.r2=sklearn.metrics.r2_scor"],
            [
                "configs/diabetes.yaml: metrics.r2=sklearn.metrics.r2_scor: run.metrics.r2: "
                "cannot import 'sklearn.metrics.r2_scor': 'sklearn.metrics' has no attribute "
                "'r2_scor'; did you mean 'sklearn.metrics.r2_score' or "
                "'sklearn.metrics.rand_score' or 'sklearn.metrics.f1_score'?"
            ],
            id="metric-function",
        ),
        pytest.param(
            ["configs/digits.yaml", "--set", "metrics.bogus=1"],
            [
                "configs/digits.yaml: metrics.bogus=1: run.metrics.bogus: expected nothing (a "
                "known metric), the registered name or import path of a function, or a function "
                "(got 1)"
            ],
            id="metric-not-a-name",
        ),
    ],
)
def test_overrides_that_a_run_would_refuse(
    project: Path, args: list[str], expected: list[str]
) -> None:
    code, out, _ = invoke(*args)
    assert (code, out.splitlines()) == (1, expected)


def test_a_missing_value_is_reported_until_an_override_gives_it(project: Path) -> None:
    text = (CONFIGS / "diabetes.yaml").read_text().replace("max_depth: 6", "max_depth: ???")
    write(project, "configs/diabetes.yaml", text)
    line = text.splitlines().index("  max_depth: ???") + 1
    code, out, _ = invoke("configs/diabetes.yaml")
    assert (code, out.splitlines()) == (
        1,
        [
            f"configs/diabetes.yaml:{line}:14: run.estimator.max_depth: missing value (???); give "
            "one in the file or as an override"
        ],
    )
    assert invoke("configs/diabetes.yaml", "--set", "max_depth=3") == (0, "", "1 file valid\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["nowhere"], "error: nowhere: no such file or directory\n", id="no-path"),
        pytest.param(["--set", "fold"], "error: fold: expected NAME=VALUE\n", id="bad-override"),
        pytest.param(
            ["--set", "fold=1", "--set", "fold=2"],
            "error: fold: given twice (fold=1, fold=2); give it once\n",
            id="override-given-twice",
        ),
    ],
)
def test_usage_errors_exit_2(project: Path, args: list[str], message: str) -> None:
    code, out, err = invoke(*args)
    assert (code, out) == (2, "")
    assert err == message


def test_unknown_format_is_a_usage_error(project: Path) -> None:
    code, _, err = invoke("--format", "xml")
    assert code == 2
    assert "Invalid value for '--format'" in err


def test_github_format_annotates_the_lines(project: Path) -> None:
    code, out, _ = invoke("broken/a.yaml", "--format", "github")
    assert code == 1
    assert out.splitlines() == [
        "::error file=broken/a.yaml,line=4,col=17,title=ivory validate::"
        "run.estimator.n_estimators: Input should be an int in the range [1, inf) (got 'many')",
        "::error file=broken/a.yaml,line=5,col=30,title=ivory validate::"
        "run.monitor.mode: Input should be 'min' or 'max' (got 'low')",
    ]
