"""Member states: safe files that load back exactly; pickle only when allowed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivory.errors import TrackingError
from ivory.tracking.state import read_state, state_files, write_state

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
keys = st.text(max_size=6) | st.integers(-3, 3)
trees = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=3)
    ),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and list(a) == list(b)
            and all(type(x) is type(y) for x, y in zip(a, b, strict=True))
            and all(same(a[k], b[k]) for k in a)
        )
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@given(trees)
def test_plain_states_round_trip_exactly(state: Any) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        assert write_state(Path(tmp), "member", state) == ""
        assert same(read_state(Path(tmp) / "member.json"), state)


def test_arrays_go_to_npz_and_load_without_pickle(tmp_path: Path) -> None:
    state = {
        "weights": [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], np.int8)],
        "epoch": 3,
        "history": {0: 1.5, 1: float("inf")},
        "names": np.array(["a", "bc"]),
    }
    assert write_state(tmp_path, "model", state) == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.npz"]
    assert state_files(tmp_path) == {"model": tmp_path / "model.json"}
    assert same(read_state(tmp_path / "model.json"), state)


class Opaque:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque)

    __hash__ = object.__hash__


def test_objects_need_pickle_to_be_saved_and_loaded(tmp_path: Path) -> None:
    state = {"model": Opaque(), "epoch": 0}
    reason = write_state(tmp_path, "estimator", state)
    assert reason.startswith("estimator.model holds a tests.tracking.test_state.Opaque, which ")
    assert not list(tmp_path.iterdir())
    assert write_state(tmp_path, "estimator", state, allow_pickle=True) == ""
    with pytest.raises(TrackingError, match=r"estimator.pkl is a pickle, and loading a pickle"):
        read_state(tmp_path / "estimator.pkl", where="estimator.pkl")
    assert read_state(tmp_path / "estimator.pkl", allow_pickle=True) == state


def test_object_arrays_are_not_safe(tmp_path: Path) -> None:
    reason = write_state(tmp_path, "x", {"a": np.array([object()])})
    assert reason.startswith("x.a holds a numpy.ndarray")


def test_a_damaged_state_is_a_tracking_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(TrackingError, match=r"current/x.json: cannot read the saved state"):
        read_state(tmp_path / "x.json", where="current/x.json")
