"""The client: finds parameter files, caches experiments and holds the tracker."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from ivory.core.base import Base, Experiment
from ivory.core.run import Run
from ivory.errors import ConfigError, ConfigIssue, IvoryError
from ivory.registry import Registry
from ivory.registry import registry as global_registry

__all__ = ["Client", "create_client"]

logger = logging.getLogger(__name__)

CLIENT_FILES = ("client.yaml", "client.yml")
SUFFIXES = (".yaml", ".yml")


class Client(Base):
    """Entry point: experiments by name, runs from them, and their tracker.

    Args:
        directory: The working directory (parameter files, the default stores).
        tracker: The tracker member, or None for no tracking.
        registry: Resolves constructor names.
    """

    def __init__(
        self,
        directory: str | Path = ".",
        tracker: Any = None,
        registry: Registry | None = None,
    ) -> None:
        instances = {"tracker": tracker} if tracker is not None else {}
        super().__init__(None, **instances)
        self.directory = Path(directory).resolve()
        self.registry = registry or global_registry
        self._experiments: dict[str, Experiment] = {}

    @property
    def tracker(self) -> Any:
        """The tracker, or None."""
        return self.get("tracker")

    def find(self, name: str) -> Path:
        """The parameter file of experiment `name`: ``configs/<name>.yaml`` or ``<name>.yaml``.

        Raises:
            ConfigError: No such file.
        """
        direct = Path(name)
        if direct.suffix in SUFFIXES:
            candidate = direct if direct.is_absolute() else self.directory / direct
            if candidate.is_file():
                return candidate
        candidates = [
            folder / f"{name}{suffix}"
            for folder in (self.directory / "configs", self.directory)
            for suffix in SUFFIXES
        ]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        known = sorted(
            {
                p.stem
                for folder in (self.directory / "configs", self.directory)
                for p in _yaml_files(folder)
            }
            - {"client"}
        )
        hint = f"; experiments here: {', '.join(known)}" if known else ""
        raise ConfigError(
            ConfigIssue(
                "",
                f"no parameter file for experiment {name!r} (looked for configs/{name}.yaml "
                f"and {name}.yaml in {self.directory}){hint}",
                "",
                name,
            )
        )

    def create_experiment(self, name: str) -> Experiment:
        """The experiment of parameter file `name` (loaded once, then cached)."""
        if name in self._experiments:
            return self._experiments[name]
        path = self.find(name)
        experiment = Experiment.from_file(str(path), name=path.stem, registry=self.registry)
        if self.tracker is not None:
            experiment.set_tracker(self.tracker)
        self._experiments[name] = experiment
        return experiment

    def create_run(self, name: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        """A new run of experiment `name`, with overrides."""
        return self.create_experiment(name).create_run(args, **kwargs)


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.suffix in SUFFIXES]


def create_client(directory: str | Path = ".", tracker: bool = True) -> Client:
    """Make a client for a working directory.

    The directory goes on `sys.path` and its own modules on the registry's allowlist, so that a
    parameter file can name the experiment's own code. An optional ``client.yaml`` there sets
    ``tracker`` (``tracking_uri``, ``artifact_location``) and ``allowed_modules``.

    Args:
        directory: The working directory.
        tracker: Whether runs are tracked (MLflow).

    Returns:
        The client.
    """
    from ivory.config.loader import load_file

    root = Path(directory).resolve()
    settings: dict[str, Any] = {}
    for filename in CLIENT_FILES:
        if (root / filename).is_file():
            settings = load_file(root / filename).tree
            settings = settings.get("client", settings) or {}
            break
    unknown = set(settings) - {"tracker", "tuner", "allowed_modules"}
    if unknown:
        raise IvoryError(
            f"client.yaml: unknown keys {', '.join(sorted(unknown))} "
            "(expected tracker, tuner, allowed_modules)"
        )

    # Let the experiment's own modules import and be named in parameter files.
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    global_registry.allow(*_local_modules(root), *(settings.get("allowed_modules") or []))

    made = None
    if tracker:
        from ivory.tracking import create_tracker

        made = create_tracker(str(root), **(settings.get("tracker") or {}))
    return Client(root, made)


def _local_modules(root: Path) -> list[str]:
    names = []
    for path in root.iterdir():
        if path.suffix == ".py" and path.stem.isidentifier():
            names.append(path.stem)
        elif path.is_dir() and (path / "__init__.py").is_file() and path.name.isidentifier():
            names.append(path.name)
    return names
