"""Values given as text on the command line, parsed for the field they are meant for."""

from __future__ import annotations

from typing import Any

__all__ = ["Text", "parse_scalar", "unquote"]

_NON_FINITE = {"inf", "+inf", "-inf", "nan", "infinity", "-infinity", "+infinity"}


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
    from ivory.config.loader import load_text
    from ivory.errors import ConfigError

    try:
        document = load_text(f"_: {text}\n")
    except ConfigError:
        return text
    value = document.tree.get("_", text)
    return text if isinstance(value, dict) and text[:1] != "{" else value
