"""The registry: names, versions, suggestions, plugins, defaults and the import allowlist."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import ivory
from ivory.errors import ConfigError, RegistryError
from ivory.registry import Registry


class Small:
    def __init__(self, size: int = 1) -> None:
        self.size = size


class Large:
    def __init__(self, size: int = 100) -> None:
        self.size = size


def make_registry() -> Registry:
    registry = Registry()
    registry.register("small", Small)
    return registry


# Registration and lookup.


def test_register_as_decorator_and_directly() -> None:
    registry = Registry()

    @registry.register("double")
    def double(x: int) -> int:
        return 2 * x

    assert registry.register("large", Large) is Large
    assert registry.get("double") is double
    assert registry.get("large") is Large
    assert "double" in registry
    assert "triple" not in registry
    assert registry.names()[:2] == ["double", "large"]


def test_register_the_same_name_twice_is_an_error() -> None:
    registry = make_registry()
    registry.register("small", Small)  # The same object again is fine.
    with pytest.raises(RegistryError, match=r"'small' is already registered to .*test_registry"):
        registry.register("small", Large)


@pytest.mark.parametrize("name", ["", "has space", "a/b", ".v2"])
def test_register_refuses_a_bad_name(name: str) -> None:
    with pytest.raises(RegistryError, match="cannot register"):
        Registry().register(name, Small)


def test_register_with_an_import_path_imports_on_first_use() -> None:
    registry = Registry(allowed=())
    registry.register("sqrt", "math.sqrt")  # Registered names are trusted, allowlist or not.
    assert registry.get("sqrt")(9.0) == 3.0


def test_versioned_names_unversioned_is_the_highest() -> None:
    registry = Registry()
    registry.register("mlp.v1", Small)
    registry.register("mlp.v2", Large)
    registry.register("mlp.v10", dict)
    registry.register("mlp.v9", list)
    assert registry.get("mlp.v1") is Small
    assert registry.get("mlp.v2") is Large
    assert registry.get("mlp") is dict  # v10 beats v9: versions compare as numbers.
    with pytest.raises(
        RegistryError,
        match=r"unknown version 'mlp\.v3'; registered versions: mlp\.v1, mlp\.v2, mlp\.v9, "
        r"mlp\.v10",
    ):
        registry.get("mlp.v3")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("smal", r"unknown constructor name 'smal'; did you mean 'small'\?", id="typo"),
        pytest.param("mpl", r"unknown constructor name 'mpl'; did you mean 'mlp'\?", id="version"),
        pytest.param(
            "zzz",
            r"unknown constructor name 'zzz' \(not registered, and not a dotted import path\)",
            id="nothing-close",
        ),
        pytest.param(
            "ivory.data.SklearnDat",
            r"cannot import 'ivory\.data\.SklearnDat': 'ivory\.data' has no attribute "
            r"'SklearnDat'; did you mean 'ivory\.data\.SklearnData'\?",
            id="import-path-typo",
        ),
        pytest.param(
            "ivory.nomodule.Thing",
            r"cannot import 'ivory\.nomodule\.Thing': 'ivory' has no attribute 'nomodule'",
            id="no-module",
        ),
    ],
)
def test_unknown_names_suggest_the_closest(name: str, message: str) -> None:
    registry = make_registry()
    registry.register("mlp.v2", Large)
    with pytest.raises(RegistryError, match=message):
        registry.get(name)


def test_registry_error_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="unknown constructor name"):
        Registry().get("nothing")


# Plugins.


def write_plugin(directory: Path) -> None:
    """A real installed distribution: a module and its dist-info with entry points."""
    (directory / "ivory_test_plugin.py").write_text(
        textwrap.dedent(
            """
            class Booster:
                def __init__(self, rounds: int = 10) -> None:
                    self.rounds = rounds
            """
        ),
        encoding="utf-8",
    )
    info = directory / "ivory_test_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ivory-test-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[ivory.constructors]\nbooster = ivory_test_plugin:Booster\n"
        "booster.v2 = ivory_test_plugin:Booster\nsmall = ivory_test_plugin:Booster\n",
        encoding="utf-8",
    )


def test_entry_point_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry(allowed=("ivory",))  # A plugin is trusted: no allowlist needed.
    registry.register("small", Small)
    booster = registry.get("booster")
    assert booster.__module__ == "ivory_test_plugin"
    assert booster(rounds=3).rounds == 3
    assert registry.get("booster.v2") is booster
    assert registry.get("small") is Small  # A registered name wins over a plugin's.
    assert {"booster", "booster.v2", "small"} <= set(registry.names())

    # A parameter file names the plugin like any registered constructor.
    experiment = ivory.Experiment.from_text(
        "model: {class: booster, rounds: '5'}", name="plugin", registry=registry
    )
    run = experiment.create_run()
    assert run.model.rounds == 5


# Defaults per member name and library.


def test_defaults_per_member_name_and_library() -> None:
    registry = make_registry()
    registry.register("large", Large)
    registry.set_default("model", "small")
    registry.set_default("model", "large", library="torch")
    registry.set_default("loss", "math.sqrt", kind="def")
    assert registry.default("model") == ("class", "small")
    assert registry.default("model", "torch") == ("class", "large")
    assert registry.default("model", "sklearn") == ("class", "small")
    assert registry.default("loss") == ("def", "math.sqrt")
    assert registry.default("other") is None

    plain = ivory.Experiment.from_text("model: {size: 2}\nloss:\n", name="d", registry=registry)
    assert plain.params.run.to_dict() == {
        "model": {"class": "small", "size": 2},
        "loss": {"def": "math.sqrt"},
    }
    torch = ivory.Experiment.from_text("library: torch\nmodel:\n", name="d", registry=registry)
    assert torch.params.run.to_dict() == {"model": {"class": "large"}}
    assert torch.create_run().model.size == 100


# The import allowlist.


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param(
            "os.system",
            r"import path 'os\.system' is not allowed: module 'os' is not on the allowlist; add "
            r"'os' to 'allowed_modules' in client\.yaml or call ivory\.registry\.allow\('os'\) "
            r"if you trust it",
            id="os.system",
        ),
        pytest.param(
            "subprocess.run",
            r"module 'subprocess' is not on the allowlist; add 'subprocess' to 'allowed_modules'",
            id="subprocess.run",
        ),
        pytest.param(
            "ivory.tracking.mlflow.subprocess.run",
            r"import path 'ivory\.tracking\.mlflow\.subprocess\.run' is not allowed: it leads to "
            r"'subprocess', outside the allowed modules; add 'subprocess' to 'allowed_modules'",
            id="re-exported-module",
        ),
        pytest.param(
            "ivory.core.client.sys",
            r"it leads to 'sys', outside the allowed modules",
            id="re-exported-sys",
        ),
        pytest.param(
            "numpy.load",
            r"'load' can run code from data \(eval, pickle\); add 'numpy\.load' to "
            r"'allowed_modules'",
            id="unpickling",
        ),
        pytest.param(
            "ivory.registry.__builtins__",
            r"it names the private '__builtins__'; use the public name",
            id="private",
        ),
        pytest.param("builtins.eval", r"module 'builtins' is not on the allowlist", id="eval"),
    ],
)
def test_import_paths_outside_the_allowlist_are_refused(path: str, message: str) -> None:
    registry = Registry()
    with pytest.raises(RegistryError, match=message):
        registry.get(path)
    assert registry.check(path) is not None or "leads to" in message


def test_allowed_import_paths_resolve() -> None:
    registry = Registry()
    import operator

    import sklearn.metrics

    assert registry.get("sklearn.metrics.r2_score") is sklearn.metrics.r2_score
    assert registry.get("operator.add") is operator.add  # Its home is the C module _operator.
    assert registry.is_allowed("ivory.data.Data")
    assert not registry.is_allowed("os.getcwd")


def test_allow_opens_a_module_or_one_exact_path() -> None:
    import os
    import shutil

    import numpy

    registry = Registry()
    registry.allow("shutil")
    assert registry.get("shutil.which") is shutil.which

    # An object is judged by the module that defines it: os.getcwd lives in posix.
    registry.allow("os")
    with pytest.raises(RegistryError, match=r"it leads to 'posix\.getcwd'.* add 'posix'"):
        registry.get("os.getcwd")
    registry.allow("posix")
    assert registry.get("os.getcwd") is os.getcwd
    registry.allow("numpy.load")
    assert registry.get("numpy.load") is numpy.load


# Parameter files that name dangerous callables.


DANGEROUS = [
    pytest.param("shell: {call: os.system, command: 'touch {marker}'}", "run.shell.call", id="os"),
    pytest.param(
        "shell: {call: subprocess.run, args: [touch, '{marker}']}",
        "run.shell.call",
        id="subprocess",
    ),
    pytest.param(
        "model:\n  class: ivory.data.Data\n"
        "  hook: {def: subprocess.run, args: [touch, '{marker}']}",
        "run.model.hook.def",
        id="nested",
    ),
    pytest.param(
        "shell: {call: ivory.tracking.mlflow.subprocess.run, args: [touch, '{marker}']}",
        "run.shell.call",
        id="re-exported",
    ),
]


@pytest.mark.parametrize(("text", "path"), DANGEROUS)
def test_a_parameter_file_naming_a_dangerous_callable_is_refused(
    tmp_path: Path, text: str, path: str
) -> None:
    marker = tmp_path / "marker"
    experiment = ivory.Experiment.from_text(
        text.replace("{marker}", str(marker)), name="evil", registry=Registry()
    )
    with pytest.raises(ConfigError, match=r"is not allowed") as info:
        experiment.create_params()
    assert info.value.path == path
    with pytest.raises(ConfigError, match=r"is not allowed"):
        experiment.create_run()
    assert not marker.exists()


def test_a_dangerous_file_from_a_tracked_run_is_refused(workdir: Path) -> None:
    """params.yaml stored with a tracked run (a shared server) is refused when loaded back."""
    from mlflow.tracking import MlflowClient

    from ivory.config.loader import load_text

    marker = workdir / "marker"
    text = textwrap.dedent(
        f"""
        run:
          datasets: {{class: ivory.data.Data}}
          shell: {{call: os.system, command: 'touch {marker}'}}
          hook: {{def: subprocess.run, args: [touch, '{marker}']}}
        experiment: {{name: shared}}
        """
    )

    # Store it as the artifact of a real MLflow run, then download it again.
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    experiment_id = client.create_experiment(
        "shared", artifact_location=(workdir / "mlruns").as_uri()
    )
    run_id = client.create_run(experiment_id).info.run_id
    client.log_text(run_id, text, "params.yaml")
    client.set_terminated(run_id)
    downloaded = Path(client.download_artifacts(run_id, "params.yaml", str(workdir)))
    loaded = downloaded.read_text(encoding="utf-8")
    assert load_text(loaded, "params.yaml").tree["run"]["shell"]["call"] == "os.system"

    experiment = ivory.Experiment.from_text(loaded, name="params", registry=Registry())
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert [(issue.path, issue.value) for issue in info.value.issues] == [
        ("run.shell.call", "os.system"),
        ("run.hook.def", "subprocess.run"),
    ]
    assert "params.yaml:4:17: run.shell.call: import path 'os.system' is not allowed" in str(
        info.value
    )
    with pytest.raises(ConfigError, match="is not allowed"):
        experiment.create_run()
    assert not marker.exists()


def test_a_dangerous_callable_cannot_be_reached_through_a_reference(tmp_path: Path) -> None:
    registry = make_registry()
    experiment = ivory.Experiment.from_text(
        "a: {class: small}\nb: {class: small, size: $.a.__class__.__init__}",
        name="evil",
        registry=registry,
    )
    with pytest.raises(ConfigError, match=r"'__class__' is private: references cannot reach it"):
        experiment.create_params()
