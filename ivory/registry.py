"""The registry: names to constructors, defaults per member name, and guarded import paths.

A name in a parameter file (``class: mlp``) is looked up here first: registered names, then
plugins of the entry-point group ``ivory.constructors``, then dotted import paths. Import paths
are only followed into modules on an allowlist, because parameter files can come back from a
shared tracking server and must not be able to name ``os.system``.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar, overload

from ivory.errors import RegistryError

__all__ = ["DEFAULT_ALLOWED", "DENIED_NAMES", "Registry", "allow", "register", "registry"]

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
DENIED_NAMES = frozenset(
    {"eval", "exec", "compile", "load", "loads", "read_pickle", "read_array", "query", "system"}
    | {"popen", "hub"}
)
"""Names inside allowed libraries that run code or unpickle data (``numpy.load``, ``pandas.eval``);
an import path through one is refused unless allowed exactly."""
_VERSIONED = re.compile(r"^(?P<base>.+)\.v(?P<version>\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")

T = TypeVar("T")


class Registry:
    """Maps names to constructors and member names to their default constructors.

    Attributes:
        allowed: Module prefixes that import paths may point into.
    """

    def __init__(self, allowed: Iterable[str] = DEFAULT_ALLOWED) -> None:
        self._entries: dict[str, Any] = {}
        self._defaults: dict[tuple[str | None, str], tuple[Kind, str]] = {}
        self._imported: dict[str, Any] = {}
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
            RegistryError: `name` is not a valid name, or is already registered to another
                object.
        """
        if not isinstance(name, str) or not _NAME.match(name):
            raise RegistryError(
                f"cannot register {name!r}: a name is letters, digits, '_', '-' and '.' "
                "(a version suffix is written '.v2')"
            )

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
        """Allow import paths into the modules starting with `prefixes`.

        A prefix may also be one exact path (``"numpy.load"``), which lifts the refusal of a
        denied name for that path only.
        """
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

        Registered names come first (an unversioned name stands for its highest version), then
        the plugins of the entry-point group ``ivory.constructors``, then import paths.

        Raises:
            RegistryError: The name is unknown, or the import path is not allowed or not found.
        """
        if not isinstance(name, str):
            raise RegistryError(f"a constructor name must be a string (got {name!r})")
        key = self._find(name)
        if key is not None:
            entry = self._entries[key]
            if isinstance(entry, str):
                entry = self._import(entry, check=False)
                self._entries[key] = entry
            return entry
        if name in self._imported:
            return self._imported[name]
        versioned = _VERSIONED.match(name)
        if versioned and self._versions(versioned["base"]):
            raise RegistryError(self._unknown_message(name))
        if "." in name:
            found = self._import(name, check=True)
            self._imported[name] = found
            return found
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
        versions = self._versions(name)
        return max(versions)[1] if versions else None

    def _versions(self, base: str) -> list[tuple[int, str]]:
        return [
            (int(m["version"]), key)
            for key in self._entries
            if (m := _VERSIONED.match(key)) and m["base"] == base
        ]

    def _unknown_message(self, name: str) -> str:
        versioned = _VERSIONED.match(name)
        if versioned and (versions := self._versions(versioned["base"])):
            known = ", ".join(key for _, key in sorted(versions))
            return f"unknown version {name!r}; registered versions: {known}"
        message = f"unknown constructor name {name!r}"
        candidates = {m["base"] if (m := _VERSIONED.match(key)) else key for key in self._entries}
        close = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=0.6)
        if close:
            message += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif "." not in name:
            message += " (not registered, and not a dotted import path)"
        return message

    # Import paths.

    def _covered(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + ".") for prefix in self.allowed)

    def _refusal(self, path: str) -> str | None:
        parts = path.split(".")
        if not all(part.isidentifier() for part in parts):
            return f"{path!r} is not a dotted import path"
        if path in self.allowed:
            return None
        module = parts[0]
        if not self._covered(path):
            return (
                f"import path {path!r} is not allowed: module {module!r} is not on the allowlist; "
                + _how_to_allow(module)
            )
        private = [part for part in parts if part.startswith("_")]
        if private:
            return (
                f"import path {path!r} is not allowed: it names the private {private[0]!r}; "
                "use the public name, or " + _how_to_allow(path)
            )
        denied = [part for part in parts[1:] if part in DENIED_NAMES]
        if denied:
            return (
                f"import path {path!r} is not allowed: {denied[0]!r} can run code from data "
                "(eval, pickle); " + _how_to_allow(path)
            )
        return None

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
            except Exception as exc:
                raise RegistryError(
                    f"cannot import {path!r}: importing {module_name!r} raised "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            for depth, attr in enumerate(parts[end:], start=end):
                try:
                    obj = getattr(obj, attr)
                except AttributeError as exc:
                    raise RegistryError(_missing_attribute(path, parts[:depth], obj, attr)) from exc
                if check:
                    self._check_home(path, obj)
            return obj
        raise RegistryError(f"cannot import {path!r}: no module named {parts[0]!r}") from error

    def _check_home(self, path: str, obj: Any) -> None:
        """Refuse an object that an allowed module merely imported from a module not allowed.

        ``ivory.tracking.mlflow.subprocess.run`` starts in an allowed module but leads to
        ``subprocess.run``; the object's own module decides.
        """
        if inspect.ismodule(obj):
            home = obj.__name__
        elif callable(obj) and isinstance(getattr(obj, "__module__", None), str):
            home = obj.__module__
        else:
            return
        top, _, rest = home.partition(".")
        public = ".".join(part for part in (top.lstrip("_"), rest) if part)
        if not (self._covered(home) or self._covered(public)):
            name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
            target = home if inspect.ismodule(obj) else f"{home}.{name}"
            raise RegistryError(
                f"import path {path!r} is not allowed: it leads to {target!r}, outside the "
                "allowed modules; " + _how_to_allow(home.split(".")[0])
            )

    def _load_plugins(self) -> None:
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name in self._entries:
                logger.debug("entry point %s ignored: the name is registered", entry.name)
                continue
            self._entries[entry.name] = entry.value.replace(":", ".")


def _how_to_allow(prefix: str) -> str:
    return (
        f"add {prefix!r} to 'allowed_modules' in client.yaml or call "
        f"ivory.registry.allow({prefix!r}) if you trust it"
    )


def _missing_attribute(path: str, parents: list[str], obj: Any, attr: str) -> str:
    where = ".".join(parents)
    message = f"cannot import {path!r}: {where!r} has no attribute {attr!r}"
    names = [name for name in dir(obj) if not name.startswith("_")]
    close = difflib.get_close_matches(attr, names, n=3, cutoff=0.6)
    if close:
        message += "; did you mean " + " or ".join(repr(f"{where}.{c}") for c in close) + "?"
    return message


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
        "trainer": "ivory.core.trainer.Trainer",
        "early_stopping": "ivory.callbacks.early_stopping.EarlyStopping",
        "pruning": "ivory.callbacks.pruning.Pruning",
        "mlp": "ivory.integrations.numpy.MLP",
    }
    for name, path in names.items():
        target.register(name, path)
    target.set_default("datasets", "datasets")
    target.set_default("dataset", "dataset", kind="def")
    target.set_default("results", "results")
    target.set_default("metrics", "metrics")
    target.set_default("monitor", "monitor")
    target.set_default("trainer", "trainer")
    target.set_default("early_stopping", "early_stopping")
    target.set_default("pruning", "pruning")
    target.set_default("estimator", "sklearn_estimator", library="sklearn")


_register_builtins(registry)
