"""Pydantic models for constructors, and validation of the nodes that call them.

Every node that builds an object is validated against a model of its constructor: the model the
constructor declares (``__ivory_model__``, or ``__ivory_schema__(kwargs)`` when the accepted keys
depend on the node), the constructor itself when it is a pydantic model, or a model derived from
its signature and type hints. Unknown keys are errors unless the constructor takes ``**kwargs``.
"""

from __future__ import annotations

import enum
import functools
import inspect
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

__all__ = ["NodeResult", "model_for", "validate_kwargs"]

_CONFIG = ConfigDict(arbitrary_types_allowed=True, extra="forbid", protected_namespaces=())
_CONFIG_KWARGS = ConfigDict(arbitrary_types_allowed=True, extra="allow", protected_namespaces=())


@dataclass
class NodeResult:
    """What validating one node gave.

    Attributes:
        typed: The validated keyword arguments, as the constructor receives them.
        plain: The same values in plain form (nested models as dicts), for the parameter tree.
        issues: ``(relative path, message, value)`` for each problem; empty when valid.
    """

    typed: dict[str, Any] = field(default_factory=dict)
    plain: dict[str, Any] = field(default_factory=dict)
    issues: list[tuple[tuple[str | int, ...], str, Any]] = field(default_factory=list)


def model_for(constructor: Any, kwargs: Mapping[str, Any] | None = None) -> type[BaseModel] | None:
    """The model that validates the keyword arguments of `constructor`.

    Returns None when the constructor has no inspectable signature (it then accepts anything).
    """
    dynamic = getattr(constructor, "__ivory_schema__", None)
    if dynamic is not None and kwargs is not None:
        model: type[BaseModel] | None = dynamic(dict(kwargs))
        return model
    return _static_model(constructor)


@functools.lru_cache(maxsize=1024)
def _static_model(constructor: Any) -> type[BaseModel] | None:
    declared = getattr(constructor, "__ivory_model__", None)
    if declared is not None:
        return typing.cast(type[BaseModel], declared)
    if isinstance(constructor, type) and issubclass(constructor, BaseModel):
        return constructor
    return signature_model(constructor)


def signature_model(constructor: Any, name: str | None = None) -> type[BaseModel] | None:
    """Derive a model from the signature and type hints of a class or callable."""
    target = (
        vars(constructor).get("__init__", constructor)
        if isinstance(constructor, type)
        else constructor
    )
    try:
        signature = inspect.signature(constructor)
    except (TypeError, ValueError):
        return None
    hints = _type_hints(target)
    fields: dict[str, Any] = {}
    takes_kwargs = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            takes_kwargs = True
            continue
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
            continue
        annotation = _with_enum_names(hints.get(parameter.name, Any))
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    model_name = str(name or getattr(constructor, "__qualname__", "Constructor"))
    return pydantic.create_model(
        model_name,
        __config__=_CONFIG_KWARGS if takes_kwargs else _CONFIG,
        **fields,
    )


def _type_hints(target: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        pass
    hints: dict[str, Any] = {}
    module = sys.modules.get(getattr(target, "__module__", ""), None)
    namespace = vars(module) if module else {}
    for key, value in getattr(target, "__annotations__", {}).items():
        if isinstance(value, str):
            try:
                value = eval(value, namespace)
            except Exception:
                value = Any
        hints[key] = value
    return hints


def _with_enum_names(annotation: Any) -> Any:
    """Let every Enum in `annotation` be given by member name as well as by value."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Annotated[annotation, BeforeValidator(functools.partial(_enum_by_name, annotation))]
    origin = typing.get_origin(annotation)
    if origin is None:
        return annotation
    args = typing.get_args(annotation)
    if origin is Annotated:
        return Annotated[(_with_enum_names(args[0]), *args[1:])]
    if origin in (Union, types.UnionType):
        return Union[tuple(_with_enum_names(arg) for arg in args)]  # noqa: UP007
    if origin is typing.Literal:
        return annotation
    new_args = tuple(_with_enum_names(arg) for arg in args)
    if new_args == args:
        return annotation
    try:
        return origin[new_args] if len(new_args) > 1 else origin[new_args[0]]
    except TypeError:
        return annotation


def _enum_by_name(enum_type: type[enum.Enum], value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, enum.Enum):
        values = {str(member.value) for member in enum_type}
        if value not in values and value in enum_type.__members__:
            return enum_type.__members__[value]
    return value


def validate_kwargs(
    constructor: Any,
    kwargs: Mapping[str, Any],
    deferred: set[str],
    *,
    partial: bool = False,
) -> NodeResult:
    """Validate the keyword arguments of one node.

    Args:
        constructor: The class or callable the node calls.
        kwargs: The node's keys other than its constructor key.
        deferred: Keys whose values are built later (references, nested nodes); they are not
            validated here, and count as given.
        partial: The node binds some arguments only (``def:``), so missing ones are fine.

    Returns:
        The validated values and every issue found.
    """
    result = NodeResult()
    model = model_for(constructor, kwargs)
    given = {key: value for key, value in kwargs.items() if key not in deferred}
    if model is None:
        result.typed = dict(given)
        result.plain = dict(given)
        return result
    try:
        instance = model.model_validate(given)
    except ValidationError as exc:
        result.issues = _issues(exc, given, model, deferred, partial)
        if result.issues:
            return result
        instance = model.model_construct(**given)
    result.typed = {key: getattr(instance, key) for key in given if key in model.model_fields}
    result.typed.update(
        {key: value for key, value in (instance.model_extra or {}).items() if key in given}
    )
    dumped = instance.model_dump(mode="python", include=set(given), round_trip=True)
    result.plain = {key: dumped.get(key, given[key]) for key in given}
    return result


def _issues(
    exc: ValidationError,
    given: Mapping[str, Any],
    model: type[BaseModel],
    deferred: set[str],
    partial: bool,
) -> list[tuple[tuple[str | int, ...], str, Any]]:
    by_path: dict[tuple[str | int, ...], tuple[list[str], Any]] = {}
    for error in exc.errors(include_url=False):
        loc = _user_loc(error["loc"], given)
        if error["type"] == "missing":
            if (loc and loc[0] in deferred) or (partial and len(loc) == 1):
                continue
            message = _missing_message(model, loc)
            value: Any = _NO_VALUE
        elif error["type"] == "extra_forbidden":
            message = _unknown_message(model, loc)
            value = error.get("input")
        else:
            value = error.get("input")
            message = f"{error['msg']} (got {_show(value)})"
        messages, _ = by_path.setdefault(loc, ([], value))
        if message not in messages:
            messages.append(message)
    return [(loc, "; or ".join(messages), value) for loc, (messages, value) in by_path.items()]


_NO_VALUE: Any = object()


def no_value() -> Any:
    """The marker for an issue without an offending value."""
    return _NO_VALUE


def _user_loc(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Drop the segments pydantic adds (union members, validators) from an error location."""
    path: list[str | int] = []
    current = data
    for segment in loc:
        if (isinstance(current, Mapping) and segment in current) or (
            isinstance(current, list | tuple)
            and isinstance(segment, int)
            and segment < len(current)
        ):
            path.append(segment)
            current = current[segment]
        elif isinstance(segment, str) and current is _MISSING_DATA:
            path.append(segment)
        elif isinstance(current, Mapping) and isinstance(segment, str) and not _internal(segment):
            # A key that the data lacks (a missing field): keep it, nothing lies below.
            path.append(segment)
            current = _MISSING_DATA
    return tuple(path)


_MISSING_DATA: Any = object()


def _internal(segment: str) -> bool:
    return (
        "[" in segment
        or segment in {"int", "float", "str", "bool", "none", "list", "dict", "tuple", "set"}
        or segment[:1].isupper()
    )


def _missing_message(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    info = model.model_fields.get(str(loc[0])) if len(loc) == 1 else None
    if info is not None and _allows_none(info.annotation):
        return "required; give a value (null is allowed)"
    return "required; give a value"


def _allows_none(annotation: Any) -> bool:
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _allows_none(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_allows_none(arg) for arg in typing.get_args(annotation))
    return False


def _unknown_message(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    import difflib

    key = str(loc[-1]) if loc else ""
    message = "unknown key"
    names = list(model.model_fields) if len(loc) == 1 else []
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
    if close:
        message += f"; did you mean {close[0]!r}?"
    elif names:
        message += "; accepted: " + ", ".join(names)
    return message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def accepts_str(annotation: Any) -> bool:
    """Whether a field of this type takes text as written (str, Path, Enum, str Literal)."""
    import pathlib

    if annotation is str or annotation is pathlib.Path:
        return True
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return accepts_str(args[0])
    if origin is typing.Literal:
        return all(isinstance(arg, str) for arg in args)
    if origin in (Union, types.UnionType):
        non_none = [arg for arg in args if arg is not type(None)]
        return bool(non_none) and all(accepts_str(arg) for arg in non_none)
    return False


def field_annotation(constructor: Any, kwargs: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """Whether `constructor` accepts `key`, and the field's annotation (Any when unknown)."""
    model = model_for(constructor, kwargs)
    if model is None:
        return True, Any
    info = model.model_fields.get(key)
    if info is not None:
        return True, info.annotation
    return model.model_config.get("extra") == "allow", Any


Constructor = Callable[..., Any]
