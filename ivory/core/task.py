r"""Tasks: parent runs that create nested runs over several parameter values.

A `Task` is an MLflow run of its own (``task#N``). `Task.product` yields one nested run per point
of a grid, `Task.chain` varies one parameter at a time and carries the best value of each into
the next. Every nested run carries the task as its MLflow parent. The values of a sweep are

- a list, a tuple, a range, a one-dimensional array or a `Sweep`: one run per item;
- a `Text` (command-line text): read by `ivory.config.grammar.parse_value` (``0-4``,
  ``range(0,5)``, ``0,1,2``; ``[64,32]`` is one list value);
- anything else, including a plain `str`: a single value, fixed for every run.

Every name and value is validated before the first nested run is created. A run that fails is
recorded FAILED with its error and the task goes on (unless ``fail_fast``); the task run ends
FINISHED, or FAILED when a run failed, or KILLED when it was stopped early.

Example:
    >>> import ivory
    >>> experiment = ivory.Experiment.from_text(
    ...     "estimator: {class: ivory.data.Data}\nfold: 0\nlr: 0.1\n", name="doc"
    ... )
    >>> task = experiment.create_task()
    >>> [tuple(run.update.values()) for run in task.product(fold=range(2), lr=[0.1, 0.01])]
    [(0, 0.1), (0, 0.01), (1, 0.1), (1, 0.01)]
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import statistics
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivory.config.grammar import Sweep, parse_value
from ivory.config.values import Text
from ivory.core.base import EVENTS, Creator
from ivory.core.run import Mode, Run
from ivory.errors import ConfigError, ConfigIssue, IvoryError, OverrideError

__all__ = [
    "MetricSummary",
    "RunRecord",
    "SweepPlan",
    "Task",
    "TaskRuns",
    "plan_sweep",
    "summarize_metrics",
]

logger = logging.getLogger(__name__)

_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./ ]")

MAX_TAG_LENGTH = 5000
"""Tag values longer than this are shortened (MLflow keeps at most 8000 characters)."""


@dataclass(frozen=True)
class RunRecord:
    """What a task keeps of a nested run after it ended (never the run or its members).

    Attributes:
        name: The run name (``run#3``), or ``""`` when the run could not be built.
        id: The MLflow run id, or ``""`` when not tracked.
        values: The swept values of this run, typed, by the names the caller gave.
        status: ``FINISHED``, ``FAILED``, ``KILLED``, or ``""`` when it was never started.
        metrics: The latest value of each metric.
        score: The monitor's best score, or None without a monitor.
        mode: The monitor's mode (``min`` or ``max``), or ``""``.
        error: ``"Type: message"`` of a failure, else ``""``.
    """

    name: str
    id: str
    values: dict[str, Any]
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    mode: str = ""
    error: str = ""

    @property
    def failed(self) -> bool:
        """Whether the run failed or was killed."""
        return self.status in ("FAILED", "KILLED")


@dataclass(frozen=True)
class MetricSummary:
    """Mean and sample standard deviation of one metric over the finished runs.

    Attributes:
        mean: The mean.
        std: The sample standard deviation (n - 1); NaN for a single run.
        count: How many runs had the metric.
    """

    mean: float
    std: float
    count: int


def summarize_metrics(records: Iterable[RunRecord]) -> dict[str, MetricSummary]:
    """Mean and standard deviation (n - 1) of each metric over the runs that finished.

    Example:
        >>> records = [RunRecord("run#0", "", {}, "FINISHED", {"mse": 2.0}),
        ...            RunRecord("run#1", "", {}, "FINISHED", {"mse": 4.0})]
        >>> summarize_metrics(records)
        {'mse': MetricSummary(mean=3.0, std=1.4142135623730951, count=2)}
    """
    values: dict[str, list[float]] = {}
    for record in records:
        if record.status == "FINISHED":
            for name, value in record.metrics.items():
                values.setdefault(name, []).append(value)
    return {
        name: MetricSummary(
            statistics.fmean(items),
            statistics.stdev(items) if len(items) > 1 else math.nan,
            len(items),
        )
        for name, items in values.items()
    }


class TaskRuns(Iterator[Run]):
    """The nested runs of a task, created one at a time as they are asked for.

    Attributes:
        total: How many runs the task plans to create.
    """

    def __init__(self, runs: Iterator[Run], total: int) -> None:
        self._runs = runs
        self.total = total

    def __next__(self) -> Run:
        return next(self._runs)

    def close(self) -> None:
        """Stop creating runs; the task ends (KILLED, or FAILED when a run failed)."""
        close = getattr(self._runs, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        return f"TaskRuns(total={self.total})"


@dataclass
class SweepPlan:
    """The validated values of a sweep.

    Attributes:
        fixed: Names with a single value, the same in every run.
        varied: Names with several values, in the caller's order, as given.
        typed: The values of every name as the runs will get them (validated, typed).
        monitor: Whether the runs have a monitor member (which `Task.chain` needs).
    """

    fixed: dict[str, Any]
    varied: dict[str, list[Any]]
    typed: dict[str, list[Any]]
    monitor: bool

    def product_size(self, repeat: int = 1) -> int:
        """How many runs `Task.product` makes."""
        return math.prod(len(values) for values in self.varied.values()) * repeat

    def chain_size(self) -> int:
        """How many runs `Task.chain` makes."""
        return sum(len(values) for values in self.varied.values())

    @property
    def sweeps(self) -> bool:
        """Whether any name takes several values."""
        return bool(self.varied)


def plan_sweep(creator: Creator, params: Mapping[str, Any]) -> SweepPlan:
    """Expand the values of a sweep and validate each, creating nothing.

    Each value is validated once, together with the first values of the other names, so a bad
    name or value is found before any run exists.

    Args:
        creator: Makes the parameters (an experiment or a task).
        params: Names (as for `create_params`) to values (see the module for what sweeps).

    Returns:
        The plan.

    Raises:
        OverrideError: Every name or value that does not fit.
    """
    # Expand each value into the values it sweeps.
    fixed: dict[str, Any] = {}
    varied: dict[str, list[Any]] = {}
    issues: list[ConfigIssue] = []
    for name, value in params.items():
        try:
            values = _expand(str(name), value)
        except ConfigError as exc:
            issues.extend(exc.issues)
            continue
        if len(values) == 1:
            fixed[name] = values[0]
        else:
            varied[name] = values
    if issues:
        raise OverrideError(issues)

    # Validate each value once, with the first values of the others.
    first = {name: values[0] for name, values in varied.items()}
    made, update = creator.create_params({**fixed, **first})
    typed = {name: [update.get(name, value)] for name, value in {**fixed, **first}.items()}
    section = made.get("run")
    monitor = isinstance(section, Mapping) and section.get("monitor") is not None
    seen: set[str] = set()
    for name, values in varied.items():
        for value in values[1:]:
            try:
                _, update = creator.create_params({**fixed, **first, name: value})
            except ConfigError as exc:
                new = [issue for issue in exc.issues if str(issue) not in seen]
                seen.update(str(issue) for issue in new)
                issues.extend(new)
                continue
            typed[name].append(update.get(name, value))
    if issues:
        raise OverrideError(issues)
    return SweepPlan(fixed, varied, typed, monitor)


class Task(Run):
    """A parent run that yields nested runs over a grid or a chain of parameters.

    Attributes:
        records: What was kept of each nested run after it ended, in order.
        fail_fast: Stop the task at the first run that fails (default: go on).
    """

    kind = "task"

    def __init__(self, params: Any = None, **instances: Any) -> None:
        super().__init__(params, **instances)
        self.records: list[RunRecord] = []
        self.fail_fast = False
        self._settled: weakref.WeakKeyDictionary[Run, RunRecord] = weakref.WeakKeyDictionary()
        self._names: weakref.WeakKeyDictionary[Run, tuple[str, ...]] = weakref.WeakKeyDictionary()

    def product(
        self, params: Mapping[str, Any] | None = None, repeat: int = 1, **kwargs: Any
    ) -> TaskRuns:
        r"""Yield a nested run for every combination of the varied values.

        Single values are fixed for every run; the varied ones form a grid with the first name
        outermost, and the grid is run `repeat` times. The runs are created, not started: the
        caller starts each (or hands them to `execute`).

        Args:
            params: Names (as for `create_params`) to values; for names that are not identifiers.
            repeat: How many times the whole grid is run.
            **kwargs: More names and values.

        Returns:
            The runs, created one at a time as they are asked for.

        Raises:
            ConfigError: A name or a value does not fit (every problem, before any run exists).

        Example:
            >>> import ivory
            >>> experiment = ivory.Experiment.from_text(
            ...     "estimator: {class: ivory.data.Data}\nfold: 0\ndepth: 1\n", name="doc"
            ... )
            >>> runs = experiment.create_task().product(depth=2, fold=[0, 1], repeat=2)
            >>> runs.total, [run.update["fold"] for run in runs]
            (4, [0, 1, 0, 1])
        """
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
            raise ConfigError.single(
                "repeat", f"repeat must be a positive integer (got {repeat!r})"
            )
        plan = plan_sweep(self, {**(params or {}), **kwargs})
        total = plan.product_size(repeat)
        self._tag(plan, "product", {"ivory.task.repeat": str(repeat)})
        return TaskRuns(self._product(plan, repeat), total)

    def chain(
        self, params: Mapping[str, Any] | None = None, use_best_param: bool = True, **kwargs: Any
    ) -> TaskRuns:
        """Yield nested runs that vary one parameter at a time, in the order given.

        The other varied parameters keep their file values (or the fixed ones). With
        `use_best_param`, once every value of a parameter has run, its best value (by the monitor's
        best score: lowest for ``min``, highest for ``max``) is used in the runs of the parameters
        after it. Runs that failed or were never started do not compete; on a tie the first wins.

        Args:
            params: Names to values; for names that are not identifiers.
            use_best_param: Carry each parameter's best value into the later parameters.
            **kwargs: More names and values.

        Returns:
            The runs, created one at a time as they are asked for.

        Raises:
            ConfigError: A name or a value does not fit, or `use_best_param` needs a monitor
                member that the run does not have (before any run exists).
        """
        plan = plan_sweep(self, {**(params or {}), **kwargs})
        if use_best_param and len(plan.varied) > 1 and not plan.monitor:
            raise ConfigError.single(
                "run.monitor",
                "chain(use_best_param=True) needs a monitor member to judge the best value; "
                "add one (monitor: {metric: ..., mode: min}) or pass use_best_param=False",
            )
        total = plan.chain_size()
        self._tag(plan, "chain", {"ivory.task.use_best_param": str(use_best_param).lower()})
        return TaskRuns(self._chain(plan, use_best_param), total)

    def execute(
        self,
        runs: Iterable[Run],
        mode: Mode = "both",
        on_start: Callable[[Run], None] | None = None,
    ) -> Iterator[RunRecord]:
        """Start each run in `mode` and yield its record; a failing run does not stop the task.

        A run that raises ends FAILED with its error (saved by its tracking member), its record
        says so, and the next run starts, unless `fail_fast` is set. An interrupt (Ctrl-C) ends
        the run KILLED and stops the task.

        Args:
            runs: The runs, usually from `product` or `chain`.
            mode: How each run is started (``train``, ``test`` or ``both``).
            on_start: Called with each run just before it starts.

        Yields:
            The record of each run once it ended.
        """
        iterator = iter(runs)
        seen = len(self.records)
        try:
            for run in iterator:
                if on_start is not None:
                    on_start(run)
                try:
                    run.start(mode)
                except Exception as exc:
                    logger.warning(
                        "%s failed: %s: %s", run.name or "a run", type(exc).__name__, exc
                    )
                record = self._settle(run)
                del run
                # Runs that could not be built were recorded on the way; report them in order.
                while seen < len(self.records):
                    seen += 1
                    yield self.records[seen - 1]
                if record.failed and self.fail_fast and not isinstance(iterator, TaskRuns):
                    return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        yield from self.records[seen:]

    def _tag(self, plan: SweepPlan, method: str, extra: dict[str, str]) -> None:
        tags = {"ivory.task.method": method, **extra}
        for name in plan.varied:
            tags[_tag_key("ivory.sweep", name)] = _tag_text(plan.typed[name])
        for name in plan.fixed:
            tags[_tag_key("ivory.fixed", name)] = _tag_text(plan.typed[name][0])
        if self.id and self.tracker is not None:
            self.tracker.set_tags(self.id, tags)
            task = self.params.get("task")
            if isinstance(task, dict):
                task.update(name=self.name, id=self.id)

    # Creating the runs.

    def _product(self, plan: SweepPlan, repeat: int) -> Generator[Run, None, None]:
        completed = False
        try:
            grid = list(itertools.product(*plan.varied.values()))
            updates = (
                {**plan.fixed, **dict(zip(plan.varied, point, strict=True))}
                for _ in range(repeat)
                for point in grid
            )
            completed = not (yield from self._runs(plan, updates))
        finally:
            self._end(completed)

    def _chain(self, plan: SweepPlan, use_best_param: bool) -> Generator[Run, None, None]:
        completed = False
        try:
            best: dict[str, Any] = {}
            for name, values in plan.varied.items():
                start = len(self.records)
                updates = ({**plan.fixed, **best, name: value} for value in values)
                if (yield from self._runs(plan, updates)):
                    return
                if use_best_param and len(plan.varied) > 1:
                    self._carry(name, self.records[start:], best)
            completed = True
        finally:
            self._end(completed)

    def _carry(self, name: str, records: list[RunRecord], best: dict[str, Any]) -> None:
        candidates = [r for r in records if r.status == "FINISHED" and r.score is not None]
        if not candidates:
            logger.warning("%s: no run of %s has a score; its file value stays", self.name, name)
            return
        if candidates[0].mode == "max":
            winner = max(candidates, key=lambda record: record.score or 0.0)
        else:
            winner = min(candidates, key=lambda record: record.score or 0.0)
        best[name] = winner.values[name]
        logger.info(
            "%s: the best %s is %r (%s)", self.name or "task", name, best[name], winner.name
        )
        if self.id and self.tracker is not None:
            self.tracker.set_tags(self.id, {_tag_key("ivory.best", name): _tag_text(best[name])})

    def _runs(
        self, plan: SweepPlan, updates: Iterable[dict[str, Any]]
    ) -> Generator[Run, None, bool]:
        """Create and yield each run, and settle it when the caller asks for the next one.

        Returns:
            True when a failure stopped the task (`fail_fast`).
        """
        pending: Run | None = None
        try:
            for update in updates:
                try:
                    pending = self.create_run(update)
                except IvoryError as exc:
                    # The run could not be built; nothing of it was tracked.
                    self._record(_unbuilt(plan, update, exc))
                    if self.fail_fast:
                        return True
                    continue
                self._names[pending] = tuple(name for name in plan.varied if name in update)
                yield pending
                record = self._settle(pending)
                pending = None
                if record.failed and self.fail_fast:
                    logger.info("%s stops: %s failed", self.name or "task", record.name)
                    return True
            return False
        finally:
            if pending is not None:
                self._settle(pending)

    # Ending runs and the task.

    def _settle(self, run: Run) -> RunRecord:
        """The record of a run that ended (made once); the run's event callbacks are dropped."""
        record = self._settled.get(run)
        if record is not None:
            return record
        metrics = run.get("metrics")
        values = {} if metrics is None else {k: float(v) for k, v in metrics.items()}
        monitor = run.get("monitor")
        score = getattr(monitor, "best_score", None)
        names = self._names.get(run, tuple(run.update))
        record = RunRecord(
            name=run.name,
            id=run.id,
            values={name: run.update.get(name) for name in names},
            status=run.status,
            metrics=values,
            score=float(score) if isinstance(score, int | float) and math.isfinite(score) else None,
            mode=str(getattr(monitor, "mode", "")),
            error=run.error,
        )
        self._settled[run] = record
        self._record(record)

        # Break the run <-> callback cycles, so that the run and its members go as soon as the
        # caller drops it (no wait for the garbage collector).
        for event in EVENTS:
            run.__dict__.pop(event, None)
        return record

    def _record(self, record: RunRecord) -> None:
        self.records.append(record)
        values = " ".join(f"{k}={v!r}" for k, v in record.values.items())
        logger.info("%s: %s %s %s", self.name or "task", record.name or "-", values, record.status)

    def _end(self, completed: bool) -> None:
        if self.status:
            return
        failed = [record for record in self.records if record.failed]
        if any(record.status == "KILLED" for record in failed):
            status = "KILLED"
        elif failed:
            status = "FAILED"
        else:
            status = "FINISHED" if completed else "KILLED"
        error = None
        if failed:
            names = ", ".join(record.name or "(not built)" for record in failed)
            error = IvoryError(f"{len(failed)} of {len(self.records)} runs failed: {names}")
            if self.id and self.tracker is not None:
                self.tracker.set_tags(self.id, {"ivory.task.failed": _tag_text(names)})
        logger.info("%s ended %s after %d runs", self.name or "task", status, len(self.records))
        self.terminate(status, error=error)


def _expand(name: str, value: Any) -> list[Any]:
    """The values a parameter takes in a task."""
    if isinstance(value, Sweep):
        values = list(value.values)
    elif isinstance(value, Text):
        parsed = parse_value(value, name)
        values = list(parsed.values) if isinstance(parsed, Sweep) else [value]
    elif isinstance(value, list | tuple | range):
        values = list(value)
    elif hasattr(value, "ndim") and hasattr(value, "tolist"):  # A numpy array or scalar.
        if value.ndim > 1:
            raise OverrideError.single(
                name, f"an array to sweep must be one-dimensional (got {value.ndim} dimensions)"
            )
        values = value.tolist() if value.ndim == 1 else [value.tolist()]
    else:
        values = [value]
    if not values:
        raise OverrideError.single(name, "nothing to sweep: the list of values is empty", "", value)
    return values


def _unbuilt(plan: SweepPlan, update: dict[str, Any], error: Exception) -> RunRecord:
    values = {name: update[name] for name in plan.varied if name in update}
    return RunRecord("", "", values, "FAILED", error=f"{type(error).__name__}: {error}")


def _tag_key(prefix: str, name: str) -> str:
    # MLflow tag keys take letters, digits, ``_ - . /`` and spaces.
    return f"{prefix}.{_TAG_UNSAFE.sub('_', name)}"


def _tag_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_TAG_LENGTH else text[: MAX_TAG_LENGTH - 3] + "..."
