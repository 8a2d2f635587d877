"""``ivory show NAME [k=v ...]``: the resolved parameters a run would be created with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ivory.cli.common import command, parse_overrides

__all__ = ["show"]


@command
def show(
    name: Annotated[str, typer.Argument(help="The experiment: configs/NAME.yaml or NAME.yaml.")],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="Overrides NAME=VALUE, e.g. max_depth=3 fold=1.")
    ] = None,
    section: Annotated[
        str | None,
        typer.Option("--section", "-s", help="Only this section: run, task, study, experiment."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The working directory.")
    ] = Path("."),
) -> None:
    """Print the parameters of experiment NAME with the overrides applied, as YAML.

    Nothing is built, run or tracked.
    """
    import ivory
    from ivory.config.dump import dump_yaml
    from ivory.errors import ConfigError

    updates = parse_overrides(overrides)
    client = ivory.create_client(directory, tracker=False)
    params, _ = client.create_experiment(name).create_params(updates)
    tree = params.to_dict()
    if section is not None:
        if section not in tree:
            raise ConfigError.single(
                section, f"no such section; the sections are: {', '.join(tree)}", value=section
            )
        tree = {section: tree[section]}
    typer.echo(dump_yaml(tree), nl=False)
