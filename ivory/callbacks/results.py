"""Results: the outputs and targets of the last train, val and test loops."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Results", "concatenate"]

Reduction = Literal["none", "mean"]


class Results:
    """Keeps ``index``, ``output`` and ``target`` of each mode (``train``, ``val``, ``test``).

    The driver of a run calls `step` with each mode's arrays. Inputs are never kept.

    Example:
        >>> results = Results()
        >>> results.step("val", [2, 0, 2], [[1.0], [4.0], [3.0]], [5, 4, 5])
        >>> averaged = results.mean()
        >>> averaged.val["index"].tolist(), averaged.val["output"].tolist()
        ([0, 2], [[4.0], [2.0]])
    """

    def __init__(self) -> None:
        self.data: dict[str, dict[str, npt.NDArray[Any]]] = {}

    def step(self, mode: str, index: Any, output: Any, target: Any = None) -> None:
        """Record the arrays of `mode` (replacing the previous ones)."""
        self.data[mode] = {
            "index": np.asarray(index),
            "output": np.asarray(output),
            "target": np.asarray(target) if target is not None else np.full(len(index), np.nan),
        }

    def __getitem__(self, mode: str) -> dict[str, npt.NDArray[Any]]:
        return self.data[mode]

    def __contains__(self, mode: object) -> bool:
        return mode in self.data

    def __iter__(self) -> Any:
        return iter(self.data)

    def __getattr__(self, mode: str) -> dict[str, npt.NDArray[Any]]:
        data = self.__dict__.get("data", {})
        if mode in data:
            return data[mode]  # type: ignore[no-any-return]
        raise AttributeError(f"no {mode!r} results yet (have: {', '.join(data) or 'none'})")

    def mean(self) -> Results:
        """New results whose rows are averaged per sample index, sorted by index.

        Useful when a sample appears several times: the runs of a k-fold task, or repeats.
        """
        reduced = Results()
        for mode, arrays in self.data.items():
            index, inverse, counts = np.unique(
                arrays["index"], return_inverse=True, return_counts=True
            )
            means: dict[str, npt.NDArray[Any]] = {"index": index}
            for key in ("output", "target"):
                values = arrays[key]
                if not np.issubdtype(values.dtype, np.number):
                    # Values that cannot be averaged (labels as text): keep the first of each.
                    first = np.zeros(len(index), dtype=np.int64)
                    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
                    means[key] = values[first]
                    continue
                sums = np.zeros((len(index), *values.shape[1:]), dtype=np.float64)
                np.add.at(sums, inverse, values)
                means[key] = sums / counts.reshape(-1, *([1] * (values.ndim - 1)))
            reduced.data[mode] = means
        return reduced

    def state_dict(self) -> dict[str, Any]:
        """The arrays by mode."""
        return {mode: dict(arrays) for mode, arrays in self.data.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take the arrays of a saved state."""
        self.data = {
            mode: {k: np.asarray(v) for k, v in arrays.items()} for mode, arrays in state.items()
        }

    def __repr__(self) -> str:
        sizes = ", ".join(f"{mode}={len(arrays['index'])}" for mode, arrays in self.data.items())
        return f"Results({sizes})"


def concatenate(
    results: Iterable[Results],
    modes: tuple[str, ...] = ("val", "test"),
    reduction: Reduction = "none",
) -> Results:
    """Join the results of several runs, mode by mode.

    Args:
        results: The results of each run.
        modes: Which modes to keep (``train`` is left out by default: it overlaps ``val``).
        reduction: ``"mean"`` averages the rows of each sample index (see `Results.mean`).

    Returns:
        One `Results` holding every run's rows of each mode.
    """
    parts: dict[str, list[dict[str, npt.NDArray[Any]]]] = {}
    for result in results:
        for mode in modes:
            if mode in result:
                parts.setdefault(mode, []).append(result[mode])
    joined = Results()
    for mode in modes:
        if mode in parts:
            joined.data[mode] = {
                key: np.concatenate([arrays[key] for arrays in parts[mode]])
                for key in ("index", "output", "target")
            }
    return joined.mean() if reduction == "mean" else joined
