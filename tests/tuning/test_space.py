"""Search spaces: reading, checking before any study exists, conditional spaces, suggests.

Cases B19 (search range), B22, B23 and B24 of CASES.md.
"""

from __future__ import annotations

import re
import sqlite3
import warnings
from pathlib import Path

import optuna
import pytest

import ivory
from ivory.config.grammar import CategoricalDistribution, FloatDistribution, IntDistribution
from ivory.config.loader import SourceMap
from ivory.errors import ConfigError, IvoryWarning
from ivory.tuning.objective import SpaceSuggest
from ivory.tuning.space import Space, format_distribution, read_space, read_updates
from tests.conftest import write
from tests.tuning.conftest import runs_of

BASE = """
trainer: {class: toymodels.Toy, epochs: 1}
optimizer: {class: toymodels.SGD, lr: 0.1}
metrics:
monitor: {metric: loss, mode: min}
"""


def experiment(directory: Path, study: str, base: str = BASE) -> ivory.Experiment:
    """Write configs/s.yaml (the toy run and the given study section) and load it."""
    write(directory, "configs/s.yaml", base + study)
    return ivory.create_client(directory).create_experiment("s")


def nothing_stored(directory: Path) -> bool:
    """No Optuna study and no MLflow run were created."""
    if (directory / "optuna.db").exists():
        with sqlite3.connect(directory / "optuna.db") as connection:
            if connection.execute("SELECT COUNT(*) FROM studies").fetchone()[0]:
                return False
    with sqlite3.connect(directory / "mlflow.db") as connection:
        return bool(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0)


# Reading spaces.


def test_read_space_keeps_order_names_and_distributions() -> None:
    node = {
        "n_estimators": "int(10, 300, step=10)",
        "lr": "float(1e-5, 1e-2, log)",
        "max_features": "choice(sqrt, log2, 1.0)",
    }
    space, issues = read_space(node, ("study", "objective", "forest"), SourceMap())
    assert issues == []
    assert space.distributions() == {
        "n_estimators": IntDistribution(10, 300, 10, False),
        "lr": FloatDistribution(1e-5, 1e-2, None, True),
        "max_features": CategoricalDistribution(("sqrt", "log2", 1.0)),
    }
    assert [p.path for p in space] == [
        "study.objective.forest.n_estimators",
        "study.objective.forest.lr",
        "study.objective.forest.max_features",
    ]


def test_read_updates_splits_distributions_from_fixed_values() -> None:
    space, fixed, issues = read_updates(
        {"x": "float(0, 1)", "y": IntDistribution(0, 3), "fold": "2", "lr": 0.1}
    )
    assert issues == []
    assert [p.name for p in space] == ["x", "y"]
    assert fixed == {"fold": "2", "lr": 0.1}


_EXPECTED = (
    "expected a distribution: int(low, high[, step=S][, log]), float(low, high[, step=S][, log]) "
    "or choice(v1, v2, ...)"
)


@pytest.mark.parametrize(
    ("value", "message", "caret"),
    [
        pytest.param("int(2,", "this '(' is never closed", "     ^", id="unclosed_int"),
        pytest.param("choice(a, b", "this '(' is never closed", "        ^", id="unclosed_choice"),
        pytest.param(
            "flaot(1, 2)", f"{_EXPECTED}; did you mean float?", "  ^", id="misspelled_float"
        ),
        pytest.param("Int(1, 2)", f"{_EXPECTED}; did you mean int?", "  ^", id="capitalised_int"),
        pytest.param(
            "int(1, 5, stp=2)",
            "unknown keyword 'stp' of int(...); int(...) takes step, log",
            "            ^",
            id="unknown_keyword",
        ),
    ],
)
def test_read_updates_reads_a_malformed_distribution_as_one(
    value: str, message: str, caret: str
) -> None:
    space, fixed, issues = read_updates({"x": value})
    assert (list(space), fixed) == ([], {})
    assert [(i.path, i.source, i.message) for i in issues] == [
        ("x", f"x={value}", f"{message}\n    x={value}\n    {caret}")
    ]


@pytest.mark.parametrize("value", ["range(0, 4)", "note(a, b)", "(1, 2)", "in the box"])
def test_read_updates_keeps_other_calls_as_fixed_values(value: str) -> None:
    space, fixed, issues = read_updates({"x": value})
    assert (list(space), fixed, issues) == ([], {"x": value}, [])


def test_a_flow_mapping_that_splits_a_distribution_says_how_to_write_it() -> None:
    _, issues = read_space({"x": "float(0", "1)": None}, ("study", "objective", "s"), SourceMap())
    assert "quote the distribution" in issues[0].message


def test_format_distribution_writes_the_grammar_back() -> None:
    assert format_distribution(IntDistribution(10, 300, 10)) == "int(10, 300, step=10)"
    assert format_distribution(IntDistribution(1, 64, 1, True)) == "int(1, 64, log)"
    assert format_distribution(CategoricalDistribution(([64, 64], "a"))) == "choice([64, 64], a)"


# Faults caught before any study exists (CASES B19, B23).


@pytest.mark.parametrize(
    ("space", "path", "message"),
    [
        pytest.param(
            "optimizer.lr: float(0.0, 0.1, log)",
            r"study\.objective\.s\.optimizer\\\.lr",
            r"a log scale needs low > 0 \(got 0\.0\)",
            id="b23a_log_with_non_positive_low",
        ),
        pytest.param(
            "trainer.y: int(16, 256, step=16, log)",
            r"study\.objective\.s\.trainer\\\.y",
            r"a log scale takes no step",
            id="b23b_step_and_log",
        ),
        pytest.param(
            "x: float(0.5, 0.1)",
            r"study\.objective\.s\.x",
            r"high must not be below low \(0\.1 < 0\.5\)",
            id="b23d_low_above_high",
        ),
        pytest.param(
            "seed: int(0, 1180591620717411303424)",
            r"study\.objective\.s\.seed",
            r"the high bound 1180591620717411303424 is outside the 64-bit integers",
            id="b19_search_range_beyond_int64",
        ),
    ],
)
def test_b23_invalid_ranges_are_errors_before_a_study(
    toy: Path, space: str, path: str, message: str
) -> None:
    found = experiment(toy, f"study:\n  objective:\n    s:\n      {space}\n")
    with pytest.raises(ConfigError, match=rf"s\.yaml:\d+:\d+: {path}: {message}"):
        found.create_study("s")
    assert nothing_stored(toy)


def test_b19_search_range_beyond_int64_on_the_command_line(toy: Path) -> None:
    found = experiment(toy, "")
    with pytest.raises(
        ConfigError,
        match=r"^seed=int\(0, 1180591620717411303424\): the high bound 1180591620717411303424 "
        r"is outside the 64-bit integers Optuna stores",
    ):
        found.create_study(seed=f"int(0, {2**70})")
    assert nothing_stored(toy)


def test_b23c_a_step_that_does_not_divide_the_range_warns_once(toy: Path) -> None:
    found = experiment(
        toy,
        "study:\n  objective:\n    s:\n      optimizer.momentum: float(0.023, 0.4589, step=0.001)\n"
        "  tuner:\n    sampler: {class: optuna.samplers.RandomSampler, seed: 0}\n",
    )
    with pytest.warns(IvoryWarning) as caught:
        study = found.create_study("s")
    assert len(caught) == 1
    assert str(caught[0].message).endswith(
        r"study.objective.s.optimizer\.momentum: the step 0.001 does not divide the range "
        "0.023 to 0.4589; the upper bound is lowered to 0.458"
    )

    # No more warnings in the trials (warnings are errors here); the recorded space uses 0.458.
    optimized = study.optimize(n_trials=2)
    (distribution,) = {t.distributions["optimizer.momentum"] for t in optimized.trials}
    assert distribution == optuna.distributions.FloatDistribution(0.023, 0.458, step=0.001)
    assert all(0.023 <= t.params["optimizer.momentum"] <= 0.458 for t in optimized.trials)


@pytest.mark.parametrize(
    ("space", "message"),
    [
        pytest.param("trainer.x: choice(a, a)", "the choice a is listed twice", id="repeated"),
        pytest.param("trainer.x: 3", "expected a distribution", id="not_a_distribution"),
        pytest.param("trainer.x: {}", "a conditional space needs at least one choice", id="empty"),
        pytest.param("trainer.x: uniform(0, 1)", "expected a distribution", id="unknown_function"),
    ],
)
def test_malformed_spaces_are_errors(toy: Path, space: str, message: str) -> None:
    found = experiment(toy, f"study:\n  objective:\n    s:\n      {space}\n")
    with pytest.raises(ConfigError, match=rf"study\.objective\.s\.trainer\\\.x: {message}"):
        found.create_study("s")


# Names and values are checked against the run.


def test_unknown_names_are_errors_naming_the_space_path(toy: Path) -> None:
    found = experiment(toy, "study:\n  objective:\n    s:\n      epoch: int(1, 3)\n")
    with pytest.raises(
        ConfigError,
        match=r"s\.yaml:8:14: study\.objective\.s\.epoch: unknown name 'epoch': no parameter is "
        r"called so; did you mean trainer\.epochs\?",
    ):
        found.create_study("s")
    assert nothing_stored(toy)


def test_values_that_do_not_fit_the_field_are_errors(toy: Path) -> None:
    found = experiment(toy, "study:\n  objective:\n    s:\n      y: choice(1, two)\n")
    with pytest.raises(ConfigError, match=r"study\.objective\.s\.y: .*trainer\.y.*integer"):
        found.create_study("s")


def test_a_study_needs_a_monitor(toy: Path) -> None:
    base = "trainer: {class: toymodels.Toy}\nmetrics:\n"
    found = experiment(toy, "study:\n  objective:\n    s:\n      x: float(0, 1)\n", base)
    with pytest.raises(ConfigError, match=r"run\.monitor: a study needs a monitor member"):
        found.create_study("s")


def test_unknown_suggest_names_the_known_ones(toy: Path) -> None:
    found = experiment(toy, "study:\n  objective:\n    forest:\n      x: float(0, 1)\n")
    with pytest.raises(ConfigError, match=r"no suggest 'forrest' \(suggests: forest\); did you"):
        found.create_study("forrest")


def test_other_suggests_of_the_file_do_not_block_the_chosen_one(toy: Path) -> None:
    found = experiment(
        toy, "study:\n  objective:\n    good:\n      x: float(0, 1)\n    bad:\n      x: 3\n"
    )
    assert found.create_study("good").objective.names() == ["good"]


# Suggests given in Python or on the command line.


def test_distributions_given_to_create_study_join_the_named_suggest(toy: Path) -> None:
    found = experiment(toy, "study:\n  objective:\n    s:\n      x: float(0, 1)\n")
    study = found.create_study("s", y="int(0, 1)", epochs=2)
    suggest = study.objective["s"]
    assert isinstance(suggest, SpaceSuggest)
    assert list(suggest.space.distributions()) == ["x", "y"]
    assert study.fixed == {"epochs": 2}
    assert study.params.run.trainer.epochs == 2
    assert study.params.study.objective == {"s": {"x": "float(0.0, 1.0)", "y": "int(0, 1)"}}


def test_distributions_alone_make_a_suggest_named_after_them(toy: Path) -> None:
    study = experiment(toy, "").create_study(x="float(0, 1)", y="int(0, 1)")
    assert study.objective.names() == ["x.y"]


# CASES B22: choices that are lists.


def test_b22_list_choices_persist_and_reach_the_run_as_lists(toy: Path) -> None:
    found = experiment(
        toy,
        "study:\n  objective:\n    s:\n"
        "      trainer.hidden_sizes: choice([64, 64], [128], [256, 128, 64])\n"
        "      trainer.betas: choice([0.9, 0.999], [0.8, 0.99])\n"
        "  tuner:\n    sampler: {class: optuna.samplers.RandomSampler, seed: 1}\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna's persistence warning would fail the test.
        study = found.create_study("s")
        optimized = study.optimize(n_trials=3)
        resumed = ivory.create_client(toy).create_experiment("s").create_study("s", run_number=0)
        again = resumed.optimize(n_trials=1)

    # The stored trials map back to the same lists; the best parameters are lists.
    assert [t.number for t in again.trials] == [0, 1, 2, 3]
    runs = runs_of(toy, "s")
    for trial in again.trials:
        values = resumed.decode(trial.params)
        assert values["trainer.hidden_sizes"] in ([64, 64], [128], [256, 128, 64])
        assert values["trainer.betas"] in ([0.9, 0.999], [0.8, 0.99])
        run = next(r for r in runs.values() if r.info.run_id == trial.user_attrs["run_id"])
        params = ivory.create_client(toy).load_params(run.info.run_id)
        assert params.run.trainer.hidden_sizes == values["trainer.hidden_sizes"]
        assert all(type(size) is int for size in params.run.trainer.hidden_sizes)
    assert isinstance(resumed.best_params["trainer.hidden_sizes"], list)
    assert optimized.best_trial.number == study._best_trial().number

    # MLflow logs the field exactly as for a run that sets the same list without tuning.
    for trial in again.trials:
        value = resumed.decode(trial.params)["trainer.hidden_sizes"]
        plain = found.create_run({"trainer.hidden_sizes": value})
        logged = runs_of(toy, "s")
        tuned = next(r for r in logged.values() if r.info.run_id == trial.user_attrs["run_id"])
        assert (
            tuned.data.params["trainer.hidden_sizes"]
            == logged[plain.name].data.params["trainer.hidden_sizes"]
        )


# CASES B24: a resumed study whose space changed.


@pytest.mark.parametrize(
    ("changed", "shown"),
    [
        pytest.param(
            "choice(0.1, 0.01)", "new choice(0.1, 0.01)", id="categorical_instead_of_float"
        ),
        pytest.param("float(1e-5, 1e-1)", "new float(1e-05, 0.1)", id="log_removed"),
    ],
)
def test_b24_a_changed_space_is_refused_on_resume(toy: Path, changed: str, shown: str) -> None:
    study = experiment(
        toy, "study:\n  objective:\n    s1:\n      optimizer.lr: float(1e-5, 1e-1, log)\n"
    )
    study.create_study("s1").optimize(n_trials=3)

    # Change the space and resume: a clear error, nothing created or failed.
    changed_experiment = experiment(
        toy, f"study:\n  objective:\n    s1:\n      optimizer.lr: {changed}\n"
    )
    resumed = changed_experiment.create_study("s1", run_number=0)
    with pytest.raises(
        ConfigError,
        match=rf"study\.objective\.s1\.optimizer\\\.lr: the search space of optimizer\.lr "
        rf"changed since study 's\.s1\.study#0' was created: stored float\(1e-05, 0\.1, log\), "
        rf"{re.escape(shown)}; .*start a new study",
    ):
        resumed.optimize(n_trials=1)
    import optuna

    stored = optuna.load_study(study_name="s.s1.study#0", storage=f"sqlite:///{toy / 'optuna.db'}")
    assert [t.state.name for t in stored.trials] == ["COMPLETE"] * 3
    assert runs_of(toy, "s")["study#0"].info.status == "FINISHED"

    # The unchanged space resumes, numbering trials on from 3.
    same = experiment(
        toy, "study:\n  objective:\n    s1:\n      optimizer.lr: float(1e-5, 1e-1, log)\n"
    )
    again = same.create_study("s1", run_number=0).optimize(n_trials=1)
    assert [t.number for t in again.trials] == [0, 1, 2, 3]


# Conditional spaces and suggest functions.


CONDITIONAL = """
study:
  objective:
    opt:
      optimizer.class:
        toymodels.SGD:
          optimizer.momentum: float(0.0, 0.9)
        toymodels.Adam:
          optimizer.betas: choice([0.9, 0.999], [0.8, 0.99])
      optimizer.lr: float(1e-4, 1e-1, log)
  tuner:
    sampler: {class: optuna.samplers.RandomSampler, seed: 3}
"""


def test_a_choice_of_constructors_samples_the_sub_space_of_the_drawn_one(toy: Path) -> None:
    base = BASE.replace(
        "optimizer: {class: toymodels.SGD, lr: 0.1}", "optimizer: {class: toymodels.SGD}"
    )
    study = experiment(toy, CONDITIONAL, base).create_study("opt")
    optimized = study.optimize(n_trials=6)
    classes = set()
    for trial in optimized.trials:
        params = study.decode(trial.params)
        classes.add(params["optimizer.class"])
        expected = {"optimizer.class", "optimizer.lr"}
        expected.add(
            "optimizer.momentum"
            if params["optimizer.class"] == "toymodels.SGD"
            else "optimizer.betas"
        )
        assert set(params) == expected
        logged = ivory.create_client(toy).load_params(trial.user_attrs["run_id"])
        assert logged.run.optimizer["class"] == params["optimizer.class"]
    assert classes == {"toymodels.SGD", "toymodels.Adam"}


def test_a_branch_cannot_give_a_name_a_second_distribution(toy: Path) -> None:
    space = {
        "optimizer.class": {
            "toymodels.SGD": {"optimizer.lr": "float(0.1, 0.2)"},
            "toymodels.Adam": {"optimizer.lr": "float(0.01, 0.02)"},
        }
    }
    _, issues = read_space(space, ("study", "objective", "s"), SourceMap())
    assert [issue.path for issue in issues] == [
        r"study.objective.s.optimizer\.class.toymodels\.Adam.optimizer\.lr"
    ]
    assert "Optuna needs one distribution per name" in issues[0].message


def test_a_suggest_function_with_bound_arguments_fills_a_colon_list(toy: Path) -> None:
    found = experiment(
        toy,
        "study:\n  objective:\n    sizes: {def: toymodels.suggest_sizes, max_layers: 3}\n"
        "  tuner:\n    sampler: {class: optuna.samplers.RandomSampler, seed: 0}\n",
    )
    study = found.create_study("sizes")
    optimized = study.optimize(n_trials=4)
    for trial in optimized.trials:
        params = ivory.create_client(toy).load_params(trial.user_attrs["run_id"])
        sizes = [trial.params[f"size{i}"] for i in range(trial.params["layers"])]
        assert params.run.trainer.hidden_sizes == sizes
    assert study.params.study.objective == {
        "sizes": {"def": "toymodels.suggest_sizes", "max_layers": 3}
    }


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        pytest.param(
            "{def: toymodels.suggest_sizes, widest: 3}",
            r"suggest_sizes cannot be called as suggest_sizes\(trial, widest=\.\.\.\)",
            id="unknown_bound_argument",
        ),
        pytest.param(
            "toymodels.suggest_unknown",
            r"no_such_parameter \(suggested by study\.objective\.f\): unknown name",
            id="unknown_suggested_name",
        ),
        pytest.param("toymodels.nothing_here", r"toymodels\.nothing_here", id="unknown_function"),
    ],
)
def test_bad_suggest_functions_are_errors_before_a_study(
    toy: Path, declared: str, message: str
) -> None:
    found = experiment(toy, f"study:\n  objective:\n    f: {declared}\n")
    with pytest.raises(ConfigError, match=rf"study\.objective\.f: .*{message}"):
        found.create_study("f")
    assert nothing_stored(toy)


def test_space_variants_take_every_bound_and_choice() -> None:
    space, _ = read_space(
        {"a": "int(1, 3)", "b": "choice(x, y, z)"}, ("study", "objective", "s"), SourceMap()
    )
    assert space.variants() == [{"a": 1, "b": "x"}, {"a": 3, "b": "y"}, {"a": 1, "b": "z"}]
    assert Space().variants() == [{}, {}]
