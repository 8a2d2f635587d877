"""The ``ivory`` command line: one module per command, assembled in `ivory.cli.main`."""

from __future__ import annotations

from ivory.cli.main import app, main

__all__ = ["app", "main"]
