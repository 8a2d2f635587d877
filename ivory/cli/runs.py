"""``ivory runs NAME``: a table of the experiment's runs, their changes and latest metrics."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ivory.cli.common import command

__all__ = ["runs", "runs_table"]


@command
def runs(
    name: Annotated[str, typer.Argument(help="The experiment: configs/NAME.yaml or NAME.yaml.")],
    kind: Annotated[
        str | None, typer.Option("--kind", "-k", help="Only runs of this kind: run, task, study.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many runs.")
    ] = 50,
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The working directory.")
    ] = Path("."),
) -> None:
    """Show the runs of experiment NAME, newest first: status, changed parameters, metrics."""
    from rich.console import Console

    import ivory

    client = ivory.create_client(directory)
    tracker = client.tracker
    experiment_id = client.get_experiment_id(name)
    found = tracker.list_runs(experiment_id, kind)
    console = Console(width=200 if not _is_terminal() else None)
    console.print(runs_table(name, found[:limit], total=len(found)))


def _is_terminal() -> bool:
    import sys

    return sys.stdout.isatty()


def runs_table(title: str, records: list[Any], total: int | None = None) -> Any:
    """A rich table of MLflow run records: name, status, start, parent, changes and metrics.

    `total` is how many runs there are when `records` holds only the newest of them.
    """
    from rich.table import Table

    from ivory.config.loader import load_text

    metrics = sorted({key for record in records for key in record.data.metrics})
    names = {record.info.run_id: record.info.run_name for record in records}
    table = Table(title=_title(title, len(records), total), title_justify="left")
    for column in ("run", "status", "started", "parent", "changes", *metrics):
        table.add_column(column, justify="right" if column in metrics else "left")
    for record in records:
        tags = record.data.tags
        update = load_text(tags.get("ivory.update", "{}")).tree or {}
        changes = " ".join(f"{key}={_text(value)}" for key, value in update.items())
        parent = tags.get("mlflow.parentRunId", "")
        started = datetime.datetime.fromtimestamp((record.info.start_time or 0) / 1000)
        table.add_row(
            record.info.run_name,
            record.info.status,
            started.strftime("%Y-%m-%d %H:%M:%S"),
            names.get(parent, parent[:8]),
            changes,
            *(_number(record.data.metrics.get(key)) for key in metrics),
        )
    return table


def _title(name: str, shown: int, total: int | None) -> str:
    """``digits: 2 runs``, or ``digits: showing the newest 50 of 93 runs (--limit N for more)``."""
    if total is None or total <= shown:
        return f"{name}: {shown} run{'' if shown == 1 else 's'}"
    return f"{name}: showing the newest {shown} of {total} runs (--limit N for more)"


def _text(value: Any) -> str:
    from ivory.tracking.flatten import format_value

    return format_value(value)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
