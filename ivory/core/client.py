"""The client: finds parameter files, caches experiments and holds the tracker."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import pydantic

from ivory.config.loader import SourceMap, yaml_kind
from ivory.config.params import Params
from ivory.core.base import Base, Experiment, M
from ivory.core.run import Run
from ivory.errors import ConfigError, ConfigIssue, IvoryError, TrackingError
from ivory.registry import Registry
from ivory.registry import registry as global_registry

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ivory.callbacks.results import Reduction, Results
    from ivory.core.study import Study
    from ivory.core.task import Task
    from ivory.tracking import Tracker

__all__ = ["Client", "ClientSettings", "TrackerSettings", "create_client", "read_settings"]

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
        self._experiments: dict[str, Experiment[Any]] = {}
        self.tuner: dict[str, Any] = {}
        """The ``tuner:`` settings of ``client.yaml`` (storage, ...), defaults of every study."""
        self._tuner_sources: tuple[SourceMap, tuple[str, ...]] = (SourceMap(), ("tuner",))

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

    @overload
    def create_experiment(self, name: str, *, schema: None = None) -> Experiment: ...

    @overload
    def create_experiment(self, name: str, *, schema: type[M]) -> Experiment[M]: ...

    def create_experiment(
        self, name: str, *, schema: type[BaseModel] | None = None
    ) -> Experiment[Any]:
        """The experiment of parameter file `name` (loaded once, then cached).

        With `schema` (a pydantic model of the run's members) it is typed by it: see
        `Experiment.from_file`.
        """
        cached = self._experiments.get(name)
        if cached is not None and (schema is None or cached._schema is schema):
            return cached
        path = self.find(name)
        experiment: Experiment[Any] = Experiment.from_file(
            str(path), name=path.stem, registry=self.registry, schema=schema
        )
        if self.tracker is not None:
            experiment.set_tracker(self.tracker)
        self._experiments[name] = experiment
        return experiment

    def create_run(self, name: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        """A new run of experiment `name`, with overrides."""
        return self.create_experiment(name).create_run(args, **kwargs)

    def create_task(self, name: str) -> Task:
        """A new task of experiment `name`: ``task.product(...)`` or ``task.chain(...)``."""
        return self.create_experiment(name).create_task()

    def create_study(
        self, name: str, args: Any = None, run_number: int | None = None, **suggests: Any
    ) -> Study:
        """A study of experiment `name`, with the client's tuner settings as defaults.

        See `ivory.core.study.create_study`; `run_number` resumes or joins ``study#N``.
        """
        from ivory.core.study import create_study

        experiment = self.create_experiment(name)
        self._check_tuner_members()
        return create_study(experiment, args, run_number, tuner=self.tuner, **suggests)

    def _check_tuner_members(self) -> None:
        """Check the sampler and pruner nodes of the ``tuner:`` settings, naming client.yaml.

        Raises:
            ConfigError: A node names an unknown constructor or gives it wrong arguments.
        """
        from ivory.config.check import builds_objects, check_members
        from ivory.config.form import constructor_key

        nested = {key: value for key, value in self.tuner.items() if builds_objects(value)}
        if not nested or constructor_key(self.tuner) is not None:
            return
        _, found = check_members(nested, self.registry)
        sources, prefix = self._tuner_sources
        issues = [
            _located(sources, (*prefix, *issue.path), issue.message, issue.value) for issue in found
        ]
        if issues:
            raise ConfigError(issues)

    # Finding runs.

    def _tracker(self) -> Tracker:
        tracker: Tracker | None = self.tracker
        if tracker is None:
            raise IvoryError("this client does not track runs (create_client(tracker=False))")
        return tracker

    def _experiment_id(self, name: str) -> str:
        return self.get_experiment_id(name)

    def get_experiment_id(self, name: str) -> str:
        """The MLflow id of experiment `name`, which must have been tracked.

        Raises:
            TrackingError: No such tracked experiment, or it is deleted.
        """
        return self._tracker().require_experiment_id(self.tracked_name(name))

    def tracked_name(self, name: str) -> str:
        """The tracked name of experiment `name` (its file may set ``experiment.name``)."""
        try:
            return self.create_experiment(name).experiment_name or name
        except ConfigError:
            return name

    def get_run_id(self, name: str, **number: int) -> str:
        """The id of a run of experiment `name`, by kind and number.

        Args:
            name: The experiment.
            **number: One of ``run=N``, ``task=N``, ``study=N``; ``-1`` is the newest.

        Raises:
            IvoryError: Not exactly one kind given.
            TrackingError: No such experiment or run.

        Example: ``client.get_run_id("diabetes", run=-1)``.
        """
        if len(number) != 1 or not set(number) <= set(KINDS):
            raise IvoryError(
                f"get_run_id: give exactly one of {', '.join(f'{k}=N' for k in KINDS)} "
                f"(got {', '.join(number) or 'none'})"
            )
        ((kind, n),) = number.items()
        return self._tracker().get_run_id(self._experiment_id(name), kind, int(n))

    def get_run_ids(self, name: str, kind: str = "run") -> list[str]:
        """The ids of every run of `kind` in experiment `name`, newest first."""
        tracker = self._tracker()
        return [str(r.info.run_id) for r in tracker.list_runs(self._experiment_id(name), kind)]

    def search_run_ids(self, name: str, /, **query: Any) -> list[str]:
        """The ids of the runs of experiment `name` whose parameters match `query`, newest first.

        Each name in `query` is a parameter, by full dotted path or by a short suffix
        (``fold`` for ``datasets.fold``). Its condition is a value (equal), a list of values
        (any of them) or a ``(low, high)`` tuple (an inclusive range).

        Raises:
            IvoryError: A name matches no parameter, or several.

        Example: ``client.search_run_ids("diabetes", fold=[0, 1], max_depth=(3, 6))``.
        """
        from ivory.tracking.query import match_runs

        tracker = self._tracker()
        runs = tracker.list_runs(self._experiment_id(name))
        return [str(run.info.run_id) for run in match_runs(runs, query)]

    # Loading what runs saved.

    def load_params(self, run_id: str) -> Params:
        """The full parameters a run was created with (its ``params.yaml``)."""
        return Params(self._tracker().load_params(run_id))

    def load_run(self, run_id: str, mode: str = "test", allow_pickle: bool | None = None) -> Run:
        """Rebuild a run's members from its parameters and load their states saved in `mode`.

        The members are built as at creation (the registry's allowlist guards the import
        paths), so they equal the originals. The run is attached to its tracked run: starting it
        again logs there.

        Args:
            run_id: The run.
            mode: ``test`` (after testing), ``best`` (the best epoch) or ``current`` (the end
                of training).
            allow_pickle: Whether pickled states may be loaded (by default the client's
                setting); loading a pickle can run any code it holds.

        Raises:
            TrackingError: No such run or saved states, or a pickled state not allowed.
        """
        run = self._rebuild(run_id)
        if not run.state_dict():
            return run  # a task or a study: no member keeps a state
        states = self._tracker().load_states(run_id, mode, allow_pickle=allow_pickle)
        run.load_state_dict(states)
        missing = [name for name in run.state_dict() if name not in states]
        if missing:
            logger.warning(
                "%s: no saved %r state of %s; %s as built",
                run.name,
                mode,
                ", ".join(missing),
                "it is" if len(missing) == 1 else "they are",
            )
        return run

    def load_instance(
        self, run_id: str, instance_name: str, mode: str = "test", allow_pickle: bool | None = None
    ) -> Any:
        """Rebuild one member of a run (and what it needs) and load its state saved in `mode`."""
        run = self._rebuild(run_id, only=instance_name, track=False)
        states = self._tracker().load_states(
            run_id, mode, names=[instance_name], allow_pickle=allow_pickle
        )
        member = run[instance_name]
        if callable(getattr(member, "load_state_dict", None)):
            if instance_name not in states:
                raise TrackingError(
                    f"{run.name}: no saved {mode!r} state of member {instance_name!r} (a state "
                    "that only pickle can save is saved only with allow_pickle: true)"
                )
            member.load_state_dict(states[instance_name])
        return member

    def load_results(
        self,
        run_ids: str | Iterable[str],
        reduction: Reduction = "none",
        mode: str = "test",
    ) -> Results:
        """The results of one run, or the val and test results of several runs joined.

        Args:
            run_ids: One run id, or several (their ``val`` and ``test`` rows are concatenated;
                ``train`` is left out).
            reduction: ``"mean"`` averages the rows of each sample index (sorted by index), as
                for the folds of a k-fold task.
            mode: Which saved states to read the results from.
        """
        from ivory.callbacks.results import concatenate

        if isinstance(run_ids, str):
            results: Results = self.load_instance(run_ids, "results", mode)
            return results.mean() if reduction == "mean" else results
        loaded = [self.load_instance(run_id, "results", mode) for run_id in run_ids]
        return concatenate(loaded, reduction=reduction)

    def _rebuild(self, run_id: str, only: str | None = None, track: bool = True) -> Run:
        from ivory.callbacks.tracking import Tracking
        from ivory.core.run import rebuild_run

        tracker = self._tracker()
        record = tracker.get_run(run_id)
        params = tracker.load_params(run_id)
        kind = record.data.tags.get("ivory.kind") or (record.info.run_name or "run").split("#")[0]
        source = record.data.tags.get("mlflow.source.name", "")
        with _working_directory(Path(source).parent if source else None):
            run = rebuild_run(params, kind, self.registry, only=only, source_name=source)
        run.name = str(record.info.run_name or "")
        run.id = run_id
        run.parent_id = record.data.tags.get("mlflow.parentRunId", "")
        run.tracker = tracker
        if track and only is None:
            run["tracking"] = Tracking(tracker, run_id, section=kind, params=params.get(kind))
            run["tracking"].ended = record.info.status != "RUNNING"
        return run

    # Housekeeping.

    def set_terminated(
        self, name: str, status: str = "FINISHED", **numbers: int | Iterable[int]
    ) -> list[str]:
        """Set the status of runs of experiment `name` (by default its newest run).

        Args:
            name: The experiment.
            status: FINISHED, FAILED or KILLED (``ivory kill`` sets KILLED, and a training in
                progress stops after its epoch).
            **numbers: ``run=N``, ``task=[N, M]``, ...; ``-1`` is the newest.

        Returns:
            The ids of the runs changed.
        """
        tracker = self._tracker()
        experiment_id = self._experiment_id(name)
        unknown = set(numbers) - set(KINDS)
        if unknown:
            raise IvoryError(
                f"set_terminated: unknown run kinds {', '.join(sorted(unknown))} "
                f"(expected {', '.join(KINDS)})"
            )
        wanted = numbers or {"run": -1}
        ids = []
        for kind, which in wanted.items():
            for n in [which] if isinstance(which, int) else list(which):
                ids.append(tracker.get_run_id(experiment_id, kind, int(n)))
        for run_id in ids:
            tracker.set_terminated(run_id, status)
        return ids

    def remove_deleted_runs(self, name: str) -> int:
        """Remove the deleted runs of experiment `name` for good, artifacts included.

        Their numbers are then free for new runs. Returns how many were removed.
        """
        return self._tracker().remove_deleted_runs(self._experiment_id(name))


KINDS = ("run", "task", "study")


@contextmanager
def _working_directory(path: Path | None) -> Iterator[None]:
    """Rebuild where the parameter file was, so relative paths resolve the same (when it exists)."""
    if path is None or not path.is_dir():
        yield
        return
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _yaml_files(folder: Path) -> list[Path]:
    """The YAML files of `folder` that may be parameter files (not hidden ones)."""
    if not folder.is_dir():
        return []
    return [
        p
        for p in folder.iterdir()
        if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]


def create_client(directory: str | Path = ".", tracker: bool = True) -> Client:
    """Make a client for a working directory.

    The directory goes on `sys.path` and its own modules on the registry's allowlist, so that a
    parameter file can name the experiment's own code. An optional ``client.yaml`` there sets
    ``tracker`` (see `TrackerSettings`), ``tuner`` (the defaults of every study's tuner) and
    ``allowed_modules``; it is validated before anything is made.

    Args:
        directory: The working directory.
        tracker: Whether runs are tracked (MLflow).

    Returns:
        The client.

    Raises:
        ConfigError: The directory does not exist, or ``client.yaml`` is invalid (every problem,
            with its line).
    """
    given = Path(directory)
    if not given.is_dir():
        problem = "is not a directory" if given.exists() else "does not exist"
        raise ConfigError(
            ConfigIssue("", f"the project directory {given} {problem}", "", str(given))
        )
    root = given.resolve()
    settings, sources, prefix = read_settings(root)

    # Let the experiment's own modules import and be named in parameter files.
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    global_registry.allow(*_local_modules(root), *(settings.allowed_modules or []))

    made = None
    if tracker:
        from ivory.tracking import create_tracker

        options = settings.tracker.model_dump(exclude_unset=True) if settings.tracker else {}
        made = create_tracker(str(root), **options)
    client = Client(root, made)
    client.tuner = dict(settings.tuner or {})
    client._tuner_sources = sources, (*prefix, "tuner")
    return client


class TrackerSettings(pydantic.BaseModel):
    """The ``tracker:`` section of ``client.yaml``: where and how runs are tracked in MLflow."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    tracking_uri: str | None = None
    """The MLflow store; by default ``MLFLOW_TRACKING_URI``, else ``mlflow.db`` in the directory."""

    artifact_location: str | None = None
    """Where new experiments keep their artifacts; by default ``mlruns`` for a local store."""

    allow_pickle: bool = False
    """Whether states that only pickle can save are saved, and pickled states loaded back."""

    interval: float = pydantic.Field(1.0, gt=0, allow_inf_nan=False)
    """At most how often, in seconds, a training saves ``current/`` and checks ``ivory kill``."""


class ClientSettings(pydantic.BaseModel):
    """The settings of ``client.yaml`` (at its root, or under a ``client:`` key)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    tracker: TrackerSettings | None = None
    """How runs are tracked."""

    tuner: dict[str, Any] | None = None
    """The defaults of every study's tuner (storage, sampler, pruner, ...)."""

    allowed_modules: list[str] | None = None
    """More modules whose names parameter files may import."""


def read_settings(root: Path) -> tuple[ClientSettings, SourceMap, tuple[str, ...]]:
    """Read and validate the ``client.yaml`` (or ``client.yml``) of `root`, if there is one.

    Returns:
        The settings, where each was written, and their path in the file (``("client",)`` when
        they are under a ``client:`` key).

    Raises:
        ConfigError: A setting is unknown or has the wrong type, with its file, line and path;
            every problem at once.
    """
    from ivory.config.loader import load_file

    file = next((root / name for name in CLIENT_FILES if (root / name).is_file()), None)
    if file is None:
        return ClientSettings(), SourceMap(), ()
    document = load_file(file)
    tree: Any = document.tree
    prefix: tuple[str, ...] = ()
    if "client" in tree:
        tree, prefix = tree["client"], ("client",)
        others = [key for key in document.tree if key != "client"]
        if others:
            key = others[0]
            raise ConfigError.single(
                str(key),
                "unknown key; with a client: section every setting goes under it",
                document.sources.find((key,)),
                document.tree[key],
            )
    data = {} if tree is None else tree

    # Validate every setting, the tuner's against ivory's Tuner; report all problems at once.
    settings: ClientSettings | None = None
    issues: list[ConfigIssue] = []
    try:
        settings = ClientSettings.model_validate(data)
    except pydantic.ValidationError as exc:
        issues += _settings_issues(exc, data, document.sources, prefix)
    tuner = data.get("tuner") if isinstance(data, dict) else None
    if isinstance(tuner, dict) and tuner:
        issues += _check_tuner(tuner, document.sources, (*prefix, "tuner"))
    if issues or settings is None:
        raise ConfigError(sorted(issues, key=lambda issue: _position(issue.source)))
    return settings, document.sources, prefix


def _settings_issues(
    exc: pydantic.ValidationError, data: Any, sources: SourceMap, prefix: tuple[str, ...]
) -> list[ConfigIssue]:
    from ivory.config.paths import format_path

    issues = []
    for error in exc.errors(include_url=False):
        loc = _data_loc(error["loc"], data)
        path = (*prefix, *loc)
        where = sources.find(path)
        value = error.get("input")
        if error["type"] == "extra_forbidden":
            names = _field_names(loc[:-1])
            message = _unknown_key(str(loc[-1]), names)
        elif error["type"] in ("model_type", "dict_type"):
            fields = _field_names(loc)
            listed = f" of {', '.join(fields)}" if fields else ""
            message = f"expected a mapping{listed} (got {yaml_kind(value)})"
        elif error["type"] == "list_type":
            message = f"expected a list (got {yaml_kind(value)})"
        else:
            message = f"{error['msg']} (got {_shown(value)})"
        issues.append(ConfigIssue(format_path(path), message, where, value))
    return issues


def _position(source: str) -> tuple[int, int]:
    """``(line, column)`` of a ``file:line:col`` source, for reporting in file order."""
    parts = source.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return 0, 0


def _data_loc(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """The part of a pydantic error location that indexes the data."""
    path: list[str | int] = []
    for segment in loc:
        indexes = (isinstance(data, dict) and segment in data) or (
            isinstance(data, list) and isinstance(segment, int) and 0 <= segment < len(data)
        )
        if not indexes:
            break
        data = data[segment]
        path.append(segment)
    return tuple(path)


def _field_names(loc: tuple[str | int, ...]) -> list[str]:
    """The settings accepted at `loc`: the top level, or the tracker's."""
    if not loc:
        return list(ClientSettings.model_fields)
    if loc == ("tracker",):
        return list(TrackerSettings.model_fields)
    return []


def _unknown_key(key: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key; accepted: {', '.join(names)}" if names else "unknown key"


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_tuner(
    tuner: dict[str, Any], sources: SourceMap, prefix: tuple[str, ...]
) -> list[ConfigIssue]:
    """Check the tuner settings against ivory's `Tuner`, without building or importing anything.

    Samplers and pruners (nested nodes) are checked when a study is created; a tuner that names
    its own class is checked when a study builds it.
    """
    from ivory.config.check import builds_objects
    from ivory.config.form import constructor_key
    from ivory.config.schema import validate_kwargs
    from ivory.tuning.tuner import Tuner

    if constructor_key(tuner) is not None:
        return []
    deferred = {key for key, value in tuner.items() if builds_objects(value)}
    result = validate_kwargs(Tuner, tuner, deferred)
    return [
        _located(sources, (*prefix, *loc), message, value) for loc, message, value in result.issues
    ]


def _located(sources: SourceMap, path: tuple[Any, ...], message: str, value: Any) -> ConfigIssue:
    """An issue of client.yaml at `path`, with its line, and its value unless it has none."""
    from ivory.config.paths import format_path
    from ivory.config.schema import no_value

    shown = () if value is no_value() else (value,)
    return ConfigIssue(format_path(path), message, sources.find(path), *shown)


def _local_modules(root: Path) -> list[str]:
    names = []
    for path in root.iterdir():
        if path.suffix == ".py" and path.stem.isidentifier():
            names.append(path.stem)
        elif path.is_dir() and (path / "__init__.py").is_file() and path.name.isidentifier():
            names.append(path.name)
    return names
