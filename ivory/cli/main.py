"""The ``ivory`` application."""

from __future__ import annotations

import typer

from ivory.cli.clean import clean
from ivory.cli.common import quiet_backend_logging, show_warning
from ivory.cli.kill import kill
from ivory.cli.optimize import optimize
from ivory.cli.run import run
from ivory.cli.runs import runs
from ivory.cli.schema import schema
from ivory.cli.show import show
from ivory.cli.ui import ui
from ivory.cli.validate import validate

__all__ = ["app", "main"]

app = typer.Typer(
    name="ivory",
    help="Declarative, typed configuration of machine-learning experiments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("run")(run)
app.command("optimize")(optimize)
app.command("validate")(validate)
app.command("schema")(schema)
app.command("runs")(runs)
app.command("show")(show)
app.command("kill")(kill)
app.command("clean")(clean)
app.command("ui")(ui)


@app.callback()
def _root() -> None:
    """Declarative, typed configuration of machine-learning experiments."""


def main() -> None:
    """Run the ``ivory`` command: warnings as one line each, MLflow's INFO lines kept quiet."""
    import warnings

    warnings.showwarning = show_warning
    quiet_backend_logging()
    app()
