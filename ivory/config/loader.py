"""Reading parameter files: YAML 1.2, positions, duplicate keys, `extends` and `include`.

Files are read with ruamel.yaml's safe YAML 1.2 rules (``1e-3`` is a float, ``010`` is ten,
quoted scalars stay strings). The node tree is walked by hand so that every duplicate key of a
file is reported in one pass, merge keys (``<<``) work, aliases become independent copies, and
the line and column of every node are kept in a `SourceMap`.
"""

from __future__ import annotations

import io
import math
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path as FilePath
from typing import IO, Any

from ivory.config.paths import Path, format_path
from ivory.errors import ConfigError, ConfigIssue

__all__ = [
    "Document",
    "SourceMap",
    "compose_file",
    "load_file",
    "load_text",
    "merge_trees",
    "stream_name",
    "yaml_kind",
]

MISSING = "???"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class SourceMap:
    """Where each node of a parameter tree was written: ``file:line:col`` by path."""

    def __init__(self, positions: Mapping[Path, str] | None = None, default: str = "") -> None:
        self._positions: dict[Path, str] = dict(positions or {})
        self.default = default

    def __contains__(self, path: object) -> bool:
        return path in self._positions

    def __iter__(self) -> Iterator[Path]:
        return iter(self._positions)

    def set(self, path: Path, source: str) -> None:
        """Record where `path` was written."""
        self._positions[path] = source

    def find(self, path: Path) -> str:
        """The source of `path`, or of its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            source = self._positions.get(path[:end])
            if source is not None:
                return source
        return self.default

    def prefixed(self, prefix: Path) -> SourceMap:
        """The same positions with `prefix` put before every path."""
        return SourceMap(
            {prefix + path: src for path, src in self._positions.items()}, self.default
        )

    def update(self, other: SourceMap) -> None:
        """Take every position of `other`, replacing those already here."""
        self._positions.update(other._positions)


class Document:
    """A loaded parameter file: its plain tree and where each node came from."""

    def __init__(self, tree: dict[str, Any], sources: SourceMap, name: str) -> None:
        self.tree = tree
        self.sources = sources
        self.name = name


_LOCAL = threading.local()


def _yaml() -> Any:
    """This thread's safe YAML 1.2 reader (making one globs ruamel's plug-ins: keep it)."""
    yaml = getattr(_LOCAL, "yaml", None)
    if yaml is None:
        from ruamel.yaml import YAML

        yaml = YAML(typ="safe", pure=True)
        yaml.version = (1, 2)
        _LOCAL.yaml = yaml
    return yaml


def load_text(text: str | IO[str], name: str = "<string>") -> Document:
    """Load one YAML document into a plain tree, reporting every structural problem at once.

    A document without content (empty, comments only, ``---`` alone, or ``null``) is an empty
    mapping; a root that is not a mapping is an error naming the file.

    Args:
        text: The YAML text, or a stream to read it from.
        name: The file name used in positions and messages.

    Returns:
        The document.

    Raises:
        ConfigError: The YAML is malformed, has duplicate keys, or its root is not a mapping.
    """
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    if not isinstance(text, str):
        text = text.read()
    try:
        root = _yaml().compose(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        source = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = exc.problem or exc.context or "malformed YAML"
        raise ConfigError(ConfigIssue("", f"invalid YAML: {problem}", source)) from exc
    except YAMLError as exc:
        raise ConfigError(ConfigIssue("", f"invalid YAML: {exc}", name)) from exc
    sources = SourceMap(default=name)
    if root is None:
        return Document({}, sources, name)
    builder = _TreeBuilder(name, sources)
    tree = builder.build(root, ())
    if builder.issues:
        raise ConfigError(builder.issues)

    # A document without content (``---`` alone, ``null``, ``~``) is as empty as an empty file.
    if tree is None:
        return Document({}, SourceMap(default=name), name)
    if not isinstance(tree, dict):
        message = f"the root of a parameter file must be a mapping (got {yaml_kind(tree)})"
        raise ConfigError(ConfigIssue("", message, name, tree))
    return Document(tree, sources, name)


def load_file(path: str | FilePath) -> Document:
    """Load one YAML file (without composing `extends` or `include`)."""
    file = FilePath(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            ConfigIssue("", f"cannot read the file: {exc.strerror}", str(file))
        ) from exc
    return load_text(text, str(file))


_BAD_KEY: Any = object()


def yaml_kind(value: Any) -> str:
    """What a loaded YAML value is, as messages say it: ``a list``, ``a string``, ``null``.

    Example:
        >>> yaml_kind([1, 2]), yaml_kind("hello"), yaml_kind(None), yaml_kind(True)
        ('a list', 'a string', 'null', 'a boolean')
    """
    import datetime

    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (bytes, "binary data"),
        (datetime.datetime, "a timestamp"),
        (datetime.date, "a date"),
        (list, "a list"),
        (dict, "a mapping"),
    )
    if value is None:
        return "null"
    return next((name for kind, name in kinds if isinstance(value, kind)), "an unsupported value")


class _TreeBuilder:
    """Turns ruamel's node graph into plain dicts, lists and scalars."""

    def __init__(self, name: str, sources: SourceMap) -> None:
        self.name = name
        self.sources = sources
        self.issues: list[ConfigIssue] = []
        self.constructor = _yaml().constructor

    def where(self, node: Any) -> str:
        mark = node.start_mark
        return f"{self.name}:{mark.line + 1}:{mark.column + 1}"

    def build(self, node: Any, path: Path) -> Any:
        from ruamel.yaml.error import YAMLError
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        self.sources.set(path, self.where(node))
        if isinstance(node, MappingNode | SequenceNode):
            expected = _MAP_TAG if isinstance(node, MappingNode) else _SEQ_TAG
            if node.tag != expected:
                self.issues.append(
                    ConfigIssue(
                        format_path(path),
                        f"invalid YAML: the tag {node.tag!r} is not supported (only plain "
                        "mappings, lists and scalars)",
                        self.where(node),
                    )
                )
                return None
        if isinstance(node, MappingNode):
            return self.build_mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return self.scalar(node)
        except YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.issues.append(
                ConfigIssue(format_path(path), f"invalid YAML: {problem}", self.where(node))
            )
            return None

    def key(self, node: Any, path: Path) -> Any:
        """The key a node stands for, or `_BAD_KEY` (with an issue) when it cannot be a key."""
        from ruamel.yaml.error import YAMLError
        from ruamel.yaml.nodes import ScalarNode

        key: Any = _BAD_KEY
        if isinstance(node, ScalarNode):
            try:
                key = self.scalar(node)
            except YAMLError:
                key = _BAD_KEY
        if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
            return key
        shown = yaml_kind(key) if key is not _BAD_KEY else node.tag
        self.issues.append(
            ConfigIssue(
                format_path(path),
                f"a mapping key must be a string or an integer (got {shown}); quote it",
                self.where(node),
            )
        )
        return _BAD_KEY

    def scalar(self, node: Any) -> Any:
        value = self.constructor.construct_object(node, deep=True)
        # ruamel returns subclasses of int/float/str that carry formatting; keep plain values.
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, str):
            return str(value)
        return value

    def build_mapping(self, node: Any, path: Path) -> dict[Any, Any]:
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        seen: dict[Any, str] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or (
                getattr(key_node, "value", None) == "<<" and key_node.tag.endswith(":merge")
            ):
                # A merge key: its mappings supply keys that the local ones override.
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if isinstance(source, MappingNode):
                        for key, value in self.build_mapping(source, path).items():
                            merged.setdefault(key, value)
                continue
            key = self.key(key_node, path)
            if key is _BAD_KEY:
                continue
            where = self.where(key_node)
            if key in seen:
                self.issues.append(
                    ConfigIssue(
                        format_path((*path, key)),
                        f"duplicate key {key!r} ({_both(seen[key], where)}); keep one",
                        where,
                        key,
                    )
                )
                continue
            seen[key] = where
            result[key] = self.build(value_node, (*path, key))
            self.sources.set(
                (*path, key),
                self.where(value_node) if value_node.value not in ("", None) else where,
            )
        for key, value in merged.items():
            result.setdefault(key, value)
        return result


def _both(first: str, again: str) -> str:
    """``lines 2 and 5``, or ``1:12 and 1:27`` when both are on one line."""
    first_line, first_col = first.rsplit(":", 2)[-2:]
    line, col = again.rsplit(":", 2)[-2:]
    if first_line == line:
        return f"at {first_line}:{first_col} and {line}:{col}"
    return f"lines {first_line} and {line}"


def merge_trees(base: Any, child: Any, source: str = "") -> Any:
    """Deep-merge `child` over `base` with OmegaConf: the child wins, lists are replaced.

    The child wins for every key, scalars over mappings and mappings over scalars included.
    A child value of ``???`` (missing) does not wipe a value the base sets, and interpolations
    (``${a.b}``) are kept as written, to be resolved once the overrides are in.

    Raises:
        ConfigError: OmegaConf cannot hold a key of either tree (e.g. a mapping key that is a
            list), with `source` naming the child.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not isinstance(base, dict) or not isinstance(child, dict):
        return child
    try:
        merged = OmegaConf.merge(
            OmegaConf.create(_clear_replaced(base, child), flags={"allow_objects": True}),
            OmegaConf.create(child, flags={"allow_objects": True}),
        )
        return OmegaConf.to_container(merged, resolve=False)
    except (OmegaConfBaseException, TypeError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        issue = ConfigIssue("", f"cannot merge over the base: {message}", source)
        raise ConfigError(issue) from exc


def _clear_replaced(base: dict[Any, Any], child: dict[Any, Any]) -> dict[Any, Any]:
    """`base` with null where the child gives another kind of container (a mapping for a list).

    OmegaConf refuses to merge a mapping into a list and the reverse; the child wins anyway, and
    the key keeps its place in the base's order.
    """
    cleared: dict[Any, Any] = {}
    for key, value in base.items():
        other = child.get(key, value) if key in child else value
        if isinstance(value, dict) and isinstance(other, dict):
            cleared[key] = _clear_replaced(value, other)
        elif isinstance(value, dict | list) and isinstance(other, dict | list):
            cleared[key] = value if type(value) is type(other) else None
        else:
            cleared[key] = value
    return cleared


def compose_file(path: str | os.PathLike[str] | IO[str], name: str | None = None) -> Document:
    """Load a parameter file with its `extends` chain and `include` templates applied.

    Args:
        path: The file to load, or a text stream to read it from (``open(...)``,
            `io.StringIO`); the sibling files that `extends` and `include` name are then looked
            for next to `name`.
        name: The file name of a stream, used in positions and messages; by default the
            stream's ``name``, else ``<stream>``.

    Returns:
        The composed document, without the ``extends`` and ``include`` keys.

    Raises:
        ConfigError: A file cannot be read or parsed, a base or include file is missing, or
            `extends` forms a cycle.
    """
    if isinstance(path, str | os.PathLike):
        return _compose(FilePath(path), ())
    shown = name or stream_name(path) or "<stream>"
    return _compose(FilePath(shown), (), load_text(path, shown))


def stream_name(stream: IO[str]) -> str | None:
    """The file name of a stream opened on a file, None for one that has none (`io.StringIO`)."""
    name = getattr(stream, "name", None)
    return name if isinstance(name, str) and not name.startswith("<") else None


def _compose(
    file: FilePath, chain: tuple[FilePath, ...], document: Document | None = None
) -> Document:
    resolved = file.resolve()
    if resolved in chain:
        cycle = " -> ".join(p.stem for p in (*chain[chain.index(resolved) :], resolved))
        raise ConfigError(ConfigIssue("extends", f"extends forms a cycle: {cycle}", str(file)))
    if document is None:
        document = load_file(file)
    tree, sources = document.tree, document.sources
    extends = tree.pop("extends", None)
    include = tree.pop("include", None)

    # Merge this file over its base, so that the child wins for every key.
    if extends is not None:
        base_file = _sibling(file, extends, "extends", sources)
        base = _compose(base_file, (*chain, resolved))
        merged_sources = base.sources
        merged_sources.update(sources)
        merged_sources.default = sources.default
        tree, sources = merge_trees(base.tree, tree, str(file)), merged_sources

    # Fill null keys that name a template of the included files.
    if include is not None:
        names = include if isinstance(include, list) else [include]
        for name in names:
            templates = _compose(_sibling(file, name, "include", sources), (*chain, resolved))
            _apply_templates(tree, templates, sources, ())
    return Document(tree, sources, str(file))


def _sibling(file: FilePath, name: Any, key: str, sources: SourceMap) -> FilePath:
    if not isinstance(name, str) or not name:
        raise ConfigError(
            ConfigIssue(
                key,
                f"expected the name of a sibling file (got {name!r})",
                sources.find((key,)),
                name,
            )
        )
    for suffix in ("", ".yaml", ".yml"):
        candidate = file.parent / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        ConfigIssue(
            key,
            f"no file {name if name.endswith(('.yaml', '.yml')) else name + '.yaml'} next to "
            f"{file.name}",
            sources.find((key,)),
            name,
        )
    )


def _apply_templates(node: Any, templates: Document, sources: SourceMap, path: Path) -> None:
    """Give every null key named like a template a copy of it, with the template's positions."""
    import copy

    if isinstance(node, dict):
        for key, value in node.items():
            if value is None and key in templates.tree:
                node[key] = copy.deepcopy(templates.tree[key])
                for inner in templates.sources:
                    if inner[:1] == (key,) and len(inner) > 1:
                        sources.set((*path, *inner), templates.sources.find(inner))
            else:
                _apply_templates(value, templates, sources, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _apply_templates(item, templates, sources, (*path, i))


def is_missing(value: Any) -> bool:
    """Whether `value` is the missing marker ``???``."""
    return isinstance(value, str) and value == MISSING


def is_nan(value: Any) -> bool:
    """Whether `value` is a float NaN."""
    return isinstance(value, float) and math.isnan(value)
