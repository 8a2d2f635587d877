"""Metrics: named functions of the validation targets and outputs, computed each epoch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["KNOWN_METRICS", "Metrics"]

KNOWN_METRICS = {
    "mse": "sklearn.metrics.mean_squared_error",
    "rmse": "sklearn.metrics.root_mean_squared_error",
    "mae": "sklearn.metrics.mean_absolute_error",
    "r2": "sklearn.metrics.r2_score",
    "accuracy": "sklearn.metrics.accuracy_score",
    "log_loss": "sklearn.metrics.log_loss",
    "f1": "sklearn.metrics.f1_score",
}
"""Metric names that need no function: an empty value (``mse:``) takes the one listed here."""

MetricFunction = Callable[[Any, Any], float]


class Metrics:
    """Computes each metric ``fn(target, output)`` on the validation results at epoch end.

    Args:
        **metrics: Metric name to function: empty for a known metric (`KNOWN_METRICS`), a
            registered name or an allowed import path, or a callable.

    Attributes:
        epoch: The epoch of the latest values.
        values: The latest value of each metric (and of values other members add, e.g. loss).
        history: Every value by metric and epoch.
    """

    def __init__(self, **metrics: str | MetricFunction | None) -> None:
        self.functions: dict[str, MetricFunction] = {
            name: _function(name, spec) for name, spec in metrics.items()
        }
        self.epoch = -1
        self.values: dict[str, float] = {}
        self.history: dict[str, dict[int, float]] = {}

    @classmethod
    def __ivory_schema__(cls, kwargs: Mapping[str, Any]) -> Any:
        """Each key is a metric whose value is empty, a name or a callable."""
        return None

    def on_epoch_begin(self, run: Any) -> None:
        """Start a new epoch's values."""
        trainer = run.get("trainer") or run.get("estimator")
        self.epoch = int(getattr(trainer, "epoch", self.epoch + 1))
        self.values = {}

    def on_epoch_end(self, run: Any) -> None:
        """Compute every metric on the validation results and record it in the history."""
        results = run.get("results")
        if results is not None and "val" in results:
            val = results["val"]
            target, output = _flat(val["target"]), _flat(val["output"])
            for name, function in self.functions.items():
                self.values[name] = float(function(target, output))
        for name, value in self.values.items():
            self.history.setdefault(name, {})[self.epoch] = value

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Any:
        return iter(self.values)

    def items(self) -> Any:
        """``(name, value)`` pairs of the latest values."""
        return self.values.items()

    def state_dict(self) -> dict[str, Any]:
        """The epoch, latest values and history."""
        return {"epoch": self.epoch, "values": dict(self.values), "history": self.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved state."""
        self.epoch = int(state["epoch"])
        self.values = dict(state["values"])
        self.history = {k: {int(e): v for e, v in h.items()} for k, h in state["history"].items()}

    def __str__(self) -> str:
        return " ".join(f"{name}={value:.4g}" for name, value in self.values.items())

    def __repr__(self) -> str:
        return f"Metrics({', '.join(f'{k}={v:.4g}' for k, v in self.values.items())})"


def _function(name: str, spec: str | MetricFunction | None) -> MetricFunction:
    from ivory.errors import RegistryError
    from ivory.registry import registry

    if callable(spec):
        return spec
    if spec is None:
        if name not in KNOWN_METRICS:
            raise RegistryError(
                f"metrics.{name}: no known metric is called {name!r}; give its function "
                f"(known: {', '.join(KNOWN_METRICS)})"
            )
        spec = KNOWN_METRICS[name]
    function = registry.get(spec)
    if not callable(function):
        raise RegistryError(f"metrics.{name}: {spec!r} is not callable")
    return function  # type: ignore[no-any-return]


def _flat(array: Any) -> Any:
    array = np.asarray(array)
    return (
        array.reshape(len(array), -1).squeeze(-1)
        if array.ndim > 1 and array.shape[-1] == 1
        else array
    )
