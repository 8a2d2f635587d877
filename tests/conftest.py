"""Shared fixtures: a working directory with the bundled configs and a real SQLite MLflow store.

Creating a fresh MLflow SQLite store runs its migrations (about two seconds), so one store is
made per session and copied into each test's directory, which is quick and keeps tests apart.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


@pytest.fixture(scope="session", autouse=True)
def ivory_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """ivory's cache (descriptions of scikit-learn estimators) for this session, not the user's."""
    directory = tmp_path_factory.mktemp("ivory-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IVORY_CACHE_DIR", str(directory))
        yield directory


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its tables made and nothing in it."""
    from mlflow.tracking import MlflowClient

    directory = tmp_path_factory.mktemp("store")
    database = directory / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{database}").search_experiments()
    return database


@pytest.fixture
def workdir(tmp_path: Path, empty_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding ``configs/`` and an empty ``mlflow.db``; the cwd is set to it."""
    shutil.copytree(CONFIGS, tmp_path / "configs")
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(directory: Path, name: str, text: str) -> Path:
    """Write a file (dedented) and return its path."""
    import textwrap

    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path
