"""Checking parameter files without building anything (`ivory.config.validate`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ivory
from ivory.config.validate import FileReport, find_files, validate_file, validate_files
from ivory.errors import ConfigError
from tests.conftest import CONFIGS, write


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory, made the working directory, its modules importable."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    return tmp_path


def lines(project: Path, name: str, text: str) -> list[str]:
    """Write configs/NAME and return its problems as ``file:line:col: path: message`` lines."""
    path = write(project, f"configs/{name}", text)
    ivory.create_client(project, tracker=False)
    return [str(issue).replace(f"{project}/", "") for issue in validate_file(path)]


def test_every_bundled_config_is_valid() -> None:
    reports = validate_files(find_files([CONFIGS]))
    assert [report.file for report in reports] == [str(p) for p in sorted(CONFIGS.glob("*.yaml"))]
    assert {report.file: report.issues for report in reports if not report.valid} == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            """
            library: sklearn
            datasets:
              data: {class: ivory.data.SklearnData, name: diabetes}
            estimator:
              model: sklearn.ensemble.RandomForestRegressor
              n_estimators: many
            """,
            [
                "configs/x.yaml:6:17: run.estimator.n_estimators: Input should be an int in the "
                "range [1, inf) (got 'many')"
            ],
            id="sklearn-constraint",
        ),
        pytest.param(
            """
            library: sklearn
            estimator:
              model: sklearn.ensemble.RandomForestRegressor
              max_features: half
              criterion: gini
            """,
            [
                "configs/x.yaml:4:17: run.estimator.max_features: Input should be an int in the "
                "range [1, inf), a float in the range (0.0, 1.0], a str among {'log2', 'sqrt'} or "
                "None (got 'half')",
                "configs/x.yaml:5:14: run.estimator.criterion: Input should be a str among "
                "{'absolute_error', 'poisson', 'squared_error'} (got 'gini')",
            ],
            id="sklearn-options",
        ),
        pytest.param(
            """
            monitor: {metric: mse, mode: low}
            datasets: {data: {class: ivory.data.SklearnData, name: diabetes}, fold: x}
            trainer:
            """,
            [
                "configs/x.yaml:1:30: run.monitor.mode: Input should be 'min' or 'max' (got 'low')",
                "configs/x.yaml:2:73: run.datasets.fold: Input should be a valid integer, unable "
                "to parse string as an integer (got 'x')",
            ],
            id="types",
        ),
        pytest.param(
            "monitor: {metric: mse, mood: min}\ntrainer:\n",
            ["configs/x.yaml:1:30: run.monitor.mood: unknown key; did you mean 'mode'?"],
            id="unknown-key",
        ),
        pytest.param(
            "model: {class: monitr, metric: mse}\n",
            [
                "configs/x.yaml:1:16: run.model.class: unknown constructor name 'monitr'; did "
                "you mean 'monitor'?"
            ],
            id="registry-name",
        ),
        pytest.param(
            "model: {call: os.system, command: ls}\n",
            ["configs/x.yaml:1:15: run.model.call: import path 'os.system' is not allowed"],
            id="import-path-refused",
        ),
        pytest.param(
            """
            a: {class: ivory.data.Datasets, data: $.b}
            b: {class: ivory.data.Datasets, data: $.a}
            c: {class: ivory.data.Datasets, data: $.nothing}
            trainer:
            """,
            [
                "configs/x.yaml:1:4: run.a: members refer to each other in a cycle: a -> b -> a",
                "configs/x.yaml:3:39: run.c.data: reference '$.nothing' names no member; members "
                "are: a, b, c",
            ],
            id="references",
        ),
        pytest.param(
            "run: [1, 2]\n",
            ["configs/x.yaml:1:6: run: the run section must be a mapping (got a list)"],
            id="run-not-a-mapping",
        ),
        pytest.param(
            "run: {fold: 0}\nmonitor: {metric: mse}\n",
            ["configs/x.yaml:2:10: monitor: unknown section 'monitor': beside 'run:'"],
            id="member-beside-run",
        ),
        pytest.param(
            "a: [1, 2\n",
            ["configs/x.yaml:2:1: invalid YAML: expected ',' or ']', but got '<stream end>'"],
            id="yaml-syntax",
        ),
        pytest.param(
            "extends: base_that_is_not_there\nfold: 0\n",
            ["configs/x.yaml:1:10: extends: no file base_that_is_not_there.yaml next to x.yaml"],
            id="extends-missing",
        ),
        pytest.param(
            """
            library: sklearn
            estimator: {model: sklearn.ensemble.RandomForestRegressor}
            metrics: {mse: , r2: sklearn.metrics.r2_scor, mape: }
            """,
            [
                "configs/x.yaml:3:22: run.metrics.r2: cannot import 'sklearn.metrics.r2_scor': "
                "'sklearn.metrics' has no attribute 'r2_scor'; did you mean "
                "'sklearn.metrics.r2_score' or",
                "configs/x.yaml:3:47: run.metrics.mape: no known metric is called 'mape'; give its "
                "function (known: mse, rmse, mae, r2, accuracy, log_loss, f1) (got null)",
            ],
            id="metric-functions",
        ),
        pytest.param(
            """
            library: sklearn
            datasets:
              data: {class: ivory.data.SklearnData, name: diabetes, n_splits: 3}
              fold: 3
            estimator: {model: sklearn.ensemble.RandomForestRegressor}
            """,
            [
                "configs/x.yaml:4:9: run.datasets.fold: must be in -1..2 for data with n_splits: "
                "3, -1 being the test part (got 3)"
            ],
            id="fold-out-of-range",
        ),
        pytest.param(
            """
            datasets:
              data: {class: ivory.data.SklearnData, name: diabetes, n_splits: 5}
            monitor: {metric: mse}
            constants: {a: 1}
            """,
            [
                "configs/x.yaml:1:1: run: no member drives the run: it needs a trainer or an "
                "estimator (a member whose class has a start method)"
            ],
            id="no-driver",
        ),
    ],
)
def test_problems_with_file_line_and_path(project: Path, text: str, expected: list[str]) -> None:
    found = lines(project, "x.yaml", textwrap.dedent(text).lstrip("\n"))
    assert [line[: len(want)] for line, want in zip(found, expected, strict=False)] == expected
    assert len(found) == len(expected), found


def test_b08_missing_value_never_set_is_reported_once(project: Path) -> None:
    from tests.config.constructors import make_registry

    text = """
    model:
      class: ivory.integrations.numpy.MLP
      n_features: 4
      n_classes: 2
      lr: ???
    trainer:
    fold: ???
    """
    write(project, "configs/x.yaml", text)
    ivory.create_client(project, tracker=False)
    message = "missing value (???); give one in the file or as an override"
    expected = [
        f"configs/x.yaml:5:7: run.model.lr: {message}",
        f"configs/x.yaml:7:7: run.fold: {message}",
    ]

    def found(**overrides: str) -> list[str]:
        issues = validate_file(Path("configs/x.yaml"), overrides=overrides)
        return [str(issue) for issue in issues]

    assert found() == expected
    # An override gives a value; a sweep of another name leaves it missing, reported once.
    assert found(lr="0.1") == expected[1:]
    assert found(lr="0.1", fold="0") == []
    assert found(fold="0-2") == expected[:1]

    # Below an argument (a typed optimizer), once: not again as a value of the wrong type.
    text = """
    driver: {class: ivory.core.trainer.Trainer}
    trainer:
      class: trainer
      optimizer: {lr: "???"}
    """
    path = write(project, "configs/y.yaml", text)
    assert [str(issue) for issue in validate_file(path, make_registry())] == [
        f"{path}:4:19: run.trainer.optimizer.lr: {message}"
    ]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("model: {call: ivory.data.kfold_split, n_samples: 4}\n", id="call"),
        pytest.param("sampler: {class: optuna.samplers.TPESampler}\n", id="deferred-module"),
        pytest.param("other: {class: ivory.core.trainer.Trainer}\nt: $.other\n", id="reference"),
        pytest.param("t: {def: ivory.core.trainer.Trainer}\n", id="a-driver-class-itself"),
    ],
)
def test_a_member_that_may_drive_the_run_is_enough(project: Path, text: str) -> None:
    assert lines(project, "x.yaml", text) == []


def test_a_file_that_others_extend_or_include_needs_no_driver(project: Path) -> None:
    write(project, "configs/base.yaml", "monitor: {metric: mse}\n")
    write(project, "configs/defs.yaml", "layer: {units: 8}\n")
    write(project, "configs/run.yaml", "extends: base\ninclude: defs\ntrainer:\n")
    write(project, "configs/alone.yaml", "monitor: {metric: mse}\n")
    reports = validate_files(find_files(["configs"]))
    assert {report.file: [issue.path for issue in report.issues] for report in reports} == {
        "configs/alone.yaml": ["run"],
        "configs/base.yaml": [],
        "configs/defs.yaml": [],
        "configs/run.yaml": [],
    }


def test_b27_keys_that_collide_once_flattened_are_found_by_validation(project: Path) -> None:
    text = """
    trainer:
    model:
      "dropout.p": 0.1
      dropout: {p: 0.5}
    metrics_cfg: {"MAP@k": 10, "MAP_k": 5}
    学习率: 0.01
    """
    assert lines(project, "x.yaml", text) == [
        "configs/x.yaml:4:16: run.model.dropout.p: flattens to the tracker key 'model.dropout.p', "
        "as run.model.dropout\\.p does; rename one of them",
        "configs/x.yaml:5:37: run.metrics_cfg.MAP_k: flattens to the tracker key "
        "'metrics_cfg.MAP_k', as run.metrics_cfg.MAP@k does (characters MLflow refuses in keys "
        "become '_'); rename one of them",
    ]
    # Without the keys that clash, each is tracked under a key of its own (MAP@k as MAP_k).
    fixed = [line for line in text.splitlines() if "dropout.p" not in line]
    assert lines(project, "y.yaml", "\n".join(fixed).replace(', "MAP_k": 5', "")) == []


def test_every_problem_of_every_file(project: Path) -> None:
    write(project, "configs/a.yaml", "monitor: {metric: mse, mode: low}\nfold: 0\ntrainer:\n")
    write(project, "configs/b.yaml", "monitor: {metric: mse, mode: min}\ntrainer:\n")
    write(project, "configs/c.yaml", "x: 1\nx: 2\ny: 1\ny: 2\n")
    write(project, "configs/nested/d.yaml", "monitor: {metric: 1, mode: up}\ntrainer:\n")
    write(project, "configs/.hidden/e.yaml", "not: [valid\n")
    reports = validate_files(find_files(["configs"]))
    assert [(report.file, len(report.issues)) for report in reports] == [
        ("configs/a.yaml", 1),
        ("configs/b.yaml", 0),
        ("configs/c.yaml", 2),
        ("configs/nested/d.yaml", 2),
    ]
    assert [issue.path for report in reports for issue in report.issues] == [
        "run.monitor.mode",
        "x",
        "y",
        "run.monitor.metric",
        "run.monitor.mode",
    ]


def test_find_files_reports_paths_that_do_not_exist(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope: no such file or directory") as caught:
        find_files(["nope", "configs"])
    assert [issue.source for issue in caught.value.issues] == ["nope", "configs"]
    assert caught.value.issues[1].message == "no .yaml or .yml file in this directory"


def test_study_search_spaces_are_checked_against_the_run(project: Path) -> None:
    text = """
    library: sklearn
    datasets: {data: {class: ivory.data.SklearnData, name: diabetes}}
    estimator: {model: sklearn.ensemble.RandomForestRegressor}
    study:
      objective:
        forest:
          n_estimators: int(10, 300, step=10)
          max_depth: int(2, x)
          max_dept: int(2, 8)
          criterion: choice(squared_error, gini)
      tuner:
        sampler: {class: optuna.samplers.TPESampler, seed: 0}
        pruner: {class: optuna.prunners.MedianPruner}
    """
    found = lines(project, "x.yaml", textwrap.dedent(text).lstrip("\n"))
    # The wording of the last depends on whether Optuna happens to be imported already.
    found[-1] = found[-1].split("MedianPruner': ")[0] + "MedianPruner'"
    assert [line.split("\n")[0] for line in found] == [
        "configs/x.yaml:8:18: study.objective.forest.max_depth: high must be an integer (got 'x')",
        "configs/x.yaml:9:17: study.objective.forest.max_dept: unknown name 'max_dept': no "
        "parameter is called so",
        "configs/x.yaml:10:18: study.objective.forest.criterion: run.estimator.criterion: Input "
        "should be a str among {'absolute_error', 'poisson', 'squared_error'} (got 'gini')",
        "configs/x.yaml:13:21: study.tuner.pruner.class: cannot import "
        "'optuna.prunners.MedianPruner'",
    ]


def test_overrides_and_sweeps_are_checked_against_each_file(project: Path) -> None:
    text = "monitor: {metric: mse, mode: min}\nfold: 0\ntrainer:\n"
    path = write(project, "configs/x.yaml", text)
    ivory.create_client(project, tracker=False)
    overrides = {"fold": "0-2", "mode": "min,max,up", "mood": "x", "depth": "2,4,8"}
    issues = validate_file(path, overrides=overrides)
    # A name that resolves to nothing is one problem of the override, not one per value.
    assert [str(issue) for issue in issues] == [
        "mood=x: unknown name 'mood': no parameter is called so; did you mean monitor.mode?",
        "depth=2,4,8: unknown name 'depth': no parameter is called so",
        "mode=up: run.monitor.mode: Input should be 'min' or 'max' (got 'up')",
    ]
    assert issues[1].value == "2,4,8"


def test_typed_schema_of_the_experiment(project: Path) -> None:
    write(
        project,
        "typed_schema_mod.py",
        """
        from pydantic import BaseModel

        class Monitor(BaseModel):
            metric: str
            patience: int = 3

        class Params(BaseModel):
            monitor: Monitor
            fold: int
        """,
    )
    text = """
    experiment: {schema: typed_schema_mod.Params}
    monitor: {metric: mse, mode: min}
    fold: [0]
    trainer:
    """
    found = lines(project, "x.yaml", textwrap.dedent(text).lstrip("\n"))
    assert found == ["configs/x.yaml:3:7: run.fold: Input should be a valid integer (got [0])"]

    bad = "experiment: {schema: typed_schema_mod.Monitr}\nfold: 0\ntrainer:\n"
    assert lines(project, "y.yaml", bad)[0].startswith(
        "configs/y.yaml:1:22: experiment.schema: cannot import 'typed_schema_mod.Monitr'"
    )


def test_report_is_valid_without_issues() -> None:
    assert FileReport("x.yaml").valid
    assert not FileReport("x.yaml", validate_file(CONFIGS / "nothing.yaml")).valid


def test_validation_imports_neither_mlflow_nor_optuna_nor_torch(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configs/deferred.yaml",
        """
        monitor: {metric: mse, mode: min}
        sampler: {class: optuna.samplers.TPESampler, seed: 0}
        study:
          objective:
            space:
              mode: choice(min, max)
          tuner:
            pruner: {class: optuna.pruners.MedianPruner}
        """,
    )
    for config in CONFIGS.glob("*.yaml"):
        (tmp_path / "configs" / config.name).write_text(config.read_text())
    text = (CONFIGS / "diabetes.yaml").read_text().replace("max_depth: 6", "max_depth: deep")
    write(tmp_path, "configs/wrong.yaml", text)
    code = textwrap.dedent(
        """
        import sys
        import ivory
        from ivory.config.validate import find_files, validate_files
        ivory.create_client(".", tracker=False)
        reports = validate_files(find_files(["configs"]))
        print([[str(issue) for issue in r.issues] for r in reports])
        print(sorted(m for m in ("mlflow", "optuna", "torch", "sklearn") if m in sys.modules))
        """
    )
    env = {**os.environ, "IVORY_CACHE_DIR": str(tmp_path / "cache")}

    def check() -> tuple[str, str]:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        issues, imported = result.stdout.splitlines()
        return issues, imported

    # The first run imports scikit-learn to read its estimators' constraints, and caches them.
    issues, imported = check()
    line = text.splitlines().index("  max_depth: deep") + 1
    assert issues == str(
        [
            [],
            [],
            [],
            [
                f"configs/wrong.yaml:{line}:14: run.estimator.max_depth: Input should be an int in "
                "the range [1, inf) or None (got 'deep')"
            ],
        ]
    )
    assert imported == "['sklearn']"
    assert len(list((tmp_path / "cache").glob("sklearn-*.json"))) == 1

    # The next ones read the cache: the same problems, and nothing heavy imported at all.
    assert check() == (issues, "[]")


def test_every_scikit_learn_estimator_gets_a_schema_that_its_defaults_fit() -> None:
    import warnings

    from pydantic import ValidationError
    from pydantic_core import PydanticUndefined
    from sklearn.utils import all_estimators

    from ivory.integrations.sklearn import Estimator
    from ivory.integrations.sklearn_schema import parameter_fields

    refused = []
    count = 0
    for name, cls in all_estimators():
        model = Estimator.__ivory_schema__({"model": cls})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # defaults JSON cannot hold (numpy types)
            model.model_json_schema()
        for key, (_, info) in parameter_fields(cls).items():
            default = info.default
            if default is PydanticUndefined or type(default).__name__.startswith("_Python"):
                continue
            count += 1
            given = info.alias or key
            try:
                model.model_validate({"model": cls, given: default})
            except ValidationError as exc:
                # Other parameters may be required: only this one's own error counts.
                if any(error["loc"][:1] == (given,) for error in exc.errors()):
                    refused.append(f"{name}.{given}={default!r}")
    assert count > 1000
    # scikit-learn's own inconsistency: a default its constraints do not declare.
    assert refused == ["SelfTrainingClassifier.estimator=None"]


def test_scikit_learn_parameters_named_like_pydantic_methods(project: Path) -> None:
    text = """
    library: sklearn
    estimator: {model: sklearn.decomposition.PCA, copy: maybe, n_components: 2}
    """
    assert lines(project, "x.yaml", textwrap.dedent(text).lstrip("\n")) == [
        "configs/x.yaml:2:53: run.estimator.copy: Input should be a bool (got 'maybe')"
    ]
