"""The registry: names to constructors, defaults per member name, and guarded import paths.

A name in a parameter file (``class: mlp``) is looked up here first: registered names, then
plugins of the entry-point group ``ivory.constructors``, then dotted import paths. Import paths
are only followed into modules on an allowlist, because parameter files can come back from a
shared tracking server and must not be able to name ``os.system``.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar, overload

from ivory.errors import RegistryError

__all__ = ["DEFAULT_ALLOWED", "Registry", "allow", "register", "registry"]

logger = logging.getLogger(__name__)

Kind = Literal["class", "call", "def"]
CONSTRUCTOR_KEYS: tuple[Kind, ...] = ("class", "call", "def")
ENTRY_POINT_GROUP = "ivory.constructors"
DEFAULT_ALLOWED = (
    "ivory",
    "sklearn",
    "numpy",
    "scipy",
    "torch",
    "optuna",
    "pandas",
    "math",
    "functools",
    "operator",
    "collections",
    "statistics",
)
_VERSIONED = re.compile(r"^(?P<base>.+)\.v(?P<version>\d+)$")

T = TypeVar("T")


class Registry:
    """Maps names to constructors and member names to their default constructors.

    Attributes:
        allowed: Module prefixes that import paths may point into.
    """

    def __init__(self, allowed: Iterable[str] = DEFAULT_ALLOWED) -> None:
        self._entries: dict[str, Any] = {}
        self._defaults: dict[tuple[str | None, str], tuple[Kind, str]] = {}
        self._plugins_loaded = False
        self.allowed: set[str] = set(allowed)

    # Registration.

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, obj: T) -> T: ...

    def register(self, name: str, obj: Any = None) -> Any:
        """Register `obj` under `name` (``"mlp"`` or a versioned ``"mlp.v2"``).

        Used as ``@registry.register("mlp")`` on a class or function, or called directly. `obj`
        may also be a dotted import path, imported only when the name is first used.

        Raises:
            RegistryError: `name` is already registered to another object.
        """

        def decorate(target: T) -> T:
            current = self._entries.get(name)
            if current is not None and current is not target and current != target:
                raise RegistryError(f"{name!r} is already registered to {_describe(current)}")
            self._entries[name] = target
            return target

        return decorate if obj is None else decorate(obj)

    def set_default(
        self, member: str, name: str, *, library: str | None = None, kind: Kind = "class"
    ) -> None:
        """Make `name` the constructor of a member called `member` that declares none.

        Args:
            member: The member name (``"monitor"``).
            name: A registered name or an import path.
            library: The `library` key under which this default applies; None for all.
            kind: Which constructor key the default fills in.
        """
        self._defaults[(library, member)] = (kind, name)

    def allow(self, *prefixes: str) -> None:
        """Allow import paths into the modules starting with `prefixes`."""
        self.allowed.update(prefix.strip(".") for prefix in prefixes if prefix)

    # Lookup.

    def default(self, member: str, library: str | None = None) -> tuple[Kind, str] | None:
        """The default ``(kind, name)`` of a member, under `library` first, then for all."""
        if library is not None and (library, member) in self._defaults:
            return self._defaults[(library, member)]
        return self._defaults.get((None, member))

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def get(self, name: str) -> Any:
        """The object behind a registered name or an allowed import path.

        Raises:
            RegistryError: The name is unknown, or the import path is not allowed or not found.
        """
        key = self._find(name)
        if key is not None:
            entry = self._entries[key]
            if isinstance(entry, str):
                entry = self._import(entry, check=False)
                self._entries[key] = entry
            return entry
        if "." in name:
            return self._import(name, check=True)
        raise RegistryError(self._unknown_message(name))

    def check(self, name: str) -> str | None:
        """Why `name` cannot be resolved without importing it, or None if it may be.

        Registered names are accepted; an import path is checked against the allowlist.
        """
        if self._find(name) is not None:
            return None
        if "." not in name:
            return self._unknown_message(name)
        return self._refusal(name)

    def is_allowed(self, path: str) -> bool:
        """Whether an import path points into an allowed module."""
        return self._refusal(path) is None

    def _find(self, name: str) -> str | None:
        if name in self._entries:
            return name
        if not self._plugins_loaded:
            self._load_plugins()
            if name in self._entries:
                return name
        # An unversioned name stands for its highest registered version.
        versions = [
            (int(m["version"]), key)
            for key in self._entries
            if (m := _VERSIONED.match(key)) and m["base"] == name
        ]
        return max(versions)[1] if versions else None

    def _unknown_message(self, name: str) -> str:
        message = f"unknown constructor name {name!r}"
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.6)
        if close:
            message += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        return message

    def _refusal(self, path: str) -> str | None:
        if any(path == prefix or path.startswith(prefix + ".") for prefix in self.allowed):
            return None
        module = path.split(".", 1)[0]
        return (
            f"import path {path!r} is not allowed: module {module!r} is not on the allowlist; "
            f"add {module!r} to 'allowed_modules' in client.yaml or call "
            f"ivory.registry.allow({module!r}) if you trust it"
        )

    def _import(self, path: str, *, check: bool) -> Any:
        if check and (refusal := self._refusal(path)) is not None:
            raise RegistryError(refusal)
        parts = path.split(".")
        error: Exception | None = None
        for end in range(len(parts), 0, -1):
            module_name = ".".join(parts[:end])
            try:
                obj: Any = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name is not None and not module_name.startswith(exc.name):
                    raise RegistryError(f"cannot import {path!r}: {exc}") from exc
                error = exc
                continue
            try:
                for attr in parts[end:]:
                    obj = getattr(obj, attr)
            except AttributeError as exc:
                raise RegistryError(f"cannot import {path!r}: {exc}") from exc
            return obj
        raise RegistryError(f"cannot import {path!r}: no module named {parts[0]!r}") from error

    def _load_plugins(self) -> None:
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name not in self._entries:
                self._entries[entry.name] = entry.value.replace(":", ".")


def _describe(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def qualified_name(obj: Any) -> str:
    """The dotted import path of a class or function."""
    return f"{obj.__module__}.{obj.__qualname__}"


registry = Registry()
"""The registry every experiment uses unless it is given another."""


@overload
def register(name: str) -> Callable[[T], T]: ...


@overload
def register(name: str, obj: T) -> T: ...


def register(name: str, obj: Any = None) -> Any:
    """Register a constructor in the global registry (see `Registry.register`).

    Example:
        >>> @register("doc_example.double")
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> registry.get("doc_example.double")(3)
        6
    """
    return registry.register(name, obj) if obj is not None else registry.register(name)


def allow(*prefixes: str) -> None:
    """Allow import paths into these module prefixes in the global registry."""
    registry.allow(*prefixes)


def _register_builtins(target: Registry) -> None:
    names = {
        "data": "ivory.data.Data",
        "sklearn_data": "ivory.data.SklearnData",
        "dataset": "ivory.data.Dataset",
        "datasets": "ivory.data.Datasets",
        "results": "ivory.callbacks.results.Results",
        "metrics": "ivory.callbacks.metrics.Metrics",
        "monitor": "ivory.callbacks.monitor.Monitor",
        "sklearn_estimator": "ivory.integrations.sklearn.Estimator",
    }
    for name, path in names.items():
        target.register(name, path)
    target.set_default("datasets", "datasets")
    target.set_default("dataset", "dataset", kind="def")
    target.set_default("results", "results")
    target.set_default("metrics", "metrics")
    target.set_default("monitor", "monitor")
    target.set_default("estimator", "sklearn_estimator", library="sklearn")


_register_builtins(registry)
