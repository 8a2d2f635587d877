"""``ivory schema [--check]``: write the JSON Schema files that editors read, or check them.

``schemas/experiment.schema.json`` describes every parameter file of the project; a file whose
``experiment.schema`` names a pydantic model gets ``schemas/<name>.schema.json`` as well. With
``--check`` nothing is written and the exit code is 1 when a committed file is stale, for CI.
Notes about what a schema cannot hold (a default JSON has no form for) go to stderr.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

from ivory.cli.common import EXIT_CONFIG, EXIT_FAILURE, echo, handle_errors

__all__ = ["schema"]


def schema(
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 when a schema file is stale."),
    ] = False,
    stdout: Annotated[
        bool,
        typer.Option("--stdout", help="Print the experiment schema instead of writing files."),
    ] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where the schema files go.")
    ] = Path("schemas"),
    configs: Annotated[
        Path,
        typer.Option("--configs", help="The parameter files whose names and schemas to include."),
    ] = Path("configs"),
    modules: Annotated[
        list[str] | None,
        typer.Option(
            "--module",
            "-m",
            help="A module to import first, for the constructors it registers. Repeatable.",
            show_default=False,
        ),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The project directory (its modules import).")
    ] = Path("."),
) -> None:
    """Write the JSON Schema of parameter files (schemas/experiment.schema.json) for editors."""
    from ivory.config.jsonschema import export_schemas, modeline
    from ivory.config.validate import SUFFIXES

    # Make the project's constructors known: its modules, the registry's plugins.
    with handle_errors():
        import ivory

        ivory.create_client(directory, tracker=False)
        for module in modules or []:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                typer.echo(f"error: --module {module}: {exc}", err=True)
                raise typer.Exit(EXIT_CONFIG) from None
        folder = configs if configs.is_absolute() else directory / configs
        files = (
            sorted(p for p in folder.glob("*") if p.suffix in SUFFIXES) if folder.is_dir() else []
        )
        made = export_schemas(files)

    # Say what the schemas leave out, then print, check or write them.
    for note in made.notes:
        typer.echo(f"warning: {note}", err=True)
    if stdout:
        echo(made.files[0].text.rstrip("\n"))
        return
    target = output if output.is_absolute() else directory / output
    for file in made.files:
        for config in file.configs:
            _check_modeline(config, modeline(config, target / file.name))
    if check:
        stale = [f for f in made.files if _read(target / f.name) != f.text]
        for file in stale:
            typer.echo(f"{_shown(target / file.name, directory)} is stale", err=True)
        if stale:
            typer.echo("run `ivory schema` and commit the result", err=True)
            raise typer.Exit(EXIT_FAILURE)
        count = len(made.files)
        typer.echo(f"{count} schema file{'s are' if count != 1 else ' is'} up to date", err=True)
        return
    target.mkdir(parents=True, exist_ok=True)
    for file in made.files:
        path = target / file.name
        if _read(path) != file.text:
            path.write_text(file.text, encoding="utf-8")
            typer.echo(f"wrote {_shown(path, directory)}", err=True)
        else:
            typer.echo(f"{_shown(path, directory)} is up to date", err=True)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _shown(path: Path, directory: Path) -> str:
    try:
        return str(path.resolve().relative_to(directory.resolve()))
    except ValueError:
        return str(path)


def _check_modeline(config: Path, expected: str) -> None:
    """Warn when a parameter file does not point editors at its schema on its first line."""
    text = _read(config) or ""
    first = text.split("\n", 1)[0]
    if first != expected:
        typer.echo(f"warning: {config.name}: make its first line `{expected}`", err=True)
