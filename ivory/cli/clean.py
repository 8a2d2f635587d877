"""``ivory clean NAME``: remove the deleted runs of an experiment for good."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ivory.cli.common import command, echo

__all__ = ["clean"]


@command
def clean(
    name: Annotated[str, typer.Argument(help="The experiment: configs/NAME.yaml or NAME.yaml.")],
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The working directory.")
    ] = Path("."),
) -> None:
    """Remove the deleted runs of experiment NAME, with their artifacts; their numbers are freed."""
    import ivory

    client = ivory.create_client(directory)
    removed = client.remove_deleted_runs(name)
    echo(f"removed {removed} deleted run{'' if removed == 1 else 's'} of {name}")
