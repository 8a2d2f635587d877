r"""Studies: parent runs that drive an Optuna study, one nested run per trial.

A `Study` is an MLflow run of its own (``study#N``). `Study.optimize` samples a suggest of its
objective for each trial, creates a nested run with the sampled update, trains it, and returns
the monitor's best score to Optuna. The two records are linked both ways: the Optuna study and
each trial carry the user attribute ``run_id`` of their MLflow run, and each trial's run carries
the tag ``trial_number``. The Optuna study is named ``<experiment>.<suggest>.study#N``; its
direction follows the monitor's mode.

Studies live in a database (by default ``optuna.db`` in the working directory), so they resume:
``create_study(run_number=N)`` (``ivory optimize NAME -n N``) continues ``study#N`` with more
trials, or joins it from another process or machine sharing the storage. A resumed study must
sample the space it was created with, from the storage that holds its Optuna study: resuming
``study#N`` in another storage, or with another suggest, is refused before anything is created.

Example:
    >>> import ivory
    >>> experiment = ivory.Experiment.from_text(
    ...     "estimator: {class: ivory.data.Data}\nfold: 0\nmonitor: {metric: mse}\n"
    ...     "study: {objective: {folds: {fold: 'int(0, 4)'}}}\n",
    ...     name="doc",
    ... )
    >>> study = experiment.create_study()
    >>> study.objective, study.direction, study.metric
    (Objective(['folds']), 'minimize', 'mse')
"""

from __future__ import annotations

import logging
import math
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivory.config.dump import dump_yaml
from ivory.config.paths import format_path
from ivory.core.task import Task
from ivory.errors import ConfigError, ConfigIssue, IvoryError, TuningError
from ivory.tuning.objective import (
    FunctionSuggest,
    Objective,
    SpaceSuggest,
    Suggest,
    check_suggest,
    read_objective,
    read_suggests,
)
from ivory.tuning.space import (
    Space,
    decode_value,
    format_distribution,
    from_optuna,
    to_optuna,
)
from ivory.tuning.tuner import RETRY_OF, RUN_ID, SPACE_ATTR, SUGGEST_ATTR, Tuner, mask_url

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.storages import RDBStorage
    from optuna.trial import FrozenTrial

    from ivory.core.base import Creator
    from ivory.core.run import Run

__all__ = ["Study", "create_study"]

logger = logging.getLogger(__name__)

TRIAL_NUMBER = "trial_number"
TRIAL_STATE = "trial_state"
STUDY_NAME = "study_name"
SUGGEST_TAG = "ivory.suggest"
STORAGE_TAG = "ivory.storage"
"""The study run's tag naming the storage of its Optuna study (its password masked)."""
_OPTUNA_KEYS = ("callbacks", "catch", "gc_after_trial")


class Study(Task):
    """A parent run that drives an Optuna study: one nested run per trial.

    Members: ``objective`` (the suggests, an `Objective`) and ``tuner`` (storage, sampler,
    pruner, a `Tuner`). Create it with `create_study`, not directly.

    Attributes:
        fixed: Updates applied to every trial's run (already in the study's parameters).
        run_number: The ``study#N`` to resume or join, or None for a new study.
        direction: ``minimize`` or ``maximize``, from the monitor's mode.
        metric: The monitored metric, reported to the pruner each epoch.
        study_name: The Optuna study name of the latest `optimize`.
    """

    kind = "study"

    def __init__(self, params: Any = None, **instances: Any) -> None:
        super().__init__(params, **instances)
        self.fixed: dict[str, Any] = {}
        self.run_number: int | None = None
        self.direction = "minimize"
        self.metric = ""
        self.study_name = ""
        self._optuna: optuna.Study | None = None
        self._suggest: Suggest | None = None

    @property
    def objective(self) -> Objective:
        """The suggests this study can optimize."""
        objective: Objective = self["objective"]
        return objective

    @property
    def tuner(self) -> Tuner:
        """Storage, sampler and pruner."""
        tuner: Tuner = self["tuner"]
        return tuner

    # Optimizing.

    def optimize(
        self,
        suggest_name: str | None = None,
        n_trials: int | None = None,
        timeout: float | None = None,
        *,
        on_start: Callable[[optuna.Study], object] | None = None,
        **kwargs: Any,
    ) -> optuna.Study:
        """Run trials of the suggest `suggest_name` (the only suggest when None).

        Args:
            suggest_name: The suggest to sample.
            n_trials: How many trials this call runs (None: until `timeout`).
            timeout: Seconds after which no new trial starts.
            on_start: Called with the Optuna study once it is open, right before the first
                trial (a progress display starts there, not before a study that fails to open).
            **kwargs: ``callbacks``, ``catch`` and ``gc_after_trial`` go to Optuna's
                ``Study.optimize``; every other keyword is a fixed update of every trial's run
                (``fold=1``).

        Returns:
            The Optuna study (``best_value``, ``trials``, ...). `best_params` here gives the
            best parameters as real values (lists stay lists).

        Raises:
            ConfigError: No such suggest, a fixed update does not fit, a resumed study's search
                space changed, or the storage has no Optuna study of the study to resume;
                nothing is created then.
            TuningError: The storage refused.
        """
        optuna_kwargs = {key: kwargs.pop(key) for key in _OPTUNA_KEYS if key in kwargs}
        if n_trials is not None and n_trials < 0:
            raise IvoryError(f"n_trials must be 0 or more (got {n_trials})")

        # Check this call's suggest and updates before anything is created.
        suggest = self.objective.select(suggest_name)
        if kwargs:
            issues = check_suggest(suggest, self, kwargs)
            if issues:
                raise ConfigError(issues)

        # Open the Optuna study and the MLflow run: new, resumed or joined. A study to resume
        # that a SQLite file not made yet cannot hold is refused before the file is made.
        numbered = self._numbered_name()
        if numbered is not None and not self.tuner.storage_exists():
            refusal = self._refusal(None, suggest, numbered)
            if refusal is not None:
                raise refusal
        storage = self.tuner.create_storage(on_stale=self._end_stale_run)
        try:
            study = self._open(storage, suggest)
        except BaseException:
            storage.engine.dispose()  # Nothing holds it: close its connections now, not at exit.
            raise
        self._optuna, self._suggest = study, suggest

        # Run the trials; record the outcome whatever happens.
        status = "FINISHED"
        error: BaseException | None = None
        objective = _TrialObjective(self, suggest, dict(kwargs))
        try:
            if on_start is not None:
                on_start(study)
            study.optimize(objective, n_trials=n_trials, timeout=timeout, **optuna_kwargs)
        except KeyboardInterrupt as exc:
            status, error = "KILLED", exc
            raise
        except BaseException as exc:
            status, error = "FAILED", exc
            raise
        finally:
            self._finish(study, suggest, status, error)
        return study

    @property
    def best_params(self) -> dict[str, Any]:
        """The best trial's parameters as real values (a choice of lists gives a list).

        Raises:
            TuningError: Nothing was optimized yet, or no trial completed.
        """
        trial = self._best_trial()
        return self.decode(trial.params)

    @property
    def best_value(self) -> float:
        """The best trial's value."""
        return float(self._best_trial().values[0])

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Trial parameters as stored by Optuna, turned into the values the runs got."""
        suggest = self._suggest
        if not isinstance(suggest, SpaceSuggest):
            return dict(params)
        distributions = suggest.space.distributions()
        return {
            name: decode_value(distributions[name], value) if name in distributions else value
            for name, value in params.items()
        }

    def _best_trial(self) -> FrozenTrial:
        if self._optuna is None:
            raise TuningError(f"{self.name or 'this study'} has not been optimized yet")
        try:
            return self._optuna.best_trial
        except ValueError as exc:
            raise TuningError(f"{self.study_name}: no trial completed yet") from exc

    # Opening a study.

    def _open(self, storage: RDBStorage, suggest: Suggest) -> optuna.Study:
        """The Optuna study of `suggest`, and this study's MLflow run, both created or found."""
        numbered = self._numbered_name()
        if numbered is not None:
            return self._open_numbered(storage, suggest, numbered)
        return self._open_new(storage, suggest)

    def _numbered_name(self) -> str | None:
        """The ``study#N`` this call resumes or joins (this study's own once tracked), or None."""
        if self.id:
            return self.name
        if self.run_number is not None:
            return f"study#{self.run_number}"
        return None

    def _optuna_name(self, suggest: Suggest, name: str) -> str:
        return f"{self.experiment_name}.{suggest.name}.{name}"

    def _attrs(self, suggest: Suggest) -> dict[str, Any]:
        attrs: dict[str, Any] = {SUGGEST_ATTR: suggest.name}
        if isinstance(suggest, SpaceSuggest):
            attrs[SPACE_ATTR] = _space_json(suggest.space)
        return attrs

    def _open_new(self, storage: RDBStorage, suggest: Suggest) -> optuna.Study:
        number = self._next_number(storage)
        name = f"study#{number}"
        study_name = self._optuna_name(suggest, name)
        if self.tuner.find_study(storage, study_name) is not None:
            raise TuningError(
                f"the storage {mask_url(self.tuner.storage)} already holds a study named "
                f"{study_name!r} that this tracking store does not know (was it made with another "
                f"tracking store?); resume it with run_number={number} (-n {number}) or use "
                "another storage"
            )
        attrs = self._attrs(suggest)
        if self.tracker is not None:
            name = self._track(name)
            study_name = self._optuna_name(suggest, name)
            attrs[RUN_ID] = self.id
        study = self.tuner.create_study(storage, study_name, self._direction(), attrs)
        if study is None:
            self._abandon(f"another process created the study {study_name!r} at the same time")
        assert study is not None
        return self._opened(study, suggest)

    def _open_numbered(self, storage: RDBStorage, suggest: Suggest, name: str) -> optuna.Study:
        study_name = self._optuna_name(suggest, name)

        # An existing study: its space must not have changed, and it must be the one of this
        # study's run (not a namesake from another tracking store); then join it.
        study = self.tuner.find_study(storage, study_name)
        if study is None:
            study = self._create_numbered(storage, suggest, name, study_name)
        check_resumed(study, suggest, self._new_study_hint())
        tracker = self.tracker
        if tracker is not None:
            run_id = str(self.tuner.wait_for_attr(study, RUN_ID))
            owner = self.id or self._run_id_of(name)
            if run_id != owner:
                raise ConfigError.single(
                    "run_number",
                    f"the Optuna study {study_name!r} in {mask_url(self.tuner.storage)} belongs "
                    f"to the run {run_id}, not to {name} of this tracking store "
                    f"({owner or 'no such run'}): was it made with another tracking store? "
                    "Use the storage of this tracking store, or leave out the number to start "
                    "a new study",
                    value=_number(name),
                )
            if not self.id:
                self._attach(run_id, name)
            elif tracker.get_status(self.id) != "RUNNING":
                tracker.set_running(self.id)
        self.name = self.name or name
        return self._opened(study, suggest)

    def _create_numbered(
        self, storage: RDBStorage, suggest: Suggest, name: str, study_name: str
    ) -> optuna.Study:
        """Create ``study#N`` for a first worker; a worker that loses the race joins instead.

        Raises:
            ConfigError: ``study#N`` exists (its MLflow run, or Optuna studies of a later number)
                but this storage has no Optuna study `study_name` of it; nothing is created.
        """
        refusal = self._refusal(storage, suggest, name)
        if refusal is not None:
            # The worker that made the study's run made its Optuna study first: it may be new.
            found = self.tuner.find_study(storage, study_name)
            if found is None:
                raise refusal
            return found
        study = self.tuner.create_study(
            storage, study_name, self._direction(), self._attrs(suggest)
        )
        if study is None:  # Another worker created it first.
            found = self.tuner.find_study(storage, study_name)
            assert found is not None
            return found
        if self.tracker is not None:
            made = self._track(name)
            if made != name:
                self.tuner.delete_study(storage, study_name)
                self._abandon(f"another process created {name} at the same time (got {made})")
            study.set_user_attr(RUN_ID, self.id)
        return study

    def _refusal(
        self, storage: RDBStorage | None, suggest: Suggest, name: str
    ) -> ConfigError | None:
        """Why ``study#N`` may not get a new Optuna study here; None for its first worker.

        A study whose MLflow run exists already has its Optuna study: a new one in this storage
        would take over the run's trials and results. Without a run, only the next number may
        be started. `storage` None stands for a storage that does not exist yet.
        """
        number = _number(name)
        run_id = self.id or self._run_id_of(name)
        if run_id:
            return self._elsewhere(run_id, suggest, name, number)
        following = self._next_number(storage)
        if following == number:
            return None
        return ConfigError.single(
            "run_number",
            f"there is no {name} to resume; a new study would be study#{following} "
            "(leave out the number to start one)",
            value=number,
        )

    def _run_id_of(self, name: str) -> str:
        """The id of the MLflow run ``study#N``; ``""`` when there is none or no tracker."""
        if self.tracker is None:
            return ""
        try:
            return self.tracker.get_run_id(self._experiment_id(), "study", _number(name))
        except IvoryError:
            return ""

    def _elsewhere(self, run_id: str, suggest: Suggest, name: str, number: int) -> ConfigError:
        """The refusal to resume ``study#N`` whose Optuna study is not in this storage."""
        study_name = self._optuna_name(suggest, name)
        storage = mask_url(self.tuner.storage)
        tags: Mapping[str, str] = {}
        if self.tracker is not None:
            tags = self.tracker.get_run(run_id).data.tags
        recorded, where = tags.get(STUDY_NAME), tags.get(STORAGE_TAG)

        # Say where the study is, when its run recorded it, and how to resume it.
        found: list[str] = []
        fixes: list[str] = []
        if recorded and recorded != study_name:
            found.append(f"optimizes the suggest {tags.get(SUGGEST_TAG, '?')!r}")
            fixes.append("that suggest")
        if where and where != storage:
            found.append(f"is in {where}")
            fixes.append("that storage (--storage)")
        if found:
            detail = f" ({name} {' and '.join(found)}); resume it with {' and '.join(fixes)}"
        else:
            detail = "; resume it with the storage it was created in (--storage)"
        return ConfigError.single(
            "run_number",
            f"{name} has no Optuna study named {study_name!r} in {storage}{detail}, or leave out "
            "the number to start a new study",
            value=number,
        )

    def _opened(self, study: optuna.Study, suggest: Suggest) -> optuna.Study:
        if self.tracker is not None and self.id:
            tags = {
                STUDY_NAME: study.study_name,
                SUGGEST_TAG: suggest.name,
                STORAGE_TAG: mask_url(self.tuner.storage),
            }
            self.tracker.set_tags(self.id, tags)
        self.study_name = study.study_name
        if study.get_trials(deepcopy=False):
            # A seeded sampler would draw the same points again in every worker and on every
            # resume; only a new study keeps the seed's sequence.
            study.sampler.reseed_rng()
        logger.info(
            "optimizing %s (%s) in %s",
            study.study_name,
            self.direction,
            mask_url(self.tuner.storage),
        )
        return study

    def _track(self, name: str) -> str:
        """Create this study's MLflow run; return its name."""
        from ivory.callbacks.tracking import Tracking

        tracker = self.tracker
        assert tracker is not None
        experiment_id = self._experiment_id()
        made, run_id = tracker.create_run(
            experiment_id,
            kind="study",
            params=self.params,
            section="study",
            update=self.update,
            source_name=self.source_name,
            parent_id=None,
        )
        self.id, self.name = run_id, made
        self["tracking"] = Tracking(tracker, run_id)
        if made != name:
            logger.info("the new study is %s (%s was taken meanwhile)", made, name)
        return made

    def _attach(self, run_id: str, name: str) -> None:
        from ivory.callbacks.tracking import Tracking

        tracker = self.tracker
        assert tracker is not None
        self.id, self.name = run_id, name
        self["tracking"] = Tracking(tracker, run_id)
        if tracker.get_status(run_id) != "RUNNING":
            tracker.set_running(run_id)

    def _abandon(self, reason: str) -> None:
        if self.tracker is not None and self.id:
            self.tracker.set_terminated(self.id, "FAILED")
        raise TuningError(f"{reason}; start the study again")

    def _experiment_id(self) -> str:
        experiment = self.experiment
        if experiment is None:
            raise TuningError("a tracked study needs the experiment it belongs to")
        return experiment.ensure_tracked()

    def _next_number(self, storage: RDBStorage | None) -> int:
        """The N of the next ``study#N``: from the tracker, or from the storage untracked.

        `storage` None stands for a storage that does not exist yet.
        """
        tracker = self.tracker
        if tracker is not None:
            return tracker.next_number(self._experiment_id(), "study")
        if storage is None:
            return 0
        prefix = f"{self.experiment_name}."
        numbers = [
            int(summary.study_name.rsplit("#", 1)[1])
            for summary in storage.get_all_studies()
            if summary.study_name.startswith(prefix)
            and summary.study_name.rsplit(".", 1)[-1].startswith("study#")
            and summary.study_name.rsplit("#", 1)[1].isdigit()
        ]
        return max(numbers, default=-1) + 1

    def _new_study_hint(self) -> str:
        return "start a new study instead (leave out run_number, -n)"

    def _direction(self) -> Any:
        return self.direction

    # Trials.

    def _end_stale_run(self, trial: FrozenTrial, run_id: str) -> None:
        """End the MLflow run of a trial whose worker died (its heartbeat stopped)."""
        tracker = self.tracker
        if tracker is None:
            return
        text = (
            f"trial {trial.number} stopped sending heartbeats: its worker died or hung; "
            "it is retried with the same parameters\n"
        )
        tracker.log_text(run_id, text, "error.txt")
        tracker.set_tags(run_id, {TRIAL_STATE: "FAIL"})
        tracker.set_terminated(run_id, "FAILED")
        logger.warning("ended the run %s of trial %d (no heartbeat) FAILED", run_id, trial.number)

    # The end of a call.

    def _finish(
        self, study: optuna.Study, suggest: Suggest, status: str, error: BaseException | None
    ) -> None:
        """Record the best trial and the plots, and end the run unless other workers go on."""
        from optuna.trial import TrialState

        tracker = self.tracker
        if tracker is None or not self.id:
            return
        try:
            self._record_best(study)
            self._record_plots(study)
        except Exception:
            logger.exception("could not record the results of %s", study.study_name)
        ongoing = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if ongoing and status == "FINISHED":
            logger.info(
                "%s goes on in other workers (%d running trials); its run stays RUNNING",
                self.name,
                len(ongoing),
            )
            return
        self.terminate(status, error=error)

    def _record_best(self, study: optuna.Study) -> None:
        from optuna.trial import TrialState

        tracker = self.tracker
        assert tracker is not None
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        counts = {
            "n_trials": len(trials),
            "n_complete": len(complete),
            "n_pruned": sum(t.state == TrialState.PRUNED for t in trials),
            "n_failed": sum(t.state == TrialState.FAIL for t in trials),
        }
        if not complete:
            tracker.log_metrics(self.id, counts, step=len(trials))
            return
        best = study.best_trial
        params = self.decode(best.params)
        value = float(best.values[0])
        tracker.log_metrics(self.id, {"best_value": value, **counts}, step=len(trials))
        tags = {"best_trial": str(best.number), "best_value": repr(best.value)}
        if best.user_attrs.get(RUN_ID):
            tags["best_run_id"] = str(best.user_attrs[RUN_ID])
        tags.update({f"best.{name}": _tag_value(value) for name, value in params.items()})
        tracker.set_tags(self.id, tags)
        tracker.log_text(
            self.id,
            dump_yaml({"trial": best.number, "value": best.value, "params": params}),
            "best_params.yaml",
        )

    def _record_plots(self, study: optuna.Study) -> None:
        """Save the optimization history and the parameter importances as PNG artifacts."""
        from optuna.trial import TrialState

        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            return
        plots = _plots(study, complete)
        if not plots:
            return
        tracker = self.tracker
        assert tracker is not None
        with tempfile.TemporaryDirectory() as folder:
            for filename, figure in plots.items():
                path = Path(folder) / filename
                try:
                    figure.savefig(path, dpi=100, bbox_inches="tight")
                finally:
                    _close(figure)
                tracker.log_artifact(self.id, str(path), "plots")


class _TrialObjective:
    """What Optuna calls for each trial: sample, create the nested run, train, score."""

    def __init__(self, study: Study, suggest: Suggest, fixed: dict[str, Any]) -> None:
        self.study = study
        self.suggest = suggest
        self.fixed = fixed

    def __call__(self, trial: optuna.Trial) -> float:
        import optuna

        from ivory.core.run import create_run

        study = self.study
        tracker = study.tracker

        # Sample the update and create the trial's run, linked both ways.
        update = self.suggest(trial)
        tags = {TRIAL_NUMBER: str(trial.number), STUDY_NAME: study.study_name}
        retried = trial.user_attrs.get(RETRY_OF)
        if retried is not None:
            tags[RETRY_OF] = str(retried)
        params, given = study.create_params({**self.fixed, **update})
        run = create_run(study, params, given, "run", tags=tags)
        if run.id and tracker is not None:
            trial.set_user_attr(RUN_ID, run.id)
        if study.tuner.pruner is not None:
            _add_pruning(run, trial, study.metric)

        # Train; a pruned run ends KILLED with a tag, like Optuna's PRUNED state.
        try:
            run.start("train")
        except optuna.TrialPruned:
            _mark_pruned(run)
            raise
        score = float(run["monitor"].best_score)
        if not math.isfinite(score):
            _mark_pruned(run)
            raise optuna.TrialPruned(f"the best score of {run.name} is {score}")
        logger.info(
            "trial %d of %s (%s) finished: %s=%.6g",
            trial.number,
            study.study_name,
            run.name,
            study.metric,
            score,
        )
        return score


def _number(name: str) -> int:
    """The N of ``study#N``."""
    return int(name.rsplit("#", 1)[1])


def _add_pruning(run: Run, trial: Any, metric: str) -> None:
    """Give the run a member that reports the monitored metric each epoch and may prune."""
    from ivory.callbacks.pruning import Pruning

    run["pruning"] = Pruning(trial, metric)


def _mark_pruned(run: Run) -> None:
    tracker = run.tracker
    if tracker is None or not run.id:
        return
    tracker.set_tags(run.id, {TRIAL_STATE: "PRUNED"})
    tracker.set_terminated(run.id, "KILLED")


def _tag_value(value: Any) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value)


def _space_json(space: Space) -> str:
    from ivory.tuning.tuner import dump_distributions

    return dump_distributions({name: to_optuna(d) for name, d in space.distributions().items()})


def _close(figure: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)


def _plots(study: optuna.Study, complete: list[FrozenTrial]) -> dict[str, Any]:
    """The figures to save, by file name; a plot that cannot be drawn or means nothing is left out.

    Optuna's warnings while drawing (a caveat about few trials per branch) are logged, not shown.
    """
    import matplotlib

    matplotlib.use("Agg")
    from optuna.exceptions import ExperimentalWarning
    from optuna.visualization import matplotlib as plots

    figures: dict[str, Any] = {}
    makers: list[tuple[str, Callable[..., Any], str | None]] = [
        ("optimization_history.png", plots.plot_optimization_history, None),
        ("param_importances.png", plots.plot_param_importances, _no_importances(complete)),
    ]
    for filename, make, skipped in makers:
        if skipped is not None:
            logger.info("no %s for %s: %s", filename, study.study_name, skipped)
            continue

        # Draw, keeping Optuna's warnings for the log.
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.simplefilter("ignore", ExperimentalWarning)
                axes = make(study)
        except Exception as exc:
            logger.warning("cannot draw %s for %s: %s", filename, study.study_name, exc)
            continue
        for warning in caught:
            logger.info("%s for %s: %s", filename, study.study_name, warning.message)
        figures[filename] = axes.figure
    return figures


def _no_importances(complete: list[FrozenTrial]) -> str | None:
    """Why parameter importances of the complete trials would mean nothing, or None."""
    if len(complete) < 2:
        return "one complete trial only"
    values = {trial.values[0] for trial in complete}
    if len(values) < 2:
        return f"all {len(complete)} complete trials have the same value {values.pop():.6g}"
    names = {name for trial in complete for name in trial.params}
    if len(names) < 2:
        sampled = f"only {next(iter(names))!r}" if names else "no parameter"
        return f"{sampled} is sampled; importances compare two parameters or more"
    return None


def check_resumed(study: optuna.Study, suggest: Suggest, hint: str) -> None:
    """Refuse to resume `study` with a search space other than the one it was created with.

    Raises:
        ConfigError: A parameter's distribution changed, or a parameter came or went; each
            changed parameter is named with its stored and its new distribution.
    """
    from ivory.tuning.tuner import load_distributions

    # What the study was created with: its recorded space, or what its trials sampled.
    text = study.user_attrs.get(SPACE_ATTR)
    stored: dict[str, BaseDistribution] = {}
    if text:
        stored = load_distributions(text)
    else:
        for trial in study.get_trials(deepcopy=False):
            for name, distribution in trial.distributions.items():
                stored.setdefault(name, distribution)
    if not stored:
        return

    # What this call would sample.
    paths: dict[str, tuple[str, str]] = {}
    if isinstance(suggest, SpaceSuggest):
        new = {name: to_optuna(d) for name, d in suggest.space.distributions().items()}
        names = sorted(set(stored) | set(new))
        paths = {p.name: (p.path, p.source) for p in suggest.space.walk()}
    else:
        new = _sampled(suggest)
        names = sorted(set(stored) & set(new))

    issues = []
    for name in names:
        before, after = stored.get(name), new.get(name)
        if before == after:
            continue
        path, source = paths.get(name, (name, suggest.source))
        shown_before = from_optuna(before) if before is not None else "not sampled"
        shown_after = from_optuna(after) if after is not None else "not sampled"
        issues.append(
            ConfigIssue(
                path or name,
                f"the search space of {name} changed since study {study.study_name!r} was "
                f"created: stored {shown_before}, new {shown_after}; resume it with the stored "
                f"space, or {hint}",
                source,
            )
        )
    if issues:
        raise ConfigError(issues)


def _sampled(suggest: FunctionSuggest) -> dict[str, BaseDistribution]:
    from ivory.tuning.objective import throwaway_trial

    trial = throwaway_trial()
    suggest(trial)
    return dict(trial.distributions)


# Creating a study.


def create_study(
    creator: Creator,
    args: Any = None,
    run_number: int | None = None,
    tuner: Mapping[str, Any] | None = None,
    **suggests: Any,
) -> Study:
    """Create a study of `creator`'s parameters; it is tracked when it first optimizes.

    The suggests come from the file's ``study.objective`` and from `args`/`suggests` (see
    `ivory.tuning.objective.read_suggests`): a suggest name in `args` keeps that suggest only,
    distributions (``max_depth="int(2, 8)"``) join a space (added to the kept suggest when a
    name is given), functions and mappings are suggests of their own, and any other value is a
    fixed update of every trial.

    Args:
        creator: The experiment (or a run) whose parameters the trials start from.
        args: A suggest name, or a mapping of more suggests.
        run_number: Resume or join ``study#N`` instead of creating a new study.
        tuner: Defaults for the tuner (a client's ``tuner:`` settings); the file's
            ``study.tuner`` wins key by key.
        **suggests: More suggests, distributions and fixed updates.

    Returns:
        The study.

    Raises:
        ConfigError: A space, a suggest, the tuner or the monitor is invalid; every problem is
            reported at once and nothing is created.
    """
    from ivory.config.params import Params, to_plain

    registry = creator.registry
    params = creator.params
    section = params.get("study") or {}
    sources = getattr(creator, "sources", None) or creator._sources

    # Read the suggests: the file's, then those given here.
    found, issues = read_objective(section.get("objective"), sources, registry)
    keep, given, fixed, more = read_suggests(args, suggests, registry)
    issues += more
    loose = [name for name, s in given.items() if isinstance(s, SpaceSuggest) and not s.path]
    if keep is not None:
        if keep not in found and keep not in given:
            issues.append(_unknown_suggest(keep, [*found, *given]))
        issues = [issue for issue in issues if _belongs(issue.path, keep, found)]
        for name in loose:
            extra = given.pop(name)
            kept = found.get(keep)
            if isinstance(kept, SpaceSuggest) and isinstance(extra, SpaceSuggest):
                found[keep] = SpaceSuggest(
                    keep, kept.space.merged(extra.space), kept.path, kept.source
                )
            elif kept is not None and isinstance(extra, SpaceSuggest):
                issues.append(
                    ConfigIssue(
                        kept.path,
                        f"cannot add {', '.join(p.name for p in extra.space)} to the suggest "
                        f"{keep!r}: it is a function, not a space",
                        kept.source,
                    )
                )
    found.update(given)
    if keep is None and len(loose) == 1:
        keep = loose[0]  # Distributions given without a suggest name: tune just those.
    if keep is not None:
        found = {keep: found[keep]} if keep in found else {}

    # The monitor gives the direction and the metric to prune on.
    run_section = params.get("run") or {}
    monitor = run_section.get("monitor") if isinstance(run_section, Mapping) else None
    mode = monitor.get("mode", "min") if isinstance(monitor, Mapping) else None
    if mode not in ("min", "max"):
        issues.append(
            ConfigIssue(
                "run.monitor",
                "a study needs a monitor member with mode min or max: its best score is what "
                "each trial returns (monitor: {metric: val_loss, mode: min})",
                sources.find(("run", "monitor")),
                mode,
            )
        )
    tuner_instance, tuner_issues = _build_tuner(section.get("tuner"), tuner, creator, sources)
    issues += tuner_issues
    if issues:
        raise ConfigError(issues)

    # Check every suggest against the runs it would create.
    for suggest in found.values():
        issues += check_suggest(suggest, creator, fixed)
    if issues:
        raise ConfigError(issues)

    # The study: the parameters with the fixed updates, the suggests recorded as text.
    study_params, update = creator.create_params(fixed)
    recorded = to_plain(study_params.get("study") or {})
    recorded["objective"] = {name: _recorded(s) for name, s in found.items()}
    study_params["study"] = Params(recorded)
    study = Study(
        study_params,
        source_name=creator.source_name,
        objective=Objective(found),
        tuner=tuner_instance,
    )
    creator._derive(study)
    study.update = update
    study.experiment = _experiment_of(creator)
    study.fixed = dict(fixed)
    study.run_number = run_number
    assert isinstance(monitor, Mapping)
    study.direction = "minimize" if mode == "min" else "maximize"
    study.metric = str(monitor.get("metric", "val_loss"))
    return study


def _experiment_of(creator: Creator) -> Any:
    from ivory.core.base import Experiment

    if isinstance(creator, Experiment):
        return creator
    return getattr(creator, "experiment", None)


def _unknown_suggest(name: str, names: Iterable[str]) -> ConfigIssue:
    import difflib

    known = list(names)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]}?" if close else ""
    listed = f" (suggests: {', '.join(known)})" if known else " (the file declares none)"
    return ConfigIssue(
        format_path(("study", "objective", name)), f"no suggest {name!r}{listed}{hint}", "", name
    )


def _belongs(path: str, keep: str, found: Mapping[str, Suggest]) -> bool:
    """Whether an issue of the file's objective concerns the kept suggest (or no file suggest)."""
    prefix = "study.objective."
    if not path.startswith(prefix):
        return True
    for name in found:
        if name != keep and (path == prefix + name or path.startswith(f"{prefix}{name}.")):
            return False
    return True


def _recorded(suggest: Suggest) -> Any:
    """A suggest as the text it would be written as in a parameter file."""
    if isinstance(suggest, SpaceSuggest):
        return _recorded_space(suggest.space)
    from ivory.registry import qualified_name

    name = qualified_name(suggest.function)
    return {"def": name, **suggest.bound} if suggest.bound else name


def _recorded_space(space: Space) -> dict[str, Any]:
    recorded: dict[str, Any] = {}
    for parameter in space:
        if parameter.branches:
            recorded[parameter.name] = {
                choice: _recorded_space(branch) if branch else None
                for choice, branch in parameter.branches
            }
        else:
            recorded[parameter.name] = format_distribution(parameter.distribution)
    return recorded


def _build_tuner(
    node: Any, defaults: Mapping[str, Any] | None, creator: Creator, sources: Any
) -> tuple[Tuner | None, list[ConfigIssue]]:
    """Build the tuner of ``study.tuner`` over the client's defaults."""
    from ivory.config.check import check_members
    from ivory.config.form import constructor_key
    from ivory.core.build import build_members

    if node is not None and not isinstance(node, Mapping):
        return None, [
            ConfigIssue(
                "study.tuner",
                f"study.tuner is a mapping (storage, sampler, pruner, ...); got {node!r}",
                sources.find(("study", "tuner")),
                node,
            )
        ]
    merged: dict[str, Any] = {**dict(defaults or {}), **dict(node or {})}
    if constructor_key(merged) is None:
        merged = {"class": "ivory.tuning.tuner.Tuner", **merged}
    if "directory" not in merged and constructor_key(merged) == "class":
        directory = getattr(creator.tracker, "directory", None)
        if directory is not None and merged["class"] in ("ivory.tuning.tuner.Tuner", "tuner"):
            merged["directory"] = str(directory)
    checked, found = check_members({"tuner": merged}, creator.registry)
    if found:
        return None, [
            ConfigIssue(
                format_path(("study", *issue.path)),
                issue.message,
                sources.find(("study", *issue.path)),
            )
            for issue in found
        ]
    try:
        built = build_members(checked, creator.registry, prefix="study")["tuner"]
    except IvoryError as exc:
        return None, [ConfigIssue("study.tuner", str(exc), sources.find(("study", "tuner")))]
    if not isinstance(built, Tuner):
        return None, [
            ConfigIssue("study.tuner", f"the tuner must be an ivory.tuning.Tuner (got {built!r})")
        ]
    return built, []
