"""The value grammar of overrides: sweeps for tasks and distributions for studies.

One module reads both kinds of value written as text (a ``k=v`` item of the command line, or a
search space in a parameter file):

- `parse_value` reads an override value: a single value (left as `Text`, typed later by the
  field it lands in) or a `Sweep` over several values. Sweeps are written as comma lists
  (``0,1,2``), functions (``range(0,5)``, ``range(0,10,2)``, ``linspace(0,1,5)``,
  ``logspace(-5,-2,4)``, ``choice(a,b)``) or the inclusive ranges of the original Ivory
  (``0-4``, ``10-20-2``, ``0-0.5:5``). Brackets, braces and quotes protect their commas:
  ``[64,32]`` is one list value and ``'a,b'`` one string. ``1e-3`` is a number, never a range.
- `parse_distribution` reads a search space: ``int(a, b[, step=s][, log])``,
  ``float(a, b[, step=s][, log])`` or ``choice(v1, v2, ...)``, as plain data objects (no Optuna
  import here).

A malformed value is a `ConfigError` (an `OverrideError` when it comes with its name) whose message
shows the text with a caret under the offending character.

Values that a function computes are exact Python numbers: ints when every argument is an int,
floats otherwise, computed in decimal so that ``range(0,1,0.1)`` gives ``0.3`` and not
``0.30000000000000004``. They are never turned back into text.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from ivory.config.values import Text, parse_scalar
from ivory.errors import ConfigError, ConfigIssue, OverrideError

__all__ = [
    "MAX_SWEEP_SIZE",
    "CategoricalDistribution",
    "Distribution",
    "FloatDistribution",
    "IntDistribution",
    "Sweep",
    "is_distribution",
    "parse_distribution",
    "parse_value",
]

MAX_SWEEP_SIZE = 100_000
"""The most values one sweep may hold (a guard against ``2020-1-1`` read as 2020 values)."""

SWEEP_FUNCTIONS = ("range", "linspace", "logspace", "choice")
DISTRIBUTION_FUNCTIONS = ("int", "float", "choice")

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_CALL = re.compile(r"(?P<name>[A-Za-z_]\w*)\s*\(")
_KEYWORD = re.compile(r"(?P<key>[A-Za-z_]\w*)\s*=")
# The inclusive ranges of the original Ivory. Numbers have no exponent and no leading zero, so
# that ``1e-3`` and ``2020-01-01`` are never read as ranges.
_NUMBER = r"(?:0|[1-9]\d*)(?:\.\d+)?|0?\.\d+"
_INCLUSIVE = re.compile(
    rf"(?P<start>-?(?:{_NUMBER}))-(?P<stop>-?(?:{_NUMBER}))"
    rf"(?:-(?P<step>{_NUMBER}))?(?::(?P<num>\d+))?"
)
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_QUOTE_AFTER = set(",([{:=")


@dataclass(frozen=True)
class Sweep:
    """Several values of one parameter, to be run one after another by a task.

    Attributes:
        values: The values in order: numbers that a function computed, or `Text` items that the
            field they land in types (so ``1.0e-5`` reaches a float field as ``1e-05``).
        text: The text the sweep was written as (``""`` when built in Python).
    """

    values: tuple[Any, ...]
    text: str = ""

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class IntDistribution:
    """Integers from `low` to `high` (both included), every `step`, optionally log-scaled."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def suggest(self, trial: Any, name: str) -> int:
        """Ask an Optuna trial for a value (the trial is duck-typed; Optuna is not imported)."""
        return int(trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log))


@dataclass(frozen=True)
class FloatDistribution:
    """Floats from `low` to `high`, continuous or every `step`, optionally log-scaled."""

    low: float
    high: float
    step: float | None = None
    log: bool = False

    def suggest(self, trial: Any, name: str) -> float:
        """Ask an Optuna trial for a value (the trial is duck-typed; Optuna is not imported)."""
        return float(trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log))


@dataclass(frozen=True)
class CategoricalDistribution:
    """One of `choices`, each read as a YAML 1.2 scalar (quoted items stay strings)."""

    choices: tuple[Any, ...] = field(default_factory=tuple)

    def suggest(self, trial: Any, name: str) -> Any:
        """Ask an Optuna trial for a value (the trial is duck-typed; Optuna is not imported)."""
        return trial.suggest_categorical(name, list(self.choices))


Distribution = IntDistribution | FloatDistribution | CategoricalDistribution


def parse_value(text: str, name: str | None = None) -> Text | Sweep:
    """Read an override value: one value, or a sweep over several.

    Args:
        text: The value as written (``0,1,2``, ``range(0,5)``, ``[64,32]``, ``1e-3``).
        name: The override's name, shown in errors (``fold=0,,2``).

    Returns:
        A `Sweep`, or the text itself as a `Text` when it is a single value.

    Raises:
        ConfigError: The value is malformed (an `OverrideError` when `name` is given); the message
            shows a caret under the offending character.

    Example:
        >>> parse_value("0-4").values
        (0, 1, 2, 3, 4)
        >>> parse_value("range(0,1,0.25)").values
        (0.0, 0.25, 0.5, 0.75)
        >>> parse_value("[64,32]"), parse_value("1e-3")
        ('[64,32]', '1e-3')
    """
    parser = _Parser(text, name)
    items = parser.split(0, len(text))
    if len(items) == 1:
        start, end = items[0]
        if start == end:
            return Text(text)
        found = parser.item(start, end)
        return found if isinstance(found, Sweep) else Text(text)
    values: list[Any] = []
    for start, end in items:
        if start == end:
            raise parser.error(start, "empty item in a comma list; remove the extra comma")
        found = parser.item(start, end)
        values.extend(found.values if isinstance(found, Sweep) else [found])
    return Sweep(parser.check_size(tuple(values), 0), text)


def is_distribution(text: str) -> bool:
    """Whether `text` is written as a distribution: ``int(...)``, ``float(...)`` or ``choice(...)``.

    Example:
        >>> is_distribution("float(1e-5, 1e-2, log)"), is_distribution("0,1")
        (True, False)
    """
    stripped = text.strip()
    match = _CALL.match(stripped)
    return match is not None and match["name"] in DISTRIBUTION_FUNCTIONS and stripped[-1] == ")"


def parse_distribution(text: str, name: str | None = None) -> Distribution:
    """Read a search space: ``int(a, b[, step=s][, log])``, ``float(...)`` or ``choice(...)``.

    Args:
        text: The distribution as written.
        name: The parameter's name, shown in errors.

    Returns:
        The distribution as a plain data object.

    Raises:
        ConfigError: The text is not a distribution or is malformed (an `OverrideError` when
            `name` is given); the message shows a caret under the offending character.

    Example:
        >>> parse_distribution("int(10, 300, step=10)")
        IntDistribution(low=10, high=300, step=10, log=False)
        >>> parse_distribution("float(1e-5, 1e-2, log)")
        FloatDistribution(low=1e-05, high=0.01, step=None, log=True)
        >>> parse_distribution("choice(sqrt, log2, 1.0)").choices
        ('sqrt', 'log2', 1.0)
    """
    parser = _Parser(text, name)
    start, end = parser.strip(0, len(text))
    parser.split(start, end)  # Unbalanced brackets and quotes are reported where they are.
    call = parser.call(start, end)
    if call is None or call.name not in DISTRIBUTION_FUNCTIONS:
        at = call.start if call is not None else start
        called = call.name.lower() if call is not None else ""
        close = difflib.get_close_matches(called, DISTRIBUTION_FUNCTIONS, n=1, cutoff=0.75)
        raise parser.error(
            at,
            "expected a distribution: int(low, high[, step=S][, log]), "
            "float(low, high[, step=S][, log]) or choice(v1, v2, ...)"
            + (f"; did you mean {close[0]}?" if close else ""),
        )
    if call.name == "choice":
        if not call.args:
            raise parser.error(call.close, "choice(...) needs at least one value")
        parser.no_keywords(call)
        return CategoricalDistribution(tuple(parse_scalar(text[a:b]) for a, b in call.items()))
    return parser.numeric_distribution(call)


@dataclass
class _Arg:
    start: int
    end: int
    key: str | None = None
    key_start: int = 0


@dataclass
class _Call:
    name: str
    start: int
    open: int
    close: int
    args: list[_Arg]

    def items(self) -> list[tuple[int, int]]:
        return [(arg.start, arg.end) for arg in self.args]


class _Parser:
    """Positions and errors over one text; every error points at a character of it."""

    def __init__(self, text: str, name: str | None) -> None:
        self.text = text
        self.name = name

    # Errors.

    def error(self, position: int, message: str) -> ConfigError:
        prefix = f"{self.name}=" if self.name is not None else ""
        line = prefix + self.text
        caret = " " * (len(prefix) + min(position, len(self.text))) + "^"
        detail = f"{message}\n    {line}\n    {caret}"
        if self.name is None:
            return ConfigError(ConfigIssue("", detail, "", self.text))
        return OverrideError(ConfigIssue(self.name, detail, line, self.text))

    def check_size(self, values: tuple[Any, ...], position: int) -> tuple[Any, ...]:
        if len(values) > MAX_SWEEP_SIZE:
            raise self.error(
                position, f"this sweep has {len(values)} values; at most {MAX_SWEEP_SIZE} allowed"
            )
        return values

    # Scanning.

    def strip(self, start: int, end: int) -> tuple[int, int]:
        while start < end and self.text[start].isspace():
            start += 1
        while end > start and self.text[end - 1].isspace():
            end -= 1
        return start, end

    def split(self, start: int, end: int) -> list[tuple[int, int]]:
        """Spans between the commas of ``text[start:end]`` outside brackets and quotes, stripped."""
        text = self.text
        spans: list[tuple[int, int]] = []
        stack: list[int] = []
        item_start = start
        position = start
        while position < end:
            char = text[position]
            if char in "'\"" and self._opens_quote(item_start, position):
                close = text.find(char, position + 1, end)
                if close < 0:
                    raise self.error(position, f"this {char} is never closed")
                position = close + 1
                continue
            if char in _OPENERS:
                stack.append(position)
            elif char in _CLOSERS:
                if not stack:
                    raise self.error(position, f"this {char!r} closes nothing")
                opened = stack.pop()
                if text[opened] != _CLOSERS[char]:
                    raise self.error(
                        position,
                        f"expected {_OPENERS[text[opened]]!r} to close the "
                        f"{text[opened]!r} at column {opened + 1}, got {char!r}",
                    )
            elif char == "," and not stack:
                spans.append(self.strip(item_start, position))
                item_start = position + 1
            position += 1
        if stack:
            raise self.error(stack[-1], f"this {text[stack[-1]]!r} is never closed")
        spans.append(self.strip(item_start, end))
        return spans

    def _opens_quote(self, item_start: int, position: int) -> bool:
        # A quote opens a quoted scalar only where YAML would start one, so ``it's`` is text.
        before = self.text[item_start:position].rstrip()
        return not before or before[-1] in _QUOTE_AFTER

    def call(self, start: int, end: int) -> _Call | None:
        """``name(args)`` spanning exactly ``text[start:end]``, or None."""
        match = _CALL.match(self.text, start, end)
        if match is None or self.text[end - 1] != ")":
            return None
        open_at = match.end() - 1
        if self._closing(open_at, end) != end - 1:
            return None
        args: list[_Arg] = []
        inner = self.split(open_at + 1, end - 1)
        if len(inner) > 1 or inner[0][0] != inner[0][1]:
            for a, b in inner:
                if a == b:
                    raise self.error(a, f"empty argument of {match['name']}(...)")
                keyword = _KEYWORD.match(self.text, a, b)
                if keyword:
                    value_start, value_end = self.strip(keyword.end(), b)
                    args.append(_Arg(value_start, value_end, keyword["key"], a))
                else:
                    args.append(_Arg(a, b))
        return _Call(match["name"], start, open_at, end - 1, args)

    def _closing(self, open_at: int, end: int) -> int:
        depth = 0
        for position in range(open_at, end):
            char = self.text[position]
            if char in _OPENERS:
                depth += 1
            elif char in _CLOSERS:
                depth -= 1
                if depth == 0:
                    return position
        return -1

    def number(self, arg: _Arg, what: str, integer: bool = False) -> tuple[Decimal, bool]:
        """The number in `arg` and whether it was written as an int."""
        text = self.text[arg.start : arg.end]
        if _INT.fullmatch(text):
            return Decimal(text), True
        if not integer and _FLOAT.fullmatch(text):
            return Decimal(text), False
        expected = "an integer" if integer else "a number"
        raise self.error(arg.start, f"{what} must be {expected} (got {text!r})")

    # Items of a value.

    def item(self, start: int, end: int) -> Text | Sweep:
        """One comma item: a sweep function, an inclusive range, or a single value."""
        text = self.text[start:end]
        call = self.call(start, end)
        if call is not None:
            return self._sweep_call(call, text)
        match = _INCLUSIVE.fullmatch(text)
        if match:
            return Sweep(self._inclusive(match, start), text)
        return Text(text)

    def _sweep_call(self, call: _Call, text: str) -> Text | Sweep:
        if call.name in ("int", "float"):
            raise self.error(
                call.start,
                f"{call.name}(...) is a search space for `ivory optimize`; to run a sweep, "
                "use range(start, stop[, step]), linspace(a, b, n) or a comma list",
            )
        if call.name not in SWEEP_FUNCTIONS:
            close = difflib.get_close_matches(call.name, SWEEP_FUNCTIONS, n=1, cutoff=0.75)
            if close:
                raise self.error(
                    call.start, f"unknown function {call.name!r}; did you mean {close[0]}?"
                )
            return Text(text)
        if call.name == "choice":
            if not call.args:
                raise self.error(call.close, "choice(...) needs at least one value")
            self.no_keywords(call)
            values = tuple(Text(self.text[a.start : a.end]) for a in call.args)
        elif call.name == "range":
            values = self._range(call)
        else:
            values = self._space(call)
        return Sweep(self.check_size(values, call.start), text)

    def no_keywords(self, call: _Call, allowed: tuple[str, ...] = ()) -> dict[str, _Arg]:
        keywords: dict[str, _Arg] = {}
        for arg in call.args:
            if arg.key is None:
                if keywords:
                    raise self.error(arg.start, "a positional argument cannot follow a keyword one")
                continue
            if arg.key not in allowed:
                expected = f"; {call.name}(...) takes {', '.join(allowed)}" if allowed else ""
                raise self.error(
                    arg.key_start, f"unknown keyword {arg.key!r} of {call.name}(...){expected}"
                )
            if arg.key in keywords:
                raise self.error(arg.key_start, f"{arg.key!r} is given twice")
            keywords[arg.key] = arg
        return keywords

    def _positional(self, call: _Call, names: tuple[str, ...], required: int) -> list[_Arg]:
        positional = [arg for arg in call.args if arg.key is None]
        if not required <= len(positional) <= len(names):
            signature = f"{call.name}({', '.join(names[:required])}"
            signature += "".join(f"[, {name}]" for name in names[required:]) + ")"
            if call.name == "range":
                signature = "range([start, ]stop[, step])"
            at = positional[len(names)].start if len(positional) > len(names) else call.close
            raise self.error(
                at, f"{signature} takes {_count(required, len(names))} (got {len(positional)})"
            )
        return positional

    def _range(self, call: _Call) -> tuple[Any, ...]:
        # Like Python's range (the stop is excluded), also over decimal steps.
        self.no_keywords(call)
        args = self._positional(call, ("start", "stop", "step"), 1)
        names = ("stop",) if len(args) == 1 else ("start", "stop", "step")
        numbers = [self.number(arg, name) for arg, name in zip(args, names, strict=False)]
        if len(numbers) == 1:
            numbers.insert(0, (Decimal(0), True))
        if len(numbers) == 2:
            numbers.append((Decimal(1), True))
        (start, start_int), (stop, stop_int), (step, step_int) = numbers
        if step == 0:
            raise self.error(args[2].start, "the step of range(...) must not be 0")
        count = max(0, math.ceil((stop - start) / step))
        if count == 0:
            raise self.error(call.start, f"range(...) from {start} to {stop} is empty")
        if count > MAX_SWEEP_SIZE:
            self._too_many(call, count)
        integers = start_int and stop_int and step_int
        return tuple(_exact(start + i * step, integers) for i in range(count))

    def _too_many(self, call: _Call, count: int) -> None:
        raise self.error(
            call.start, f"this sweep has {count} values; at most {MAX_SWEEP_SIZE} allowed"
        )

    def _space(self, call: _Call) -> tuple[Any, ...]:
        # linspace(a, b, n): n evenly spaced floats, both ends included; logspace: base ** those.
        keywords = self.no_keywords(call, ("base",) if call.name == "logspace" else ())
        args = self._positional(call, ("start", "stop", "num"), 3)
        start, _ = self.number(args[0], "start")
        stop, _ = self.number(args[1], "stop")
        num = int(self.number(args[2], "num", integer=True)[0])
        if num < 1:
            raise self.error(args[2].start, f"num must be at least 1 (got {num})")
        if num > MAX_SWEEP_SIZE:
            self._too_many(call, num)
        points = _spaced(start, stop, num)
        if call.name == "linspace":
            return tuple(float(point) for point in points)
        base = self.number(keywords["base"], "base")[0] if "base" in keywords else Decimal(10)
        if base <= 0:
            raise self.error(keywords["base"].start, f"base must be positive (got {base})")
        with localcontext() as context:
            context.prec = 40
            return tuple(float(base**point) for point in points)

    def _inclusive(self, match: re.Match[str], offset: int) -> tuple[Any, ...]:
        # ``a-b``, ``a-b-step`` and ``a-b:num`` of the original Ivory: both ends included.
        start, stop = Decimal(match["start"]), Decimal(match["stop"])
        integers = "." not in match["start"] and "." not in match["stop"]
        if match["step"] is not None and match["num"] is not None:
            raise self.error(
                offset + match.start("num") - 1,
                "give a step (a-b-step) or a count (a-b:num), not both",
            )
        if match["num"] is not None:
            num = int(match["num"])
            if num < 1:
                raise self.error(offset + match.start("num"), "the count must be at least 1")
            if num > MAX_SWEEP_SIZE:
                raise self.error(offset, f"at most {MAX_SWEEP_SIZE} values allowed (got {num})")
            points = _spaced(start, stop, num)
            if not integers:
                return tuple(float(point) for point in points)
            picks = tuple(int(p.to_integral_value(rounding=ROUND_HALF_UP)) for p in points)
            if len(set(picks)) != len(picks):
                raise self.error(
                    offset + match.start("num"),
                    f"{num} integers cannot be picked from {start} to {stop} without repeats",
                )
            return picks
        step = Decimal(match["step"]) if match["step"] is not None else Decimal(1)
        if step == 0:
            raise self.error(offset + match.start("step"), "the step must not be 0")
        integers = integers and (match["step"] is None or "." not in match["step"])
        count = int((abs(stop - start) / step).to_integral_value(rounding="ROUND_FLOOR")) + 1
        if count > MAX_SWEEP_SIZE:
            raise self.error(offset, f"this range has {count} values; at most {MAX_SWEEP_SIZE}")
        sign = 1 if stop >= start else -1
        return tuple(_exact(start + sign * i * step, integers) for i in range(count))

    def numeric_distribution(self, call: _Call) -> Distribution:
        integer = call.name == "int"
        log = self._log(call)
        keywords = self.no_keywords(call, ("step", "log"))
        args = self._positional(call, ("low", "high"), 2)
        low, _ = self.number(args[0], "low", integer)
        high, _ = self.number(args[1], "high", integer)
        if low > high:
            raise self.error(args[1].start, f"high must not be below low ({high} < {low})")
        if "log" in keywords:
            arg = keywords["log"]
            value = self.text[arg.start : arg.end].lower()
            if value not in ("true", "false"):
                raise self.error(arg.start, f"log must be true or false (got {value!r})")
            log = log or value == "true"
        step: Decimal | None = None
        if "step" in keywords:
            step = self.number(keywords["step"], "step", integer)[0]
            if step <= 0:
                raise self.error(keywords["step"].start, f"step must be positive (got {step})")
            if log and (not integer or step != 1):
                raise self.error(
                    keywords["step"].key_start, "a log scale takes no step (Optuna's rule)"
                )
        if log and low <= 0:
            raise self.error(args[0].start, f"a log scale needs low > 0 (got {low})")
        if integer:
            return IntDistribution(int(low), int(high), int(step or 1), log)
        return FloatDistribution(
            float(low), float(high), None if step is None else float(step), log
        )

    def _log(self, call: _Call) -> bool:
        # ``log`` may be a bare flag among the arguments (``float(1e-5, 1, log)``).
        flags = [a for a in call.args if a.key is None and self.text[a.start : a.end] == "log"]
        for flag in flags:
            call.args.remove(flag)
        return bool(flags)


def _count(required: int, most: int) -> str:
    if required == most:
        return f"{most} argument{'s' if most != 1 else ''}"
    return f"{required} to {most} arguments"


def _exact(value: Decimal, integer: bool) -> int | float:
    return int(value) if integer else float(value)


def _spaced(start: Decimal, stop: Decimal, num: int) -> list[Decimal]:
    if num == 1:
        return [start]
    with localcontext() as context:
        context.prec = 40
        points = [start + (stop - start) * i / (num - 1) for i in range(num)]
    points[-1] = stop
    return points
