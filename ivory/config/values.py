"""Values given as text on the command line, parsed for the field they are meant for."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["Text", "parse_scalar", "unquote"]

_NON_FINITE = {"inf", "+inf", "-inf", "nan", "infinity", "-infinity", "+infinity"}
_NULL = {"~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_NOT_SIMPLE: Any = object()


def _simple(text: str) -> Any:
    """The value of a plain scalar that needs no YAML parser, or `_NOT_SIMPLE`."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _WORD.fullmatch(text):
        return text
    if text[:1] == "[" and text[-1:] == "]" and not any(c in text[1:-1] for c in "[]{}'\"#&*!"):
        # A flat flow list of plain scalars: [256, 128].
        inner = text[1:-1].strip()
        items = [_simple(item.strip()) for item in inner.split(",")] if inner else []
        if all(item is not _NOT_SIMPLE for item in items):
            return items
    return _NOT_SIMPLE


class Text(str):
    """A value written as text (a ``k=v`` item of the command line), not yet typed.

    `create_params` parses it for the field it lands in: a string field takes the text as
    written (quotes removed), any other field takes its YAML 1.2 reading (``true``, ``null``,
    ``1e-3``, ``[64, 32]``); the empty text is the empty string.
    """

    __slots__ = ()


def unquote(text: str) -> str | None:
    """The content of a single- or double-quoted text, or None when it is not quoted."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return None


def parse_scalar(text: str) -> Any:
    """Read `text` as a YAML 1.2 flow value; text that is not valid YAML stays a string.

    Example:
        >>> parse_scalar("1e-3"), parse_scalar("'true'"), parse_scalar("[64, 32]")
        (0.001, 'true', [64, 32])
    """
    if text == "":
        return ""
    quoted = unquote(text)
    if quoted is not None:
        return quoted
    if text.lower() in _NON_FINITE:
        return float(text)

    # The common plain scalars, read by the YAML 1.2 core schema's own rules.
    simple = _simple(text)
    if simple is not _NOT_SIMPLE:
        return simple
    from ivory.config.loader import load_text
    from ivory.errors import ConfigError

    try:
        document = load_text(f"_: {text}\n")
    except ConfigError:
        return text
    value = document.tree.get("_", text)

    # Text that YAML reads as something else than a value of its own stays text: "a: b" (a
    # mapping), "#x" (a comment), "2001-12-14" (a timestamp, not a YAML 1.2 core type).
    if isinstance(value, dict) and text[:1] != "{":
        return text
    if value is None or not isinstance(value, bool | int | float | str | list | dict):
        return text
    return value
