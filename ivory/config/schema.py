"""Pydantic models for constructors, and validation of the nodes that call them.

Every node that builds an object is validated against a model of its constructor: the model the
constructor declares (``__ivory_model__``, or ``__ivory_schema__(kwargs)`` when the accepted keys
depend on the node), the constructor itself when it is a pydantic model, or a model derived from
its signature and type hints (string annotations resolved, ``Annotated`` metadata kept). Unknown
keys are errors unless the constructor takes ``**kwargs``, and nested models are held to the same
rule. Error locations are given in the user's terms: the keys and indices of the node, never the
names pydantic gives to union members or validators.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import enum
import functools
import inspect
import pathlib
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

__all__ = [
    "NodeResult",
    "accepts_str",
    "allows_none",
    "annotation_at",
    "field_annotation",
    "field_names",
    "model_for",
    "no_value",
    "signature_model",
    "validate_kwargs",
]

_CONFIG = ConfigDict(
    arbitrary_types_allowed=True, extra="forbid", protected_namespaces=(), populate_by_name=False
)
_CONFIG_KWARGS = ConfigDict(arbitrary_types_allowed=True, extra="allow", protected_namespaces=())

Loc = tuple[str | int, ...]


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
    issues: list[tuple[Loc, str, Any]] = field(default_factory=list)


# Models.


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
    """Derive a model from the signature and type hints of a class or callable.

    Parameters whose names pydantic reserves (``copy``, ``json``, ``model_config``, ``_x``) are
    kept under an alias, so a constructor may use any keyword name.
    """
    try:
        signature = inspect.signature(constructor)
    except (TypeError, ValueError):
        return None
    hints = _type_hints(_hinted(constructor))
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
        if _reserved(parameter.name):
            fields[f"field_{parameter.name.lstrip('_')}_{len(fields)}"] = (
                annotation,
                pydantic.Field(default, alias=parameter.name),
            )
        else:
            fields[parameter.name] = (annotation, default)
    model_name = str(name or getattr(constructor, "__qualname__", "Constructor"))
    return pydantic.create_model(
        model_name,
        __config__=_CONFIG_KWARGS if takes_kwargs else _CONFIG,
        **fields,
    )


def _hinted(constructor: Any) -> Any:
    """The function whose annotations type the constructor's parameters."""
    if not isinstance(constructor, type):
        return constructor
    for klass in constructor.__mro__:
        init = vars(klass).get("__init__")
        if init is not None and inspect.isfunction(init):
            return init
    return constructor


def _reserved(name: str) -> bool:
    return name.startswith("_") or name.startswith("model_") or hasattr(BaseModel, name)


def _type_hints(target: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        pass

    # Some annotation does not resolve: resolve the others one by one, the rest are Any.
    hints: dict[str, Any] = {}
    module = sys.modules.get(getattr(target, "__module__", ""), None)
    namespace = dict(vars(module)) if module else {}
    for key, value in getattr(target, "__annotations__", {}).items():
        if isinstance(value, str):
            try:
                value = typing.get_type_hints(
                    _Probe(value), globalns=namespace, include_extras=True
                )["probe"]
            except Exception:
                value = Any
        hints[key] = value
    return hints


class _Probe:
    """An object with one string annotation, for resolving it on its own."""

    def __init__(self, annotation: str) -> None:
        self.__annotations__ = {"probe": annotation}


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


@functools.lru_cache(maxsize=2048)
def _keys(model: type[BaseModel]) -> dict[str, str]:
    """The key a node writes for each field (its alias, or its name) to the field's name."""
    keys: dict[str, str] = {}
    for name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        keys[alias or name] = name
        if alias and model.model_config.get("populate_by_name"):
            keys.setdefault(name, name)
    return keys


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a node may give for `model`'s fields, in declaration order."""
    return list(_keys(model))


def _full(info: FieldInfo) -> Any:
    """A field's annotation with its metadata (``Annotated``) put back."""
    if info.metadata:
        return Annotated[(info.annotation, *info.metadata)]
    return info.annotation


@functools.lru_cache(maxsize=1024)
def _relaxed(model: type[BaseModel], deferred: frozenset[str], partial: bool) -> type[BaseModel]:
    """`model` with the `deferred` fields taking anything, and (`partial`) nothing required.

    Deferred values (references, nested nodes) are built later and validated then; a ``def:``
    node binds only some arguments. The other fields keep their types, so their values are still
    coerced (``lr: 1`` becomes ``1.0``).
    """
    overrides: dict[str, Any] = {}
    for key, name in _keys(model).items():
        info = model.model_fields[name]
        if key in deferred:
            overrides[name] = (Any, pydantic.Field(None, alias=info.alias))
        elif partial and info.is_required():
            overrides[name] = (info.annotation, FieldInfo.merge_field_infos(info, default=None))
    if not overrides:
        return model
    return pydantic.create_model(model.__name__, __base__=model, **overrides)


# Validation.


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

    # Validate the literal values; deferred ones count as given.
    keys = _keys(model)
    target = model
    if partial or any(key in keys for key in deferred):
        target = _relaxed(model, frozenset(key for key in deferred if key in keys), partial)
    errors: list[Any] = []
    instance: BaseModel | None = None
    try:
        instance = target.model_validate(given)
    except ValidationError as exc:
        errors = list(exc.errors(include_url=False))

    # Collect every issue, nested unknown keys included.
    extras = list(_nested_extras(model, given))
    result.issues = _issues(errors, extras, given, model, deferred, partial)
    if result.issues:
        return result
    if instance is None:
        result.typed = dict(given)
        result.plain = dict(given)
        return result

    # Read back the typed values, and their plain form for the parameter tree.
    names = {keys[key] for key in given if key in keys}
    result.typed = {key: getattr(instance, keys[key]) for key in given if key in keys}
    result.typed.update(
        {key: value for key, value in (instance.model_extra or {}).items() if key in given}
    )
    dumped = instance.model_dump(
        mode="python", include=names | set(given), by_alias=True, round_trip=True
    )
    result.plain = {key: dumped.get(key, given[key]) for key in given}
    return result


def _issues(
    errors: list[Any],
    extras: list[tuple[Loc, list[str]]],
    given: Mapping[str, Any],
    model: type[BaseModel],
    deferred: set[str],
    partial: bool,
) -> list[tuple[Loc, str, Any]]:
    by_path: dict[Loc, tuple[list[str], Any]] = {}

    def add(loc: Loc, message: str, value: Any) -> None:
        messages, _ = by_path.setdefault(loc, ([], value))
        if message not in messages:
            messages.append(message)

    nested = {loc for loc, _ in extras}
    for error in errors:
        loc = _user_loc(error["loc"], given, error["type"])
        if error["type"] == "missing":
            if (loc and loc[0] in deferred) or (partial and len(loc) == 1):
                continue
            add(loc, _missing_message(model, loc), _NO_VALUE)
        elif error["type"] == "extra_forbidden":
            if loc in nested:
                continue
            names = field_names(model) if len(loc) == 1 else []
            add(loc, _unknown_message(loc, names), error.get("input"))
        else:
            add(loc, error["msg"], error.get("input"))
    for loc, names in extras:
        add(loc, _unknown_message(loc, names), _value_at(given, loc))

    # Report in the order the node gives its keys.
    order: dict[Any, int] = {key: i for i, key in enumerate(given)}
    found = sorted(by_path.items(), key=lambda item: order.get(item[0][0], -1) if item[0] else -1)
    return [(loc, _with_value(messages, value), value) for loc, (messages, value) in found]


def _with_value(messages: list[str], value: Any) -> str:
    text = "; or ".join(messages)
    if value is _NO_VALUE or messages[0].startswith("unknown key"):
        return text
    if value is None:
        return f"{text} (got null: the field is not optional)"
    return f"{text} (got {_show(value)})"


_NO_VALUE: Any = object()


def no_value() -> Any:
    """The marker for an issue without an offending value."""
    return _NO_VALUE


def _user_loc(loc: tuple[Any, ...], data: Any, kind: str) -> Loc:
    """Drop the segments pydantic adds (union members, tags, validators) from an error location.

    A segment is kept when the data has it; the last segment of a ``missing`` error is the
    absent key itself.
    """
    path: list[str | int] = []
    current = data
    for i, segment in enumerate(loc):
        if (isinstance(current, Mapping) and segment in current) or (
            isinstance(current, list | tuple)
            and isinstance(segment, int)
            and 0 <= segment < len(current)
        ):
            path.append(segment)
            current = current[segment]
        elif i == len(loc) - 1 and kind == "missing" and isinstance(current, Mapping):
            path.append(segment)
    return tuple(path)


def _value_at(data: Any, loc: Loc) -> Any:
    for segment in loc:
        data = data[segment]
    return data


def _missing_message(model: type[BaseModel], loc: Loc) -> str:
    name = _keys(model).get(str(loc[0])) if len(loc) == 1 else None
    info = model.model_fields.get(name) if name else None
    if info is not None and allows_none(info.annotation):
        return "required; give a value (null is allowed)"
    return "required; give a value"


def _unknown_message(loc: Loc, names: list[str]) -> str:
    key = str(loc[-1]) if loc else ""
    message = "unknown key"
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
    if close:
        message += f"; did you mean {close[0]!r}?"
    elif names:
        message += "; accepted: " + ", ".join(names)
    return message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Unknown keys inside nested models.


def _nested_extras(
    model: type[BaseModel], given: Mapping[str, Any]
) -> Iterator[tuple[Loc, list[str]]]:
    """Unknown keys in nested models, which pydantic ignores unless the model forbids them."""
    plan = _structured_fields(model)
    for key, annotation in plan.items():
        if key in given:
            yield from _extras(annotation, given[key], (key,))


@functools.lru_cache(maxsize=1024)
def _structured_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The fields whose type holds a model or dataclass, by key."""
    return {
        key: _full(model.model_fields[name])
        for key, name in _keys(model).items()
        if _holds_structure(_full(model.model_fields[name]), 0)
    }


def _holds_structure(annotation: Any, depth: int) -> bool:
    if depth > 8:
        return False
    if isinstance(annotation, type) and (
        issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)
    ):
        return True
    return any(_holds_structure(arg, depth + 1) for arg in typing.get_args(annotation))


_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _extras(annotation: Any, value: Any, loc: Loc) -> Iterator[tuple[Loc, list[str]]]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        yield from _extras(args[0], value, loc)
    elif origin in (Union, types.UnionType):
        # The member that fits best: none of its keys unknown, or the fewest.
        best: list[tuple[Loc, list[str]]] | None = None
        for member in args:
            found = list(_extras(member, value, loc))
            if not found:
                return
            if best is None or len(found) < len(best):
                best = found
        yield from best or []
    elif isinstance(annotation, type) and isinstance(value, Mapping):
        yield from _model_extras(annotation, value, loc)
    elif origin in _SEQUENCES and isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
                item_type = args[i] if i < len(args) else Any
            else:
                item_type = args[0] if args else Any
            yield from _extras(item_type, item, (*loc, i))
    elif origin in _MAPPINGS and isinstance(value, Mapping) and len(args) == 2:
        for key, item in value.items():
            yield from _extras(args[1], item, (*loc, key))


def _model_extras(
    annotation: type, value: Mapping[Any, Any], loc: Loc
) -> Iterator[tuple[Loc, list[str]]]:
    if issubclass(annotation, BaseModel):
        fields = {
            key: _full(annotation.model_fields[name]) for key, name in _keys(annotation).items()
        }
        strict = annotation.model_config.get("extra") in (None, "forbid")
    elif dataclasses.is_dataclass(annotation):
        hints = _type_hints(annotation)
        fields = {f.name: hints.get(f.name, Any) for f in dataclasses.fields(annotation) if f.init}
        strict = True
    else:
        return
    for key, item in value.items():
        if key in fields:
            yield from _extras(fields[key], item, (*loc, key))
        elif strict:
            yield (*loc, key), list(fields)


# Field types, for overrides.


def allows_none(annotation: Any) -> bool:
    """Whether a field of this type accepts null."""
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return allows_none(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(allows_none(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return None in typing.get_args(annotation)
    return False


def accepts_str(annotation: Any) -> bool:
    """Whether a field of this type takes text as written (str, Path, str Enum, str Literal)."""
    if annotation is str or annotation is pathlib.Path:
        return True
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return all(isinstance(member.value, str) for member in annotation)
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
    name = _keys(model).get(key)
    if name is not None:
        return True, _full(model.model_fields[name])
    return model.model_config.get("extra") == "allow", Any


def annotation_at(annotation: Any, segments: Loc) -> Any:
    """The type found by following `segments` (keys, indices) into `annotation`; Any if unknown.

    Example:
        >>> annotation_at(dict[str, list[int]], ("a", 0))
        <class 'int'>
    """
    for segment in segments:
        annotation = _step(annotation, segment)
        if annotation is Any:
            return Any
    return annotation


def _step(annotation: Any, segment: str | int) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _step(args[0], segment)
    if origin in (Union, types.UnionType):
        found = {_step(arg, segment) for arg in args if arg is not type(None)} - {Any}
        return found.pop() if len(found) == 1 else Any
    if isinstance(annotation, type) and isinstance(segment, str):
        if issubclass(annotation, BaseModel):
            name = _keys(annotation).get(segment)
            return _full(annotation.model_fields[name]) if name else Any
        if dataclasses.is_dataclass(annotation):
            return _type_hints(annotation).get(segment, Any)
    if origin in _SEQUENCES and isinstance(segment, int) and args:
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            return args[segment] if 0 <= segment < len(args) else Any
        return args[0]
    if origin in _MAPPINGS and len(args) == 2:
        return args[1]
    return Any


Constructor = Callable[..., Any]
