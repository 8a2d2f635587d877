"""Typed parameters: a run's members validated against a pydantic model the user declares.

An experiment may declare the schema of its run's members as a pydantic model, in Python
(``Experiment.from_file(path, schema=MyParams)``) or in the file (``experiment: {schema:
mypackage.params.MyParams}``). The run section is then validated against it as well, and the
parameters of every run carry the validated model: ``run.params.model.hidden_sizes`` is typed
for mypy and editors, and is the model's value at run time.

The model describes members as they are written: a member with a constructor keeps its ``class``
key, which the model ignores unless it declares it (pydantic's default is to ignore extra keys).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ivory.config.loader import SourceMap
from ivory.config.params import Params, to_plain
from ivory.config.paths import Path, format_path
from ivory.errors import ConfigError, ConfigIssue
from ivory.registry import Registry

__all__ = ["TypedParams", "resolve_schema", "typed_params", "validate_section"]

M = TypeVar("M", bound=BaseModel)


class TypedParams(Params, Generic[M]):
    """A parameter tree whose run section also validated against a model.

    It is a `Params` in every way (``params["run"]``, ``params.run.model``, ``to_dict()``), and
    its attributes reach the validated model first: ``params.model`` is the model's ``model``
    field, so code typed with the model (``Run[MyParams]``) reads typed values. A field whose
    name is also a `dict` method (``items``, ``values``) is reached through `typed`.
    """

    def __init__(self, data: Mapping[str, Any] | None, typed: M) -> None:
        super().__init__(data)
        self.__dict__["_typed"] = typed

    @property
    def typed(self) -> M:
        """The run section as an instance of the experiment's schema."""
        typed: M = self.__dict__["_typed"]
        return typed

    def __getattr__(self, name: str) -> Any:
        typed = self.__dict__.get("_typed")
        if typed is not None and not name.startswith("_") and hasattr(typed, name):
            return getattr(typed, name)
        return super().__getattr__(name)

    def __deepcopy__(self, memo: dict[int, Any]) -> TypedParams[M]:
        return TypedParams(copy.deepcopy(dict(self), memo), copy.deepcopy(self.typed, memo))

    def __repr__(self) -> str:
        return f"TypedParams[{type(self.typed).__name__}]({dict.__repr__(self)})"


def resolve_schema(schema: Any, registry: Registry) -> type[BaseModel]:
    """The pydantic model an experiment names as its schema (an import path or the class).

    Raises:
        RegistryError: The name cannot be resolved or is not allowed.
        TypeError: It is not a pydantic model.
    """
    model = registry.get(schema) if isinstance(schema, str) else schema
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(
            f"the experiment's schema must be a pydantic model (a BaseModel subclass); "
            f"{schema!r} is {model!r}"
        )
    return model


def validate_section(
    section: Mapping[str, Any],
    schema: type[M],
    sources: SourceMap,
    prefix: Path = ("run",),
) -> tuple[M | None, list[ConfigIssue]]:
    """Validate a section of members against `schema`.

    Args:
        section: The members, as `create_params` validated them.
        schema: The user's model of the members.
        sources: Where each node was written.
        prefix: The section's path (``("run",)``).

    Returns:
        The model instance (None when invalid) and every issue, with paths from the root.
    """
    plain = to_plain(section)
    try:
        return schema.model_validate(plain), []
    except ValidationError as exc:
        return None, _issues(exc, plain, schema, sources, prefix)


def typed_params(params: Params, schema: type[M], sources: SourceMap) -> TypedParams[M]:
    """`params` with its run section validated against `schema`.

    Raises:
        ConfigError: The run section does not fit the schema (every problem at once).
    """
    run = params.get("run")
    typed, issues = validate_section(run if isinstance(run, Mapping) else {}, schema, sources)
    if typed is None:
        raise ConfigError(issues)
    return TypedParams(params, typed)


def _issues(
    exc: ValidationError,
    data: Any,
    schema: type[BaseModel],
    sources: SourceMap,
    prefix: Path,
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for error in exc.errors(include_url=False):
        loc = _data_loc(error["loc"], data)
        path: Path = (*prefix, *loc)
        where = format_path(path)
        source = sources.find(path)
        if error["type"] == "missing":
            message = f"required by the experiment's schema {schema.__name__}; give a value"
            issues.append(ConfigIssue(where, message, source))
        elif error["type"] == "extra_forbidden":
            message = f"unknown key: the experiment's schema {schema.__name__} has no such field"
            issues.append(ConfigIssue(where, message, source, error.get("input")))
        else:
            value = error.get("input")
            shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
            issues.append(ConfigIssue(where, f"{error['msg']} (got {shown})", source, value))
    return issues


def _data_loc(loc: tuple[Any, ...], data: Any) -> Path:
    """The segments of a pydantic error location that index the data (not union branches)."""
    path: list[str | int] = []
    current = data
    for i, segment in enumerate(loc):
        indexes_data = (isinstance(current, Mapping) and segment in current) or (
            isinstance(current, list) and isinstance(segment, int) and 0 <= segment < len(current)
        )
        if indexes_data:
            current = current[segment]
            path.append(segment)
        elif isinstance(current, Mapping) and isinstance(segment, str) and i == len(loc) - 1:
            # A key the data lacks (a missing field).
            path.append(segment)
    return tuple(path)
