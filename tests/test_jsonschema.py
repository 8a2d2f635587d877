"""The JSON Schema of parameter files (`ivory.config.jsonschema`), checked as editors check it.

Editors (yaml-language-server) validate a YAML file against the schema its first line names; the
`jsonschema` library does the same here, on the same YAML trees.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import ivory
from ivory.config.dump import dump_yaml
from ivory.config.jsonschema import EXPERIMENT_FILE, dumps, export_schemas, modeline
from ivory.config.loader import load_file, load_text
from ivory.config.validate import validate_file
from ivory.registry import Registry
from tests.conftest import CONFIGS, ROOT, write

SCHEMAS = ROOT / "schemas"


def validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(schema: dict[str, Any], text: str) -> list[tuple[str, str]]:
    """``(dotted path, message)`` of each problem the schema finds in YAML text, deepest first."""
    tree = load_text(textwrap.dedent(text).lstrip("\n")).tree
    found = []
    for error in validator(schema).iter_errors(tree):
        found.append((".".join(map(str, error.absolute_path)), error.message))
    return sorted(found)


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / EXPERIMENT_FILE).read_text())
    return schema


def test_every_config_is_valid_against_its_schema_as_an_editor_reads_it() -> None:
    configs = sorted(CONFIGS.glob("*.yaml"))
    assert configs
    for config in configs:
        first = config.read_text().split("\n", 1)[0]
        assert first.startswith("# yaml-language-server: $schema="), config.name
        schema_file = (config.parent / first.split("=", 1)[1]).resolve()
        assert schema_file.parent == SCHEMAS
        schema = json.loads(schema_file.read_text())
        problems = [
            (list(e.absolute_path), e.message)
            for e in validator(schema).iter_errors(load_file(config).tree)
        ]
        assert problems == [], config.name


def test_a_wrong_type_is_refused_by_the_schema_and_by_ivory_validate(
    committed: dict[str, Any], tmp_path: Path
) -> None:
    text = (CONFIGS / "diabetes.yaml").read_text().replace("n_estimators: 100", "n_estimators: ten")
    assert "n_estimators: ten" in text
    config = write(tmp_path, "configs/diabetes.yaml", text)

    # The editor's view: the schema names the path of the wrong value.
    tree = load_file(config).tree
    (error,) = validator(committed).iter_errors(tree)
    assert list(error.absolute_path) == ["estimator", "n_estimators"]
    assert "'ten' is not of type 'integer'" in [e.message for e in error.context or []]

    # ivory validate: the same value, with its file, line and column.
    line = text.splitlines().index("  n_estimators: ten") + 1
    (issue,) = validate_file(config)
    assert issue.source == f"{config}:{line}:17"
    assert issue.path == "run.estimator.n_estimators"
    assert issue.message == "Input should be an int in the range [1, inf) (got 'ten')"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "monitor: {metric: mse, mode: low}\n",
            [("monitor.mode", "'low' is not valid under any of the given schemas")],
            id="default-constructor-slot",
        ),
        pytest.param(
            "run:\n  monitor: {metric: mse, mood: min}\n",
            [("run.monitor", "Additional properties are not allowed ('mood' was unexpected)")],
            id="full-form",
        ),
        pytest.param(
            "watch: {class: monitor, metric: 3}\n",
            [("watch.metric", "3 is not valid under any of the given schemas")],
            id="registered-name",
        ),
        pytest.param(
            "watch: {class: ivory.callbacks.monitor.Monitor, mode: up}\n",
            [("watch.mode", "'up' is not valid under any of the given schemas")],
            id="import-path",
        ),
        pytest.param(
            "library: sklearn\nestimator: {model: sklearn.ensemble.RandomForestRegressor, "
            "max_depth: 0}\n",
            [("estimator.max_depth", "0 is not valid under any of the given schemas")],
            id="sklearn-constraints-by-library",
        ),
        pytest.param(
            "study: {objective: {forest: {max_depth: 'int 2 8'}}}\n",
            [
                (
                    "study.objective.forest",
                    "{'max_depth': 'int 2 8'} is not valid under any of the given schemas",
                )
            ],
            id="distribution",
        ),
        pytest.param(
            "experiment: {nmae: x}\n",
            [("experiment", "Additional properties are not allowed ('nmae' was unexpected)")],
            id="experiment-section",
        ),
    ],
)
def test_what_the_schema_refuses(
    committed: dict[str, Any], text: str, expected: list[tuple[str, str]]
) -> None:
    assert errors(committed, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("estimator: {model: anything, whatever: 1}\n", id="no-library-plain-value"),
        pytest.param("x: {class: mypackage.Model, units: [64, 32]}\n", id="unknown-constructor"),
        pytest.param(
            "monitor:\n  metric: ${metric}\n  mode: ???\nmetric: mse\n", id="interpolation"
        ),
        pytest.param("datasets: {data: $.data, fold: 0}\ndata: {class: data}\n", id="reference"),
        pytest.param("monitor: {class: monitor, mode: MAX}\n", id="upper-case-literal-is-wrong"),
        pytest.param("results:\nmetrics: {mse: }\n", id="empty-values-take-defaults"),
        pytest.param("dataset: {def: dataset, mode: train}\n", id="def-binds-some"),
        pytest.param(
            """
            study:
              objective:
                s:
                  max_depth: int(2, 8)
                  c:
                    a: {x: 'float(0, 1)'}
                    b:
                f: mypackage.suggest
                g: {def: mypackage.suggest, layers: 3}
              tuner: {storage: 'sqlite:///x.db', sampler: {class: optuna.samplers.TPESampler}}
            """,
            id="study",
        ),
    ],
)
def test_what_the_schema_accepts(committed: dict[str, Any], text: str) -> None:
    found = errors(committed, text)
    if "MAX" in text:
        assert found == [("monitor.mode", "'MAX' is not valid under any of the given schemas")]
    else:
        assert found == []


def test_descriptions_defaults_and_names(committed: dict[str, Any]) -> None:
    definitions = committed["definitions"]
    monitor = definitions["params.ivory.callbacks.monitor.Monitor"]
    assert monitor["description"].startswith("Tracks the best value of `metric`")
    assert monitor["properties"]["metric"]["description"] == (
        "The metric to watch, as named in the metrics member."
    )
    assert monitor["properties"]["mode"]["default"] == "min"
    branch = definitions["ctor.ivory.callbacks.monitor.Monitor"]
    assert branch["properties"]["class"]["enum"] == ["ivory.callbacks.monitor.Monitor", "monitor"]
    forest = "sklearn.ensemble.RandomForestRegressor"
    estimator = definitions["params.ivory.integrations.sklearn.Estimator"]
    (variant,) = [
        v["then"] for v in estimator["allOf"] if v["if"]["properties"]["model"]["const"] == forest
    ]
    n_estimators = variant["properties"]["n_estimators"]
    assert n_estimators["description"] == "The number of trees in the forest."
    assert n_estimators["default"] == 100
    assert n_estimators["anyOf"][0] == {"minimum": 1, "type": "integer"}
    assert '"title"' not in json.dumps(committed["definitions"])


def test_modeline() -> None:
    assert modeline(Path("a/b/c.yaml"), Path("schemas/x.schema.json")) == (
        "# yaml-language-server: $schema=../../schemas/x.schema.json"
    )


def test_typed_experiment_gets_its_own_schema(tmp_path: Path) -> None:
    write(
        tmp_path,
        "typed_export_mod.py",
        '''
        from pydantic import BaseModel

        class Model(BaseModel):
            hidden_sizes: list[int]
            """Units of each hidden layer."""

        class Params(BaseModel):
            """The members of an MLP run."""

            model: Model
            fold: int = 0
        ''',
    )
    config = write(
        tmp_path,
        "configs/mlp.yaml",
        """
        experiment: {schema: typed_export_mod.Params}
        model: {class: typed_export_mod.Model, hidden_sizes: [64, 32]}
        fold: 1
        """,
    )
    ivory.create_client(tmp_path, tracker=False)
    made = export_schemas([config])
    assert [f.name for f in made.files] == [EXPERIMENT_FILE, "mlp.schema.json"]
    assert made.files[0].configs == []
    assert made.files[1].configs == [config]
    typed = made.files[1].schema
    assert typed["definitions"]["typed"]["description"] == "The members of an MLP run."
    assert errors(typed, "model: {class: x, hidden_sizes: [64, 32]}\nfold: 1\n") == []
    assert errors(typed, "model: {class: x, hidden_sizes: [64, ten]}\n") == [
        ("model.hidden_sizes.1", "'ten' is not of type 'integer'")
    ]
    assert errors(typed, "run: {fold: 0}\n") == [("run", "'model' is a required property")]
    # The general schema does not know the model's fields.
    assert errors(made.files[0].schema, "model: {class: x, hidden_sizes: [64, ten]}\n") == []


def test_a_fresh_registry_and_its_defaults() -> None:
    registry = Registry(allowed=("ivory",))
    registry.register("watch", "ivory.callbacks.monitor.Monitor")
    registry.set_default("monitor", "watch")
    registry.set_default("watcher", "watch", library="lab")
    schema = export_schemas([], registry).files[0].schema
    assert errors(schema, "monitor: {mode: up}\n") == [
        ("monitor.mode", "'up' is not valid under any of the given schemas")
    ]
    assert errors(schema, "watcher: {mode: up}\n") == []
    assert errors(schema, "library: lab\nwatcher: {mode: up}\n") == [
        ("watcher.mode", "'up' is not valid under any of the given schemas")
    ]


def test_b20_path_fields_and_json_schema_export(tmp_path: Path) -> None:
    write(
        tmp_path,
        "b20_models.py",
        """
        import enum
        import math
        from pathlib import Path
        from typing import Optional


        class Activation(enum.Enum):
            RELU = "relu"
            TANH = "tanh"


        class Data:
            def __init__(self, root: Path = Path("data"), out: Optional[Path] = None) -> None:
                self.root = root
                self.out = out


        class Model:
            def __init__(self, act: Activation = Activation.RELU) -> None:
                self.act = act


        class EarlyStop:
            def __init__(self, max_loss: float = math.inf) -> None:
                self.max_loss = max_loss
        """,
    )
    text = """
    data: {class: b20_models.Data, root: datasets/mnist}
    model: {class: b20_models.Model}
    early_stop: {class: b20_models.EarlyStop}
    """
    write(tmp_path, "configs/b20.yaml", text)

    # The path is a Path in the run; saved, it is text; reloaded, an equal Path.
    client = ivory.create_client(tmp_path, tracker=False)
    params, _ = client.create_experiment("b20").create_params()
    assert params.run.data.root == Path("datasets/mnist")
    saved = dump_yaml(params["run"])
    assert "root: datasets/mnist\n" in saved
    reloaded, _ = ivory.Experiment.from_text(saved, name="b20").create_params()
    assert reloaded.run.data.root == Path("datasets/mnist")
    run = client.create_experiment("b20").create_run()
    assert run.data.root == Path("datasets/mnist")

    # The export is strict JSON: defaults as text and values, infinity left out, notes on stderr.
    result = subprocess.run(
        [sys.executable, "-m", "ivory", "schema", "--stdout"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    schema = json.loads(result.stdout, parse_constant=refuse)
    definitions = schema["definitions"]
    data = definitions["params.b20_models.Data"]["properties"]
    assert data["root"]["default"] == "data"
    assert data["out"]["default"] is None
    assert definitions["params.b20_models.Model"]["properties"]["act"]["default"] == "relu"
    max_loss = definitions["params.b20_models.EarlyStop"]["properties"]["max_loss"]
    assert "default" not in max_loss
    assert result.stderr == (
        "warning: b20_models.EarlyStop.max_loss: default inf has no JSON form (no Infinity or "
        "NaN in JSON); left out of the schema\n"
    )
    # Enum members are taken by value and by name.
    act = definitions["params.b20_models.Model"]["properties"]["act"]
    assert errors(schema, "model: {class: b20_models.Model, act: RELU}\n") == []
    assert act["default"] == "relu"
    assert not math.isinf(json.loads(dumps({"x": 1.0}))["x"])
