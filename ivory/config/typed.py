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
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ivory.config.loader import SourceMap
from ivory.config.params import Params, to_plain
from ivory.config.paths import Path, format_path, parse_path
from ivory.errors import ConfigError, ConfigIssue, OverrideError
from ivory.registry import Registry

__all__ = ["TypedParams", "resolve_schema", "typed_params", "validate_section"]

M = TypeVar("M", bound=BaseModel)


class TypedParams(Params, Generic[M]):
    """A parameter tree whose run section is also an instance of the experiment's schema.

    It is a `Params` in every way (``params["run"]``, ``params.run.model``, ``to_dict()``), and
    the schema's fields and methods are its attributes too: ``params.model`` is the validated
    model's ``model`` field, so code typed with the schema (``Run[MyParams]``) reads typed values.
    A field whose name is also a `dict` method (``items``, ``values``) is reached through `typed`.

    Args:
        data: The full parameter tree.
        schema: The user's model of the run's members.
        typed: The validated instance, or a function that makes it when first needed (an
            experiment's parameters may hold ``???`` that only a run's overrides fill).
    """

    def __init__(
        self, data: Mapping[str, Any] | None, schema: type[M], typed: M | Callable[[], M]
    ) -> None:
        super().__init__(data)
        self.__dict__["_schema"] = schema
        self.__dict__["_typed"] = typed

    @property
    def typed(self) -> M:
        """The run section as an instance of the experiment's schema.

        Raises:
            ConfigError: The run section does not fit the schema.
        """
        typed = self.__dict__["_typed"]
        if not isinstance(typed, BaseModel):
            typed = typed()
            self.__dict__["_typed"] = typed
        result: M = typed
        return result

    def __getattr__(self, name: str) -> Any:
        schema: type[BaseModel] | None = self.__dict__.get("_schema")
        if (
            schema is not None
            and not name.startswith("_")
            and (name in schema.model_fields or hasattr(schema, name))
        ):
            return getattr(self.typed, name)
        return super().__getattr__(name)

    def __deepcopy__(self, memo: dict[int, Any]) -> TypedParams[M]:
        typed = self.__dict__["_typed"]
        return TypedParams(
            copy.deepcopy(dict(self), memo),
            self.__dict__["_schema"],
            copy.deepcopy(typed, memo) if isinstance(typed, BaseModel) else typed,
        )

    def __repr__(self) -> str:
        return f"TypedParams[{self.__dict__['_schema'].__name__}]({dict.__repr__(self)})"


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


def typed_params(
    params: Params,
    schema: type[M],
    sources: SourceMap,
    template: Mapping[str, Any] | None = None,
) -> TypedParams[M]:
    """`params` with its run section validated against `schema`.

    Args:
        params: Validated parameters (from `create_params`).
        schema: The user's model of the run's members.
        sources: Where each node of the file was written.
        template: The parameters before the overrides: a value that differs from the
            template's came from an override, and its problem is an `OverrideError`.

    Raises:
        ConfigError: The run section does not fit the schema (every problem at once).
    """
    run = params.get("run")
    typed, issues = validate_section(run if isinstance(run, Mapping) else {}, schema, sources)
    if typed is None:
        overridden = [_overridden(issue, params, template) for issue in issues]
        if any(overridden):
            raise OverrideError(
                [
                    ConfigIssue(issue.path, issue.message, "", issue.value) if changed else issue
                    for issue, changed in zip(issues, overridden, strict=True)
                ]
            )
        raise ConfigError(issues)
    return TypedParams(params, schema, typed)


def _overridden(issue: ConfigIssue, params: Any, template: Mapping[str, Any] | None) -> bool:
    if template is None:
        return False
    path = parse_path(issue.path)
    return bool(_at(params, path) != _at(template, path))


def _at(tree: Any, path: tuple[str | int, ...]) -> Any:
    for segment in path:
        if isinstance(tree, Mapping) and segment in tree:
            tree = tree[segment]
        elif isinstance(tree, list) and str(segment).isdigit() and int(segment) < len(tree):
            tree = tree[int(segment)]
        else:
            return _ABSENT
    return tree


_ABSENT: Any = object()


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
