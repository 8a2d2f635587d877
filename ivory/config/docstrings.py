"""Descriptions of parameters, read from the docstrings of the constructors that take them.

Two docstring styles are read: Google style (an ``Args:`` section, as ivory itself writes them)
and numpydoc (a ``Parameters`` section underlined with dashes, as scikit-learn writes them). The
first paragraph of each parameter's text becomes its description in the JSON Schema, in editors
and in error messages.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import re
from typing import Any

__all__ = ["attribute_docs", "parameter_docs", "summary"]

_GOOGLE_SECTIONS = {"args", "arguments", "parameters", "keyword args", "keyword arguments"}
_GOOGLE_ENTRY = re.compile(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^(\*{0,2}\w+(?:\s*,\s*\w+)*)\s*(?::.*)?$")
_ROLE = re.compile(r":(?:\w+:)?\w+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")


def parameter_docs(obj: Any) -> dict[str, str]:
    """The description of each documented parameter of a class or callable.

    A class is read from its own docstring, then from its ``__init__``'s. Parameters documented
    nowhere are left out.

    Example:
        >>> def scale(x: float, factor: float = 2.0) -> float:
        ...     '''Scale a number.
        ...
        ...     Args:
        ...         x: The number.
        ...         factor: What to multiply it by; more text
        ...             on a second line.
        ...     '''
        ...     return x * factor
        >>> parameter_docs(scale)
        {'x': 'The number.', 'factor': 'What to multiply it by; more text on a second line.'}
    """
    try:
        return dict(_cached_docs(obj))
    except TypeError:  # unhashable
        return _read_docs(obj)


@functools.lru_cache(maxsize=512)
def _cached_docs(obj: Any) -> dict[str, str]:
    return _read_docs(obj)


def _read_docs(obj: Any) -> dict[str, str]:
    docs: dict[str, str] = {}
    sources = [obj]
    if isinstance(obj, type):
        sources.append(vars(obj).get("__init__"))
    for source in sources:
        text = inspect.getdoc(source) if source is not None else None
        if not text:
            continue
        for name, description in _parse(text).items():
            docs.setdefault(name, description)
    return docs


def attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under the annotated attributes of a class and its bases.

    This is what pydantic's ``use_attribute_docstrings`` reads; here it is read for any model, so
    that a field documented the house way has a description whatever the model's configuration.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or klass.__module__ in ("builtins", "pydantic.main"):
            continue
        docs.update(_class_attribute_docs(klass))
    return docs


@functools.lru_cache(maxsize=512)
def _class_attribute_docs(cls: type) -> dict[str, str]:
    import ast
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(cls))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return {}
    docs: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = _first_paragraph(
                inspect.cleandoc(after.value.value).splitlines()
            )
    return docs


def summary(obj: Any) -> str:
    """The first paragraph of an object's docstring, on one line ("" without a docstring)."""
    text = inspect.getdoc(obj) or ""
    return _first_paragraph(text.strip().splitlines())


def _parse(text: str) -> dict[str, str]:
    lines = text.expandtabs().splitlines()
    return _parse_google(lines) or _parse_numpy(lines)


def _parse_google(lines: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for start, line in enumerate(lines):
        if line.strip().rstrip(":").lower() not in _GOOGLE_SECTIONS or not line.rstrip().endswith(
            ":"
        ):
            continue
        section_indent = _indent(line)
        entry_indent: int | None = None
        name: str | None = None
        body: list[str] = []
        for item in lines[start + 1 :]:
            if item.strip() and _indent(item) <= section_indent:
                break
            if not item.strip():
                body.append("")
                continue
            if entry_indent is None:
                entry_indent = _indent(item)
            match = _GOOGLE_ENTRY.match(item.strip()) if _indent(item) == entry_indent else None
            if match:
                if name is not None:
                    docs[name] = _first_paragraph(body)
                name, body = match.group(1), [match.group(3)]
            else:
                body.append(item.strip())
        if name is not None:
            docs[name] = _first_paragraph(body)
    return {key: value for key, value in docs.items() if not key.startswith("*") and value}


def _parse_numpy(lines: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for start in range(len(lines) - 1):
        underline = set(lines[start + 1].strip())
        if lines[start].strip().lower() != "parameters" or underline != {"-"}:
            continue
        base = _indent(lines[start])
        names: list[str] = []
        body: list[str] = []
        for item in lines[start + 2 :]:
            if item.strip() and _indent(item) == base:
                match = _NUMPY_ENTRY.match(item.strip())
                if match is None or item.strip().startswith(".."):
                    break
                for name in names:
                    docs[name] = _first_paragraph(body)
                names = [part.strip() for part in match.group(1).split(",")]
                body = []
                continue
            if item.strip() and _indent(item) < base:
                break
            body.append(item.strip())
        for name in names:
            docs[name] = _first_paragraph(body)
        break
    return {key: value for key, value in docs.items() if not key.startswith("*") and value}


def _first_paragraph(body: list[str]) -> str:
    words: list[str] = []
    for line in body:
        if not line.strip():
            if words:
                break
            continue
        words.append(line.strip())
    return _ROLE.sub(r"`\1`", " ".join(words))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
