"""``ivory kill NAME``: mark a running run KILLED; its training stops after the current epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ivory.cli.common import command, echo

__all__ = ["kill"]


@command
def kill(
    name: Annotated[str, typer.Argument(help="The experiment: configs/NAME.yaml or NAME.yaml.")],
    number: Annotated[
        int, typer.Option("--number", "-n", help="The run number (run#N); -1 is the newest.")
    ] = -1,
    kind: Annotated[str, typer.Option("--kind", "-k", help="run, task or study.")] = "run",
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The working directory.")
    ] = Path("."),
) -> None:
    """Mark the newest run of experiment NAME (or run#N) KILLED.

    A training in progress reads its status after each epoch and stops there (on a tracking
    server, within the tracker's interval, one second by default).
    """
    import ivory
    from ivory.errors import IvoryError

    client = ivory.create_client(directory)
    tracker = client.tracker
    experiment_id = client.get_experiment_id(name)
    run_id = tracker.get_run_id(experiment_id, kind, number)
    record = tracker.get_run(run_id)
    if record.info.status != "RUNNING":
        raise IvoryError(f"{record.info.run_name} is not running (it is {record.info.status})")
    tracker.set_terminated(run_id, "KILLED")
    echo(f"{record.info.run_name} marked KILLED; its training stops after the current epoch")
