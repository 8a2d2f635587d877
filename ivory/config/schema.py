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
from typing import Annotated, Any, Literal, Union

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

__all__ = [
    "CallableName",
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
    names: list[tuple[Loc, str, CallableName]] = field(default_factory=list)
    """``(relative path, name, marker)`` of each value that names a callable (`CallableName`)."""


@dataclass(frozen=True)
class CallableName:
    """Marks a field whose text names a function or a class (a registered name or an import path).

    The constructor resolves such a name itself when it is called. Validation resolves it first,
    through the registry the parameters are checked with, so that a typo is reported at the field
    (``run.metrics.r2``) before anything is built. Put it in the field's ``Annotated`` metadata.

    Attributes:
        kind: ``function`` (anything callable) or ``class``.
        empty: The name an empty value (null) stands for, checked the same way; None when an
            empty value names nothing.
    """

    kind: Literal["function", "class"] = "function"
    empty: str | None = None


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


@dataclass(frozen=True)
class _Tagged:
    """Marks a union whose member is picked by the value of key `name` (a discriminator)."""

    name: str


def _full(info: FieldInfo) -> Any:
    """A field's annotation with its metadata (``Annotated``) put back."""
    metadata = list(info.metadata)
    if isinstance(info.discriminator, str):
        metadata.append(_Tagged(info.discriminator))
    if metadata:
        return Annotated[(info.annotation, *metadata)]
    return info.annotation


def _discriminated(annotation: Any, metadata: tuple[Any, ...], value: Any) -> Any:
    """The member of a discriminated union that `value` names by its tag, or None."""
    names = [m.name for m in metadata if isinstance(m, _Tagged)]
    names += [
        m.discriminator
        for m in metadata
        if isinstance(m, FieldInfo) and isinstance(m.discriminator, str)
    ]
    if not names or not isinstance(value, Mapping) or names[0] not in value:
        return None
    tag = value[names[0]]
    for member in typing.get_args(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            info = member.model_fields.get(names[0])
            literal = typing.get_args(info.annotation) if info is not None else ()
            if any(option == tag or getattr(option, "value", None) == tag for option in literal):
                return member
    return None


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
        instance = target.model_validate(_members_by_name(model, given))
    except ValidationError as exc:
        errors = list(exc.errors(include_url=False))

    # Collect every issue, nested unknown keys included, and the names of callables that the
    # valid keys give (resolved by the caller, so that a typo there is reported in this pass).
    extras = list(_nested_extras(model, given))
    result.issues = _issues(errors, extras, given, model, deferred, partial)
    invalid = {loc[:1] for loc, _, _ in result.issues}
    if () not in invalid:
        named = _callable_names(model, given)
        result.names = [item for item in named if item[0][:1] not in invalid]
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
        elif error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            if loc in nested:
                continue
            names = field_names(model) if len(loc) == 1 else []
            add(loc, _unknown_message(loc, names), error.get("input"))
        else:
            add(loc, _message(error), error.get("input"))
    for loc, names in extras:
        add(loc, _unknown_message(loc, names), _value_at(given, loc))

    # Report in the order the node gives its keys.
    order: dict[Any, int] = {key: i for i, key in enumerate(given)}
    found = sorted(by_path.items(), key=lambda item: order.get(item[0][0], -1) if item[0] else -1)
    return [(loc, _with_value(messages, value), value) for loc, (messages, value) in found]


def _message(error: Any) -> str:
    """Pydantic's message, without the ``Value error,`` it puts before a validator's own text."""
    cause = (error.get("ctx") or {}).get("error")
    if error["type"] == "value_error" and isinstance(cause, ValueError):
        return str(cause)
    return str(error["msg"])


def _with_value(messages: list[str], value: Any) -> str:
    text = "; or ".join(messages)
    if value is _NO_VALUE or messages[0].startswith("unknown key"):
        return text
    if value is None:
        # Null fails a type check only when the field is not optional; a validator's own
        # message says itself why null does not do.
        hint = ": the field is not optional" if messages[0].startswith("Input should") else ""
        return f"{text} (got null{hint})"
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


# Unknown keys inside nested models, and enum members by name.


def _nested_extras(
    model: type[BaseModel], given: Mapping[str, Any]
) -> Iterator[tuple[Loc, list[str]]]:
    """Unknown keys in nested models, which pydantic ignores unless the model forbids them."""
    plan = _structured_fields(model)
    for key, annotation in plan.items():
        if key in given:
            yield from _extras(annotation, given[key], (key,)) or []


@functools.lru_cache(maxsize=1024)
def _structured_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The fields whose type holds a model or dataclass, by key."""
    return {
        key: _full(model.model_fields[name])
        for key, name in _keys(model).items()
        if _holds(_full(model.model_fields[name]), _is_structure, 0)
    }


def _is_structure(annotation: Any) -> bool:
    return isinstance(annotation, type) and (
        issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)
    )


def _is_enum(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum)


def _holds(annotation: Any, test: Callable[[Any], bool], depth: int) -> bool:
    """Whether `annotation` or a type inside it (args, model fields) passes `test`."""
    if depth > 6:
        return False
    if test(annotation):
        return True
    if isinstance(annotation, type) and depth < 6:
        inner = _structure_fields(annotation)
        if inner is not None and any(_holds(t, test, depth + 1) for t in inner[0].values()):
            return True
    return any(_holds(arg, test, depth + 1) for arg in typing.get_args(annotation))


_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _structure_fields(annotation: type) -> tuple[dict[Any, Any], bool] | None:
    """The fields of a model or dataclass type by key, and whether unknown keys are errors."""
    if issubclass(annotation, BaseModel):
        keys = _keys(annotation)
        fields = {key: _full(annotation.model_fields[name]) for key, name in keys.items()}
        return fields, annotation.model_config.get("extra") in (None, "forbid")
    if dataclasses.is_dataclass(annotation):
        hints = _type_hints(annotation)
        fields = {f.name: hints.get(f.name, Any) for f in dataclasses.fields(annotation) if f.init}
        return fields, True
    return None


def _item_type(origin: Any, args: tuple[Any, ...], i: int) -> Any:
    if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        return args[i] if i < len(args) else Any
    return args[0] if args else Any


def _extras(annotation: Any, value: Any, loc: Loc) -> list[tuple[Loc, list[str]]] | None:
    """The unknown keys of `value` against `annotation`; None if the type does not fit its shape.

    For a union, the member that fits best counts: one without unknown keys, or the fewest.
    """
    if annotation is Any or annotation is object:
        return []
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        member = _discriminated(args[0], args[1:], value)
        return _extras(member or args[0], value, loc)
    if origin in (Union, types.UnionType):
        fits = [fit for arg in args if (fit := _extras(arg, value, loc)) is not None]
        return min(fits, key=len) if fits else None
    found: list[tuple[Loc, list[str]]] = []
    if isinstance(annotation, type) and isinstance(value, Mapping):
        structure = _structure_fields(annotation)
        if structure is None:
            return [] if issubclass(annotation, Mapping) else None
        fields, strict = structure
        for key, item in value.items():
            if key in fields:
                found += _extras(fields[key], item, (*loc, key)) or []
            elif strict:
                found.append(((*loc, key), list(fields)))
        return found
    if origin in _SEQUENCES and isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found += _extras(_item_type(origin, args, i), item, (*loc, i)) or []
        return found
    if origin in _MAPPINGS and isinstance(value, Mapping):
        for key, item in value.items():
            found += _extras(args[1] if len(args) == 2 else Any, item, (*loc, key)) or []
        return found
    if isinstance(value, Mapping | list | tuple):
        return None
    return []


@functools.lru_cache(maxsize=1024)
def _enum_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The fields whose type holds an Enum below its top level, by key."""
    return {
        key: _full(model.model_fields[name])
        for key, name in _keys(model).items()
        if _holds(_full(model.model_fields[name]), _is_enum, 0)
    }


def _members_by_name(model: type[BaseModel], given: dict[str, Any]) -> dict[str, Any]:
    """`given` with enum member names (``GELU``) turned into members, at any depth."""
    plan = _enum_fields(model)
    if not plan:
        return given
    return {
        key: _to_members(plan[key], value) if key in plan else value for key, value in given.items()
    }


def _to_members(annotation: Any, value: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _to_members(_discriminated(args[0], args[1:], value) or args[0], value)
    if origin in (Union, types.UnionType):
        for arg in args:
            converted = _to_members(arg, value)
            if converted is not value:
                return converted
        return value
    if _is_enum(annotation):
        return _enum_by_name(annotation, value)
    if isinstance(annotation, type) and isinstance(value, Mapping):
        structure = _structure_fields(annotation)
        if structure is None:
            return value
        fields = structure[0]
        return {k: _to_members(fields[k], v) if k in fields else v for k, v in value.items()}
    if origin in _SEQUENCES and isinstance(value, list):
        return [_to_members(_item_type(origin, args, i), item) for i, item in enumerate(value)]
    if origin in _MAPPINGS and isinstance(value, Mapping) and len(args) == 2:
        return {k: _to_members(args[1], v) for k, v in value.items()}
    return value


# Values that name callables.


def _callable_names(
    model: type[BaseModel], given: Mapping[str, Any]
) -> Iterator[tuple[Loc, str, CallableName]]:
    """Each value in `given` that a field marked `CallableName` holds, with its marker.

    An empty value counts when the marker says what it stands for.
    """
    for key, annotation in _named_fields(model).items():
        if key in given:
            yield from _names_in(annotation, given[key], (key,))


@functools.lru_cache(maxsize=1024)
def _named_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The fields whose type holds a `CallableName` marker, by key."""
    return {
        key: _full(model.model_fields[name])
        for key, name in _keys(model).items()
        if _holds(_full(model.model_fields[name]), _is_name_marker, 0)
    }


def _is_name_marker(annotation: Any) -> bool:
    return isinstance(annotation, CallableName)


def _names_in(annotation: Any, value: Any, loc: Loc) -> Iterator[tuple[Loc, str, CallableName]]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        markers = [item for item in args[1:] if isinstance(item, CallableName)]
        if not markers:
            yield from _names_in(args[0], value, loc)
            return
        name = value if isinstance(value, str) else markers[0].empty if value is None else None
        if name:
            yield loc, name, markers[0]
        return
    if origin in (Union, types.UnionType):
        for arg in args:
            found = list(_names_in(arg, value, loc))
            if found:
                yield from found
                return
        return
    if origin in _SEQUENCES and isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _names_in(_item_type(origin, args, i), item, (*loc, i))
    elif origin in _MAPPINGS and isinstance(value, Mapping) and len(args) == 2:
        for key, item in value.items():
            yield from _names_in(args[1], item, (*loc, key))


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
