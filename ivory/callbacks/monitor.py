"""Monitor: watches one metric and remembers its best value, epoch and states."""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

__all__ = ["Monitor"]


class Monitor:
    """Tracks the best value of `metric` (lowest for ``min``, highest for ``max``).

    Args:
        metric: The metric to watch, as named in the metrics member.
        mode: ``min`` or ``max``.

    Attributes:
        best_score: The best value so far.
        best_epoch: The epoch of the best value (-1 before any).
        is_best: Whether the latest epoch set a new best.
        score: The latest value.
        epoch: The epoch of the latest value (-1 before any).
        best_state: Every member's state at the best epoch, kept in memory so that
            ``start("both")`` can test the best model with or without a tracker.
    """

    __ivory_restore__ = False

    def __init__(self, metric: str = "val_loss", mode: Literal["min", "max"] = "min") -> None:
        self.metric = metric
        self.mode = mode
        self.best_score = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.is_best = False
        self.score = math.nan
        self.epoch = -1
        self.best_state: dict[str, Any] | None = None

    @property
    def direction(self) -> str:
        """``minimize`` or ``maximize`` (what Optuna calls the mode)."""
        return "minimize" if self.mode == "min" else "maximize"

    def on_epoch_end(self, run: Any) -> None:
        """Read the metric and record whether this epoch is the best so far."""
        from ivory.errors import IvoryError

        metrics = run.get("metrics")
        if metrics is None or self.metric not in metrics:
            available = ", ".join(metrics) if metrics is not None else "none"
            raise IvoryError(f"monitor.metric: no metric {self.metric!r} (available: {available})")
        self.score = float(metrics[self.metric])
        self.epoch = int(metrics.epoch)
        better = (
            self.score < self.best_score if self.mode == "min" else self.score > self.best_score
        )
        self.is_best = better
        if better:
            self.best_score = self.score
            self.best_epoch = self.epoch
            self.best_state = copy.deepcopy(run.state_dict())

    def state_dict(self) -> dict[str, Any]:
        """The best score and epoch, and the latest score and epoch."""
        return {
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "score": self.score,
            "epoch": self.epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved state."""
        self.best_score = float(state["best_score"])
        self.best_epoch = int(state["best_epoch"])
        self.score = float(state["score"])
        self.epoch = int(state.get("epoch", self.best_epoch))

    def __repr__(self) -> str:
        return (
            f"Monitor(metric={self.metric!r}, mode={self.mode!r}, "
            f"best_score={self.best_score:.4g}, best_epoch={self.best_epoch})"
        )
