"""The ``$`` grammar of references between members, parsed without `eval`.

``$`` stands for the member named like the key it is written under; ``$.name`` is member
``name``; each further segment is an attribute (``.attr``), a call without arguments
(``.method()``) or an index (``.0``). Names that start with ``_`` are refused, so that a parameter
file cannot climb from a member to its class and from there to anything in the interpreter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Reference", "is_reference", "parse_reference"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(\)$")
_INDEX = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class Step:
    """One step of a reference chain: ``attr``, ``call`` or ``index``."""

    kind: str
    name: str = ""
    index: int = 0


@dataclass(frozen=True)
class Reference:
    """A parsed reference: the member it starts from and the steps that follow."""

    member: str
    steps: tuple[Step, ...]
    text: str

    def resolve(self, namespace: dict[str, Any]) -> Any:
        """Follow the reference through the members already built."""
        value = namespace[self.member]
        for step in self.steps:
            if step.kind == "attr":
                value = getattr(value, step.name)
            elif step.kind == "call":
                value = getattr(value, step.name)()
            else:
                value = value[step.index]
        return value


def is_reference(value: Any) -> bool:
    """Whether `value` is written as a reference (``$`` or ``$.…``)."""
    return isinstance(value, str) and (value == "$" or value.startswith("$."))


def parse_reference(text: str, key: str | int | None) -> Reference:
    """Parse a reference written under `key`.

    Raises:
        ValueError: The text does not follow the grammar, or ``$`` stands under no key.

    Example:
        >>> parse_reference("$.model.parameters()", "params").steps[0].kind
        'call'
    """
    if text == "$":
        if not isinstance(key, str) or not _IDENTIFIER.match(key):
            raise ValueError("'$' must stand under the key of the member it refers to")
        return Reference(key, (), text)
    if not text.startswith("$."):
        raise ValueError(f"{text!r} is not a reference")
    parts = text[2:].split(".")
    member = parts[0]
    if not _IDENTIFIER.match(member):
        raise ValueError(f"{text!r}: {member!r} is not a member name")
    steps: list[Step] = []
    for part in parts[1:]:
        if part.startswith("_"):
            raise ValueError(f"{text!r}: {part!r} is private: references cannot reach it")
        if _IDENTIFIER.match(part):
            steps.append(Step("attr", part))
        elif call := _CALL.match(part):
            steps.append(Step("call", call.group(1)))
        elif _INDEX.match(part):
            steps.append(Step("index", index=int(part)))
        else:
            raise ValueError(
                f"{text!r}: {part!r} is neither an attribute, a call without arguments nor an index"
            )
    return Reference(member, tuple(steps), text)
