"""``ivory run NAME [k=v ...]``: create a run with overrides and start it (train, then test)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ivory.cli.common import command, echo, parse_overrides

__all__ = ["run"]


@command
def run(
    name: Annotated[str, typer.Argument(help="The experiment: configs/NAME.yaml or NAME.yaml.")],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="Overrides NAME=VALUE, e.g. max_depth=3 fold=1.")
    ] = None,
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The working directory.")
    ] = Path("."),
    tracking: Annotated[bool, typer.Option(help="Track the run in MLflow.")] = True,
) -> None:
    """Create one run of experiment NAME with the overrides, train it and test it."""
    import ivory

    updates = parse_overrides(overrides)
    client = ivory.create_client(directory, tracker=tracking)
    experiment = client.create_experiment(name)
    # The run is validated and built before anything is tracked.
    created = experiment.create_run(updates)
    created.start("both")
    echo(summary(created))


def summary(created: object) -> str:
    """``run#N metric=value ...`` for a finished run."""
    from ivory.core.run import Run

    assert isinstance(created, Run)
    metrics = created.get("metrics")
    values = " ".join(f"{key}={value:.4g}" for key, value in metrics.items()) if metrics else ""
    return f"{created.name or 'run'} {values}".strip()
