r"""Dotted paths into a parameter tree.

A path is written with dots between segments (``model.hidden_sizes.0``); a list element may also
be written with brackets (``model.hidden_sizes[0]``); a literal dot inside a key is escaped with a
backslash (``special.bos\.token``). Parsed paths are tuples of `str` keys and `int` indices.
"""

from __future__ import annotations

from collections.abc import Sequence

Segment = str | int
Path = tuple[Segment, ...]

__all__ = ["Path", "Segment", "format_path", "parse_path"]


def parse_path(text: str) -> tuple[str, ...]:
    r"""Split a dotted path into its segments, honouring ``\.`` escapes and ``[i]`` indices.

    Segments stay strings: whether ``0`` is a list index or a mapping key is decided against the
    tree it is applied to.

    Args:
        text: The path as written by the user.

    Returns:
        The segments in order.

    Raises:
        ValueError: The path is empty, has an empty segment or an unclosed bracket.

    Example:
        >>> parse_path(r"tokenizer.special.bos\.token")
        ('tokenizer', 'special', 'bos.token')
        >>> parse_path("model.hidden_sizes[1]")
        ('model', 'hidden_sizes', '1')
    """
    segments: list[str] = []
    current: list[str] = []
    closed = False  # The previous segment ended with "]", so a "." or "[" must follow.
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in ".[]\\":
            current.append(text[i + 1])
            i += 2
            continue
        if char == ".":
            if not closed:
                _close(segments, current, text)
            closed = False
        elif char == "[":
            if current:
                _close(segments, current, text)
            end = text.find("]", i)
            if end == -1:
                raise ValueError(f"unclosed '[' in path {text!r}")
            index = text[i + 1 : end].strip()
            if not index:
                raise ValueError(f"empty '[]' in path {text!r}")
            segments.append(index)
            closed = True
            i = end + 1
            continue
        else:
            if closed:
                raise ValueError(f"expected '.' or '[' after ']' in path {text!r}")
            current.append(char)
        i += 1
    if not closed:
        _close(segments, current, text)
    return tuple(segments)


def _close(segments: list[str], current: list[str], text: str) -> None:
    if not current:
        raise ValueError(f"empty segment in path {text!r}")
    segments.append("".join(current))
    current.clear()


def format_path(path: Sequence[Segment]) -> str:
    r"""Join segments into the dotted form that `parse_path` reads back.

    Example:
        >>> format_path(("tokenizer", "special", "bos.token"))
        'tokenizer.special.bos\\.token'
    """
    return ".".join(
        _escape(segment) if isinstance(segment, str) else str(segment) for segment in path
    )


def _escape(key: str) -> str:
    return key.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")
