"""Monitor: watches one metric and remembers its best value and epoch."""

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
        best_state: The run's state at the best epoch (kept in memory for ``start("both")``).
    """

    def __init__(self, metric: str = "val_loss", mode: Literal["min", "max"] = "min") -> None:
        self.metric = metric
        self.mode = mode
        self.best_score = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.is_best = False
        self.score = math.nan
        self.best_state: dict[str, Any] | None = None

    def on_epoch_end(self, run: Any) -> None:
        """Read the metric and record whether this epoch is the best so far."""
        from ivory.errors import IvoryError

        metrics = run.get("metrics")
        if metrics is None or self.metric not in metrics:
            available = ", ".join(metrics) if metrics is not None else "none"
            raise IvoryError(f"monitor.metric: no metric {self.metric!r} (available: {available})")
        self.score = float(metrics[self.metric])
        better = (
            self.score < self.best_score if self.mode == "min" else self.score > self.best_score
        )
        self.is_best = better
        if better:
            self.best_score = self.score
            self.best_epoch = int(metrics.epoch)
            self.best_state = copy.deepcopy(
                {name: state for name, state in run.state_dict().items() if name != "monitor"}
            )

    def state_dict(self) -> dict[str, Any]:
        """The best score and epoch."""
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "score": self.score}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved state."""
        self.best_score = float(state["best_score"])
        self.best_epoch = int(state["best_epoch"])
        self.score = float(state["score"])

    def __repr__(self) -> str:
        return (
            f"Monitor(metric={self.metric!r}, mode={self.mode!r}, "
            f"best_score={self.best_score:.4g}, best_epoch={self.best_epoch})"
        )
