"""The Optuna adapter: storage, sampler, pruner, the heartbeat, and studies made or resumed.

The embedded default storage is a SQLite file ``optuna.db`` in the working directory, so a study
outlives its process and can be resumed; a PostgreSQL (or MySQL) URL lets workers on several
machines share one study. Every storage gets a heartbeat: a worker that dies in the middle of a
trial stops beating, the next worker to start a trial marks that trial failed, ends its MLflow
run FAILED, and queues a retry with the same parameters.

Optuna's exceptions are translated into `TuningError` here, chained with ``from``.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ivory.errors import TuningError
from ivory.sqlite import sqlite_path, sync_at_checkpoints, write_ahead

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.storages import RDBStorage
    from optuna.trial import FrozenTrial

__all__ = [
    "DEFAULT_STORAGE_FILE",
    "RETRY_OF",
    "RUN_ID",
    "SPACE_ATTR",
    "Tuner",
    "default_storage",
    "mask_url",
]

logger = logging.getLogger(__name__)

DEFAULT_STORAGE_FILE = "optuna.db"
RUN_ID = "run_id"
"""The attribute linking an Optuna study or trial to its MLflow run."""
SPACE_ATTR = "ivory.space"
"""The study attribute holding the search space it was created with (JSON by parameter)."""
SUGGEST_ATTR = "ivory.suggest"
RETRY_OF = "retry_of_trial"
"""The trial attribute of a retried trial: the number of the trial whose worker died."""
_PASSWORD = re.compile(r"(?P<head>://[^:/@]+:)[^@]*@")

StaleHandler = Callable[["FrozenTrial", str], None]


def default_storage(directory: str | Path = ".") -> str:
    """The embedded default: a SQLite file ``optuna.db`` in `directory`."""
    return f"sqlite:///{Path(directory).resolve() / DEFAULT_STORAGE_FILE}"


def mask_url(url: str) -> str:
    """`url` with its password, if any, replaced by ``***`` (for messages and logs).

    Example:
        >>> mask_url("postgresql://me:secret@db:5432/studies")
        'postgresql://me:***@db:5432/studies'
    """
    return _PASSWORD.sub(r"\g<head>***@", url)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    import optuna
    import sqlalchemy.exc

    try:
        yield
    except optuna.exceptions.DuplicatedStudyError as exc:
        raise TuningError(f"cannot {action}: {exc}") from exc
    except sqlalchemy.exc.SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise TuningError(f"cannot {action}: the storage refused ({detail})") from exc
    except (ValueError, RuntimeError, ImportError) as exc:
        raise TuningError(f"cannot {action}: {exc}") from exc


@contextmanager
def _quiet_experimental() -> Iterator[None]:
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        yield


class Tuner:
    """Where studies live and how they sample, prune and survive dead workers.

    Args:
        storage: A database URL (``sqlite:///optuna.db``, ``postgresql://user@host/db``); by
            default `default_storage` of `directory`.
        sampler: An Optuna sampler (Optuna's default, TPE, when None).
        pruner: An Optuna pruner (Optuna's default, the median pruner, when None).
        heartbeat_interval: Seconds between the heartbeats of a running trial.
        grace_period: Seconds without a heartbeat after which a running trial counts as dead; by
            default three intervals.
        max_retry: How many times a trial of a dead worker is retried (None: no limit).
        directory: Where the default storage lives.
    """

    def __init__(
        self,
        storage: str | None = None,
        sampler: Any = None,
        pruner: Any = None,
        heartbeat_interval: int = 10,
        grace_period: int | None = None,
        max_retry: int | None = 3,
        directory: str | None = None,
    ) -> None:
        if heartbeat_interval < 1:
            raise ValueError(
                f"heartbeat_interval must be at least 1 second (got {heartbeat_interval})"
            )
        if grace_period is not None and grace_period <= heartbeat_interval:
            raise ValueError(
                f"grace_period must be longer than heartbeat_interval={heartbeat_interval} "
                f"(got {grace_period})"
            )
        if max_retry is not None and max_retry < 0:
            raise ValueError(f"max_retry must be 0 or more, or null for no limit (got {max_retry})")
        self.directory = Path(directory or ".").resolve()
        self.storage = storage or default_storage(self.directory)
        self.sampler = sampler
        self.pruner = pruner
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period or 3 * heartbeat_interval
        self.max_retry = max_retry
        self._storages: dict[int, RDBStorage] = {}

    def __repr__(self) -> str:
        return (
            f"Tuner(storage={mask_url(self.storage)!r}, sampler={self.sampler!r}, "
            f"pruner={self.pruner!r})"
        )

    # Storage.

    def create_storage(self, on_stale: StaleHandler | None = None) -> RDBStorage:
        """The storage, with a heartbeat; `on_stale` is told of each trial of a dead worker.

        Raises:
            TuningError: The URL is not a database Optuna can use, or it cannot be reached.
        """
        url = self.storage
        engine: dict[str, Any] = {}
        if url.startswith("sqlite:"):
            # Several local workers share one file: wait for its lock instead of failing at once.
            engine = {"connect_args": {"timeout": 60}}
        else:
            engine = {"pool_pre_ping": True}
        with _translated(f"open the study storage {mask_url(url)}"), _quiet_experimental():
            storage = _open(
                url,
                engine_kwargs=engine,
                heartbeat_interval=self.heartbeat_interval,
                grace_period=self.grace_period,
                heartbeat_stale_trial_callback=_StaleTrials(self.max_retry, on_stale),
            )
        path = sqlite_path(url)
        if path is not None:
            write_ahead(path)
            sync_at_checkpoints(storage.engine)
        return storage

    def storage_exists(self) -> bool:
        """Whether the storage may hold studies: False only for a SQLite file not made yet."""
        path = sqlite_path(self.storage)
        return path is None or Path(path).exists()

    # Studies.

    def find_study(self, storage: RDBStorage, name: str) -> optuna.Study | None:
        """The study called `name` in `storage`, or None."""
        import optuna

        with _translated(f"look up study {name!r}"):
            names = {summary.study_name for summary in storage.get_all_studies()}
            if name not in names:
                return None
            return optuna.load_study(
                study_name=name, storage=storage, sampler=self.sampler, pruner=self.pruner
            )

    def create_study(
        self,
        storage: RDBStorage,
        name: str,
        direction: Literal["minimize", "maximize"],
        attrs: Mapping[str, Any],
    ) -> optuna.Study | None:
        """Create the study `name` with user attributes `attrs`; None when it exists already.

        Two workers creating the same study at once is not an error: one creates it, the other
        gets None and loads it.
        """
        import optuna

        with _translated(f"create study {name!r}"), _quiet_experimental():
            try:
                study = optuna.create_study(
                    storage=storage,
                    sampler=self.sampler,
                    pruner=self.pruner,
                    study_name=name,
                    direction=direction,
                )
            except optuna.exceptions.DuplicatedStudyError:
                return None
        with _translated(f"record the attributes of study {name!r}"):
            for key, value in attrs.items():
                study.set_user_attr(key, value)
        logger.info("created the Optuna study %s in %s", name, mask_url(self.storage))
        return study

    def wait_for_attr(self, study: optuna.Study, key: str, timeout: float = 60.0) -> Any:
        """The user attribute `key` of a study another worker is still setting up."""
        deadline = time.monotonic() + timeout
        while True:
            with _translated(f"read study {study.study_name!r}"):
                value = study.user_attrs.get(key)
            if value is not None:
                return value
            if time.monotonic() > deadline:
                raise TuningError(
                    f"study {study.study_name!r} has no {key!r} attribute after {timeout:.0f} s: "
                    "it was not created by ivory, or its creator failed; start a new study"
                )
            time.sleep(0.2)

    def delete_study(self, storage: RDBStorage, name: str) -> None:
        """Delete the study `name` from `storage`."""
        import optuna

        with _translated(f"delete study {name!r}"):
            optuna.delete_study(study_name=name, storage=storage)


def _open(url: str, **options: Any) -> RDBStorage:
    """The RDB storage at `url`, whose tables several workers may be creating at the same time.

    Workers that start together on a new database all create its tables; the database lets one
    win and refuses the others, which then find the tables made and open them.
    """
    import random

    import sqlalchemy.exc
    from optuna.storages import RDBStorage

    for attempt in range(5):
        try:
            return RDBStorage(url, **options)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == 4:
                raise
            logger.debug(
                "the tables of %s are being made by another worker; retrying", mask_url(url)
            )
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.2)
    raise AssertionError("unreachable")  # pragma: no cover


class _StaleTrials:
    """Ends the MLflow run of a dead worker's trial, then queues the trial again.

    The queued copy keeps the parameters but not the link to the old run; its own run is linked
    when a worker picks it up.
    """

    def __init__(self, max_retry: int | None, on_stale: StaleHandler | None) -> None:
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        with _quiet_experimental():
            self.retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        self.on_stale = on_stale

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        # End the run first: it must not stay RUNNING whatever happens to the retry.
        run_id = trial.user_attrs.get(RUN_ID)
        logger.warning(
            "trial %d of study %s stopped sending heartbeats (its worker died); retrying it",
            trial.number,
            study.study_name,
        )
        if run_id and self.on_stale is not None:
            try:
                self.on_stale(trial, str(run_id))
            except Exception:
                logger.exception("could not end the run %s of trial %d", run_id, trial.number)

        # Queue the retry without the old run's id.
        queued = copy.copy(trial)
        queued.user_attrs = {
            **{key: value for key, value in trial.user_attrs.items() if key != RUN_ID},
            RETRY_OF: trial.number,
        }
        with _quiet_experimental():
            self.retry(study, queued)


def dump_distributions(distributions: Mapping[str, BaseDistribution]) -> str:
    """The distributions as one JSON text, by parameter name."""
    from optuna.distributions import distribution_to_json

    return json.dumps(
        {name: json.loads(distribution_to_json(d)) for name, d in distributions.items()},
        sort_keys=True,
    )


def load_distributions(text: str) -> dict[str, BaseDistribution]:
    """The inverse of `dump_distributions`."""
    from optuna.distributions import json_to_distribution

    return {name: json_to_distribution(json.dumps(d)) for name, d in json.loads(text).items()}
