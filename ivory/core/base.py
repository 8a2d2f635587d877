"""The seed API: Base, Creator, Callback, CallbackCaller and Experiment.

A `Base` is an ordered collection of member instances with the attributes ``id``, ``name``,
``params`` and ``source_name``. A `Creator` makes new parameters and runs from its own parameters;
an `Experiment` is the Creator of one parameter file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from os import PathLike
from typing import IO, TYPE_CHECKING, Any, Generic, cast, overload

from typing_extensions import TypeVar

from ivory.config.loader import SourceMap
from ivory.config.params import Params, create_params
from ivory.registry import Registry
from ivory.registry import registry as global_registry

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ivory.core.run import Run
    from ivory.core.study import Study
    from ivory.core.task import Task
    from ivory.tracking import Tracker

__all__ = ["EVENTS", "Base", "Callback", "CallbackCaller", "Creator", "Experiment"]

logger = logging.getLogger(__name__)

P = TypeVar("P", default=Params)
"""The static type of ``params``: `Params`, or the user's model of a typed experiment's members.

At run time ``params`` is always a `Params`; for a typed experiment it is a
`ivory.config.typed.TypedParams`, whose attributes are the model's fields as well.
"""
M = TypeVar("M", bound="BaseModel")

EVENTS = (
    "on_init_begin",
    "on_init_end",
    "on_fit_begin",
    "on_epoch_begin",
    "on_train_begin",
    "on_train_end",
    "on_val_begin",
    "on_val_end",
    "on_epoch_end",
    "on_fit_end",
    "on_test_begin",
    "on_test_end",
)


class Base(Generic[P]):
    """An entity holding member instances by name, in order.

    Args:
        params: The parameters this instance was created from.
        **instances: Member instances by name. ``id``, ``name`` and ``source_name`` given here
            set those attributes instead.

    Attributes:
        id: The MLflow id, or ``""`` before tracking.
        name: The instance name (``run#0``, or the experiment name).
        params: The parameters this instance was created from.
        source_name: The parameter file this instance comes from.
    """

    def __init__(self, params: Mapping[str, Any] | None = None, **instances: Any) -> None:
        self.params: P = cast(P, params if isinstance(params, Params) else Params(params))
        self.id: str = str(instances.pop("id", "") or "")
        self.name: str = str(instances.pop("name", "") or "")
        self.source_name: str = str(instances.pop("source_name", "") or "")
        self._instances: dict[str, Any] = dict(instances)

    @property
    def _tree(self) -> Params:
        """``params`` as the parameter tree it always is at run time."""
        return cast(Params, self.params)

    # The collection of members.

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return list(self._instances.values())[key]
        return self._instances[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._instances[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._instances

    def __iter__(self) -> Iterator[str]:
        return iter(self._instances)

    def __len__(self) -> int:
        return len(self._instances)

    def __getattr__(self, name: str) -> Any:
        instances = self.__dict__.get("_instances")
        if instances is not None and name in instances:
            return instances[name]
        members = ", ".join(instances) if instances else "none"
        raise AttributeError(
            f"{type(self).__name__} has no member or attribute {name!r} (members: {members})"
        )

    def keys(self) -> list[str]:
        """The member names, in order."""
        return list(self._instances)

    def values(self) -> list[Any]:
        """The member instances, in order."""
        return list(self._instances.values())

    def items(self) -> list[tuple[str, Any]]:
        """``(name, instance)`` pairs, in order."""
        return list(self._instances.items())

    def get(self, key: str, default: Any = None) -> Any:
        """The member called `key`, or `default`."""
        return self._instances.get(key, default)

    def __repr__(self) -> str:
        parts = [
            f"{key}={value!r}" for key, value in (("id", self.id), ("name", self.name)) if value
        ]
        parts.append(f"num_instances={len(self)}")
        return f"{type(self).__name__}({', '.join(parts)})"


class Creator(Base[P]):
    """Creates parameters, runs and members from its own parameters."""

    def __init__(self, params: Mapping[str, Any] | None = None, **instances: Any) -> None:
        super().__init__(params, **instances)
        self._sources = SourceMap()
        self._registry: Registry = global_registry
        self._schema: type[BaseModel] | None = None
        self.tracker: Tracker | None = None

    @property
    def registry(self) -> Registry:
        """The registry that resolves constructor names."""
        return self._registry

    @property
    def experiment_name(self) -> str:
        """The name of the experiment these parameters belong to."""
        experiment = self._tree.get("experiment") or {}
        return str(experiment.get("name", ""))

    @property
    def experiment_id(self) -> str:
        """The MLflow id of the experiment, or ``""`` before tracking."""
        experiment = self._tree.get("experiment") or {}
        return str(experiment.get("id") or "")

    def create_params(
        self, args: Mapping[str, Any] | None = None, name: str = "run", **kwargs: Any
    ) -> tuple[P, dict[str, Any]]:
        r"""Returns a tuple of (parameter dictionary, update dictionary).

        The parameters are a deep copy of this creator's, updated and validated; the update maps
        each name as the caller gave it to its final value. Neither `args` nor this creator's
        parameters change.

        Args:
            args: Updates whose names need not be identifiers (``{"hidden_sizes.0": 100}``).
            name: The section the names are relative to.
            **kwargs: More updates.

        Returns:
            ``(params, update)``.

        Raises:
            ConfigError: A name matches nothing or several things, or a value does not fit (its
                constructor, or the experiment's typed schema); the error lists every problem of
                the call.

        Example:
            >>> import ivory
            >>> experiment = ivory.Experiment.from_text(
            ...     "estimator: {class: ivory.data.Data}\nfold: 0\n", name="doc"
            ... )
            >>> params, update = experiment.create_params({"fold": 3})
            >>> update, params.run.fold, experiment.params.run.fold
            ({'fold': 3}, 3, 0)
        """
        updates: dict[str, Any] = dict(args or {})
        updates.update(kwargs)
        params, update = create_params(self._tree, self._sources, self._registry, updates, name)
        if self._schema is not None:
            from ivory.config.typed import typed_params

            params = typed_params(params, self._schema, self._sources, template=self._tree)
        return cast(P, params), update

    def create_run(
        self, args: Mapping[str, Any] | None = None, name: str = "run", **kwargs: Any
    ) -> Run[P]:
        """Creates a Run instance according to arguments.

        The parameters come from `create_params`; with a tracker, the run is an MLflow run named
        ``<name>#N`` with its parameters logged.
        """
        from ivory.core.run import create_run

        params, update = self.create_params(args, name, **kwargs)
        run = create_run(cast("Creator[Any]", self), cast(Params, params), update, name)
        return cast("Run[P]", run)

    def create_instance(
        self,
        instance_name: str,
        args: Mapping[str, Any] | None = None,
        name: str = "run",
        **kwargs: Any,
    ) -> Any:
        """Creates a member instance of a Run according to arguments (and the members it needs)."""
        from ivory.core.build import build_members

        params, _ = self.create_params(args, name, **kwargs)
        tree = cast(Params, params)
        return build_members(tree[name], self._registry, only=instance_name)[instance_name]

    def _derive(self, creator: Creator[Any]) -> None:
        creator._sources = self._sources
        creator._registry = self._registry
        creator._schema = self._schema
        creator.tracker = self.tracker


class Callback:
    """Calls each method of one event with the caller, in member order.

    Args:
        caller: The object passed to each method (the run).
        methods: The bound methods to call.
    """

    def __init__(self, caller: Any, methods: list[Callable[[Any], Any]]) -> None:
        self.caller = caller
        self.methods = methods

    def __call__(self) -> None:
        """Call every method with the caller."""
        for method in self.methods:
            method(self.caller)

    def __repr__(self) -> str:
        names = [getattr(m, "__qualname__", repr(m)) for m in self.methods]
        return f"Callback({names})"


class CallbackCaller(Creator[P]):
    """A Creator whose members take part in events through methods named after them."""

    def create_callbacks(self) -> None:
        """Creates callback functions and store them in a dictionary (as attributes by event)."""
        for event in EVENTS:
            methods = [
                method
                for member in self.values()
                if member is not None and callable(method := getattr(member, event, None))
            ]
            self.__dict__[event] = Callback(self, methods)


class Experiment(Creator[P]):
    """One parameter file: the default parameters of every run created from it.

    A typed experiment (``Experiment[MyParams]``) validates the run section of every set of
    parameters it creates against the user's pydantic model of the members as well, and its runs
    are ``Run[MyParams]``: ``run.params.model.hidden_sizes`` is typed for mypy and editors.

    Attributes:
        params: The file's parameters in full form (sections ``run``, ``experiment``, …).
    """

    @overload
    @classmethod
    def from_file(
        cls,
        path: str | PathLike[str] | IO[str],
        name: str | None = None,
        registry: Registry | None = None,
        *,
        schema: None = None,
    ) -> Experiment: ...

    @overload
    @classmethod
    def from_file(
        cls,
        path: str | PathLike[str] | IO[str],
        name: str | None = None,
        registry: Registry | None = None,
        *,
        schema: type[M],
    ) -> Experiment[M]: ...

    @classmethod
    def from_file(
        cls,
        path: str | PathLike[str] | IO[str],
        name: str | None = None,
        registry: Registry | None = None,
        *,
        schema: type[BaseModel] | None = None,
    ) -> Experiment[Any]:
        """Load an experiment from a parameter file (with `extends` and `include`).

        Args:
            path: The parameter file, or a text stream of it (a file object, `io.StringIO`):
                the same file gives the same experiment either way.
            name: The experiment name (the file stem by default; a stream without a file name
                needs one).
            registry: Resolves constructor names (the global registry by default).
            schema: A pydantic model of the run's members: the experiment is then typed by it
                (``Experiment[MyParams]``). By default, the model the file names in
                ``experiment.schema``, if any.
        """
        from pathlib import Path

        from ivory.config.form import normalize
        from ivory.config.loader import compose_file, stream_name
        from ivory.errors import IvoryError

        file = path if isinstance(path, str | PathLike) else stream_name(path)
        if file is None and name is None:
            raise IvoryError("Experiment.from_file: a stream without a file name needs name=...")
        shown = str(file) if file is not None else f"{name}.yaml"
        document = compose_file(path, shown)
        used = registry or global_registry
        tree, sources = normalize(document, name or Path(shown).stem, used)
        source_name = str(Path(file).resolve()) if file is not None else ""
        experiment = cls(Params(tree), name=tree["experiment"]["name"], source_name=source_name)
        experiment._sources = sources
        experiment._registry = used
        experiment._use_schema(schema)
        return experiment

    @overload
    @classmethod
    def from_text(
        cls, text: str, name: str, registry: Registry | None = None, *, schema: None = None
    ) -> Experiment: ...

    @overload
    @classmethod
    def from_text(
        cls, text: str, name: str, registry: Registry | None = None, *, schema: type[M]
    ) -> Experiment[M]: ...

    @classmethod
    def from_text(
        cls,
        text: str,
        name: str,
        registry: Registry | None = None,
        *,
        schema: type[BaseModel] | None = None,
    ) -> Experiment[Any]:
        """Load an experiment from YAML text (no `extends` or `include`); see `from_file`."""
        from ivory.config.form import normalize
        from ivory.config.loader import load_text

        document = load_text(text, f"{name}.yaml")
        used = registry or global_registry
        tree, sources = normalize(document, name, used)
        experiment = cls(Params(tree), name=name)
        experiment._sources = sources
        experiment._registry = used
        experiment._use_schema(schema)
        return experiment

    def _use_schema(self, schema: type[BaseModel] | None) -> None:
        """Type this experiment by `schema`, or by the model its file names, if any."""
        from ivory.config.typed import TypedParams, resolve_schema
        from ivory.errors import ConfigError, RegistryError

        if schema is None:
            declared = (self._tree.get("experiment") or {}).get("schema")
            if declared is None:
                return
            try:
                schema = resolve_schema(declared, self._registry)
            except (RegistryError, TypeError) as exc:
                where = ("experiment", "schema")
                raise ConfigError.single(
                    "experiment.schema", str(exc), self._sources.find(where), declared
                ) from exc
        self._schema = schema

        # The file's own values are typed when first read: they may hold ??? for runs to fill.
        def typed() -> BaseModel:
            created = cast("TypedParams[BaseModel]", self.create_params()[0])
            return created.typed

        self.params = cast(P, TypedParams(self._tree, schema, typed))

    @property
    def sources(self) -> SourceMap:
        """Where each node of the parameters was written."""
        return self._sources

    def set_tracker(self, tracker: Tracker) -> None:
        """Sets a Tracker instance for tracking (the MLflow experiment comes with the first run)."""
        self.tracker = tracker

    def ensure_tracked(self) -> str:
        """Create or find the MLflow experiment and record its id; return the id."""
        if self.tracker is None:
            return ""
        if not self.id:
            self.id = self.tracker.create_experiment(
                self.experiment_name, experiment_id=self.experiment_id or None
            )
            self._tree["experiment"]["id"] = self.id
        return self.id

    def create_task(self) -> Task:
        """Creates a Task instance for multiple runs."""
        from ivory.core.task import Task

        task = self.create_run(name="task")
        assert isinstance(task, Task)
        return task

    def create_study(
        self, args: Any = None, run_number: int | None = None, **suggests: Any
    ) -> Study:
        """Creates a Study instance for hyperparameter tuning.

        `args` is a suggest name to keep, or a mapping of suggests; `suggests` adds suggests
        (functions, spaces), distributions (``max_depth="int(2, 8)"``) and fixed updates of
        every trial. `run_number` resumes or joins ``study#N``. See `ivory.core.study`.
        """
        from ivory.core.study import create_study

        return create_study(cast("Experiment[Any]", self), args, run_number, **suggests)
