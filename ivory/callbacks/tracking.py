"""Tracking: the member that sends a run's metrics and end status to its tracker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivory.tracking import Tracker

__all__ = ["Tracking"]


class Tracking:
    """Logs the metrics of each epoch (with the monitor's best score and epoch) and ends the run.

    Args:
        tracker: Where to log.
        run_id: The tracked run.
    """

    def __init__(self, tracker: Tracker, run_id: str) -> None:
        self.tracker = tracker
        self.run_id = run_id
        self.ended = False

    def on_epoch_end(self, run: Any) -> None:
        """Log every current metric, plus ``best_score`` and ``best_epoch``, at step = epoch."""
        metrics = run.get("metrics")
        if metrics is None:
            return
        values = {name: float(value) for name, value in metrics.items()}
        monitor = run.get("monitor")
        if monitor is not None and monitor.best_epoch >= 0:
            values["best_score"] = float(monitor.best_score)
            values["best_epoch"] = float(monitor.best_epoch)
        self.tracker.log_metrics(self.run_id, values, step=int(metrics.epoch))

    def terminate(self, status: str, error: str | None = None) -> None:
        """End the tracked run with `status`, saving the error text of a failure as an artifact."""
        if error is not None:
            self.tracker.log_text(self.run_id, error, "error.txt")
        self.tracker.set_terminated(self.run_id, status)
        self.ended = True
