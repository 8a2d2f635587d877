"""Typed experiments: ``Experiment[MyParams]`` and ``Run[MyParams]``, at run time and for mypy."""

from __future__ import annotations

import copy
import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import ivory
from ivory.config.params import Params
from ivory.config.typed import TypedParams
from ivory.errors import ConfigError, OverrideError
from tests.conftest import ROOT, write

MODELS = '''
from typing import Any

from pydantic import BaseModel


class MLP:
    """A model whose constructor takes any sizes: only the typed schema checks them."""

    def __init__(self, hidden_sizes: list[Any], dropout: float = 0.1) -> None:
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout


class MLPParams(BaseModel):
    hidden_sizes: list[int]
    dropout: float = 0.1


class MyParams(BaseModel):
    model: MLPParams
    fold: int = 0
'''

CONFIG = """
model: {class: typed_models_t.MLP, hidden_sizes: [64, 32]}
fold: 0
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "typed_models_t.py", MODELS)
    write(tmp_path, "configs/mlp.yaml", CONFIG)
    ivory.create_client(tmp_path, tracker=False)
    return tmp_path


@pytest.fixture
def models(project: Path) -> ModuleType:
    return importlib.import_module("typed_models_t")


def test_runs_of_a_typed_experiment_carry_the_model(project: Path, models: ModuleType) -> None:
    experiment = ivory.Experiment.from_file("configs/mlp.yaml", schema=models.MyParams)
    run = experiment.create_run({"hidden_sizes.1": 16}, fold=2)

    # The typed view.
    assert isinstance(run.params.model, models.MLPParams)
    assert run.params.model.hidden_sizes == [64, 16]
    assert run.params.fold == 2
    assert run.params.model_dump() == {
        "model": {"hidden_sizes": [64, 16], "dropout": 0.1},
        "fold": 2,
    }

    # The seed API on the same object: a Params tree, and the built members.
    params = run.params
    assert isinstance(params, TypedParams)
    assert isinstance(params, Params)
    assert params["run"]["model"]["class"] == "typed_models_t.MLP"
    assert params.run.model.hidden_sizes == [64, 16]
    assert params.to_dict()["run"]["fold"] == 2
    assert isinstance(run.model, models.MLP)
    assert run.update == {"hidden_sizes.1": 16, "fold": 2}

    # Copies keep the typed view; the experiment is typed too.
    assert copy.deepcopy(params).model.hidden_sizes == [64, 16]
    assert experiment.params.model.hidden_sizes == [64, 32]
    assert experiment.params["run"]["fold"] == 0


def test_the_run_section_is_validated_against_the_schema(project: Path, models: ModuleType) -> None:
    text = CONFIG.replace("[64, 32]", "[64, ten]")
    path = write(project, "configs/bad.yaml", text)
    experiment = ivory.Experiment.from_file(str(path), schema=models.MyParams)
    with pytest.raises(
        ConfigError, match=r"run\.model\.hidden_sizes\.1: Input should be a valid"
    ) as caught:
        experiment.create_run()
    (issue,) = caught.value.issues
    assert issue.source == f"{path}:1:55"
    assert issue.value == "ten"

    good = ivory.Experiment.from_file("configs/mlp.yaml", schema=models.MyParams)
    with pytest.raises(OverrideError, match=r"run\.fold: Input should be a valid integer") as bad:
        good.create_params(fold="x")
    assert bad.value.issues[0].source == ""


def test_the_client_types_an_experiment(project: Path, models: ModuleType) -> None:
    client = ivory.create_client(project, tracker=False)
    plain = client.create_experiment("mlp")
    typed = client.create_experiment("mlp", schema=models.MyParams)
    assert typed is not plain
    assert client.create_experiment("mlp", schema=models.MyParams) is typed
    assert client.create_experiment("mlp") is typed
    assert typed.create_run().params.model.dropout == 0.1


def test_the_file_can_name_its_schema(project: Path, models: ModuleType) -> None:
    write(project, "configs/named.yaml", "experiment: {schema: typed_models_t.MyParams}\n" + CONFIG)
    client = ivory.create_client(project, tracker=False)
    run = client.create_experiment("named").create_run()
    assert isinstance(run.params.model, models.MLPParams)

    write(project, "configs/wrong.yaml", "experiment: {schema: typed_models_t.MLP}\n" + CONFIG)
    with pytest.raises(
        ConfigError, match=r"experiment\.schema: the experiment's schema must be a pydantic model"
    ):
        client.create_experiment("wrong")


def test_an_experiment_with_placeholders_is_typed_when_a_run_fills_them(
    project: Path, models: ModuleType
) -> None:
    text = "model:\n  class: typed_models_t.MLP\n  hidden_sizes: ???\nfold: 0\n"
    experiment = ivory.Experiment.from_text(text, name="holes", schema=models.MyParams)
    assert experiment.params.run.fold == 0
    with pytest.raises(ConfigError, match=r"run\.model\.hidden_sizes: missing value"):
        _ = experiment.params.model
    run = experiment.create_run(hidden_sizes=[8])
    assert run.params.model.hidden_sizes == [8]


def test_untyped_experiments_are_unchanged(project: Path) -> None:
    experiment = ivory.Experiment.from_file("configs/mlp.yaml")
    params, _ = experiment.create_params()
    assert type(params) is Params
    assert type(experiment.params) is Params
    assert type(experiment.create_run().params) is Params


USER_MODULE = """
from __future__ import annotations

from pydantic import BaseModel

import ivory


class MLPParams(BaseModel):
    hidden_sizes: list[int]
    dropout: float = 0.1


class MyParams(BaseModel):
    model: MLPParams
    fold: int = 0


def sizes(path: str) -> list[int]:
    experiment = ivory.Experiment.from_file(path, schema=MyParams)
    params, _ = experiment.create_params()
    dropout: float = params.model.dropout
    run = experiment.create_run(fold=1)
    fold: int = run.params.fold
    return run.params.model.hidden_sizes


def untyped(path: str) -> int:
    run = ivory.Experiment.from_file(path).create_run()
    return len(run.params["run"]) + len(run.params.run.model)


def from_client(name: str) -> float:
    experiment = ivory.create_client(".", tracker=False).create_experiment(name, schema=MyParams)
    return experiment.create_run().params.model.dropout
"""

MYPY_CONFIG = """
[mypy]
strict = True
plugins = pydantic.mypy

[mypy-ivory.*]
follow_imports = silent

[mypy-numpy.*,mlflow.*,optuna.*,sklearn.*,scipy.*,pandas.*,omegaconf.*,ruamel.*,typer.*,click.*,rich.*,sqlalchemy.*]
follow_imports = skip
ignore_missing_imports = True
"""


def test_mypy_types_run_params_by_the_users_model(tmp_path: Path) -> None:
    write(tmp_path, "good.py", USER_MODULE)
    write(tmp_path, "typo.py", USER_MODULE.replace("model.hidden_sizes\n", "model.hiden_sizes\n"))
    write(tmp_path, "mypy.ini", MYPY_CONFIG)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "good.py", "typo.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    typo = 'typo.py:24: error: "MLPParams" has no attribute "hiden_sizes"; maybe "hidden_sizes"?'
    # mypy also says the unknown attribute's type is Any, which the function does not return.
    assert [line.split("  [")[0] for line in errors if "attr-defined" in line] == [typo], (
        result.stdout + result.stderr
    )
    assert all(line.startswith("typo.py:24: ") for line in errors), result.stdout
