"""Studies: parent runs that drive an Optuna study, one nested run per trial."""

from __future__ import annotations

from ivory.core.task import Task

__all__ = ["Study"]


class Study(Task):
    """A parent run that drives an Optuna study."""

    kind = "study"
