"""Run: events fire in order through members, in member order; start modes."""

from __future__ import annotations

from typing import Any

import pytest

import ivory
from ivory.core.base import EVENTS

CALLS: list[tuple[str, str]] = []


class Recorder:
    """A member that records each event it sees."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __getattr__(self, name: str) -> Any:
        if name in EVENTS:
            return lambda run: CALLS.append((self.label, name))
        raise AttributeError(name)


class Driver:
    """Fires the events of a one-epoch training and of a test, as a trainer would."""

    def start(self, run: Any) -> None:
        if run.mode == "train":
            for event in EVENTS[2:10]:
                getattr(run, event)()
        else:
            run.on_test_begin()
            run.on_test_end()


ivory.register("tests.recorder", Recorder)
ivory.register("tests.driver", Driver)


@pytest.fixture
def run() -> ivory.Run:
    CALLS.clear()
    experiment = ivory.Experiment.from_text(
        """
        first: {class: tests.recorder, label: a}
        driver: {class: tests.driver}
        second: {class: tests.recorder, label: b}
        """,
        name="events",
    )
    return experiment.create_run()


def test_train_fires_events_in_order_and_member_order(run: ivory.Run) -> None:
    run.start("train")
    expected = [(label, event) for event in EVENTS[:10] for label in ("a", "b")]
    assert expected == CALLS


def test_both_trains_then_tests(run: ivory.Run) -> None:
    run.start("both")
    events = [event for label, event in CALLS if label == "a"]
    assert events == [*EVENTS[:10], "on_init_begin", "on_init_end", *EVENTS[10:]]


def test_test_mode_fires_only_test_events(run: ivory.Run) -> None:
    run.start("test")
    assert [event for label, event in CALLS if label == "b"] == [
        "on_init_begin",
        "on_init_end",
        "on_test_begin",
        "on_test_end",
    ]


def test_unknown_mode_is_refused(run: ivory.Run) -> None:
    with pytest.raises(ivory.IvoryError, match="mode must be one of train, test, both"):
        run.start("fit")  # type: ignore[arg-type]


def test_a_run_without_driver_is_an_error() -> None:
    experiment = ivory.Experiment.from_text("x: {class: tests.recorder, label: x}\n", name="nd")
    with pytest.raises(ivory.IvoryError, match="has no member that drives it"):
        experiment.create_run().start()


def test_callback_caller_creates_one_callback_per_event(run: ivory.Run) -> None:
    run.create_callbacks()
    callback = run.on_epoch_end
    assert isinstance(callback, ivory.Callback)
    assert callback.caller is run
    assert len(callback.methods) == 2
