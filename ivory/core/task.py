"""Tasks: parent runs that create nested runs over several parameter values."""

from __future__ import annotations

from ivory.core.run import Run

__all__ = ["Task"]


class Task(Run):
    """A parent run that yields nested runs over a grid or a chain of parameters."""

    kind = "task"
