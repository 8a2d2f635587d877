"""Member states as files: JSON for plain values, ``.npz`` for arrays, pickle only when allowed.

A member's state (what its ``state_dict()`` returns) is written to ``<member>.json``, with every
numpy array moved into ``<member>.npz`` and replaced by a marker. Both formats load without
executing code: JSON with `json`, arrays with ``numpy.load(allow_pickle=False)``.

The JSON form keeps what plain JSON would lose: tuples stay tuples, dictionary keys that are not
strings (an epoch number) keep their type, and NaN and infinities survive. A state holding any
other object (a fitted scikit-learn model) has no safe format. It is written as ``<member>.pkl``
only when the member or the client allows pickle, and reading a ``.pkl`` back needs the same
explicit permission, because unpickling a file from a shared store can run arbitrary code.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ivory.errors import TrackingError

__all__ = ["UnsafeStateError", "decode", "encode", "read_state", "state_files", "write_state"]

logger = logging.getLogger(__name__)

ARRAY = "__ndarray__"
TUPLE = "__tuple__"
ITEMS = "__items__"
FLOAT = "__float__"
SUFFIXES = (".json", ".npz", ".pkl")


class UnsafeStateError(TypeError):
    """A state holds an object that neither JSON nor ``.npz`` can hold."""

    def __init__(self, path: str, obj: Any) -> None:
        self.path = path
        self.type_name = f"{type(obj).__module__}.{type(obj).__qualname__}"
        super().__init__(
            f"{path or 'the state'} holds a {self.type_name}, which has no safe format"
        )


def encode(state: Any, arrays: dict[str, np.ndarray[Any, Any]], path: str = "") -> Any:
    """The JSON form of `state`, moving each numpy array into `arrays`.

    Raises:
        UnsafeStateError: Some part of the state is an object without a safe format.

    Example:
        >>> arrays = {}
        >>> encode({"w": np.zeros(2), "epoch": 3, "shape": (2, 1)}, arrays)
        {'w': {'__ndarray__': 'a0'}, 'epoch': 3, 'shape': {'__tuple__': [2, 1]}}
        >>> list(arrays)
        ['a0']
    """
    if state is None or isinstance(state, bool | int | str):
        return state
    if isinstance(state, float):
        return state if np.isfinite(state) else {FLOAT: repr(state)}
    if isinstance(state, np.ndarray):
        if state.dtype.hasobject:
            raise UnsafeStateError(path, state)
        key = f"a{len(arrays)}"
        arrays[key] = state
        return {ARRAY: key}
    if isinstance(state, np.generic):
        return encode(state.item(), arrays, path)
    if isinstance(state, list):
        return [encode(item, arrays, f"{path}.{i}") for i, item in enumerate(state)]
    if isinstance(state, tuple):
        return {TUPLE: [encode(item, arrays, f"{path}.{i}") for i, item in enumerate(state)]}
    if isinstance(state, Mapping):
        if all(isinstance(key, str) and not _reserved(key) for key in state):
            return {key: encode(value, arrays, f"{path}.{key}") for key, value in state.items()}
        return {
            ITEMS: [
                [encode(key, arrays, path), encode(value, arrays, f"{path}.{key}")]
                for key, value in state.items()
            ]
        }
    raise UnsafeStateError(path.lstrip("."), state)


def decode(tree: Any, arrays: Mapping[str, Any]) -> Any:
    """Rebuild a state from its JSON form and arrays (the inverse of `encode`)."""
    if isinstance(tree, list):
        return [decode(item, arrays) for item in tree]
    if not isinstance(tree, dict):
        return tree
    if len(tree) == 1:
        ((key, value),) = tree.items()
        if key == ARRAY:
            return arrays[value]
        if key == TUPLE:
            return tuple(decode(item, arrays) for item in value)
        if key == FLOAT:
            return float(value)
        if key == ITEMS:
            return {_hashable(decode(k, arrays)): decode(v, arrays) for k, v in value}
    return {key: decode(value, arrays) for key, value in tree.items()}


def _reserved(key: str) -> bool:
    return key.startswith("__") and key.endswith("__")


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list | tuple) else key


def write_state(directory: Path, name: str, state: Any, *, allow_pickle: bool = False) -> str:
    """Write the state of member `name` into `directory`.

    Args:
        directory: Where the files go.
        name: The member name (the file stem).
        state: What the member's ``state_dict()`` returned.
        allow_pickle: Whether a state without a safe format may be pickled.

    Returns:
        ``""`` when written, else why not: the state needs pickle, which is not allowed.
    """
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    try:
        tree = encode(state, arrays, name)
    except UnsafeStateError as exc:
        if not allow_pickle:
            return (
                f"{exc.path} holds a {exc.type_name}, which only pickle can save; set "
                "allow_pickle: true on the member (or for the tracker in client.yaml) to save "
                "it, knowing that loading it back then needs allow_pickle=True too"
            )
        (directory / f"{name}.pkl").write_bytes(pickle.dumps(state, protocol=5))
        return ""
    text = json.dumps(tree, ensure_ascii=False, allow_nan=False)
    (directory / f"{name}.json").write_text(text, encoding="utf-8")
    if arrays:
        np.savez(directory / f"{name}.npz", allow_pickle=False, **arrays)
    return ""


def state_files(directory: Path) -> dict[str, Path]:
    """The member names whose state is saved in `directory`, with their main file."""
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        if path.suffix in (".json", ".pkl"):
            found[path.stem] = path
    return found


def read_state(path: Path, *, allow_pickle: bool = False, where: str = "") -> Any:
    """Read a state written by `write_state` (its ``.json`` or ``.pkl`` file).

    Raises:
        TrackingError: The state is pickled and pickle is not allowed, or the file is damaged.
    """
    shown = where or str(path)
    if path.suffix == ".pkl":
        if not allow_pickle:
            raise TrackingError(
                f"{shown} is a pickle, and loading a pickle can run any code it holds; if you "
                "trust this store, pass allow_pickle=True (or set allow_pickle: true in "
                "client.yaml)"
            )
        return pickle.loads(path.read_bytes())
    try:
        tree = json.loads(path.read_text(encoding="utf-8"))
        arrays: dict[str, Any] = {}
        npz = path.with_suffix(".npz")
        if npz.is_file():
            with np.load(npz, allow_pickle=False) as loaded:
                arrays = {key: loaded[key] for key in loaded.files}
        return decode(tree, arrays)
    except (ValueError, KeyError, OSError) as exc:
        raise TrackingError(f"{shown}: cannot read the saved state: {exc}") from exc
