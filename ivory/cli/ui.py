"""``ivory ui``: the MLflow UI on the store ivory tracks in."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from ivory.cli.common import command

__all__ = ["ui", "ui_command"]

logger = logging.getLogger(__name__)


def ui_command(
    tracking_uri: str, host: str = "127.0.0.1", port: int = 5000, workers: int = 1
) -> list[str]:
    """The command that starts the MLflow UI on `tracking_uri`.

    Example:
        >>> " ".join(ui_command("sqlite:////w/mlflow.db", port=5001)[3:])
        'ui --backend-store-uri sqlite:////w/mlflow.db --host 127.0.0.1 --port 5001 --workers 1'
    """
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking_uri,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


@command
def ui(
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 5000,
    workers: Annotated[int, typer.Option(help="Server processes (one is plenty locally).")] = 1,
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The working directory.")
    ] = Path("."),
) -> None:
    """Start the MLflow UI on the store ivory tracks in (Ctrl-C stops it)."""
    import ivory

    uri = ivory.create_client(directory).tracker.tracking_uri
    typer.echo(f"MLflow UI on {uri}: http://{host}:{port} (Ctrl-C stops it)")
    sys.stdout.flush()
    process = subprocess.Popen(ui_command(uri, host, port, workers))
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=30)
        return
    if code:
        raise typer.Exit(code)
