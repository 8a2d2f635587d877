"""A tiny experiment to tune: a driver whose loss is a known function of its parameters.

Tests copy this file into their working directory as ``toymodels.py``, where the client puts it
on ``sys.path`` and allows it, so that worker subprocesses (``ivory optimize``) can build it too.
"""

from __future__ import annotations

import time
from typing import Any


class SGD:
    """An optimizer stand-in with a momentum."""

    def __init__(self, lr: float = 0.1, momentum: float = 0.0) -> None:
        self.lr = lr
        self.momentum = momentum

    def penalty(self) -> float:
        return (self.momentum - 0.5) ** 2


class Adam:
    """An optimizer stand-in with betas."""

    def __init__(self, lr: float = 0.1, betas: list[float] | None = None) -> None:
        self.lr = lr
        self.betas = list(betas or [0.9, 0.999])

    def penalty(self) -> float:
        return abs(self.betas[0] - 0.8)


class Toy:
    """Trains for `epochs` epochs; the loss at epoch e is ``base * (1 + 1 / (e + 1))``.

    ``base = (x - 1)^2 + (y - 2)^2 + len(hidden_sizes) / 10 + optimizer penalty``: its minimum is
    known, and it shrinks each epoch, so that a pruner has something to compare.
    """

    def __init__(
        self,
        x: float = 0.0,
        y: int = 0,
        hidden_sizes: list[int] | None = None,
        betas: list[float] | None = None,
        seed: int = 0,
        epochs: int = 1,
        delay: float = 0.0,
        fail: bool = False,
    ) -> None:
        self.x = x
        self.y = y
        self.hidden_sizes = list(hidden_sizes or [8])
        self.betas = list(betas or [0.9, 0.999])
        self.seed = seed
        self.epochs = epochs
        self.delay = delay
        self.fail = fail
        self.epoch = -1

    def base(self, run: Any) -> float:
        optimizer = run.get("optimizer")
        penalty = optimizer.penalty() if optimizer is not None else 0.0
        return (self.x - 1) ** 2 + (self.y - 2) ** 2 + len(self.hidden_sizes) / 10 + penalty

    def start(self, run: Any) -> None:
        if run.mode != "train":
            return
        if self.fail:
            raise RuntimeError("the toy was asked to fail")
        run.on_fit_begin()
        try:
            for _ in range(self.epochs):
                self.epoch += 1
                run.on_epoch_begin()
                if self.delay:
                    time.sleep(self.delay)
                run.metrics["loss"] = self.base(run) * (1 + 1 / (self.epoch + 1))
                run.on_epoch_end()
                if run.stop_request is not None:
                    break
        finally:
            run.on_fit_end()
        request = run.stop_request
        if request is not None and request.error is not None:
            raise request.error

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])


def suggest_sizes(trial: Any, max_layers: int = 2, low: int = 4, high: int = 64) -> dict[str, Any]:
    """Suggest a list of layer sizes: a helper count, then one colon name per layer."""
    layers = trial.suggest_int("layers", 1, max_layers)
    return {
        f"hidden_sizes:{i}": trial.suggest_int(f"size{i}", low, high, log=True)
        for i in range(layers)
    }


def suggest_unknown(trial: Any) -> None:
    """Suggest a name no run parameter has."""
    trial.suggest_float("no_such_parameter", 0.0, 1.0)
