"""SQLite files of the embedded stores: a write-ahead log, synced at checkpoints.

The MLflow store and the Optuna storage each write many small transactions per run or trial.
In write-ahead-log mode a commit appends to the log instead of rewriting pages and journals, and
readers (``ivory runs``, the UI, other workers) no longer block the writer. With
``synchronous=NORMAL`` a commit no longer waits for the disk: the log is synced at checkpoints.
A commit stays atomic, and a crash of the process loses nothing; only the last commits before a
power loss or a crash of the operating system may be rolled back.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

__all__ = ["sqlite_path", "sync_at_checkpoints", "write_ahead"]

logger = logging.getLogger(__name__)


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///`` URL; None for another URL, memory or a URI filename.

    Example:
        >>> sqlite_path("sqlite:////tmp/mlflow.db"), sqlite_path("postgresql://db/x")
        ('/tmp/mlflow.db', None)
    """
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    if not path or path.startswith(":memory:") or path.startswith("file:"):
        return None
    return path


def write_ahead(path: str) -> None:
    """Put the SQLite file at `path` in write-ahead-log mode (made when missing).

    The mode stays with the file; a file that cannot take it is left as it is.
    """
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except (OSError, sqlite3.Error) as exc:
        logger.debug("cannot use a write-ahead log for %s: %s", path, exc)


def sync_at_checkpoints(engine: Any) -> None:
    """Give every connection of a SQLAlchemy `engine` on a SQLite file ``synchronous=NORMAL``.

    The setting lasts as long as a connection, so it is made on each new one; the engine's idle
    connections are closed, so that every connection from now on has it.
    """
    from sqlalchemy import event

    if not event.contains(engine, "connect", _sync_normally):
        event.listen(engine, "connect", _sync_normally)
        engine.dispose()


def _sync_normally(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
