"""Pydantic types for scikit-learn estimators, from the constraints scikit-learn declares.

scikit-learn's constructors have no type hints, but every estimator declares, in
``_parameter_constraints``, what each parameter accepts: intervals of integers or reals, sets of
strings, ``"boolean"``, ``None``, ``"random_state"``, callables and so on. Those are mapped here
to pydantic types, so that ``n_estimators: many`` is an error with the file's line before any
training, and so that the exported JSON Schema knows ranges and choices. Values that only Python
can give (an instance, a callable, an array) are left for scikit-learn to judge, and out of the
JSON Schema.

Importing scikit-learn takes about a second, most of a ``ivory validate`` run. So an estimator's
parameters are first turned into a plain description (its *spec*: defaults, descriptions and
constraints as JSON), and the specs are kept in a cache file per scikit-learn version
(``$IVORY_CACHE_DIR``, by default ``~/.cache/ivory``). While scikit-learn is not imported yet, an
estimator named by its import path is typed from the cache, and scikit-learn is imported only on
a miss. The types are always made from the spec, so both ways give the same validation.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from ivory.config.docstrings import parameter_docs

__all__ = ["annotation_for", "class_spec", "parameter_fields"]

logger = logging.getLogger(__name__)

SPEC_VERSION = 1
"""Bumped whenever the spec format or its mapping changes, so that old cache files are ignored."""

Spec = dict[str, Any]


def parameter_fields(
    model: str | type, resolve: Callable[[str], type] | None = None
) -> dict[str, tuple[Any, Any]]:
    """The pydantic field of each constructor parameter of a scikit-learn estimator class.

    Args:
        model: The estimator class, or its import path.
        resolve: Imports an import path into the class (and refuses paths that are not allowed);
            used when the cache does not know the path. The global registry by default.

    Returns:
        ``name -> (annotation, FieldInfo)`` in signature order, with the constructor's default and
        the parameter's description from the class docstring. Parameters without a declared
        constraint accept anything.
    """
    if isinstance(model, type):
        return fields_from_spec(class_spec(model))
    if "sklearn" not in sys.modules:
        spec = _cached(model)
        if spec is not None:
            _check_allowed(model)
            return fields_from_spec(spec)
    spec = class_spec((resolve or _resolve)(model))
    _store(model, spec)
    return fields_from_spec(spec)


def _resolve(path: str) -> type:
    from ivory.registry import registry

    found = registry.get(path)
    if not isinstance(found, type):
        raise TypeError(f"{path!r} is not a class")
    return found


def _check_allowed(path: str) -> None:
    from ivory.errors import RegistryError
    from ivory.registry import registry

    refusal = registry.check(path)
    if refusal is not None:
        raise RegistryError(refusal)


# The spec: what an estimator's parameters accept, as JSON.


@functools.lru_cache(maxsize=256)
def _class_spec(model: type) -> str:
    from sklearn.utils._param_validation import make_constraint

    constraints: dict[str, Any] = getattr(model, "_parameter_constraints", None) or {}
    docs = parameter_docs(model)
    parameters = []
    for name, parameter in inspect.signature(model).parameters.items():
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        entry: Spec = {"name": name}
        if parameter.default is not parameter.empty:
            entry["default"] = _encode_default(parameter.default)
        if name in docs:
            entry["description"] = docs[name]
        declared = constraints.get(name)
        if declared is not None and declared != "no_validation":
            made = []
            for constraint in declared:
                try:
                    made.append(make_constraint(constraint))
                except ValueError:
                    continue
            entry["constraints"] = [_encode(c) for c in made]
            visible = [_describe(c) for c in made if not getattr(c, "hidden", False)]
            visible = visible or [_describe(c) for c in made[:1]]
            entry["expected"] = _join(visible)
        parameters.append(entry)
    return json.dumps({"parameters": parameters}, allow_nan=False)


def class_spec(model: type) -> Spec:
    """The spec of an estimator class: its parameters, defaults, descriptions and constraints.

    Example:
        >>> from sklearn.ensemble import RandomForestRegressor
        >>> spec = class_spec(RandomForestRegressor)
        >>> spec["parameters"][0]
        ... # doctest: +NORMALIZE_WHITESPACE
        {'name': 'n_estimators', 'default': {'value': 100},
         'description': 'The number of trees in the forest.',
         'constraints': [{'kind': 'interval', 'type': 'int', 'left': 1, 'right': None,
                          'closed': 'left'}],
         'expected': 'an int in the range [1, inf)'}
    """
    spec: Spec = json.loads(_class_spec(model))
    return spec


def _encode(constraint: Any) -> Spec:
    """One scikit-learn constraint object as JSON."""
    from sklearn.utils import _param_validation as pv

    kind = type(constraint).__name__
    if isinstance(constraint, pv.Interval):
        names = {pv.Integral: "int", pv.RealNotInt: "float"}
        return {
            "kind": "interval",
            "type": names.get(constraint.type, "real"),
            "left": _bound(constraint.left),
            "right": _bound(constraint.right),
            "closed": constraint.closed,
        }
    if isinstance(constraint, pv.StrOptions | pv.Options):
        options = sorted(constraint.options, key=repr)
        if all(isinstance(o, str | int | float | bool) or o is None for o in options):
            return {"kind": "options", "values": [_encode_value(o) for o in options]}
    simple = {
        "_NoneConstraint": "none",
        "_Booleans": "boolean",
        "_VerboseHelper": "verbose",
        "_RandomStates": "random_state",
        "_CVObjects": "cv",
        "_ArrayLikes": "list",
        "_IterablesNotString": "list",
        "_NanConstraint": "nan",
    }
    if kind in simple:
        return {"kind": simple[kind]}
    if kind == "MissingValues":
        return {"kind": "missing", "numeric_only": bool(constraint.numeric_only)}
    if kind == "_InstancesOf":
        plain = {
            bool: "bool",
            int: "int",
            pv.Integral: "int",
            float: "real",
            pv.Real: "real",
            str: "str",
            dict: "dict",
            list: "list",
            tuple: "tuple",
        }
        if constraint.type in plain:
            return {"kind": "instance", "type": plain[constraint.type]}
    return {"kind": "object"}


def _encode_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    return float(value["float"]) if isinstance(value, dict) else value


def _bound(value: Any) -> float | int | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return int(value) if isinstance(value, int) else float(value)


def _describe(constraint: Any) -> str:
    """What a constraint accepts, in words (scikit-learn's own, with sets in a stable order)."""
    kind = type(constraint).__name__
    if kind == "StrOptions":
        return f"a str among {{{', '.join(repr(o) for o in sorted(constraint.options))}}}"
    if kind == "_Booleans":
        return "a bool"
    if kind == "_VerboseHelper":
        return "an int in the range [0, inf) or a bool"
    return str(constraint)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


def _encode_default(value: Any) -> Spec:
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": str(value)}
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return {"python": repr(value), "callable": callable(value)}
    return {"value": value}


class _PythonDefault:
    """A default that only Python can hold (an object), kept by its text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _PythonCallableDefault(_PythonDefault):
    """A default that is a class or a function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self.text} is only described here")


def _decode_default(encoded: Spec) -> Any:
    if "value" in encoded:
        return encoded["value"]
    if "float" in encoded:
        return float(encoded["float"])
    if encoded.get("callable"):
        return _PythonCallableDefault(encoded["python"])
    return _PythonDefault(encoded["python"])


# From the spec to pydantic types.


def fields_from_spec(spec: Spec) -> dict[str, tuple[Any, Any]]:
    """The pydantic fields an estimator spec describes."""
    fields: dict[str, tuple[Any, Any]] = {}
    for entry in spec["parameters"]:
        name = entry["name"]
        default = _decode_default(entry["default"]) if "default" in entry else ...
        annotation: Any = Any
        if "constraints" in entry:
            annotation = _annotation(tuple(json.dumps(c) for c in entry["constraints"]), entry)
        description = entry.get("description")
        if _reserved(name):
            # A name pydantic keeps for itself (copy, validate): the field goes by an alias.
            field = Field(default, alias=name, description=description)
            fields[f"parameter_{name.lstrip('_')}"] = (annotation, field)
        else:
            fields[name] = (annotation, Field(default, description=description))
    return fields


def _reserved(name: str) -> bool:
    from pydantic import BaseModel

    return name.startswith("_") or name.startswith("model_") or hasattr(BaseModel, name)


def _annotation(constraints: tuple[str, ...], entry: Spec) -> Any:
    branches: list[Any] = []
    for text in constraints:
        for branch in _branches(json.loads(text)):
            if branch not in branches:
                branches.append(branch)
    if not branches:
        return Any
    union = branches[0] if len(branches) == 1 else Union[tuple(branches)]  # noqa: UP007
    expected = entry.get("expected") or "a value scikit-learn accepts"
    return Annotated[union, WrapValidator(functools.partial(_explain, expected))]


def annotation_for(constraints: list[Any]) -> Any:
    """A pydantic type that accepts what any one of scikit-learn's `constraints` accepts.

    Errors read like scikit-learn's own: ``Input should be an int in the range [1, inf)``.

    Example:
        >>> from numbers import Integral
        >>> from pydantic import TypeAdapter, ValidationError
        >>> from sklearn.utils._param_validation import Interval
        >>> adapter = TypeAdapter(annotation_for([Interval(Integral, 1, None, closed="left")]))
        >>> adapter.validate_python(10)
        10
        >>> try:
        ...     adapter.validate_python("many")
        ... except ValidationError as exc:
        ...     print(exc.errors()[0]["msg"])
        Input should be an int in the range [1, inf)
    """
    from sklearn.utils._param_validation import make_constraint

    made = [make_constraint(c) for c in constraints]
    visible = [_describe(c) for c in made if not getattr(c, "hidden", False)]
    entry = {"expected": _join(visible or [_describe(made[0])])}
    return _annotation(tuple(json.dumps(_encode(c)) for c in made), entry)


def _explain(expected: str, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "sklearn_constraint", "Input should be {expected}", {"expected": expected}
        ) from None


def _branches(spec: Spec) -> list[Any]:
    """The pydantic types that together accept what one constraint accepts."""
    kind = spec["kind"]
    python = _skip(_PYTHON_OBJECT)
    if kind == "interval":
        return _interval(spec)
    if kind == "options":
        return _options([_decode_value(v) for v in spec["values"]])
    table: dict[str, list[Any]] = {
        "none": [None],
        "boolean": [StrictBool, python],
        "verbose": [Annotated[StrictInt, Field(ge=0)], StrictBool],
        "random_state": [Annotated[StrictInt, Field(ge=0, le=2**32 - 1)], None, python],
        "cv": [Annotated[StrictInt, Field(ge=2)], None, list[Any], python],
        "list": [list[Any], python],
        "nan": [Annotated[StrictFloat, AfterValidator(_nan)]],
        "object": [python],
    }
    if kind in table:
        return table[kind]
    if kind == "missing":
        branches: list[Any] = [StrictInt, StrictFloat]
        if not spec["numeric_only"]:
            branches += [StrictStr, None]
        return [*branches, python]
    if kind == "instance":
        instances: dict[str, list[Any]] = {
            "bool": [StrictBool],
            "int": [StrictInt],
            "real": [StrictInt, StrictFloat],
            "str": [StrictStr],
            "dict": [dict[Any, Any]],
            "list": [list[Any]],
            "tuple": [tuple[Any, ...]],
        }
        return instances[spec["type"]]
    return [python]


def _options(values: list[Any]) -> list[Any]:
    """Branches for a set of values: a Literal for text and integers, a check for floats."""
    plain = tuple(v for v in values if not isinstance(v, float))
    floats = tuple(v for v in values if isinstance(v, float))
    branches: list[Any] = [Literal[plain]] if plain else []
    if floats:
        check = AfterValidator(functools.partial(_among, floats))
        branches.append(_skip(Annotated[StrictFloat, check]))
    return branches


def _among(values: tuple[float, ...], value: float) -> float:
    if value not in values:
        raise ValueError(f"expected one of {values}")
    return value


def _interval(spec: Spec) -> list[Any]:
    bounds: dict[str, Any] = {}
    closed = spec["closed"]
    if spec["left"] is not None:
        bounds["ge" if closed in ("left", "both") else "gt"] = spec["left"]
    if spec["right"] is not None:
        bounds["le" if closed in ("right", "both") else "lt"] = spec["right"]
    floats: list[Any] = [Annotated[StrictFloat, Field(allow_inf_nan=False, **bounds)]]

    # An open end that is closed takes the infinity itself ([0, inf] holds inf).
    infinities = [-math.inf] if spec["left"] is None and closed in ("left", "both") else []
    infinities += [math.inf] if spec["right"] is None and closed in ("right", "both") else []
    if spec["type"] != "int" and infinities:
        check = AfterValidator(functools.partial(_among, tuple(infinities)))
        floats.append(_skip(Annotated[StrictFloat, check]))
    if spec["type"] == "float":
        return floats
    integer_bounds = _integer_bounds(bounds)
    if integer_bounds is None:
        return floats
    integers = Annotated[StrictInt, Field(**integer_bounds)]
    if spec["type"] == "int":
        return [integers]
    # JSON's "number" already takes integers: the int branch only keeps Python ints as ints.
    return [_skip(integers), *floats]


def _integer_bounds(bounds: dict[str, float]) -> dict[str, int] | None:
    """The same bounds for integers (``gt=0.5`` is ``ge=1``), or None when no integer fits."""
    low: int | None = None
    high: int | None = None
    if "ge" in bounds:
        low = math.ceil(bounds["ge"])
    if "gt" in bounds:
        low = math.floor(bounds["gt"]) + 1
    if "le" in bounds:
        high = math.floor(bounds["le"])
    if "lt" in bounds:
        high = math.ceil(bounds["lt"]) - 1
    if low is not None and high is not None and low > high:
        return None
    result = {} if low is None else {"ge": low}
    return result if high is None else {**result, "le": high}


def _python_object(value: Any) -> Any:
    """Accept what a parameter file cannot hold (an instance, a callable, an array)."""
    if value is None or isinstance(value, str | int | float | bool | list | dict | tuple):
        raise ValueError("expected an object")
    return value


_PYTHON_OBJECT: Any = Annotated[Any, AfterValidator(_python_object)]


def _skip(annotation: Any) -> Any:
    """`annotation`, left out of the JSON Schema."""
    skipped: Any = SkipJsonSchema[annotation]  # type: ignore[misc]
    return skipped


def _nan(value: float) -> float:
    if not math.isnan(value):
        raise ValueError("expected nan")
    return value


# The cache of specs, one file per scikit-learn version.


def _cache_file() -> Path | None:
    """The cache file for the installed scikit-learn, or None when caching is off."""
    folder = os.environ.get("IVORY_CACHE_DIR")
    if folder is not None and folder.strip() in ("", "0", "off"):
        return None
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = str(Path(base) / "ivory")
    try:
        version = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        return None
    return Path(folder) / f"sklearn-{version}-spec{SPEC_VERSION}.json"


def _read_cache(file: Path) -> dict[str, Spec]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _cached(path: str) -> Spec | None:
    file = _cache_file()
    if file is None:
        return None
    spec = _read_cache(file).get(path)
    return spec if isinstance(spec, dict) and "parameters" in spec else None


def _store(path: str, spec: Spec) -> None:
    """Add a spec to the cache; a cache that cannot be written is skipped quietly."""
    file = _cache_file()
    if file is None:
        return
    data = _read_cache(file)
    if data.get(path) == spec:
        return
    data[path] = spec
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=file.parent, delete=False, suffix=".tmp", encoding="utf-8"
        ) as stream:
            json.dump(data, stream, sort_keys=True)
        os.replace(stream.name, file)
    except OSError as exc:
        logger.debug("cannot write the cache %s: %s", file, exc)
