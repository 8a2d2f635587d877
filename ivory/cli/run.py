"""``ivory run NAME [k=v ...]``: one run, or a task when a value sweeps or ``--repeat`` is given.

A single run prints one line, ``run#N metric=value ...``. A task (``fold=0-4``,
``max_depth=2,4,8``, ``lr=logspace(-4,-2,3)``, ``-r 3``) shows a progress bar on a terminal,
prints one line per run as it ends, and then a table of every run's swept values and metrics with
the mean ± standard deviation of each metric. A failing run does not stop the task (unless
``--fail-fast``); the command then exits 1 and names the failed runs.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ivory.cli.common import EXIT_FAILURE, command, echo, parse_overrides, require_driver

if TYPE_CHECKING:
    from rich.console import Console

    from ivory.core.base import Experiment
    from ivory.core.run import Run
    from ivory.core.task import MetricSummary, RunRecord

__all__ = ["run"]


@command
def run(
    name: Annotated[str, typer.Argument(help="The experiment: configs/NAME.yaml or NAME.yaml.")],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="Overrides NAME=VALUE, e.g. max_depth=3 fold=1. A sweeping value runs a task: "
            "fold=0,1,2, fold=0-4, fold=range(0,5), lr=logspace(-4,-2,3), depth=10-20-2."
        ),
    ] = None,
    repeat: Annotated[
        int, typer.Option("--repeat", "-r", min=1, help="Run every combination N times.")
    ] = 1,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop the task at the first run that fails.")
    ] = False,
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The working directory.")
    ] = Path("."),
    tracking: Annotated[bool, typer.Option(help="Track the runs in MLflow.")] = True,
) -> None:
    """Run experiment NAME with the overrides (train, then test); a sweep runs a task."""
    import ivory
    from ivory.config.grammar import Sweep, parse_value

    updates: dict[str, Any] = parse_overrides(overrides)
    sweeps = any(isinstance(parse_value(text, key), Sweep) for key, text in updates.items())
    client = ivory.create_client(directory, tracker=tracking)
    experiment = client.create_experiment(name)
    require_driver(experiment)
    if sweeps or repeat > 1:
        run_task(experiment, updates, repeat, fail_fast)
        return

    # The run is validated and built before anything is tracked.
    created = experiment.create_run(updates)
    run_once(created)


def run_once(created: Run) -> None:
    """Start a single run; print its line, or end the command when it failed or was killed.

    A failure in training is one line, ``run#N FAILED: Error: message`` (its traceback is the
    run's ``error.txt``; ``IVORY_FULL_ERROR=1`` shows it here too).

    Raises:
        typer.Exit: With status 1 when the run failed or was killed.
    """
    try:
        created.start("both")
    except Exception as exc:
        if os.environ.get("IVORY_FULL_ERROR") == "1":
            raise
        error = created.error or f"{type(exc).__name__}: {exc}"
        typer.echo(f"{created.name or 'run'} FAILED: {error}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    if created.status not in ("", "FINISHED"):
        typer.echo(f"{created.name or 'run'} {created.status}", err=True)
        raise typer.Exit(EXIT_FAILURE)
    echo(summary(created))


def summary(created: object) -> str:
    """``run#N metric=value ...`` for a finished run."""
    from ivory.core.run import Run

    assert isinstance(created, Run)
    metrics = created.get("metrics")
    values = " ".join(f"{key}={value:.4g}" for key, value in metrics.items()) if metrics else ""
    return f"{created.name or 'run'} {values}".strip()


def run_task(experiment: Experiment, updates: dict[str, Any], repeat: int, fail_fast: bool) -> None:
    """Run a task over the sweep in `updates`, print each run and the summary table.

    Raises:
        typer.Exit: With status 1 when a run failed.
    """
    from ivory.core.task import plan_sweep

    # Validate every name and value before the task exists.
    plan_sweep(experiment, updates)
    task = experiment.create_task()
    task.fail_fast = fail_fast
    runs = task.product(updates, repeat=repeat)

    # Start each run; print its line as it ends.
    records: list[RunRecord] = []
    with _progress(runs.total, task.name or "task") as advance:
        for record in task.execute(runs, "both"):
            records.append(record)
            advance(run_line(record))

    # Summarise.
    _print_table(records, list(runs_varied(records)))
    failed = [record for record in records if record.failed]
    if failed:
        names = ", ".join(record.name or "(not built)" for record in failed)
        typer.echo(
            f"error: {len(failed)} of {len(records)} runs failed: {names} ({task.name or 'task'})",
            err=True,
        )
        raise typer.Exit(EXIT_FAILURE)


def runs_varied(records: list[RunRecord]) -> dict[str, None]:
    """The swept names over all records, in first-seen order."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record.values))
    return names


def run_line(record: RunRecord) -> str:
    """``run#N k=v ... metric=value ...``, or ``... FAILED: Error: message``."""
    values = " ".join(f"{key}={format_value(value)}" for key, value in record.values.items())
    if record.status == "FINISHED":
        metrics = " ".join(f"{key}={value:.4g}" for key, value in record.metrics.items())
        return " ".join(part for part in (record.name, values, metrics) if part)
    error = f": {record.error}" if record.error else ""
    return " ".join(part for part in (record.name or "(not built)", values) if part) + (
        f" {record.status or 'NOT STARTED'}{error}"
    )


def format_value(value: Any) -> str:
    """A swept value as shown in lines and tables (floats to 4 significant digits).

    A float stays recognisable as one (``1.0``, not ``1``): scikit-learn, for one, reads
    ``max_features=1`` and ``max_features=1.0`` differently.

    Example:
        >>> import enum
        >>> Act = enum.Enum("Act", {"GELU": "gelu"})
        >>> [format_value(v) for v in (1.0, 0.30000001, 2.5e-05, 3, "sqrt", [64, 32], Act.GELU)]
        ['1.0', '0.3', '2.5e-05', '3', 'sqrt', '[64, 32]', 'gelu']
    """
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, float):
        text = f"{value:.4g}"
        return text if any(mark in text for mark in ".en") else f"{text}.0"
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, default=str)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Any]:
    """A progress bar on a terminal's stderr; yields ``advance(line)`` that prints a run's line."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield echo
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    bar = progress.add_task(label, total=total)
    same_screen = sys.stdout.isatty()

    def advance(line: str) -> None:
        # Count the run first, so that the bar redrawn with its line shows it done.
        progress.advance(bar)
        if same_screen:
            progress.console.print(line, markup=False, highlight=False)
        else:
            echo(line)
        progress.refresh()

    with progress:
        yield advance


def _print_table(records: list[RunRecord], names: list[str]) -> None:
    from rich.table import Table

    from ivory.core.task import summarize_metrics

    summaries = summarize_metrics(records)
    metrics = list(summaries) or list(
        dict.fromkeys(name for record in records for name in record.metrics)
    )
    table = Table(title=None, show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("run")
    for name in names:
        table.add_column(name, justify="right")
    for metric in metrics:
        table.add_column(metric, justify="right")
    table.add_column("status")
    for record in records:
        table.add_row(
            record.name or "(not built)",
            *(format_value(record.values[n]) if n in record.values else "" for n in names),
            *(f"{record.metrics[m]:.4g}" if m in record.metrics else "" for m in metrics),
            record.status or "NOT STARTED",
        )
    if summaries:
        count = max(summary.count for summary in summaries.values())
        table.add_section()
        table.add_row(
            f"mean ± std (n={count})",
            *([""] * len(names)),
            *(_mean_std(summaries[m]) if m in summaries else "" for m in metrics),
            "",
        )
    _stdout().print(table)


def _mean_std(summary: MetricSummary) -> str:
    if summary.count < 2:
        return f"{summary.mean:.4g}"
    return f"{summary.mean:.4g} ± {summary.std:.4g}"


def _stdout() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(100, console.width), no_color=True)
    return console
