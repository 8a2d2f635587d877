"""Parameters within MLflow's limits: one rule for long values, refused keys and collisions."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import ivory
from ivory.config.loader import load_text
from ivory.errors import IvoryWarning
from ivory.tracking.flatten import MAX_VALUE_LENGTH, TRUNCATED, flatten
from tests.conftest import write

B27 = """
model:
  "dropout.p": 0.1
  dropout: {p: 0.5}
metrics_cfg: {"MAP@k": 10, "MAP_k": 5}
notes: {note: ""}
学习率: 0.01
"""


@pytest.fixture
def client(workdir: Path) -> ivory.Client:
    return ivory.create_client(workdir)


@pytest.fixture
def mlflow(workdir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")


def test_b26_parameter_values_over_the_length_limit(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    files = [f"part-{i:03d}.csv" for i in range(300)]
    description = "x" * 7000
    write(
        workdir,
        "configs/b26.yaml",
        f"data: {{files: {files}}}\nmodel: {{description: {description}}}\n",
    )
    with pytest.warns(IvoryWarning) as caught:
        run = client.create_run("b26")
    assert [str(w.message) for w in caught] == [
        "run.model.description: value of 7000 characters cut to the tracker's limit of 6000; "
        "params.yaml keeps it whole"
    ]

    params = mlflow.get_run(run.id).data.params
    assert params["data.files"] == "[" + ", ".join(files) + "]"  # 4498 characters: fits
    assert len(params["model.description"]) == MAX_VALUE_LENGTH
    assert params["model.description"] == "x" * (MAX_VALUE_LENGTH - len(TRUNCATED)) + TRUNCATED
    saved = load_text(Path(mlflow.download_artifacts(run.id, "params.yaml")).read_text()).tree
    assert saved["run"]["model"]["description"] == description
    assert saved["run"]["data"]["files"] == files

    # Logging one by one later applies the same rule: the same values, so nothing changes.
    with pytest.warns(IvoryWarning, match="run.model.description: value of 7000 characters"):
        client.tracker.log_params(run.id, saved["run"], prefix="run")
    assert mlflow.get_run(run.id).data.params == params


def test_b27_collision_of_a_dotted_key_is_an_error_naming_both_paths(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    write(workdir, "configs/b27.yaml", B27)
    with pytest.raises(ivory.ConfigError) as caught:
        client.create_run("b27")
    file = workdir / "configs/b27.yaml"
    assert [str(issue).replace(str(file), "b27.yaml") for issue in caught.value.issues] == [
        "b27.yaml:3:16: run.model.dropout.p: flattens to the tracker key 'model.dropout.p', as "
        "run.model.dropout\\.p does; rename one of them",
        "b27.yaml:4:37: run.metrics_cfg.MAP_k: flattens to the tracker key 'metrics_cfg.MAP_k', "
        "as run.metrics_cfg.MAP@k does (characters MLflow refuses in keys become '_'); rename "
        "one of them",
    ]
    assert mlflow.get_experiment_by_name("b27") is None  # nothing was created


def test_b27_refused_characters_empty_and_unicode_values(
    workdir: Path, client: ivory.Client, mlflow: MlflowClient
) -> None:
    text = B27.replace('  "dropout.p": 0.1\n', "").replace(', "MAP_k": 5', "")
    write(workdir, "configs/b27.yaml", text)
    run = client.create_run("b27")

    params = mlflow.get_run(run.id).data.params
    assert params == {
        "model.dropout.p": "0.5",
        "metrics_cfg.MAP_k": "10",
        "notes.note": "",
        "学习率": "0.01",
    }
    # The renamed key and its source path are recorded with the run.
    keys = Path(mlflow.download_artifacts(run.id, "param_keys.yaml")).read_text(encoding="utf-8")
    assert load_text(keys).tree == {"metrics_cfg.MAP_k": "metrics_cfg.MAP@k"}
    assert run.params.run["学习率"] == 0.01
    # Searching by the name as written finds the renamed key.
    assert client.search_run_ids("b27", **{"MAP@k": 10}) == [run.id]
    assert client.search_run_ids("b27", 学习率=0.01) == [run.id]


def test_b27_unicode_key_in_an_error_shows_correctly() -> None:
    with pytest.raises(ivory.ConfigError) as caught:
        flatten({"学习率": {"a@": 1, "a_": 2}}, prefix="run")
    assert str(caught.value).startswith("run.学习率.a_: flattens to the tracker key '学习率.a_'")


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        pytest.param({"a": {"b": [64, 32]}}, {"a.b": "[64, 32]"}, id="list-of-scalars"),
        pytest.param(
            {"layers": [{"units": 8}, {"units": 4}]},
            {"layers.0.units": "8", "layers.1.units": "4"},
            id="list-of-mappings",
        ),
        pytest.param(
            {"x": None, "y": True, "z": 1e-3, "w": float("inf"), "v": "1e-3"},
            {"x": "null", "y": "true", "z": "0.001", "w": "inf", "v": "1e-3"},
            id="scalars",
        ),
        pytest.param({"e": {}}, {"e": "{}"}, id="empty-mapping"),
    ],
)
def test_flatten_rule(tree: dict[str, object], expected: dict[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert flatten(tree) == (expected, {})


def test_an_overlong_key_is_an_error() -> None:
    with pytest.raises(
        ivory.ConfigError, match=r"the tracker key is 252 characters long \(limit 250\)"
    ):
        flatten({"k" * 250: {"a": 1}}, prefix="run")
