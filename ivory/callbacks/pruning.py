"""Pruning: reports the monitored score to an Optuna trial each epoch, and stops when told.

The tuning side attaches a trial (``run.pruning.trial = trial``, or builds the member with it).
At each epoch's end the member reports the monitor's latest score at step = epoch; when the
trial's pruner says so, it asks the run to stop after that epoch, and the driver then raises
Optuna's ``TrialPruned`` so that the trial is recorded as pruned. The run itself ends FINISHED,
tagged ``ivory.stopped: pruned at epoch N``. Without a trial the member does nothing, so a
parameter file may declare it for runs that are sometimes tuned. Optuna is imported only when a
trial must be pruned.
"""

from __future__ import annotations

import logging
import math
from typing import Any

__all__ = ["Pruning"]

logger = logging.getLogger(__name__)


class Pruning:
    """Connects a run to an Optuna trial for pruning.

    Args:
        trial: The trial (an ``optuna.trial.Trial``), or None for no pruning.
        metric: The metric to report; by default the monitor's.

    Attributes:
        pruned_epoch: The epoch the trial was pruned at, or -1.
    """

    __ivory_restore__ = False

    def __init__(self, trial: Any = None, metric: str | None = None) -> None:
        self.trial = trial
        self.metric = metric
        self.pruned_epoch = -1

    def on_epoch_end(self, run: Any) -> None:
        """Report this epoch's score, and ask the run to stop when the trial should be pruned."""
        if self.trial is None:
            return
        epoch, score = self._score(run)
        if score is None or math.isnan(score):
            return
        self.trial.report(score, step=epoch)
        if self.trial.should_prune():
            import optuna

            self.pruned_epoch = epoch
            message = f"Trial was pruned at epoch {epoch}."
            run.request_stop(f"pruned at epoch {epoch}", error=optuna.TrialPruned(message))

    def _score(self, run: Any) -> tuple[int, float | None]:
        monitor = run.get("monitor")
        metrics = run.get("metrics")
        name = self.metric or getattr(monitor, "metric", None)
        if metrics is not None and name is not None and name in metrics:
            return int(metrics.epoch), float(metrics[name])
        if monitor is not None:
            return int(monitor.epoch), float(monitor.score)
        return -1, None

    def __repr__(self) -> str:
        return f"Pruning(trial={self.trial!r}, metric={self.metric!r})"
