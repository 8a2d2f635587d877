"""Loading parameter files: YAML 1.2, positions, duplicates, aliases, forms, extends, include."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest

import ivory
from ivory.config.form import normalize
from ivory.config.loader import compose_file, load_file, load_text, merge_trees
from ivory.errors import ConfigError
from tests.config.conftest import Load
from tests.conftest import write

# YAML 1.2 values.


def test_yaml_12_numbers_and_strings() -> None:
    tree = load_text(
        """
        a: 1e-3
        b: 1E-8
        c: 5e+2
        d: 010
        e: '010'
        f: 0o10
        g: 0x1F
        h: yes
        i: ~
        j: 123456789012345678901
        k: .inf
        m: -.inf
        n: .nan
        o: "1e-3"
        """.replace("        ", "")
    ).tree
    assert tree["a"] == 0.001
    assert type(tree["a"]) is float
    assert tree["b"] == 1e-08
    assert tree["c"] == 500.0
    assert type(tree["c"]) is float
    assert tree["d"] == 10
    assert type(tree["d"]) is int
    assert tree["e"] == "010"
    assert tree["f"] == 8
    assert tree["g"] == 31
    assert tree["h"] == "yes"  # YAML 1.1 read this as True.
    assert tree["i"] is None
    assert tree["j"] == 123456789012345678901
    assert type(tree["j"]) is int
    assert tree["k"] == math.inf
    assert tree["m"] == -math.inf
    assert math.isnan(tree["n"])
    assert tree["o"] == "1e-3"


def test_every_node_has_a_line_and_column() -> None:
    document = load_text(
        "model:\n  hidden_sizes: [64, 32]\n  layers:\n    - {units: 8}\n    - units: 4\n",
        "x.yaml",
    )
    find = document.sources.find
    assert find(("model",)) == "x.yaml:2:3"
    assert find(("model", "hidden_sizes")) == "x.yaml:2:17"
    assert find(("model", "hidden_sizes", 0)) == "x.yaml:2:18"
    assert find(("model", "hidden_sizes", 1)) == "x.yaml:2:22"
    assert find(("model", "layers", 0, "units")) == "x.yaml:4:15"
    assert find(("model", "layers", 1, "units")) == "x.yaml:5:14"
    # A path the file does not have falls back to its nearest written ancestor.
    assert find(("model", "layers", 1, "act")) == "x.yaml:5:7"
    assert find(("nothing",)) == "x.yaml:1:1"


def test_malformed_yaml_names_file_line_and_column() -> None:
    with pytest.raises(ConfigError, match=r"^x\.yaml:2:4: invalid YAML: ") as info:
        load_text("a: 1\nb: : 2\n", "x.yaml")
    assert info.value.source == "x.yaml:2:4"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a: !!python/object:os.system {}\n", id="python-tag"),
        pytest.param("a: !custom 1\n", id="unknown-tag"),
    ],
)
def test_the_loader_is_safe(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^x\.yaml:1:4: a: invalid YAML: "):
        load_text(text, "x.yaml")


# B18: duplicate keys versus merge keys.


def test_b18_duplicate_keys_name_both_lines() -> None:
    with pytest.raises(ConfigError) as info:
        load_text("trainer:\n  max_epochs: 10\n  max_epochs: 20\n", "x.yaml")
    (issue,) = info.value.issues
    assert issue.path == "trainer.max_epochs"
    assert str(issue) == (
        "x.yaml:3:3: trainer.max_epochs: duplicate key 'max_epochs' (lines 2 and 3); keep one"
    )


def test_b18_duplicate_keys_on_one_line_name_both_columns() -> None:
    with pytest.raises(ConfigError, match=r"duplicate key 'max_epochs' \(at 1:11 and 1:27\)"):
        load_text("trainer: {max_epochs: 10, max_epochs: 20}", "x.yaml")


def test_b18_merge_key_then_a_local_key_is_valid() -> None:
    tree = load_text("base: &b {lr: 0.1, wd: 0.0}\nopt: {<<: *b, lr: 0.01}\n").tree
    assert tree["opt"] == {"lr": 0.01, "wd": 0.0}
    assert tree["base"] == {"lr": 0.1, "wd": 0.0}


def test_b18_two_top_level_sections_of_one_name() -> None:
    text = "model: {a: 1}\ndata: 2\nmodel: {a: 2}\n"
    with pytest.raises(
        ConfigError, match=r"^x\.yaml:3:1: model: duplicate key 'model' \(lines 1 and 3\)"
    ):
        load_text(text, "x.yaml")


def test_every_duplicate_of_a_file_is_reported_at_once() -> None:
    text = "a: 1\na: 2\nb: {c: 1, c: 2}\nd: [{e: 1, e: 2}]\n"
    with pytest.raises(ConfigError) as info:
        load_text(text, "x.yaml")
    assert [issue.path for issue in info.value.issues] == ["a", "b.c", "d.0.e"]


def test_aliases_become_independent_copies() -> None:
    tree = load_text("base: &b {sizes: [1, 2]}\nx: *b\ny: *b\n").tree
    tree["x"]["sizes"].append(3)
    assert tree["y"] == {"sizes": [1, 2]}
    assert tree["base"] == {"sizes": [1, 2]}
    assert tree["x"] is not tree["y"]


# B17: empty, comment-only and non-mapping files.


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("# c\n#d\n", id="comments"),
        pytest.param("---\n", id="document-start"),
        pytest.param("# c\n---\n# d\n", id="document-start-and-comments"),
        pytest.param("---\n...\n", id="document-end"),
        pytest.param("null\n", id="null"),
        pytest.param("~\n", id="tilde"),
        pytest.param("--- null # nothing\n", id="document-null"),
    ],
)
def test_b17_documents_without_content_are_empty_mappings(text: str, tmp_path: Path) -> None:
    assert load_text(text).tree == {}
    assert load_text(io.StringIO(text)).tree == {}
    assert load_file(write(tmp_path, "x.yaml", text)).tree == {}
    for source in (str(tmp_path / "x.yaml"), io.StringIO(text)):
        experiment = ivory.Experiment.from_file(source, name="x")
        params, update = experiment.create_params()
        assert params.to_dict() == {"run": {}, "experiment": {"name": "x"}}
        assert update == {}


def test_b17_empty_file_with_a_required_field_lists_it(load: Load) -> None:
    # The defaults decide: a member whose constructor needs a value is an error naming it.
    experiment = load("model: {class: model}\n")
    with pytest.raises(ConfigError, match=r"run\.model\.checkpoint: required; give a value"):
        experiment.create_params()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param("[1, 2]\n", "a list", id="list"),
        pytest.param("hello\n", "a string", id="scalar"),
        pytest.param("--- 3\n", "an integer", id="integer"),
        pytest.param("true\n", "a boolean", id="boolean"),
        pytest.param("2024-01-31\n", "a date", id="date"),
    ],
)
def test_b17_a_root_that_is_not_a_mapping(text: str, kind: str, tmp_path: Path) -> None:
    message = rf"^x\.yaml: the root of a parameter file must be a mapping \(got {kind}\)$"
    with pytest.raises(ConfigError, match=message):
        load_text(text, "x.yaml")
    with pytest.raises(ConfigError, match=message):
        load_text(io.StringIO(text), "x.yaml")
    path = write(tmp_path, "x.yaml", text)
    with pytest.raises(ConfigError, match=rf"x\.yaml: the root .* \(got {kind}\)$"):
        load_file(path)
    with pytest.raises(ConfigError, match=rf"x\.yaml: the root .* \(got {kind}\)$"):
        ivory.Experiment.from_file(io.StringIO(text), name="x")


def test_b17_from_file_reads_a_text_stream_as_it_reads_the_path(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "datasets: {class: ivory.data.Data}\nfold: 0\n")
    path = write(tmp_path, "child.yaml", "extends: base\nfold: 2\n")
    by_path = ivory.Experiment.from_file(str(path))
    with path.open(encoding="utf-8") as stream:
        by_stream = ivory.Experiment.from_file(stream)
    assert by_stream.params.to_dict() == by_path.params.to_dict()
    assert (by_stream.name, by_stream.source_name) == ("child", str(path.resolve()))
    assert by_stream.sources.find(("run", "fold")) == f"{path}:2:7"

    text = "datasets: {class: ivory.data.Data}\nfold: 1\n"
    from_text = ivory.Experiment.from_file(io.StringIO(text), name="mine")
    assert from_text.params.to_dict() == ivory.Experiment.from_text(text, "mine").params.to_dict()
    assert from_text.sources.find(("run", "fold")) == "mine.yaml:2:7"


def test_b17_a_stream_without_a_file_name_needs_a_name() -> None:
    with pytest.raises(ivory.IvoryError, match=r"a stream without a file name needs name="):
        ivory.Experiment.from_file(io.StringIO("fold: 1\n"))


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the file: No such file or directory"):
        load_file(tmp_path / "missing.yaml")


# B19 and B05: the values as loaded.


def test_b19_non_finite_huge_and_leading_zero_values_load_exactly(load: Load) -> None:
    experiment = load(
        """
        early_stop: {class: early_stop, min_delta: .nan, max_loss: .inf, floor: -.inf}
        seed: 123456789012345678901
        workers: 010
        code: '010'
        """
    )
    params, _ = experiment.create_params()
    stop = params.run.early_stop
    assert math.isnan(stop.min_delta)
    assert stop.max_loss == math.inf
    assert stop.floor == -math.inf
    assert params.run.seed == 123456789012345678901
    assert type(params.run.seed) is int
    assert params.run.workers == 10
    assert params.run.code == "010"


def test_b05_scientific_notation_loads_as_floats(load: Load) -> None:
    experiment = load(
        """
        optimizer: {class: optimizer, lr: 1e-3, momentum: 5e+2}
        extra: {warmup_ratio: 1e-1, eps: 1E-8}
        """
    )
    params, _ = experiment.create_params()
    assert params.run.optimizer.lr == 0.001
    assert type(params.run.optimizer.lr) is float
    assert params.run.optimizer.momentum == 500.0
    assert params.run.extra.to_dict() == {"warmup_ratio": 0.1, "eps": 1e-08}
    assert type(params.run.extra.warmup_ratio) is float


# Short and full forms.


def test_short_form_is_wrapped_into_the_full_form(load: Load) -> None:
    experiment = load(
        """
        library: sklearn
        model: {class: node, size: 2}
        fold: 0
        task: {repeat: 2}
        experiment: {description: demo}
        """
    )
    assert experiment.params.to_dict() == {
        "run": {"model": {"class": "node", "size": 2}, "fold": 0},
        "task": {"repeat": 2},
        "experiment": {"description": "demo", "name": "x", "library": "sklearn"},
    }
    assert experiment.sources.find(("run", "model", "size")) == "x.yaml:2:28"
    assert experiment.sources.find(("task", "repeat")) == "x.yaml:4:16"


def test_full_form_is_read_as_written(load: Load) -> None:
    experiment = load(
        """
        run:
          model: {class: node, size: 2}
          fold: 0
        study: {objective: {}}
        experiment: {name: named}
        """
    )
    assert experiment.params.to_dict() == {
        "run": {"model": {"class": "node", "size": 2}, "fold": 0},
        "study": {"objective": {}},
        "experiment": {"name": "named"},
    }
    assert experiment.sources.find(("run", "model", "size")) == "x.yaml:2:30"
    params, _ = experiment.create_params(size=3)
    assert params.run.model.size == 3


def test_short_and_full_forms_give_equal_parameters(load: Load) -> None:
    short = load("model: {class: node}\nfold: 1\n")
    full = load("run:\n  model: {class: node}\n  fold: 1\nexperiment: {name: x}\n")
    assert short.create_params(fold=2)[0] == full.create_params(fold=2)[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "run: {a: 1}\nmodel: {b: 2}\n",
            r"x\.yaml:2:8: model: unknown section 'model': beside 'run:' the top level takes only "
            r"library, extends, include, task, study, experiment \(put members under 'run:'\)",
            id="member-beside-run",
        ),
        pytest.param(
            "run: [1, 2]\n",
            r"x\.yaml:1:6: run: the run section must be a mapping \(got a list\)",
            id="run-not-mapping",
        ),
        pytest.param(
            "a: 1\ntask: 3\n",
            r"task: the task section must be a mapping \(got an integer\)",
            id="task",
        ),
        pytest.param(
            "library: [sklearn]\n",
            r"library: expected a library name such as sklearn",
            id="library",
        ),
        pytest.param(
            "extends: base\na: 1\n",
            r"extends: extends names a sibling file, so it works only in a file loaded by path",
            id="extends-in-text",
        ),
    ],
)
def test_form_errors(load: Load, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(text)


def test_experiment_section_keys_are_checked(load: Load) -> None:
    experiment = load("a: 1\nexperiment: {name: '', descripton: x}\n")
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert [str(issue) for issue in info.value.issues] == [
        "x.yaml:2:14: experiment.name: the experiment name must be a non-empty string",
        "x.yaml:2:36: experiment.descripton: unknown key; did you mean 'description'?",
    ]


# extends and include.


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    write(
        tmp_path,
        "base.yaml",
        """
        optimizer: {lr: 0.1, betas: [0.9, 0.99], nested: {a: 1, b: 2}}
        model: {hidden: 128, act: relu}
        dims: {hidden: 128}
        head: {in_features: "${dims.hidden}"}
        name: base
        """,
    )
    write(
        tmp_path,
        "child.yaml",
        """
        extends: base
        optimizer:
          lr: 0.01
          betas: [0.5]
          nested: {b: 3}
        model: {hidden: 64}
        name: child
        """,
    )
    write(
        tmp_path,
        "grandchild.yaml",
        """
        extends: child
        model: 5
        dims: {hidden: 512}
        """,
    )
    return tmp_path


def test_extends_deep_merges_and_the_child_wins(configs: Path) -> None:
    tree = compose_file(configs / "child.yaml").tree
    assert tree == {
        "optimizer": {"lr": 0.01, "betas": [0.5], "nested": {"a": 1, "b": 3}},
        "model": {"hidden": 64, "act": "relu"},
        "dims": {"hidden": 128},
        "head": {"in_features": "${dims.hidden}"},
        "name": "child",
    }


def test_extends_chains_and_a_scalar_replaces_a_mapping(configs: Path) -> None:
    experiment = ivory.Experiment.from_file(str(configs / "grandchild.yaml"))
    params, _ = experiment.create_params()
    assert params.run.model == 5
    assert params.run.optimizer.lr == 0.01
    assert params.run.name == "child"
    # B13 (c): an overlay that changes an interpolation's source reaches it.
    assert params.run.head.in_features == 512
    # Each node keeps the position of the file that gave it.
    sources = experiment.sources
    assert sources.find(("run", "dims", "hidden")).endswith("grandchild.yaml:3:16")
    assert sources.find(("run", "optimizer", "lr")).endswith("child.yaml:3:7")
    assert sources.find(("run", "model", "act")).endswith("base.yaml:2:27")


def test_b13_an_overlay_file_changes_the_interpolation_source(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """
        dims: {hidden: 128}
        model: {hidden: "${dims.hidden}"}
        head: {in_features: "${model.hidden}"}
        """,
    )
    write(tmp_path, "overlay.yaml", "extends: base\ndims: {hidden: 512}\n")
    experiment = ivory.Experiment.from_file(str(tmp_path / "overlay.yaml"))
    params, _ = experiment.create_params()
    run = params.run
    assert (run.dims.hidden, run.model.hidden, run.head.in_features) == (512, 512, 512)


def test_a_mapping_replaces_a_scalar(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "a: 1\nb: [1, 2]\n")
    write(tmp_path, "child.yaml", "extends: base\na: {x: 1}\nb: {y: 2}\n")
    assert compose_file(tmp_path / "child.yaml").tree == {"a": {"x": 1}, "b": {"y": 2}}


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b\nx: 1\n")
    write(tmp_path, "b.yaml", "extends: c\ny: 1\n")
    write(tmp_path, "c.yaml", "extends: a\nz: 1\n")
    with pytest.raises(ConfigError, match=r"extends: extends forms a cycle: a -> b -> c -> a"):
        compose_file(tmp_path / "a.yaml")


@pytest.mark.parametrize("name", ["nothere", "nothere.yaml"])
def test_extends_a_missing_file(tmp_path: Path, name: str) -> None:
    write(tmp_path, "a.yaml", f"extends: {name}\nx: 1\n")
    with pytest.raises(
        ConfigError, match=r"a\.yaml:1:10: extends: no file nothere\.yaml next to a\.yaml$"
    ):
        compose_file(tmp_path / "a.yaml")


def test_b08_missing_in_an_overlay_keeps_the_base_value(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "optimizer:\n  class: ivory.data.Data\n  lr: 0.1\n")
    write(tmp_path, "overlay.yaml", "extends: base\noptimizer:\n  lr: ???\n")
    assert compose_file(tmp_path / "overlay.yaml").tree == {
        "optimizer": {"class": "ivory.data.Data", "lr": 0.1}
    }


def test_b08_missing_never_set_is_an_error_at_validation(load: Load) -> None:
    experiment = load("optimizer:\n  class: optimizer\n  lr: ???\n")
    with pytest.raises(ConfigError) as info:
        experiment.create_params()
    assert str(info.value) == (
        "x.yaml:3:7: run.optimizer.lr: missing value (???); give one in the file or as an override"
    )
    params, _ = experiment.create_params(lr=0.5)
    assert params.run.optimizer.lr == 0.5


def test_merge_trees_keeps_interpolations_and_replaces_lists() -> None:
    assert merge_trees({"a": "${b}", "b": 1, "c": [1, 2]}, {"b": 2, "c": [3]}) == {
        "a": "${b}",
        "b": 2,
        "c": [3],
    }


def test_include_fills_null_keys_with_templates(tmp_path: Path) -> None:
    write(tmp_path, "defs.yaml", "layer: {units: 8, act: relu}\nnot_used: 1\n")
    write(
        tmp_path,
        "x.yaml",
        """
        include: defs
        model:
          layer:
          layers: [{layer: }, {layer: {units: 2}}]
        """,
    )
    document = compose_file(tmp_path / "x.yaml")
    assert document.tree == {
        "model": {
            "layer": {"units": 8, "act": "relu"},
            "layers": [{"layer": {"units": 8, "act": "relu"}}, {"layer": {"units": 2}}],
        }
    }
    # Each copy is independent and points at the template's position.
    document.tree["model"]["layer"]["units"] = 1
    assert document.tree["model"]["layers"][0]["layer"]["units"] == 8
    assert document.sources.find(("model", "layer", "units")).endswith("defs.yaml:1:16")


def test_normalize_fills_default_constructors(tmp_path: Path) -> None:
    from ivory.registry import Registry

    registry = Registry()
    registry.set_default("monitor", "ivory.callbacks.monitor.Monitor")
    document = load_text("monitor: {metric: mse}\nresults:\nconstants: {a: 1}\n", "x.yaml")
    tree, _ = normalize(document, "x", registry)
    assert tree["run"] == {
        "monitor": {"class": "ivory.callbacks.monitor.Monitor", "metric": "mse"},
        "results": None,
        "constants": {"a": 1},
    }
