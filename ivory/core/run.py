"""Runs: the members of one training or test job, started together.

A `Run` is a `CallbackCaller`: when started, each member takes part in an event by having a
method of that name taking the run. The member that drives the work (a trainer or an estimator)
has a ``start(run)`` method and fires the events.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any, Literal

from ivory.config.params import Params
from ivory.core.base import CallbackCaller, Creator, Experiment
from ivory.errors import IvoryError

if TYPE_CHECKING:
    from ivory.tracking import Tracker

__all__ = ["Run", "create_run"]

logger = logging.getLogger(__name__)

Mode = Literal["train", "test", "both"]
_MODES = ("train", "test", "both")


class Run(CallbackCaller):
    """One job: members built from parameters, started in a mode.

    Attributes:
        mode: ``"train"`` or ``"test"`` while started, else ``""``.
        status: How the run ended (``FINISHED``, ``FAILED``, ``KILLED``), ``""`` before.
        error: ``"Type: message"`` of the exception that failed the run, else ``""``.
        update: The overrides this run was created with, by the names the caller gave.
        experiment: The experiment this run belongs to, when created from one.
    """

    kind = "run"

    def __init__(self, params: Any = None, **instances: Any) -> None:
        super().__init__(params, **instances)
        self.mode = ""
        self.update: dict[str, Any] = {}
        self.experiment: Experiment | None = None
        self.parent_id = ""
        self.status = ""
        self.error = ""

    def start(self, mode: Mode = "train") -> None:
        """Start the run: ``train``, ``test``, or ``both`` (train, restore the best state, test).

        A run that raises ends FAILED, one interrupted ends KILLED, otherwise FINISHED; what was
        tracked before stays.

        Raises:
            IvoryError: `mode` is not one of the three, or no member drives the run.
        """
        if mode not in _MODES:
            raise IvoryError(f"mode must be one of {', '.join(_MODES)} (got {mode!r})")
        try:
            if mode in ("train", "both"):
                self._start("train")
            if mode == "both":
                self.restore_best()
            if mode in ("test", "both"):
                self._start("test")
        except KeyboardInterrupt:
            self.terminate("KILLED")
            raise
        except BaseException as exc:
            self.terminate("FAILED", error=exc)
            raise
        finally:
            self.mode = ""
        self.terminate("FINISHED")

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

    def restore_best(self) -> None:
        """Load the best state recorded during training, when a member kept one."""
        best = getattr(self.get("monitor"), "best_state", None)
        if best:
            self.load_state_dict(best)

    def state_dict(self) -> dict[str, Any]:
        """The state of every member that has one, by member name."""
        return {
            name: member.state_dict()
            for name, member in self.items()
            if callable(getattr(member, "state_dict", None))
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Give each member its part of `state`."""
        for name, part in state.items():
            member = self.get(name)
            if member is not None and callable(getattr(member, "load_state_dict", None)):
                member.load_state_dict(part)

    def terminate(self, status: str = "FINISHED", error: BaseException | None = None) -> None:
        """End the tracked run with `status`, recording the error text of a failure."""
        self.status = status
        self.error = f"{type(error).__name__}: {error}" if error is not None else ""
        tracking = self.get("tracking")
        if tracking is None:
            return
        text = "".join(traceback.format_exception(error)) if error is not None else None
        tracking.terminate(status, error=text)


def _kinds() -> dict[str, type[Run]]:
    from ivory.core.study import Study
    from ivory.core.task import Task

    return {"run": Run, "task": Task, "study": Study}


def create_run(creator: Creator, params: Params, update: dict[str, Any], name: str) -> Run:
    """Build a run of kind `name` from validated parameters, tracked when the creator tracks."""
    from ivory.core.build import build_members

    kinds = _kinds()
    cls = kinds.get(name)
    if cls is None:
        raise IvoryError(f"unknown run kind {name!r}; expected one of {', '.join(kinds)}")

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
    tracker: Tracker | None = creator.tracker
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
        )
        run["tracking"] = Tracking(tracker, run.id)
    logger.info("created %s of %s", run.name or name, run.experiment_name)
    return run
