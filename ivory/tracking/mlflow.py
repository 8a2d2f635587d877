"""The MLflow adapter: experiments, runs, parameters, metrics and artifacts.

MLflow's exceptions are translated into `TrackingError` here, chained with ``from``.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ivory.config.dump import dump_yaml, to_serializable
from ivory.errors import TrackingError
from ivory.tracking.flatten import flatten

__all__ = ["MlflowTracker", "default_tracking_uri"]

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
PARAMS_ARTIFACT = "params.yaml"
_RUN_NAME = re.compile(r"^(?P<kind>[a-z]+)#(?P<number>\d+)$")


def default_tracking_uri(directory: str | os.PathLike[str] = ".") -> str:
    """``MLFLOW_TRACKING_URI`` when set, else a SQLite store ``mlflow.db`` in `directory`."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{Path(directory).resolve() / 'mlflow.db'}"


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except MlflowException as exc:
        raise TrackingError(f"MLflow refused to {action}: {exc.message}") from exc


class MlflowTracker:
    """Tracks experiments and runs in an MLflow store.

    Args:
        directory: Where the default SQLite store and the artifacts live.
        tracking_uri: The store; by default `default_tracking_uri(directory)`.
        artifact_location: Where new experiments keep artifacts; by default ``mlruns`` in
            `directory` for a local store, the server's choice otherwise.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] = ".",
        tracking_uri: str | None = None,
        artifact_location: str | None = None,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.tracking_uri = tracking_uri or default_tracking_uri(self.directory)
        if artifact_location is None and self.tracking_uri.startswith("sqlite:"):
            artifact_location = (self.directory / "mlruns").as_uri()
        self.artifact_location = artifact_location
        self.client = MlflowClient(tracking_uri=self.tracking_uri)

    def __repr__(self) -> str:
        return f"MlflowTracker(tracking_uri={self.tracking_uri!r})"

    # Experiments.

    def create_experiment(self, name: str) -> str:
        """The id of the experiment called `name`, created when it does not exist.

        Raises:
            TrackingError: The experiment exists but is deleted, or MLflow refused.
        """
        if not name or not name.strip():
            raise TrackingError("experiment.name: the experiment name must not be empty")
        with _translated(f"find experiment {name!r}"):
            experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                raise TrackingError(
                    f"experiment.name: the MLflow experiment {name!r} exists but is deleted; "
                    "restore it (mlflow experiments restore) or choose another name"
                )
            return str(experiment.experiment_id)
        with _translated(f"create experiment {name!r}"):
            experiment_id = self.client.create_experiment(
                name, artifact_location=self.artifact_location
            )
        logger.info("created the MLflow experiment %r (id %s)", name, experiment_id)
        return str(experiment_id)

    # Runs.

    def next_number(self, experiment_id: str, kind: str) -> int:
        """The next free N of ``<kind>#N`` in the experiment (deleted runs count)."""
        numbers = [
            int(match["number"])
            for run in self._search(experiment_id, f"attributes.run_name LIKE '{kind}#%'")
            if (match := _RUN_NAME.match(run.info.run_name or "")) and match["kind"] == kind
        ]
        return max(numbers, default=-1) + 1

    def _search(self, experiment_id: str, filter_string: str) -> list[Any]:
        runs: list[Any] = []
        token = None
        with _translated("search runs"):
            while True:
                page = self.client.search_runs(
                    [experiment_id],
                    filter_string,
                    run_view_type=ViewType.ALL,
                    max_results=1000,
                    page_token=token,
                )
                runs.extend(page)
                token = page.token
                if not token:
                    return runs

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
        """Create ``<kind>#N`` with its flattened parameters, tags and ``params.yaml``.

        Returns:
            ``(name, run id)``.
        """
        # Flatten first: a parameter that cannot be tracked stops before a run exists.
        flat, renamed = flatten(dict(params[section]), prefix=section)
        tags = {
            "ivory.kind": kind,
            "ivory.update": dump_yaml(dict(update)).strip() if update else "{}",
            "mlflow.source.name": source_name,
        }
        commit = _git_commit(str(Path(source_name).parent)) if source_name else None
        if commit:
            tags["mlflow.source.git.commit"] = commit
        if parent_id:
            tags["mlflow.parentRunId"] = parent_id

        name = f"{kind}#{self.next_number(experiment_id, kind)}"
        with _translated(f"create run {name}"):
            run = self.client.create_run(experiment_id, tags=tags, run_name=name)
        run_id = str(run.info.run_id)
        try:
            self._log_params(run_id, flat)
            self.log_text(run_id, dump_yaml(to_serializable(dict(params))), PARAMS_ARTIFACT)
            if renamed:
                self.log_text(run_id, dump_yaml(renamed), "param_keys.yaml")
        except BaseException:
            self.set_terminated(run_id, "FAILED")
            raise
        logger.info("created run %s (%s)", name, run_id)
        return name, run_id

    def _log_params(self, run_id: str, flat: Mapping[str, str]) -> None:
        items = [Param(key, value) for key, value in flat.items()]
        with _translated("log parameters"):
            for start in range(0, len(items), BATCH_SIZE):
                self.client.log_batch(run_id, params=items[start : start + BATCH_SIZE])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int) -> None:
        """Log metric values at `step` in one batch."""
        timestamp = int(time.time() * 1000)
        items = [Metric(key, float(value), timestamp, step) for key, value in metrics.items()]
        with _translated("log metrics"):
            for start in range(0, len(items), 1000):
                self.client.log_batch(run_id, metrics=items[start : start + 1000])

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save `text` as an artifact of the run."""
        with _translated(f"save {artifact_file}"):
            self.client.log_text(run_id, text, artifact_file)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set tags on the run in one batch."""
        items = [RunTag(key, value) for key, value in tags.items()]
        with _translated("set tags"):
            for start in range(0, len(items), BATCH_SIZE):
                self.client.log_batch(run_id, tags=items[start : start + BATCH_SIZE])

    def set_terminated(self, run_id: str, status: str) -> None:
        """End the run with `status` (FINISHED, FAILED or KILLED)."""
        RunStatus.from_string(status)
        with _translated(f"end run {run_id}"):
            self.client.set_terminated(run_id, status)

    # Reading back.

    def get_run(self, run_id: str) -> Any:
        """MLflow's record of a run."""
        with _translated(f"get run {run_id}"):
            return self.client.get_run(run_id)

    def load_params(self, run_id: str) -> dict[str, Any]:
        """The full parameters saved with a run."""
        from ivory.config.loader import load_text

        with _translated(f"read {PARAMS_ARTIFACT} of run {run_id}"):
            path = self.client.download_artifacts(run_id, PARAMS_ARTIFACT)
        return load_text(Path(path).read_text(encoding="utf-8"), f"{run_id}/{PARAMS_ARTIFACT}").tree


@functools.lru_cache(maxsize=64)
def _git_commit(directory: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", directory, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None
