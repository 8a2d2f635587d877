"""Tracking: the protocol runs log through, and its MLflow adapter (`ivory.tracking.mlflow`).

Nothing here imports MLflow; `create_tracker` imports the adapter when a tracker is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["Tracker", "create_tracker"]


class Tracker(Protocol):
    """What a run needs from a tracking backend."""

    tracking_uri: str

    def create_experiment(self, name: str) -> str:
        """Create or find the experiment called `name`; return its id."""

    def create_run(
        self,
        experiment_id: str,
        *,
        kind: str,
        params: Mapping[str, Any],
        section: str,
        update: Mapping[str, Any],
        source_name: str,
        parent_id: str | None,
    ) -> tuple[str, str]:
        """Create a run named ``<kind>#N`` with its parameters logged; return (name, id)."""

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int) -> None:
        """Log metric values at `step`."""

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save `text` as an artifact of the run."""

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set tags on the run."""

    def set_terminated(self, run_id: str, status: str) -> None:
        """End the run with `status` (FINISHED, FAILED or KILLED)."""


def create_tracker(
    directory: str = ".", tracking_uri: str | None = None, **options: Any
) -> Tracker:
    """Make the MLflow tracker; by default a SQLite store ``mlflow.db`` in `directory`."""
    from ivory.tracking.mlflow import MlflowTracker

    return MlflowTracker(directory=directory, tracking_uri=tracking_uri, **options)
