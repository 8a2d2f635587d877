"""Metrics: named functions of the validation targets and outputs, computed each epoch."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import numpy as np

__all__ = ["KNOWN_METRICS", "LABEL_METRICS", "Metrics"]

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

LABEL_METRICS = frozenset(
    {
        "accuracy_score",
        "balanced_accuracy_score",
        "cohen_kappa_score",
        "f1_score",
        "hamming_loss",
        "matthews_corrcoef",
        "precision_score",
        "recall_score",
        "zero_one_loss",
    }
)
"""Functions (by name) that compare class labels: given scores per class (one column per class),
they receive the class of the highest score instead."""

MetricFunction = Callable[[Any, Any], float]


class Metrics:
    """Computes each metric ``fn(target, output)`` on the validation results at epoch end.

    Args:
        **metrics: Metric name to function: empty for a known metric (`KNOWN_METRICS`), a
            registered name or an allowed import path, or a callable.

    A driver adds values of its own with ``metrics["loss"] = value`` (the core `Trainer` adds
    ``loss`` and ``val_loss``). Class scores (one column per class) are turned into labels for
    the functions in `LABEL_METRICS`.

    Attributes:
        epoch: The epoch of the latest values.
        values: The latest value of each metric (and of values other members add, e.g. loss).
        history: Every value by metric and epoch.
        test_values: The metrics computed on the test results after testing.
    """

    __ivory_restore__ = False

    def __init__(self, **metrics: str | MetricFunction | None) -> None:
        self.functions: dict[str, MetricFunction] = {
            name: _function(name, spec) for name, spec in metrics.items()
        }
        self.epoch = -1
        self.values: dict[str, float] = {}
        self.history: dict[str, dict[int, float]] = {}
        self.test_values: dict[str, float] = {}

    @classmethod
    def __ivory_schema__(cls, kwargs: Mapping[str, Any]) -> Any:
        """One field per metric: empty for a known metric, a function's name, or a callable.

        A name is resolved when the parameters are validated (`CallableName`), so a typo is
        reported at its metric before anything is built.
        """
        return _schema(tuple(str(name) for name in kwargs))

    def on_epoch_begin(self, run: Any) -> None:
        """Start a new epoch's values."""
        trainer = run.get("trainer") or run.get("estimator")
        self.epoch = int(getattr(trainer, "epoch", self.epoch + 1))
        self.values = {}

    def on_epoch_end(self, run: Any) -> None:
        """Compute every metric on the validation results and record it in the history."""
        results = run.get("results")
        if results is not None and "val" in results:
            self.values.update(self.compute(results["val"]))
        for name, value in self.values.items():
            self.history.setdefault(name, {})[self.epoch] = value

    def on_test_begin(self, run: Any) -> None:
        """Forget the test values of an earlier test."""
        self.test_values = {}

    def on_test_end(self, run: Any) -> None:
        """Compute every metric on the test results, when they have targets."""
        results = run.get("results")
        if results is None or "test" not in results:
            return
        target = np.asarray(results["test"]["target"])
        if target.dtype.kind == "f" and np.isnan(target).all():
            return
        self.test_values = self.compute(results["test"])

    def compute(self, arrays: Mapping[str, Any]) -> dict[str, float]:
        """Every metric function applied to ``arrays["target"]`` and ``arrays["output"]``."""
        target, output = _flat(arrays["target"]), _flat(arrays["output"])
        labels = None
        values = {}
        for name, function in self.functions.items():
            given = output
            if getattr(function, "__name__", "") in LABEL_METRICS and _is_scores(output, target):
                labels = np.argmax(output, axis=1) if labels is None else labels
                given = labels
            values[name] = float(function(target, given))
        return values

    def show_epoch(self, epoch: int) -> None:
        """Make the values of `epoch` the latest ones (after the best state is restored).

        The history stays whole, so training can go on from where it ended.
        """
        values = {
            name: history[epoch] for name, history in self.history.items() if epoch in history
        }
        if values:
            self.values = values

    def __setitem__(self, name: str, value: float) -> None:
        self.values[name] = float(value)

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
        """The epoch, latest values, history and test values."""
        return {
            "epoch": self.epoch,
            "values": dict(self.values),
            "history": {name: dict(values) for name, values in self.history.items()},
            "test_values": dict(self.test_values),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved state."""
        self.epoch = int(state["epoch"])
        self.values = dict(state["values"])
        self.history = {k: {int(e): v for e, v in h.items()} for k, h in state["history"].items()}
        self.test_values = dict(state.get("test_values", {}))

    def __str__(self) -> str:
        return " ".join(f"{name}={value:.4g}" for name, value in self.values.items())

    def __repr__(self) -> str:
        return f"Metrics({', '.join(f'{k}={v:.4g}' for k, v in self.values.items())})"


@functools.lru_cache(maxsize=64)
def _schema(names: tuple[str, ...]) -> Any:
    import pydantic

    from ivory.config.schema import CallableName

    # Metric names are keys of the node, not identifiers: each field goes by its alias.
    fields: dict[str, Any] = {}
    for i, name in enumerate(names):
        marker = CallableName("function", empty=KNOWN_METRICS.get(name))
        check = pydantic.PlainValidator(functools.partial(_spec, name))
        annotation = Annotated[str | MetricFunction | None, check, marker]
        fields[f"metric_{i}"] = (annotation, pydantic.Field(None, alias=name))
    config = pydantic.ConfigDict(
        extra="allow", arbitrary_types_allowed=True, protected_namespaces=()
    )
    return pydantic.create_model("Metrics", __config__=config, **fields)


def _spec(name: str, spec: Any) -> Any:
    """The value of metric `name` as given, when it is one a metric takes."""
    problem = _problem(name, spec)
    if problem is not None:
        raise ValueError(problem)
    return spec


def _problem(name: str, spec: Any) -> str | None:
    if spec is None and name not in KNOWN_METRICS:
        return (
            f"no known metric is called {name!r}; give its function (known: "
            f"{', '.join(KNOWN_METRICS)})"
        )
    if spec is None or isinstance(spec, str) or callable(spec):
        return None
    return (
        "expected nothing (a known metric), the registered name or import path of a function, "
        "or a function"
    )


def _function(name: str, spec: str | MetricFunction | None) -> MetricFunction:
    from ivory.errors import RegistryError
    from ivory.registry import registry

    if callable(spec):
        return spec
    problem = _problem(name, spec)
    if problem is not None:
        raise RegistryError(f"metrics.{name}: {problem} (got {spec!r})")
    function = registry.get(spec if spec is not None else KNOWN_METRICS[name])
    if not callable(function):
        raise RegistryError(f"metrics.{name}: {spec!r} is not callable")
    return function  # type: ignore[no-any-return]


def _is_scores(output: Any, target: Any) -> bool:
    return bool(output.ndim == 2 and output.shape[1] > 1 and np.ndim(target) == 1)


def _flat(array: Any) -> Any:
    array = np.asarray(array)
    return (
        array.reshape(len(array), -1).squeeze(-1)
        if array.ndim > 1 and array.shape[-1] == 1
        else array
    )
