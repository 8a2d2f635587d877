"""Results: the outputs and targets of the last train, val and test loops."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Results"]


class Results:
    """Keeps ``index``, ``output`` and ``target`` of each mode (``train``, ``val``, ``test``).

    The driver of a run calls `step` with each mode's arrays. Inputs are never kept.
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

    def __getattr__(self, mode: str) -> dict[str, npt.NDArray[Any]]:
        data = self.__dict__.get("data", {})
        if mode in data:
            return data[mode]  # type: ignore[no-any-return]
        raise AttributeError(f"no {mode!r} results yet (have: {', '.join(data) or 'none'})")

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
