"""Study.optimize: trials as nested runs linked both ways, direction, pruning, resume, results."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import optuna
import pytest

import ivory
from ivory.config.loader import load_text
from ivory.errors import ConfigError
from tests.conftest import write
from tests.tuning.conftest import mlflow_client, runs_of, snapshot, study_names


def storage(directory: Path) -> str:
    return f"sqlite:///{directory / 'optuna.db'}"


def test_trials_are_nested_runs_linked_both_ways(toy: Path) -> None:
    study = ivory.create_client(toy).create_study("toy")
    optimized = study.optimize(n_trials=3)

    # The Optuna study: named after the experiment, suggest and study run; minimizing.
    assert optimized.study_name == "toy.xy.study#0"
    assert optimized.direction == optuna.study.StudyDirection.MINIMIZE
    assert optimized.user_attrs["run_id"] == study.id
    assert (study.name, study.study_name) == ("study#0", "toy.xy.study#0")

    # Each trial links to its run, and each run back to its trial and to the study run.
    runs = runs_of(toy, "toy")
    by_id = {run.info.run_id: run for run in runs.values()}
    assert sorted(runs) == ["run#0", "run#1", "run#2", "study#0"]
    for trial in optimized.trials:
        run = by_id[trial.user_attrs["run_id"]]
        assert run.data.tags["trial_number"] == str(trial.number)
        assert run.data.tags["mlflow.parentRunId"] == study.id
        assert run.info.status == "FINISHED"
        assert float(run.data.params["trainer.x"]) == trial.params["x"]
        assert run.data.metrics["best_score"] == trial.value

    # The study run: its best value, parameters and two plots.
    study_run = runs["study#0"]
    best = optimized.best_trial
    assert study_run.info.status == "FINISHED"
    assert study_run.data.tags["study_name"] == "toy.xy.study#0"
    assert study_run.data.metrics["best_value"] == best.value
    assert study_run.data.metrics["n_complete"] == 3
    assert study_run.data.tags["best_trial"] == str(best.number)
    assert study_run.data.tags["best_run_id"] == best.user_attrs["run_id"]
    assert study_run.data.tags["best.y"] == str(best.params["y"])
    client = mlflow_client(toy)
    artifacts = {a.path for a in client.list_artifacts(study.id, "plots")}
    assert artifacts == {"plots/optimization_history.png", "plots/param_importances.png"}
    saved = Path(client.download_artifacts(study.id, "best_params.yaml", str(toy)))
    assert load_text(saved.read_text()).tree == {
        "trial": best.number,
        "value": best.value,
        "params": best.params,
    }
    assert study.best_params == best.params
    assert study.best_value == best.value


@pytest.mark.parametrize(
    ("space", "reason"),
    [
        pytest.param(
            {"seed": "int(0, 9)", "betas": "choice([0.9, 0.999], [0.8, 0.9])"},
            "all 3 complete trials have the same value 10.2",
            id="constant_objective",
        ),
        pytest.param(
            {"x": "float(-1.0, 1.0)"},
            "only 'x' is sampled; importances compare two parameters or more",
            id="single_parameter",
        ),
    ],
)
def test_meaningless_importances_are_skipped_without_a_warning(
    toy: Path, caplog: pytest.LogCaptureFixture, space: dict[str, str], reason: str
) -> None:
    # Warnings are errors here: one leaking from Optuna's importances would fail the test.
    study = ivory.create_client(toy).create_study("toy", space)
    with caplog.at_level(logging.INFO, logger="ivory.core.study"):
        optimized = study.optimize(n_trials=3)

    assert [t.state.name for t in optimized.trials] == ["COMPLETE"] * 3
    artifacts = {a.path for a in mlflow_client(toy).list_artifacts(study.id, "plots")}
    assert artifacts == {"plots/optimization_history.png"}
    skipped = f"no param_importances.png for {optimized.study_name}: {reason}"
    assert skipped in caplog.messages
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_sqlite_storage_has_a_write_ahead_log_synced_at_checkpoints(toy: Path) -> None:
    study = ivory.create_client(toy).create_study("toy")
    engine = study.tuner.create_storage().engine
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (journal, synchronous) == ("wal", 1)  # 1 is NORMAL


def test_the_direction_follows_the_monitor_mode(toy: Path) -> None:
    text = (toy / "configs/toy.yaml").read_text().replace("mode: min", "mode: max")
    write(toy, "configs/toy.yaml", text)
    study = ivory.create_client(toy).create_study("toy")
    optimized = study.optimize(n_trials=3)
    assert optimized.direction == optuna.study.StudyDirection.MAXIMIZE
    assert optimized.best_value == max(t.value for t in optimized.trials if t.value is not None)


def test_fixed_updates_apply_to_every_trial(toy: Path) -> None:
    study = ivory.create_client(toy).create_study("toy", epochs=2)
    optimized = study.optimize(n_trials=2, seed=7)
    for trial in optimized.trials:
        params = ivory.create_client(toy).load_params(trial.user_attrs["run_id"])
        assert (params.run.trainer.epochs, params.run.trainer.seed) == (2, 7)


def test_a_fixed_update_that_does_not_fit_is_an_error_before_any_trial(toy: Path) -> None:
    study = ivory.create_client(toy).create_study("toy")
    with pytest.raises(ConfigError, match=r"epochs.*integer"):
        study.optimize(n_trials=2, epochs="many")
    assert not (toy / "optuna.db").exists()


def test_resuming_by_number_continues_the_study_and_its_run(toy: Path) -> None:
    client = ivory.create_client(toy)
    first = client.create_study("toy")
    first.optimize(n_trials=2)
    again = client.create_study("toy", run_number=0)
    optimized = again.optimize(n_trials=2)

    assert again.id == first.id
    assert [t.number for t in optimized.trials] == [0, 1, 2, 3]
    runs = runs_of(toy, "toy")
    assert sorted(runs) == ["run#0", "run#1", "run#2", "run#3", "study#0"]
    assert runs["study#0"].info.status == "FINISHED"
    assert runs["study#0"].data.metrics["n_complete"] == 4

    # A new study gets the next number; an unknown one is refused.
    assert client.create_study("toy").optimize(n_trials=1).study_name == "toy.xy.study#1"
    with pytest.raises(ConfigError, match=r"there is no study#5 to resume; a new study would be"):
        client.create_study("toy", run_number=5).optimize(n_trials=1)


@pytest.mark.parametrize(
    "resumed",
    [
        pytest.param("by_number", id="run_number"),
        pytest.param("same_object", id="optimize_again"),
    ],
)
@pytest.mark.parametrize("other_exists", [pytest.param(False, id="new_file"), True])
def test_resuming_in_another_storage_is_refused_and_changes_nothing(
    toy: Path, resumed: str, other_exists: bool
) -> None:
    # study#0 lives in optuna.db; the other storage is a new file, or one holding another study.
    client = ivory.create_client(toy)
    first = client.create_study("toy")
    first.optimize(n_trials=2)
    other = f"sqlite:///{toy / 'other.db'}"
    if other_exists:
        optuna.create_study(study_name="unrelated", storage=other)
    before = snapshot(toy, "toy")

    # Resume it there: refused, naming the study, both storages and the fix.
    study = client.create_study("toy", run_number=0) if resumed == "by_number" else first
    study.tuner.storage = other
    message = (
        f"run_number: study#0 has no Optuna study named 'toy.xy.study#0' in {other} (study#0 is "
        f"in {storage(toy.resolve())}); resume it with that storage (--storage), or leave out "
        "the number to start a new study"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        study.optimize(n_trials=1)

    # Nothing changed: no Optuna study (nor file) made there, the MLflow runs as they were.
    assert (toy / "other.db").exists() == other_exists
    if other_exists:
        assert study_names(other) == ["unrelated"]
    assert study_names(storage(toy)) == ["toy.xy.study#0"]
    assert snapshot(toy, "toy") == before


def test_resuming_with_another_suggest_is_refused_and_changes_nothing(toy: Path) -> None:
    client = ivory.create_client(toy)
    client.create_study("toy").optimize(n_trials=2)
    before = snapshot(toy, "toy")

    study = client.create_study("toy", run_number=0, x="float(-1, 1)")
    message = (
        "run_number: study#0 has no Optuna study named 'toy.x.study#0' in "
        f"{storage(toy.resolve())} (study#0 optimizes the suggest 'xy'); resume it with that "
        "suggest, or leave out the number to start a new study"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        study.optimize(n_trials=1)
    assert study_names(storage(toy)) == ["toy.xy.study#0"]
    assert snapshot(toy, "toy") == before


def test_resuming_a_namesake_of_another_tracking_store_is_refused(toy: Path) -> None:
    client = ivory.create_client(toy)
    client.create_study("toy").optimize(n_trials=1)
    before = snapshot(toy, "toy")
    run_id = client.get_run_id("toy", study=0)

    # other.db holds a study of the same name, made by ivory with another tracking store.
    other = f"sqlite:///{toy / 'other.db'}"
    namesake = optuna.create_study(study_name="toy.xy.study#0", storage=other)
    namesake.set_user_attr("run_id", "f00d")
    study = client.create_study("toy", run_number=0)
    study.tuner.storage = other
    message = (
        f"run_number: the Optuna study 'toy.xy.study#0' in {other} belongs to the run f00d, not "
        f"to study#0 of this tracking store ({run_id}): was it made with another tracking store? "
        "Use the storage of this tracking store, or leave out the number to start a new study"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        study.optimize(n_trials=1)
    assert optuna.load_study(study_name="toy.xy.study#0", storage=other).trials == []
    assert snapshot(toy, "toy") == before


def test_an_untracked_study_resumes_only_a_study_of_its_storage(toy: Path) -> None:
    client = ivory.create_client(toy, tracker=False)
    client.create_study("toy").optimize(n_trials=1)
    message = "there is no study#5 to resume; a new study would be study#1"
    with pytest.raises(ConfigError, match=f"^run_number: {re.escape(message)} "):
        client.create_study("toy", run_number=5).optimize(n_trials=1)
    assert study_names(storage(toy)) == ["toy.xy.study#0"]


def test_pruned_trials_end_killed_with_a_tag(toy: Path) -> None:
    text = (toy / "configs/toy.yaml").read_text() + (
        "    pruner: {class: optuna.pruners.ThresholdPruner, upper: 3.0}\n"
    )
    write(toy, "configs/toy.yaml", text)
    study = ivory.create_client(toy).create_study("toy", epochs=3)
    optimized = study.optimize(n_trials=6)

    # The loss at epoch 0 is twice the final one: trials with a base above 1.5 are pruned there.
    states = {t.number: t.state for t in optimized.trials}
    pruned = [n for n, s in states.items() if s == optuna.trial.TrialState.PRUNED]
    assert pruned
    assert set(states.values()) <= {
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.COMPLETE,
    }
    by_id = {run.info.run_id: run for run in runs_of(toy, "toy").values()}
    for trial in optimized.trials:
        run = by_id[trial.user_attrs["run_id"]]
        if trial.number in pruned:
            assert run.info.status == "KILLED"
            assert run.data.tags["trial_state"] == "PRUNED"
            assert run.data.tags["ivory.stopped"] == "pruned at epoch 0"
            assert trial.intermediate_values.keys() == {0}
        else:
            assert run.info.status == "FINISHED"
            assert "trial_state" not in run.data.tags
            assert trial.intermediate_values.keys() == {0, 1, 2}


def test_a_failing_trial_fails_its_run_and_the_study(toy: Path) -> None:
    study = ivory.create_client(toy).create_study("toy", fail=True)
    with pytest.raises(RuntimeError, match="the toy was asked to fail"):
        study.optimize(n_trials=3)
    runs = runs_of(toy, "toy")
    assert runs["run#0"].info.status == "FAILED"
    assert runs["study#0"].info.status == "FAILED"
    stored = optuna.load_study(study_name="toy.xy.study#0", storage=storage(toy))
    assert [t.state.name for t in stored.trials] == ["FAIL"]


def test_a_study_without_tracking_numbers_itself_from_the_storage(toy: Path) -> None:
    client = ivory.create_client(toy, tracker=False)
    assert client.create_study("toy").optimize(n_trials=1).study_name == "toy.xy.study#0"
    second = client.create_study("toy").optimize(n_trials=1)
    assert second.study_name == "toy.xy.study#1"
    assert "run_id" not in second.trials[0].user_attrs
    resumed = client.create_study("toy", run_number=0).optimize(n_trials=1)
    assert [t.number for t in resumed.trials] == [0, 1]


def test_client_tuner_settings_are_defaults_the_file_overrides(toy: Path) -> None:
    write(toy, "client.yaml", "tuner: {storage: 'sqlite:///other.db', heartbeat_interval: 2}\n")
    study = ivory.create_client(toy).create_study("toy")
    assert study.tuner.storage == "sqlite:///other.db"
    assert study.tuner.heartbeat_interval == 2
    assert isinstance(study.tuner.sampler, optuna.samplers.RandomSampler)


def test_a_bad_tuner_is_an_error_naming_its_path(toy: Path) -> None:
    text = (toy / "configs/toy.yaml").read_text() + "    heartbeat_interval: often\n"
    write(toy, "configs/toy.yaml", text)
    with pytest.raises(ConfigError, match=r"study\.tuner\.heartbeat_interval: .*integer"):
        ivory.create_client(toy).create_study("toy")
