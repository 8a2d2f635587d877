"""What every command shares: override parsing and the way errors end a command."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

import typer

from ivory.config.values import Text
from ivory.errors import ConfigError, IvoryError

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "handle_errors",
    "parse_overrides",
    "quiet_backend_logging",
    "require_driver",
    "show_warning",
]

EXIT_FAILURE = 1
EXIT_CONFIG = 2

T = TypeVar("T")


def parse_overrides(items: list[str] | None) -> dict[str, Text]:
    """Turn ``k=v`` items into overrides; the value is split off at the first ``=`` only.

    Raises:
        OverrideError: An item has no ``=`` or an empty name, or a name is given twice.
    """
    from ivory.errors import ConfigIssue, OverrideError

    overrides: dict[str, Text] = {}
    given: dict[str, list[str]] = {}
    issues = []
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            issues.append(ConfigIssue(item, "expected NAME=VALUE"))
            continue
        overrides[name.strip()] = Text(value)
        given.setdefault(name.strip(), []).append(item)

    # A name given twice would silently take its last value.
    for name, texts in given.items():
        if len(texts) > 1:
            times = "twice" if len(texts) == 2 else f"{len(texts)} times"
            issues.append(
                ConfigIssue(name, f"given {times} ({', '.join(texts)}); give it once", "", texts)
            )
    if issues:
        raise OverrideError(issues)
    return overrides


@contextmanager
def handle_errors() -> Iterator[None]:
    """End the command with a one-line message per problem instead of a traceback.

    Configuration errors exit 2, other ivory errors 1. ``IVORY_FULL_ERROR=1`` shows the traceback.
    """
    try:
        yield
    except IvoryError as exc:
        if os.environ.get("IVORY_FULL_ERROR") == "1":
            raise
        for line in str(exc).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILURE) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def command(function: Callable[..., T]) -> Callable[..., T]:
    """Wrap a command so that its errors end it through `handle_errors`."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with handle_errors():
            return function(*args, **kwargs)

    return wrapper


def require_driver(experiment: Any) -> None:
    """Refuse an experiment whose runs have no member that drives them, before any is tracked.

    Raises:
        ConfigError: The file's position of the run section, as ``ivory validate`` reports it.
    """
    from ivory.config.validate import driver_issues

    issues = driver_issues(experiment.params.to_dict(), experiment.sources, experiment.registry)
    if issues:
        raise ConfigError(issues)


def echo(message: str) -> None:
    """Print one line of a command's output."""
    typer.echo(message)
    sys.stdout.flush()


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Print a warning as ``warning: message`` on stderr, without its source line.

    The command line installs this as `warnings.showwarning`; the library never does.
    """
    stream = file if file is not None else sys.stderr
    for text in str(message).splitlines() or [""]:
        stream.write(f"warning: {text}\n")
    stream.flush()


def quiet_backend_logging() -> None:
    """Keep MLflow's INFO lines (creating or upgrading its tables, ...) off the terminal.

    MLflow configures its own loggers when it is imported, at the level of
    ``MLFLOW_LOGGING_LEVEL`` (and alembic's at WARNING or above that); the command line sets it
    to WARNING unless the user chose a level.
    """
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
