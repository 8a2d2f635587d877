"""EarlyStopping: ends training when the monitored metric stops improving."""

from __future__ import annotations

import logging
from typing import Any

from ivory.errors import BuildError

__all__ = ["EarlyStopping"]

logger = logging.getLogger(__name__)


class EarlyStopping:
    """Stops training after `patience` epochs without a new best of the ``monitor`` member.

    The stop comes after the epoch has ended for every member, so that epoch's metrics and
    states are tracked like the others. A later ``run.start`` starts counting again from zero.

    Args:
        patience: How many epochs without improvement to allow.

    Attributes:
        wait: Epochs since the last improvement.
        stopped_epoch: The epoch training stopped at, or -1.
    """

    __ivory_restore__ = False

    def __init__(self, patience: int = 5) -> None:
        if patience < 1:
            raise ValueError(f"patience must be 1 or more (got {patience})")
        self.patience = patience
        self.wait = 0
        self.stopped_epoch = -1

    def on_fit_begin(self, run: Any) -> None:
        """Check a monitor comes before this member, and start counting afresh."""
        names = run.keys()
        monitor = run.get("monitor")
        if monitor is None:
            raise BuildError("early_stopping: needs a 'monitor' member to know what improves")
        own = next((name for name, member in run.items() if member is self), None)
        if own is not None and names.index("monitor") > names.index(own):
            raise BuildError(
                f"{own}: must come after 'monitor' in the parameter file, so that it sees the "
                "epoch's score"
            )
        self.wait = 0

    def on_epoch_end(self, run: Any) -> None:
        """Count an epoch without improvement, and ask to stop once patience runs out."""
        monitor = run.monitor
        if monitor.is_best:
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = int(monitor.epoch)
            run.request_stop(
                f"early stopping at epoch {self.stopped_epoch}: no better {monitor.metric} "
                f"than {monitor.best_score:.4g} (epoch {monitor.best_epoch}) for "
                f"{self.patience} epochs"
            )

    def state_dict(self) -> dict[str, Any]:
        """The wait count and the stopping epoch."""
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved state."""
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])

    def __repr__(self) -> str:
        return f"EarlyStopping(patience={self.patience}, wait={self.wait})"
