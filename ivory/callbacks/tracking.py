"""Tracking: the member that sends a run's metrics, states and end status to its tracker.

Each epoch's metrics are logged as soon as the epoch ends (with the monitor's ``best_score`` and
``best_epoch``, at step = epoch), so a run that fails or is interrupted keeps them. Member states
are saved under ``current/`` and ``best/`` at most once per `interval` seconds during training
and always when training ends, and under ``test/`` after testing.

After each epoch the member also checks whether the run was marked KILLED (``ivory kill``) and
if so asks it to stop after that epoch. On a SQL store the check is one indexed query; on other
stores (a tracking server) it is paced like the saves, at most once per `interval`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivory.tracking import Tracker

__all__ = ["Tracking"]

logger = logging.getLogger(__name__)

ERROR_ARTIFACT = "error.txt"


class Tracking:
    """Logs a run's metrics and states, and ends the tracked run.

    Args:
        tracker: Where to log.
        run_id: The tracked run.
        section: The run's section in the parameters (``run``, ``task``, ``study``).
        params: The parameters logged when the run was created.
        interval: At most how often (seconds) states are saved and the status is checked while
            training; by default the tracker's setting.
    """

    __ivory_restore__ = False

    def __init__(
        self,
        tracker: Tracker,
        run_id: str,
        section: str = "run",
        params: Mapping[str, Any] | None = None,
        interval: float | None = None,
    ) -> None:
        self.tracker = tracker
        self.run_id = run_id
        self.section = section
        self.params = _snapshot(params)
        self.interval = tracker.interval if interval is None else interval
        self.ended = False
        self._synced = -math.inf
        self._best_pending = False
        self._warned: set[str] = set()

    def begin(self, run: Any) -> None:
        """Before a start: check the parameters are the logged ones, and mark the run RUNNING.

        Raises:
            TrackingError: A parameter changed since it was logged (nothing has run yet).
        """
        if self.params is not None and _snapshot(run.params.get(self.section)) != self.params:
            # Let the tracker say which values changed; same values are logged harmlessly.
            self.tracker.log_params(self.run_id, run.params[self.section], prefix=self.section)
            self.params = _snapshot(run.params[self.section])
        if self.ended:
            self.tracker.set_running(self.run_id)
            self.ended = False

    def on_fit_begin(self, run: Any) -> None:
        """Start the clock of the save and status-check interval."""
        self._synced = time.monotonic()
        self._best_pending = False

    def on_epoch_end(self, run: Any) -> None:
        """Log every metric (plus best score and epoch) at step = epoch; save states when due."""
        metrics = run.get("metrics")
        monitor = run.get("monitor")
        if monitor is not None and getattr(monitor, "is_best", False):
            self._best_pending = True
        if metrics is not None:
            values = {name: float(value) for name, value in metrics.items()}
            if monitor is not None and monitor.best_epoch >= 0:
                values["best_score"] = float(monitor.best_score)
                values["best_epoch"] = float(monitor.best_epoch)
            if values:
                self.tracker.log_metrics(self.run_id, values, step=int(metrics.epoch))
        due = time.monotonic() - self._synced >= self.interval
        if due:
            self.sync(run)
        if (due or self.tracker.status_is_cheap) and self.tracker.get_status(
            self.run_id
        ) == "KILLED":
            run.request_stop("killed", status="KILLED")

    def sync(self, run: Any) -> None:
        """Save the current states (and the best, if a new best is not saved yet)."""
        self.save(run, "current")
        if self._best_pending:
            best = getattr(run.get("monitor"), "best_state", None)
            if best:
                self._save_states(run, best, "best")
            self._best_pending = False
        self._synced = time.monotonic()

    def on_fit_end(self, run: Any) -> None:
        """Save the states of the end of training (and the best ones)."""
        self.sync(run)

    def on_test_end(self, run: Any) -> None:
        """Save the states after testing, and log the test metrics (``test_<name>``)."""
        metrics = run.get("metrics")
        test_values = getattr(metrics, "test_values", None)
        if test_values:
            values = {f"test_{name}": float(value) for name, value in test_values.items()}
            self.tracker.log_metrics(self.run_id, values, step=max(int(metrics.epoch), 0))
        self.save(run, "test")

    def load_best(self) -> dict[str, Any] | None:
        """The member states saved under ``best/``, or None when there are none."""
        if "best" not in self.tracker.state_folders(self.run_id):
            return None
        return self.tracker.load_states(self.run_id, "best")

    def save(self, run: Any, folder: str) -> None:
        """Save every member state of the run under `folder`."""
        self._save_states(run, run.state_dict(), folder)

    def _save_states(self, run: Any, states: Mapping[str, Any], folder: str) -> None:
        allow = {name: bool(getattr(run.get(name), "allow_pickle", False)) for name in states}
        skipped = self.tracker.save_states(self.run_id, states, folder, allow)
        for name, reason in skipped.items():
            if name not in self._warned:
                self._warned.add(name)
                logger.warning("%s: state not saved: %s", run.name or "run", reason)

    def terminate(self, status: str, error: str | None = None, stopped: str | None = None) -> None:
        """End the tracked run with `status`, saving the error text of a failure as an artifact.

        Args:
            status: FINISHED, FAILED or KILLED.
            error: The traceback of a failure, saved as ``error.txt``.
            stopped: Why training stopped early, tagged as ``ivory.stopped``.
        """
        if error is not None:
            self.tracker.log_text(self.run_id, error, ERROR_ARTIFACT)
        if stopped is not None:
            self.tracker.set_tags(self.run_id, {"ivory.stopped": stopped})
        self.tracker.set_terminated(self.run_id, status)
        self.ended = True


def _snapshot(params: Any) -> Any:
    if params is None:
        return None
    from ivory.config.dump import to_serializable

    return to_serializable(params)
