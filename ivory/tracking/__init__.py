"""Tracking: the protocol runs log through, and its MLflow adapter (`ivory.tracking.mlflow`).

Nothing here imports MLflow; `create_tracker` imports the adapter when a tracker is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["Tracker", "create_tracker"]


class Tracker(Protocol):
    """What runs and the client need from a tracking backend."""

    tracking_uri: str
    allow_pickle: bool
    interval: float

    @property
    def status_is_cheap(self) -> bool:
        """Whether reading a run's status is cheap enough to do every epoch."""

    def create_experiment(self, name: str, experiment_id: str | None = None) -> str:
        """Create or find the experiment called `name` (or check `experiment_id`); return its id."""

    def get_experiment_id(self, name: str) -> str | None:
        """The id of the experiment called `name`, None when there is none."""

    def require_experiment_id(self, name: str) -> str:
        """The id of the experiment called `name`, which must exist."""

    def list_runs(
        self, experiment_id: str, kind: str | None = None, *, deleted: bool = False
    ) -> list[Any]:
        """The backend's records of the experiment's runs, newest first."""

    def get_run_id(self, experiment_id: str, kind: str, number: int) -> str:
        """The id of run ``<kind>#<number>`` (``-1``: the newest)."""

    def next_number(self, experiment_id: str, kind: str) -> int:
        """The N of the next new run ``<kind>#N``."""

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
        tags: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        """Create a run named ``<kind>#N`` with its parameters logged; return (name, id)."""

    def param_problems(self, params: Mapping[str, Any], prefix: str = "") -> list[tuple[Any, str]]:
        """The parameters that cannot be tracked (colliding or overlong keys): ``(path, why)``."""

    def log_params(self, run_id: str, params: Mapping[str, Any], prefix: str = "") -> None:
        """Log a parameter tree; the same values again are harmless, changed ones an error."""

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int) -> None:
        """Log metric values at `step`."""

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save `text` as an artifact of the run."""

    def log_artifact(self, run_id: str, path: str, artifact_path: str | None = None) -> None:
        """Save the file at `path` as an artifact of the run (in folder `artifact_path`)."""

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set tags of a run."""

    def set_terminated(self, run_id: str, status: str) -> None:
        """End the run with `status` (FINISHED, FAILED or KILLED)."""

    def set_running(self, run_id: str) -> None:
        """Mark an ended run RUNNING again."""

    def get_status(self, run_id: str) -> str:
        """The run's status."""

    def get_run(self, run_id: str) -> Any:
        """The backend's record of a run."""

    def save_states(
        self,
        run_id: str,
        states: Mapping[str, Any],
        folder: str,
        allow_pickle: Mapping[str, bool] | None = None,
    ) -> dict[str, str]:
        """Save member states under artifact folder `folder`; return those not saved, and why."""

    def state_folders(self, run_id: str) -> list[str]:
        """Which of ``current``, ``best`` and ``test`` hold states of the run."""

    def load_states(
        self,
        run_id: str,
        folder: str,
        names: list[str] | None = None,
        allow_pickle: bool | None = None,
    ) -> dict[str, Any]:
        """Read the member states saved under `folder`."""

    def load_params(self, run_id: str) -> dict[str, Any]:
        """The full parameters saved with a run."""

    def remove_deleted_runs(self, experiment_id: str) -> int:
        """Remove deleted runs for good; return how many."""


def create_tracker(
    directory: str = ".", tracking_uri: str | None = None, **options: Any
) -> Tracker:
    """Make the MLflow tracker; by default a SQLite store ``mlflow.db`` in `directory`.

    Args:
        directory: Where the default store and artifacts live.
        tracking_uri: The store, when not the default.
        **options: ``artifact_location``, ``allow_pickle``, ``interval`` (see `MlflowTracker`).
    """
    from ivory.tracking.mlflow import MlflowTracker

    return MlflowTracker(directory=directory, tracking_uri=tracking_uri, **options)
