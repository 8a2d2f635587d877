"""Pydantic types for scikit-learn estimators, from the constraints scikit-learn declares.

scikit-learn's constructors have no type hints, but every estimator declares, in
``_parameter_constraints``, what each parameter accepts: intervals of integers or reals, sets of
strings, ``"boolean"``, ``None``, ``"random_state"``, callables and so on. Those are mapped here
to pydantic types, so that ``n_estimators: many`` is an error with the file's line before any
training, and so that the exported JSON Schema knows ranges and choices. Values that only Python
can give (an instance, a callable) are accepted as scikit-learn would and left out of the JSON
Schema.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    Field,
    InstanceOf,
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

__all__ = ["parameter_fields"]


@functools.lru_cache(maxsize=256)
def parameter_fields(model: type) -> dict[str, tuple[Any, Any]]:
    """The pydantic field of each constructor parameter of a scikit-learn estimator class.

    Args:
        model: The estimator class, e.g. ``sklearn.ensemble.RandomForestRegressor``.

    Returns:
        ``name -> (annotation, FieldInfo)`` in signature order, with the constructor's default and
        the parameter's description from the class docstring. Parameters without a declared
        constraint accept anything.
    """
    constraints: dict[str, Any] = getattr(model, "_parameter_constraints", None) or {}
    docs = parameter_docs(model)
    fields: dict[str, tuple[Any, Any]] = {}
    for name, parameter in inspect.signature(model).parameters.items():
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        default = ... if parameter.default is parameter.empty else parameter.default
        declared = constraints.get(name)
        annotation = (
            Any
            if declared is None or declared == "no_validation"
            else annotation_for(declared, f"{model.__name__}.{name}")
        )
        fields[name] = (annotation, Field(default, description=docs.get(name)))
    return fields


def annotation_for(constraints: list[Any], where: str = "") -> Any:
    """A pydantic type that accepts what any one of scikit-learn's `constraints` accepts.

    Errors read like scikit-learn's own: ``Input should be an int in the range [1, inf)``.

    Example:
        >>> from numbers import Integral
        >>> from pydantic import TypeAdapter
        >>> from sklearn.utils._param_validation import Interval
        >>> adapter = TypeAdapter(annotation_for([Interval(Integral, 1, None, closed="left")]))
        >>> adapter.validate_python(10)
        10
        >>> from pydantic import ValidationError
        >>> try:
        ...     adapter.validate_python("many")
        ... except ValidationError as exc:
        ...     print(exc.errors()[0]["msg"])
        Input should be an int in the range [1, inf)
    """
    from sklearn.utils._param_validation import make_constraint

    made = []
    branches: list[Any] = []
    for constraint in constraints:
        try:
            made.append(make_constraint(constraint))
        except ValueError:
            continue
        for branch in _branches(made[-1]):
            if branch not in branches:
                branches.append(branch)
    if not branches:
        return Any
    visible = [_describe(c) for c in made if not getattr(c, "hidden", False)]
    visible = visible or [_describe(made[0])]
    expected = visible[0] if len(visible) == 1 else f"{', '.join(visible[:-1])} or {visible[-1]}"
    union = branches[0] if len(branches) == 1 else Union[tuple(branches)]  # noqa: UP007
    return Annotated[union, WrapValidator(functools.partial(_explain, expected))]


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


def _explain(expected: str, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "sklearn_constraint", "Input should be {expected}", {"expected": expected}
        ) from None


def _branches(constraint: Any) -> list[Any]:
    """The pydantic types that together accept what one constraint object accepts."""
    from sklearn.utils import _param_validation as pv

    kind = type(constraint).__name__
    if isinstance(constraint, pv.Interval):
        return _interval(constraint)
    if isinstance(constraint, pv.StrOptions | pv.Options):
        options = sorted(constraint.options, key=repr)
        if all(isinstance(o, str | int | bool) or o is None for o in options):
            return [Literal[tuple(options)]]
    simple: dict[str, list[Any]] = {
        "_NoneConstraint": [None],
        "_Booleans": [StrictBool, _python_only(constraint)],
        "_VerboseHelper": [Annotated[StrictInt, Field(ge=0)], StrictBool],
        "_RandomStates": [Annotated[StrictInt, Field(ge=0, le=2**32 - 1)], None],
        "_CVObjects": [Annotated[StrictInt, Field(ge=2)], None, list[Any]],
        "_ArrayLikes": [list[Any]],
        "_IterablesNotString": [list[Any]],
        "_Callables": [_skip(Callable[..., Any])],
        "_NanConstraint": [Annotated[StrictFloat, AfterValidator(_nan)]],
    }
    if kind in simple:
        branches = simple[kind]
        if kind in ("_RandomStates", "_CVObjects", "_ArrayLikes", "_IterablesNotString"):
            branches = [*branches, _python_only(constraint)]
        return branches
    if kind == "MissingValues":
        branches = [StrictInt, StrictFloat]
        if not constraint.numeric_only:
            branches += [StrictStr, None]
        return [*branches, _python_only(constraint)]
    if kind == "_InstancesOf":
        return _instances_of(constraint.type)
    return [_python_only(constraint)]


def _interval(constraint: Any) -> list[Any]:
    from sklearn.utils._param_validation import RealNotInt

    bounds: dict[str, float] = {}
    closed = constraint.closed
    if constraint.left is not None and math.isfinite(constraint.left):
        bounds["ge" if closed in ("left", "both") else "gt"] = constraint.left
    if constraint.right is not None and math.isfinite(constraint.right):
        bounds["le" if closed in ("right", "both") else "lt"] = constraint.right
    floats = Annotated[StrictFloat, Field(allow_inf_nan=False, **bounds)]
    if constraint.type is RealNotInt:
        return [floats]
    integer_bounds = _integer_bounds(bounds)
    if integer_bounds is None:
        return [floats]
    integers = Annotated[StrictInt, Field(**integer_bounds)]
    if constraint.type is Integral:
        return [integers]
    # JSON's "number" already takes integers: the int branch only keeps Python ints as ints.
    return [_skip(integers), floats]


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


def _instances_of(kind: type) -> list[Any]:
    if kind is bool:
        return [StrictBool]
    if kind in (int, Integral):
        return [StrictInt]
    if kind in (float, Real):
        return [StrictInt, StrictFloat]
    if kind is str:
        return [StrictStr]
    if kind is dict:
        return [dict[Any, Any]]
    if kind is list:
        return [list[Any]]
    if kind is tuple:
        return [tuple[Any, ...]]
    instances: Any = InstanceOf[kind]  # type: ignore[misc, valid-type]
    return [_skip(instances)]


def _python_only(constraint: Any) -> Any:
    """Values that scikit-learn accepts but a parameter file cannot hold (objects, arrays)."""
    return _skip(Annotated[Any, AfterValidator(functools.partial(_satisfies, constraint))])


def _skip(annotation: Any) -> Any:
    """`annotation`, left out of the JSON Schema."""
    skipped: Any = SkipJsonSchema[annotation]  # type: ignore[misc]
    return skipped


def _satisfies(constraint: Any, value: Any) -> Any:
    if not constraint.is_satisfied_by(value):
        raise ValueError(f"expected {constraint}")
    return value


def _nan(value: float) -> float:
    if not math.isnan(value):
        raise ValueError("expected nan")
    return value
