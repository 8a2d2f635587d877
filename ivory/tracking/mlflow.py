"""The MLflow adapter: experiments, runs, parameters, metrics, states and artifacts.

MLflow's exceptions are translated into `TrackingError` here, chained with ``from``. Each run is
named ``<kind>#N`` (``run#0``, ``task#2``), numbered per kind within its experiment; deleted runs
keep their numbers until `MlflowTracker.remove_deleted_runs` removes them for good.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunStatus, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ivory.config.dump import dump_yaml, to_serializable
from ivory.errors import ConfigError, TrackingError
from ivory.sqlite import sqlite_path, sync_at_checkpoints, write_ahead
from ivory.tracking.flatten import flatten, key_problems
from ivory.tracking.state import read_state, state_files, write_state

__all__ = ["MlflowTracker", "default_tracking_uri", "parse_run_name"]

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
"""MLflow takes at most 100 parameters in one batch."""
METRIC_BATCH_SIZE = 1000
PARAMS_ARTIFACT = "params.yaml"
KEYS_ARTIFACT = "param_keys.yaml"
ERROR_ARTIFACT = "error.txt"
STATE_FOLDERS = ("current", "best", "test")
SETTLE_WAITS = 3
SETTLE_WAIT = 0.05
"""How many times, and how long (s, up to twice that), a run waits for others to leave its name."""
_RUN_NAME = re.compile(r"^(?P<kind>[a-z]+)#(?P<number>\d+)$")
DEFAULT_EXPERIMENT_ID = "0"


def default_tracking_uri(directory: str | os.PathLike[str] = ".") -> str:
    """``MLFLOW_TRACKING_URI`` when set, else a SQLite store ``mlflow.db`` in `directory`."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{Path(directory).resolve() / 'mlflow.db'}"


def parse_run_name(name: str) -> tuple[str, int] | None:
    """``("run", 3)`` for ``"run#3"``, None for a name ivory did not give.

    Example:
        >>> parse_run_name("task#12"), parse_run_name("lucky-fox-42")
        (('task', 12), None)
    """
    match = _RUN_NAME.match(name)
    return (match["kind"], int(match["number"])) if match else None


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
        allow_pickle: Whether member states without a safe format are saved with pickle, and
            pickled states are loaded back. Off by default: loading a pickle can run code.
        interval: At most how often, in seconds, a training run checks whether it was killed
            and saves its ``current`` state; both also happen at the end of training.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] = ".",
        tracking_uri: str | None = None,
        artifact_location: str | None = None,
        allow_pickle: bool = False,
        interval: float = 1.0,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.tracking_uri = tracking_uri or default_tracking_uri(self.directory)
        if artifact_location is None and self.tracking_uri.startswith("sqlite:"):
            artifact_location = (self.directory / "mlruns").as_uri()
        self.artifact_location = artifact_location
        self.allow_pickle = allow_pickle
        self.interval = interval
        database = sqlite_path(self.tracking_uri)
        if database is not None:
            write_ahead(database)
        self.client = MlflowClient(tracking_uri=self.tracking_uri)
        engine = getattr(self.client._tracking_client.store, "engine", None)
        if database is not None and engine is not None:
            sync_at_checkpoints(engine)
        self._params_cache: dict[str, dict[str, Any]] = {}
        self._next: dict[tuple[str, str], int] = {}  # The number this process expects to use next.
        self._artifact_uris: dict[str, str] = {}  # Of the runs this tracker writes to.

    def __repr__(self) -> str:
        return f"MlflowTracker(tracking_uri={self.tracking_uri!r})"

    # Experiments.

    def create_experiment(self, name: str, experiment_id: str | None = None) -> str:
        """The id of experiment `name` (created when missing), or check the given id.

        Args:
            name: The experiment name (``experiment.name``).
            experiment_id: An existing experiment to use instead (``experiment.id``).

        Raises:
            ConfigError: The name is empty.
            TrackingError: The experiment is deleted, the id does not exist, or MLflow refused.
        """
        if experiment_id not in (None, ""):
            return self._check_experiment_id(str(experiment_id))
        if not name or not name.strip():
            raise ConfigError.single(
                "experiment.name",
                f"the experiment name must not be empty (got {name!r}); give a name or leave "
                "it out to use the file name",
                value=name,
            )
        experiment_id = self.get_experiment_id(name)
        if experiment_id is not None:
            return experiment_id
        with _translated(f"create experiment {name!r}"):
            created = self.client.create_experiment(name, artifact_location=self.artifact_location)
        logger.info("created the MLflow experiment %r (id %s)", name, created)
        return str(created)

    def get_experiment_id(self, name: str) -> str | None:
        """The id of the active experiment `name`, None if there is none.

        Raises:
            TrackingError: The experiment exists but is deleted.
        """
        with _translated(f"find experiment {name!r}"):
            experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            return None
        if experiment.lifecycle_stage == "deleted":
            which = (
                "the default experiment"
                if experiment.experiment_id == DEFAULT_EXPERIMENT_ID
                else "the MLflow experiment"
            )
            raise TrackingError(
                f"experiment.name: {which} {name!r} exists but is deleted; restore it "
                f"(mlflow experiments restore --experiment-id {experiment.experiment_id}) or "
                "choose another name"
            )
        return str(experiment.experiment_id)

    def require_experiment_id(self, name: str) -> str:
        """The id of experiment `name`, which must have been tracked already.

        Raises:
            TrackingError: No experiment of that name, or it is deleted.
        """
        experiment_id = self.get_experiment_id(name)
        if experiment_id is None:
            raise TrackingError(f"no MLflow experiment is called {name!r} in {self.tracking_uri}")
        return experiment_id

    def _check_experiment_id(self, experiment_id: str) -> str:
        try:
            experiment = self.client.get_experiment(experiment_id)
        except MlflowException as exc:
            raise TrackingError(
                f"experiment.id: no MLflow experiment has the id {experiment_id!r} in "
                f"{self.tracking_uri}"
            ) from exc
        if experiment.lifecycle_stage == "deleted":
            raise TrackingError(
                f"experiment.id: the MLflow experiment {experiment_id!r} "
                f"({experiment.name!r}) is deleted; restore it or choose another"
            )
        return experiment_id

    # Runs.

    def list_runs(
        self, experiment_id: str, kind: str | None = None, *, deleted: bool = False
    ) -> list[Any]:
        """MLflow's records of the experiment's runs named by ivory, newest first.

        Args:
            experiment_id: The experiment.
            kind: Only runs of this kind (``run``, ``task``, ``study``).
            deleted: Include deleted runs (they keep their numbers until removed).
        """
        pattern = f"{kind}#%" if kind else "%#%"
        view = ViewType.ALL if deleted else ViewType.ACTIVE_ONLY
        runs = self._search(experiment_id, f"attributes.run_name LIKE '{pattern}'", view)
        named = [
            run
            for run in runs
            if (parsed := parse_run_name(run.info.run_name or ""))
            and (kind is None or parsed[0] == kind)
        ]
        # Newest first; runs started in the same millisecond by their number.
        return sorted(named, key=lambda run: (run.info.start_time or 0, _number(run)), reverse=True)

    def next_number(self, experiment_id: str, kind: str) -> int:
        """The next free N of ``<kind>#N`` in the experiment (deleted runs count)."""
        numbers = [_number(run) for run in self.list_runs(experiment_id, kind, deleted=True)]
        return max(numbers, default=-1) + 1

    def get_run_id(self, experiment_id: str, kind: str, number: int) -> str:
        """The id of ``<kind>#<number>``; ``-1`` is the newest.

        Raises:
            TrackingError: No such run.
        """
        runs = {_number(run): run for run in self.list_runs(experiment_id, kind)}
        if number == -1 and runs:
            return str(runs[max(runs)].info.run_id)
        if number in runs:
            return str(runs[number].info.run_id)
        have = sorted(runs)
        known = f"{kind}#{have[0]} to {kind}#{have[-1]}" if have else f"no {kind} yet"
        wanted = "the newest" if number == -1 else f"{kind}#{number}"
        raise TrackingError(f"experiment {experiment_id}: no {wanted} ({known})")

    def _settle_name(self, experiment_id: str, kind: str, name: str, run_id: str) -> str:
        """Keep run names unique when several processes create runs at once.

        A run keeps its name only when a search finds no other run with that name. Of two runs
        that end up with the same name, the one that became visible later would have found the
        other, so no two keep it, whatever the clocks say. When several hold a name, the one
        created first waits a moment for the others to move on to the next free number; if one
        stays (it found itself alone before this run was visible), this run moves on as well.
        One exact-name search per new run, instead of listing every run.
        """
        waits = 0
        for _ in range(100):
            same = self._holders(experiment_id, name)
            if all(holder == run_id for _, holder in same):
                return name
            if min(same)[1] == run_id and waits < SETTLE_WAITS:
                waits += 1
                time.sleep(SETTLE_WAIT * (1 + random.random()))
                continue
            waits = 0
            name = f"{kind}#{self.next_number(experiment_id, kind)}"
            with _translated(f"rename run {run_id}"):
                self.client.update_run(run_id, name=name)
        raise TrackingError(f"cannot give run {run_id} a free name in experiment {experiment_id}")

    def _holders(self, experiment_id: str, name: str) -> list[tuple[int, str]]:
        """``(start time, run id)`` of every run called `name`, deleted ones included."""
        if self._names_query is not None:
            try:
                holders: list[tuple[int, str]] = self._names_query(experiment_id, name)
                return holders
            except Exception as exc:
                raise TrackingError(f"cannot look up the runs called {name}: {exc}") from exc
        same = self._search(experiment_id, f"attributes.run_name = '{name}'", ViewType.ALL)
        return [(run.info.start_time or 0, str(run.info.run_id)) for run in same]

    def _search(self, experiment_id: str, filter_string: str, view: int) -> list[Any]:
        runs: list[Any] = []
        token = None
        with _translated("search runs"):
            while True:
                page = self.client.search_runs(
                    [experiment_id],
                    filter_string,
                    run_view_type=view,
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
        tags: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        """Create ``<kind>#N`` with its flattened parameters, tags and ``params.yaml``.

        `tags` are set with the run's own tags, in the call that creates it.

        Returns:
            ``(name, run id)``.

        Raises:
            ConfigError: A parameter cannot be tracked (a key collision or an overlong key);
                nothing is created then.
            TrackingError: MLflow refused.
        """
        # Flatten first: a parameter that cannot be tracked stops before a run exists.
        flat, renamed = flatten(dict(params[section]), prefix=section)
        run_tags = {
            "ivory.kind": kind,
            "ivory.update": dump_yaml(dict(update)).strip() if update else "{}",
            "mlflow.source.name": source_name,
            "mlflow.source.type": "LOCAL",
        }
        commit = _git_commit(str(Path(source_name).parent)) if source_name else None
        if commit:
            run_tags["mlflow.source.git.commit"] = commit
        if parent_id:
            run_tags["mlflow.parentRunId"] = parent_id
        run_tags.update(tags or {})

        key = (experiment_id, kind)
        name = f"{kind}#{self._next.get(key) or self.next_number(experiment_id, kind)}"
        with _translated(f"create run {name}"):
            run = self.client.create_run(experiment_id, tags=run_tags, run_name=name)
        run_id = str(run.info.run_id)
        self._artifact_uris[run_id] = str(run.info.artifact_uri)
        name = self._settle_name(experiment_id, kind, name, run_id)
        self._next[key] = int(name.rsplit("#", 1)[1]) + 1
        try:
            self._log_params(run_id, flat)
            self.log_text(run_id, dump_yaml(to_serializable(dict(params))), PARAMS_ARTIFACT)
            if renamed:
                self.log_text(run_id, dump_yaml(renamed), KEYS_ARTIFACT)
        except BaseException:
            self.set_terminated(run_id, "FAILED")
            raise
        logger.info("created run %s (%s)", name, run_id)
        return name, run_id

    def param_problems(self, params: Mapping[str, Any], prefix: str = "") -> list[tuple[Any, str]]:
        """The parameters that cannot be tracked, each ``(path, why)`` (`flatten.key_problems`).

        Two paths whose keys collide, or a key that is too long; an overlong value is only cut
        when it is logged.
        """
        return key_problems(dict(params), prefix=prefix)

    def log_params(self, run_id: str, params: Mapping[str, Any], prefix: str = "") -> None:
        """Log a parameter tree to a run, flattened by the same rule as at creation.

        Logging the same values again does nothing. A value that differs from the logged one is
        an error naming every such key, raised before anything is logged.

        Raises:
            ConfigError: A parameter cannot be tracked.
            TrackingError: A value differs from the one logged, or MLflow refused.
        """
        flat, _ = flatten(dict(params), prefix=prefix)
        record = self.get_run(run_id)
        logged = record.data.params
        changed = [
            f"{key} (logged {logged[key]!r}, now {value!r})"
            for key, value in flat.items()
            if key in logged and logged[key] != value
        ]
        if changed:
            raise TrackingError(
                f"{record.info.run_name or run_id}: parameters cannot change once logged: "
                f"{'; '.join(changed)}"
            )
        self._log_params(run_id, {k: v for k, v in flat.items() if k not in logged})

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
            for start in range(0, len(items), METRIC_BATCH_SIZE):
                self.client.log_batch(run_id, metrics=items[start : start + METRIC_BATCH_SIZE])

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save `text` as an artifact of the run."""
        root = self._local_root(run_id)
        if root is None:
            with _translated(f"save {artifact_file}"):
                self.client.log_text(run_id, text, artifact_file)
            return
        with _written(artifact_file):
            path = root / artifact_file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def log_artifact(self, run_id: str, path: str, artifact_path: str | None = None) -> None:
        """Save the file at `path` as an artifact of the run (in folder `artifact_path`)."""
        root = self._local_root(run_id)
        if root is None:
            with _translated(f"save {Path(path).name}"):
                self.client.log_artifact(run_id, path, artifact_path)
            return
        with _written(Path(path).name):
            folder = root / artifact_path if artifact_path else root
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, folder)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set tags of a run."""
        with _translated(f"tag run {run_id}"):
            for key, value in tags.items():
                self.client.set_tag(run_id, key, value)

    def set_terminated(self, run_id: str, status: str) -> None:
        """End the run with `status` (FINISHED, FAILED or KILLED)."""
        _check_status(status)
        with _translated(f"end run {run_id}"):
            self.client.set_terminated(run_id, status)
        _forget_artifact_repository(run_id)
        self._artifact_uris.pop(run_id, None)

    def set_running(self, run_id: str) -> None:
        """Mark an ended run RUNNING again (it is being continued)."""
        with _translated(f"restart run {run_id}"):
            self.client.update_run(run_id, status="RUNNING")

    @functools.cached_property
    def _runs_table(self) -> tuple[Any, Any] | None:
        """``(sessions, SqlRun)`` of a SQL store, for small direct queries; None elsewhere."""
        store = self.client._tracking_client.store
        try:
            from mlflow.store.tracking.dbmodels.models import SqlRun

            return store.ManagedSessionMaker, SqlRun
        except (ImportError, AttributeError):
            return None

    @functools.cached_property
    def _status_query(self) -> Any:
        """A function reading one run's status column on a SQL store, or None on other stores."""
        if self._runs_table is None:
            return None
        sessions, table = self._runs_table

        def query(run_id: str) -> str | None:
            with sessions() as session:
                status = session.query(table.status).filter(table.run_uuid == run_id).scalar()
            return None if status is None else str(status)

        return query

    @functools.cached_property
    def _names_query(self) -> Any:
        """A function listing the runs of one name on a SQL store, or None on other stores."""
        if self._runs_table is None:
            return None
        sessions, table = self._runs_table

        def query(experiment_id: str, name: str) -> list[tuple[int, str]]:
            with sessions() as session:
                rows = (
                    session.query(table.start_time, table.run_uuid)
                    .filter(table.experiment_id == int(experiment_id), table.name == name)
                    .all()
                )
            return [(start or 0, str(run_id)) for start, run_id in rows]

        return query

    @property
    def status_is_cheap(self) -> bool:
        """Whether `get_status` costs one small query (a SQL store), so it can run every epoch."""
        return self._status_query is not None

    def get_status(self, run_id: str) -> str:
        """The run's status: RUNNING, FINISHED, FAILED, KILLED or SCHEDULED."""
        if self._status_query is not None:
            try:
                status = self._status_query(run_id)
            except Exception as exc:
                raise TrackingError(f"cannot read the status of run {run_id}: {exc}") from exc
            if status is not None:
                return str(status)
        return str(self.get_run(run_id).info.status)

    # States.

    def save_states(
        self,
        run_id: str,
        states: Mapping[str, Any],
        folder: str,
        allow_pickle: Mapping[str, bool] | None = None,
    ) -> dict[str, str]:
        """Save member states under artifact folder `folder` (``current``, ``best``, ``test``).

        Args:
            run_id: The run.
            states: Each member's ``state_dict()``, by member name.
            folder: The artifact folder.
            allow_pickle: Members that asked for pickle (the tracker's own setting also counts).

        Returns:
            The members not saved, with why: a state that needs pickle without permission.
        """
        allowed = allow_pickle or {}
        skipped: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="ivory-") as tmp:
            for name, state in states.items():
                pickle_ok = self.allow_pickle or allowed.get(name, False)
                reason = write_state(Path(tmp), name, state, allow_pickle=pickle_ok)
                if reason:
                    skipped[name] = reason
            root = self._local_root(run_id)
            if root is None:
                with _translated(f"save the {folder} states of run {run_id}"):
                    self.client.log_artifacts(run_id, tmp, folder)
            else:
                with _written(f"the {folder} states of run {run_id}"):
                    shutil.copytree(tmp, root / folder, dirs_exist_ok=True)
        return skipped

    def state_folders(self, run_id: str) -> list[str]:
        """Which of ``current``, ``best`` and ``test`` hold states of the run."""
        with _translated(f"list the artifacts of run {run_id}"):
            found = {info.path for info in self.client.list_artifacts(run_id) if info.is_dir}
        return [folder for folder in STATE_FOLDERS if folder in found]

    def load_states(
        self,
        run_id: str,
        folder: str,
        names: list[str] | None = None,
        allow_pickle: bool | None = None,
    ) -> dict[str, Any]:
        """Read the member states saved under `folder`.

        Args:
            run_id: The run.
            folder: ``current``, ``best`` or ``test``.
            names: Only these members (all when None).
            allow_pickle: Whether pickled states may be loaded; by default the tracker's setting.

        Raises:
            TrackingError: The folder does not exist, or a state is pickled and pickle is not
                allowed.
        """
        folders = self.state_folders(run_id)
        if folder not in folders:
            saved = ", ".join(folders) or "none"
            name = self.get_run(run_id).info.run_name or run_id
            raise TrackingError(
                f"{name} has no saved {folder!r} states (saved: {saved}); a run saves "
                "'current' and 'best' when it trains and 'test' when it tests"
            )
        allowed = self.allow_pickle if allow_pickle is None else allow_pickle
        with self._artifact(run_id, folder) as path:
            return {
                name: read_state(file, allow_pickle=allowed, where=f"{folder}/{file.name}")
                for name, file in state_files(path).items()
                if names is None or name in names
            }

    def _local_root(self, run_id: str) -> Path | None:
        """The folder of the run's artifacts when they are files here; None for a remote store.

        Artifacts of a local store are written and read in place, as MLflow's own local
        repository does, without asking the store for the run's artifact location each time.
        """
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            uri = str(self.get_run(run_id).info.artifact_uri)
        return _local_folder(uri)

    @contextmanager
    def _artifact(self, run_id: str, path: str) -> Iterator[Path]:
        """A local path of an artifact: in place for a local store, else a downloaded copy."""
        root = self._local_root(run_id)
        if root is not None:
            yield root / path
            return
        with (
            tempfile.TemporaryDirectory(prefix="ivory-") as tmp,
            _translated(f"download {path} of run {run_id}"),
        ):
            yield Path(self.client.download_artifacts(run_id, path, tmp))

    # Reading back.

    def get_run(self, run_id: str) -> Any:
        """MLflow's record of a run."""
        with _translated(f"get run {run_id}"):
            return self.client.get_run(run_id)

    def load_params(self, run_id: str) -> dict[str, Any]:
        """The full parameters saved with a run (read once per process; they never change)."""
        import copy

        from ivory.config.loader import load_text

        if run_id not in self._params_cache:
            with self._artifact(run_id, PARAMS_ARTIFACT) as path:
                if not path.is_file():
                    raise TrackingError(f"run {run_id} has no {PARAMS_ARTIFACT}")
                text = path.read_text(encoding="utf-8")
            tree = load_text(text, f"{run_id}/{PARAMS_ARTIFACT}").tree
            self._params_cache[run_id] = tree
        return copy.deepcopy(self._params_cache[run_id])

    # Housekeeping.

    def remove_deleted_runs(self, experiment_id: str) -> int:
        """Remove the experiment's deleted runs for good, with their artifacts.

        Their numbers become free again. Works on SQL stores (SQLite, PostgreSQL), like
        ``mlflow gc``.

        Returns:
            How many runs were removed.

        Raises:
            TrackingError: The store cannot remove runs (run ``mlflow gc`` on the server).
        """
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        store = self.client._tracking_client.store
        if not hasattr(store, "_hard_delete_run"):
            raise TrackingError(
                f"the store {self.tracking_uri} cannot remove runs from here; run "
                "`mlflow gc` where the store lives"
            )
        deleted = self._search(experiment_id, "", ViewType.DELETED_ONLY)
        with _translated("remove deleted runs"):
            location = self.client.get_experiment(experiment_id).artifact_location
            for run in deleted:
                get_artifact_repository(run.info.artifact_uri).delete_artifacts()  # type: ignore[no-untyped-call]
                store._hard_delete_run(run.info.run_id)
                _remove_empty_folders(run.info.artifact_uri, location, experiment_id)
        # Their numbers are free again: forget the numbers this process meant to use next.
        self._next = {key: n for key, n in self._next.items() if key[0] != experiment_id}
        logger.info("removed %d deleted runs of experiment %s", len(deleted), experiment_id)
        return len(deleted)


def _remove_empty_folders(artifact_uri: str, location: str, experiment_id: str) -> None:
    """Remove the folders a removed run's artifacts leave empty (``<run id>/artifacts``).

    The experiment's own folder goes too when it is empty and MLflow's per-experiment folder
    (``mlruns/<experiment id>``); a shared artifact root (ivory's ``mlruns``) stays.
    """
    folder = _local_folder(artifact_uri)
    top = _local_folder(location)
    if folder is None or top is None:
        return
    top = top.resolve()
    folder = folder.resolve()
    if not folder.is_relative_to(top):
        return
    while folder != top and _remove_if_empty(folder):
        folder = folder.parent
    if folder == top and top.name == experiment_id:
        _remove_if_empty(top)


def _remove_if_empty(folder: Path) -> bool:
    """Remove `folder` when it is an empty folder; whether it is gone."""
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _number(run: Any) -> int:
    parsed = parse_run_name(run.info.run_name or "")
    return parsed[1] if parsed else -1


def _forget_artifact_repository(run_id: str) -> None:
    """Drop MLflow's cached artifact repository of an ended run.

    MLflow keeps one per run in a module cache of up to 1024 (each with a thread pool and a
    queue), so a task's memory grew with every run; reading the run's artifacts later simply
    makes a new one.
    """
    from mlflow.tracking._tracking_service import utils

    cache = getattr(utils, "_artifact_repos_cache", None)
    if isinstance(cache, dict):
        cache.pop(run_id, None)


def _local_folder(uri: str) -> Path | None:
    """The folder of a ``file:`` (or plain path) artifact URI; None for any other scheme.

    Example:
        >>> _local_folder("file:///work/mlruns/1/abc/artifacts"), _local_folder("s3://b/1")
        (PosixPath('/work/mlruns/1/abc/artifacts'), None)
    """
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


@contextmanager
def _written(what: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise TrackingError(f"cannot save {what}: {exc}") from exc


def _check_status(status: str) -> None:
    try:
        RunStatus.from_string(status)
    except Exception as exc:
        raise TrackingError(
            f"unknown run status {status!r}; expected FINISHED, FAILED or KILLED"
        ) from exc


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
