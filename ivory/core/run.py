"""Runs: the members of one training or test job, started together.

A `Run` is a `CallbackCaller`: when started, each member takes part in an event by having a
method of that name taking the run. The member that drives the work (a trainer or an estimator)
has a ``start(run)`` method and fires the events.

A member that wants training to end (early stopping, pruning, a kill seen by the tracking
member) calls `Run.request_stop`; the driver finishes the current epoch, so every member sees
that epoch's ``on_epoch_end`` and its metrics are tracked, and then stops.
"""

from __future__ import annotations

import copy
import logging
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ivory.config.params import Params
from ivory.core.base import CallbackCaller, Creator, Experiment, P
from ivory.errors import ConfigError, ConfigIssue, IvoryError

if TYPE_CHECKING:
    from ivory.config.loader import SourceMap
    from ivory.tracking import Tracker

__all__ = ["Run", "StopRequest", "create_run", "rebuild_run", "restorable"]

logger = logging.getLogger(__name__)

Mode = Literal["train", "test", "both"]
_MODES = ("train", "test", "both")


@dataclass
class StopRequest:
    """A member's request that training stop after the current epoch.

    Attributes:
        reason: Why, in a few words (``"early stopping"``, ``"killed"``, ``"pruned"``).
        status: How the run ends: FINISHED (and it goes on to test in mode ``both``), or
            KILLED (nothing more runs).
        error: An exception the driver raises once training has ended (Optuna's
            ``TrialPruned``), so that whoever started the run learns why it stopped.
    """

    reason: str
    status: str = "FINISHED"
    error: BaseException | None = None


def restorable(member: Any) -> bool:
    """Whether `start("both")` gives `member` its state of the best epoch.

    Members that count or record training (the trainer's epoch, the metrics history, the monitor,
    early stopping) say no with ``__ivory_restore__ = False``: their state goes on from where
    training ended.
    """
    return bool(getattr(member, "__ivory_restore__", True))


class Run(CallbackCaller[P]):
    """One job: members built from parameters, started in a mode.

    Attributes:
        mode: ``"train"`` or ``"test"`` while started, else ``""``.
        update: The overrides this run was created with, by the names the caller gave.
        experiment: The experiment this run belongs to, when created from one.
        parent_id: The id of the parent run (a task or a study), or ``""``.
        stop_request: Set when a member asked training to stop (see `request_stop`).
        status: How the run ended (``FINISHED``, ``FAILED``, ``KILLED``), ``""`` before.
        error: ``"Type: message"`` of the exception that failed the run, else ``""``.
    """

    kind = "run"

    def __init__(self, params: Any = None, **instances: Any) -> None:
        super().__init__(params, **instances)
        self.mode = ""
        self.update: dict[str, Any] = {}
        self.experiment: Experiment | None = None
        self.parent_id = ""
        self.stop_request: StopRequest | None = None
        self.status = ""  # Set by terminate(); a Task reads it to record each nested run.
        self.error = ""

    def start(self, mode: Mode = "train") -> None:
        """Start the run: ``train``, ``test``, or ``both`` (train, restore the best state, test).

        Calling `start` again continues: the epoch count goes on from where it ended. A run that
        raises ends FAILED with the error text saved, one interrupted (Ctrl-C) or killed ends
        KILLED, otherwise FINISHED; what was tracked before stays.

        Raises:
            IvoryError: `mode` is not one of the three, or no member drives the run.
            TrackingError: The run's parameters changed since they were logged.
        """
        if mode not in _MODES:
            raise IvoryError(f"mode must be one of {', '.join(_MODES)} (got {mode!r})")
        tracking = self.get("tracking")
        if tracking is not None:
            tracking.begin(self)
        self.stop_request = None
        try:
            if mode in ("train", "both"):
                self._start("train")
            if self._goes_on() and mode == "both":
                self.restore_best()
            if self._goes_on() and mode in ("test", "both"):
                self._start("test")
        except KeyboardInterrupt:
            self.terminate("KILLED")
            raise
        except BaseException as exc:
            request = self.stop_request
            if request is not None and exc is request.error:
                self.terminate(request.status)
            else:
                self.terminate("FAILED", error=exc)
            raise
        finally:
            self.mode = ""
        self.terminate(self.stop_request.status if self.stop_request else "FINISHED")

    def _goes_on(self) -> bool:
        return self.stop_request is None or self.stop_request.status == "FINISHED"

    def _start(self, mode: str) -> None:
        self.mode = mode
        self.create_callbacks()
        self.on_init_begin()
        self.on_init_end()
        drivers = [
            member
            for name, member in self.items()
            if name != "tracking" and callable(getattr(member, "start", None))
        ]
        if not drivers:
            raise IvoryError(
                f"{self.name or 'the run'} has no member that drives it (a trainer or an estimator)"
            )
        for driver in drivers:
            driver.start(self)

    def request_stop(
        self, reason: str, status: str = "FINISHED", error: BaseException | None = None
    ) -> None:
        """Ask the driver to stop training once the current epoch has ended.

        The first request wins; later ones in the same epoch are ignored.

        Args:
            reason: Why, in a few words; recorded as the tag ``ivory.stopped``.
            status: FINISHED to go on as after a full training (testing in mode ``both``),
                KILLED to end the run.
            error: An exception to raise once training has ended.
        """
        if self.stop_request is None:
            self.stop_request = StopRequest(reason, status, error)
            logger.info("%s: stopping: %s", self.name or "run", reason)

    def restore_best(self) -> None:
        """Give each member its state of the best epoch, when one was kept.

        The monitor keeps it in memory while training; a run loaded from the store reads the
        states saved under ``best/``. Members that count or record training keep their state
        (see `restorable`).
        """
        best = getattr(self.get("monitor"), "best_state", None)
        tracking = self.get("tracking")
        if not best and tracking is not None:
            best = tracking.load_best()
        if best:
            self.load_state_dict(
                {name: state for name, state in best.items() if restorable(self.get(name))}
            )
            # Members that keep their state may still show the best epoch (the metrics' values).
            epoch = getattr(self.get("monitor"), "best_epoch", -1)
            for member in self.values():
                if callable(getattr(member, "show_epoch", None)):
                    member.show_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        """The state of every member that has one, by member name."""
        return {
            name: member.state_dict()
            for name, member in self.items()
            if callable(getattr(member, "state_dict", None))
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Give each member its part of `state` (copied, so the given state stays as it is)."""
        for name, part in state.items():
            member = self.get(name)
            if member is not None and callable(getattr(member, "load_state_dict", None)):
                member.load_state_dict(copy.deepcopy(part))

    def terminate(self, status: str = "FINISHED", error: BaseException | None = None) -> None:
        """End the tracked run with `status`, recording the error text of a failure.

        When the run ends because of an error, a failure to record that end is logged rather
        than raised, so that the original error is the one the caller sees.
        """
        self.status = status
        self.error = f"{type(error).__name__}: {error}" if error is not None else ""
        tracking = self.get("tracking")
        if tracking is None:
            return
        text = "".join(traceback.format_exception(error)) if error is not None else None
        reason = self.stop_request.reason if self.stop_request else None
        if status == "FINISHED":
            tracking.terminate(status, error=text, stopped=reason)
            return
        # Ending because of an error: a failure to record the end must not hide that error.
        try:
            tracking.terminate(status, error=text, stopped=reason)
        except Exception:
            logger.exception("%s: could not record the end of the run as %s", self.name, status)


def _kinds() -> dict[str, type[Run]]:
    from ivory.core.study import Study
    from ivory.core.task import Task

    return {"run": Run, "task": Task, "study": Study}


def _run_class(name: str) -> type[Run]:
    kinds = _kinds()
    cls = kinds.get(name)
    if cls is None:
        raise IvoryError(f"unknown run kind {name!r}; expected one of {', '.join(kinds)}")
    return cls


def create_run(
    creator: Creator,
    params: Params,
    update: dict[str, Any],
    name: str,
    tags: Mapping[str, str] | None = None,
) -> Run:
    """Build a run of kind `name` from validated parameters, tracked when the creator tracks.

    `tags` are set on the tracked run when it is created (a study's trial number, say).
    """
    from ivory.core.build import build_members

    cls = _run_class(name)

    # A parameter that cannot be tracked stops before anything is built or exists in the store.
    tracker: Tracker | None = creator.tracker
    if tracker is not None:
        _check_keys(tracker, params[name], name, creator._sources)

    # Build the members; nothing is tracked if this fails.
    members = build_members(params[name], creator.registry, prefix=name) if name == "run" else {}
    run = cls(params, source_name=creator.source_name, **members)
    creator._derive(run)
    run.update = update
    experiment = (
        creator if isinstance(creator, Experiment) else getattr(creator, "experiment", None)
    )
    run.experiment = experiment
    if isinstance(creator, Run) and creator.id:
        run.parent_id = creator.id

    # Track it: an MLflow run with its parameters, and a tracking member that logs the rest.
    if tracker is not None and experiment is not None:
        from ivory.callbacks.tracking import Tracking

        experiment_id = experiment.ensure_tracked()
        params["experiment"]["id"] = experiment_id
        run.name, run.id = tracker.create_run(
            experiment_id,
            kind=name,
            params=params,
            section=name,
            update=update,
            source_name=creator.source_name,
            parent_id=run.parent_id or None,
            tags=tags,
        )
        run["tracking"] = Tracking(tracker, run.id, section=name, params=params[name])
    logger.info("created %s of %s", run.name or name, run.experiment_name)
    return run


def _check_keys(tracker: Tracker, section: Any, name: str, sources: SourceMap) -> None:
    """Refuse parameters that the tracker cannot track, each at its line in the file.

    Raises:
        ConfigError: With every such parameter (colliding or overlong keys).
    """
    from ivory.config.paths import format_path

    issues = [
        ConfigIssue(format_path((name, *path)), message, sources.find((name, *path)))
        for path, message in tracker.param_problems(section, prefix=name)
    ]
    if issues:
        raise ConfigError(issues)


def rebuild_run(
    params: dict[str, Any],
    kind: str,
    registry: Any,
    *,
    only: str | None = None,
    source_name: str = "",
) -> Run:
    """Build the members of a saved run again from its parameters (nothing is tracked).

    Args:
        params: The run's full parameters, as saved in ``params.yaml``.
        kind: ``run``, ``task`` or ``study``.
        registry: Resolves constructor names; its allowlist guards import paths.
        only: Build only this member and the members it needs.
        source_name: The parameter file the run came from.
    """
    from ivory.core.build import build_members

    cls = _run_class(kind)
    members = build_members(params[kind], registry, only=only, prefix=kind) if kind == "run" else {}
    run = cls(Params(params), source_name=source_name, **members)
    run._registry = registry
    return run
