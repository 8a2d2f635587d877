"""Checking parameter files without building anything: what ``ivory validate`` runs.

Every file is loaded, composed and put in full form, then checked the way creating a run would
check it (constructor names, arguments against each constructor's schema, the functions that
arguments name, references and their cycles, interpolations, values still missing), and against
the experiment's typed schema when it declares one. Beyond that, a run needs a member that drives
it, and each parameter a tracker key of its own. The ``study`` section's search spaces are checked
against the run's parameters, and so are overrides given to check (``ivory validate --set
fold=0-4``: every value of a sweep). Nothing is built, nothing is tracked, and the modules of
MLflow, Optuna and torch are never imported: a constructor that lives in one of them is checked by
name and against its package's files only (`DEFERRED_MODULES`, `static_refusal`).

Every problem of every file is reported, each with the file, line and column of its node and
the dotted path that an override would use.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import logging
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from ivory.config.loader import SourceMap, compose_file, is_missing
from ivory.config.params import Params
from ivory.config.paths import Path, format_path
from ivory.config.schema import no_value
from ivory.errors import ConfigError, ConfigIssue, RegistryError
from ivory.registry import Registry

__all__ = [
    "DEFERRED_MODULES",
    "SUFFIXES",
    "FileReport",
    "driver_issues",
    "find_files",
    "static_refusal",
    "validate_file",
    "validate_files",
]

logger = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml")

DEFERRED_MODULES = (
    "mlflow",
    "optuna",
    "torch",
    "torchvision",
    "lightning",
    "tensorflow",
    "jax",
    "ivory.integrations.torch",
)
"""Module prefixes that validation never imports; constructors there are checked by name only.

Importing them is slow, and a CI job that checks parameter files should not need them. A name in
one of these modules is still checked against the allowlist, and its top-level package must be
installed; its arguments are checked when the module is already imported.
"""


@dataclass
class FileReport:
    """The result of checking one file.

    Attributes:
        file: The file as it was named.
        issues: Every problem found, in file order where positions are known.
    """

    file: str
    issues: list[ConfigIssue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Whether the file has no problem."""
        return not self.issues


def find_files(paths: Sequence[str | FilePath]) -> list[FilePath]:
    """The parameter files named by `paths`: files as given, directories searched for YAML.

    Directories are searched recursively for ``*.yaml`` and ``*.yml``, skipping hidden ones, in
    sorted order. A file is never listed twice.

    Raises:
        ConfigError: A path does not exist, or a directory holds no parameter file.
    """
    found: list[FilePath] = []
    issues: list[ConfigIssue] = []
    for given in paths:
        path = FilePath(given)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            files = sorted(_yaml_files(path))
            if not files:
                issues.append(ConfigIssue("", "no .yaml or .yml file in this directory", str(path)))
            found.extend(files)
        else:
            issues.append(ConfigIssue("", "no such file or directory", str(path)))
    if issues:
        raise ConfigError(issues)
    unique: dict[FilePath, FilePath] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _yaml_files(directory: FilePath) -> Iterator[FilePath]:
    for path in directory.rglob("*"):
        relative = path.relative_to(directory).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.suffix in SUFFIXES and path.is_file():
            yield path


def validate_files(
    paths: Iterable[str | FilePath],
    registry: Registry | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[FileReport]:
    """Check every file; one report per file, in the order given.

    Args:
        paths: The files (as `find_files` lists them).
        registry: Resolves constructor names (the global registry by default).
        overrides: ``ivory run`` overrides to check against every file.

    Returns:
        The reports; a file is valid when its report has no issue.
    """
    checking = CheckingRegistry(registry)
    paths = list(paths)
    parts = _parts(paths)
    reports = []
    for path in paths:
        try:
            standalone = FilePath(path).resolve() not in parts
            issues = validate_file(path, checking, overrides, standalone=standalone)
        except Exception as exc:
            # A constructor's own module failed to import or to describe itself: report it
            # against the file, and go on with the others.
            logger.debug("checking %s failed", path, exc_info=True)
            issues = [ConfigIssue("", f"cannot check this file: {type(exc).__name__}: {exc}")]
        reports.append(FileReport(str(path), _located(issues, str(path))))
    return reports


_COMPOSES = re.compile(r"\b(extends|include)\b")
"""Text that a file naming another file (``extends: base``, ``include: defs``) contains."""


def _parts(paths: list[str | FilePath]) -> set[FilePath]:
    """The files that others among `paths` extend or include (resolved).

    Such a file is a part of experiments, which need not be runnable on its own.
    """
    from ivory.config.loader import load_file

    parts: set[FilePath] = set()
    for path in paths:
        file = FilePath(path)
        try:
            if not _COMPOSES.search(file.read_text(encoding="utf-8")):
                continue  # Parsing is most of the cost of checking: only parse a candidate.
            tree = load_file(file).tree
        except (ConfigError, OSError, UnicodeDecodeError):
            continue  # Reported when the file itself is checked.
        include = tree.get("include")
        names = [tree.get("extends"), *(include if isinstance(include, list) else [include])]
        for name in names:
            part = _sibling(file, name)
            if part is not None:
                parts.add(part.resolve())
    return parts


def _sibling(file: FilePath, name: Any) -> FilePath | None:
    """The file that ``extends: name`` in `file` composes, as `compose_file` finds it."""
    if not isinstance(name, str) or not name:
        return None
    candidates = (file.parent / f"{name}{suffix}" for suffix in ("", *SUFFIXES))
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def validate_file(
    path: str | FilePath,
    registry: Registry | None = None,
    overrides: Mapping[str, str] | None = None,
    *,
    standalone: bool = True,
) -> list[ConfigIssue]:
    r"""Every problem of one parameter file, without building or tracking anything.

    Args:
        path: The file.
        registry: Resolves constructor names (the global registry by default).
        overrides: ``ivory run`` overrides to check too (name to text, sweeps allowed).
        standalone: Whether the file is an experiment of its own, whose runs need a member that
            drives them; a file that others extend or include need not have one.

    Returns:
        The issues, each with ``file:line:col``; empty when the file is valid.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "x.yaml").write_text("monitor: {metric: mse, mode: low}\ntrainer:\n")
        >>> for issue in validate_file(folder / "x.yaml"):
        ...     print(str(issue).replace(str(folder), "configs"))
        configs/x.yaml:1:30: run.monitor.mode: Input should be 'min' or 'max' (got 'low')
    """
    from ivory.config.form import normalize

    file = FilePath(path)
    used = registry if isinstance(registry, CheckingRegistry) else CheckingRegistry(registry)

    # Load the file with its extends and include files.
    try:
        document = compose_file(file)
    except ConfigError as exc:
        return _located(exc.issues, str(file))

    # Put it in full form; the form's own problems stop here.
    try:
        tree, sources = normalize(document, file.stem, used)
    except ConfigError as exc:
        return _located(exc.issues, str(file))

    # Check it as creating and tracking its runs would.
    issues = _check_tree(tree, sources, used, overrides or {}, standalone=standalone)
    return _located(_unique(_sorted(issues)), str(file))


def _check_tree(
    tree: dict[str, Any],
    sources: SourceMap,
    registry: CheckingRegistry,
    overrides: Mapping[str, str],
    *,
    standalone: bool,
) -> list[ConfigIssue]:
    """Every problem of a file in full form (see `validate_file`)."""
    # Check the members as creating a run would. A missing value (???) is a problem, unless an
    # override gives it: with overrides, their check tells.
    params, issues = _check_members(tree, sources, registry)
    missing = _missing_names(tree)
    if overrides:
        issues = [issue for issue in issues if issue.path not in missing]
    complete = all(issue.path in missing for issue in issues)

    # What a run needs beyond valid members: one that drives it, and a tracker key per value.
    if standalone:
        issues += _check_driver(tree, sources, registry)
    issues += _check_keys(tree, sources)

    # The study, the overrides and the typed schema, on a run whose members are valid (but for
    # missing values), so that a problem of the file is reported once.
    issues += _check_study(tree, sources, registry, spaces=complete)
    if complete and overrides:
        found, overridden = _check_overrides(tree, sources, registry, overrides)
        issues += found
        params = params or overridden
    if params is not None:
        issues += _check_typed(params, sources, registry)
    return issues


class CheckingRegistry(Registry):
    """A registry as validation sees it: names in `DEFERRED_MODULES` are not imported.

    It shares every registration, default and allowed module with the registry it wraps. A name
    that would import a deferred module is checked against the allowlist and for an installed
    top-level package, and stands for a constructor that accepts any argument.
    """

    def __init__(self, base: Registry | None = None) -> None:
        from ivory.registry import registry as global_registry

        self.__dict__ = (base or global_registry).__dict__

    def get(self, name: str) -> Any:
        """The constructor behind `name`, or a stand-in for one in a deferred module.

        Raises:
            RegistryError: The name is unknown, not allowed, or its package is not installed.
        """
        target = self._target(name)
        if target is None or not _deferred(target):
            return super().get(name)
        refusal = self.check(name) or static_refusal(target)
        if refusal is not None:
            raise RegistryError(refusal)
        return _unchecked

    def name_refusal(self, name: str, kind: str) -> str | None:
        """Why `name` names no function (or class), judged without importing what is not imported.

        An import path into a module not imported yet is judged from its package's files
        (`static_refusal`), so checking ``metrics: {r2: sklearn.metrics.r2_score}`` imports
        nothing; whether the object is callable is then left to the run. Only when the files
        cannot tell is the module imported, unless it is deferred (`DEFERRED_MODULES`).
        """
        target = self._target(name)
        if target is None or target.rpartition(".")[0] in sys.modules:
            return self._import_refusal(name, kind)
        refusal = self.check(name)
        if refusal is not None:
            return refusal
        refusal, decided = _judged(target)
        if decided or _deferred(target):
            return refusal

        # The files cannot tell (a module makes its names when asked): import, as a run would.
        return self._import_refusal(name, kind)

    def _import_refusal(self, name: str, kind: str) -> str | None:
        """`name_refusal` by importing: the name is resolved, and the object judged."""
        try:
            found = super().get(name)
        except RegistryError as exc:
            return str(exc)
        if kind == "class" and not isinstance(found, type):
            return f"{name!r} is a {type(found).__name__}, not a class"
        if not callable(found):
            return f"{name!r} is a {type(found).__name__}, not a function"
        return None

    def _target(self, name: str) -> str | None:
        """The import path that resolving `name` would import, or None when nothing would be."""
        key = self._find(name)
        if key is not None:
            entry = self._entries[key]
            return entry if isinstance(entry, str) else None
        return name if "." in name else None


def _deferred(path: str, *, imported: bool = False) -> bool:
    """Whether `path` lies in a deferred module not imported yet (or at all, with `imported`)."""
    for prefix in DEFERRED_MODULES:
        if (path == prefix or path.startswith(prefix + ".")) and (
            imported or prefix not in sys.modules
        ):
            return True
    return False


def _unchecked(**kwargs: Any) -> None:
    """Stands for a constructor whose module validation does not import."""


def static_refusal(path: str) -> str | None:
    r"""Why an import path names nothing, judged from the package's files without importing it.

    Each segment must be a submodule (a file or a folder) or a name bound at the top level of the
    module before it. A module that makes its names dynamically (a module ``__getattr__``, a star
    import, a compiled extension) is trusted from there on.

    Example:
        >>> static_refusal("json.decoder.JSONDecoder") is None
        True
        >>> print(static_refusal("json.decodr.JSONDecoder").replace("; ", ";\n"))
        cannot import 'json.decodr.JSONDecoder': 'json' has no attribute 'decodr';
        did you mean 'json.decoder' or 'json.encoder'?
    """
    return _judged(path)[0]


@functools.lru_cache(maxsize=256)
def _judged(path: str) -> tuple[str | None, bool]:
    """``(refusal, decided)``: `static_refusal`, and whether the files decided it (not trusted)."""
    parts = path.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return f"cannot import {path!r}: no module named {parts[0]!r}", True
    origin = spec.origin
    locations = list(spec.submodule_search_locations or [])
    module = parts[0]
    for depth, part in enumerate(parts[1:], start=2):
        found = _submodule(locations, part)
        if found is not None:
            origin, locations = found
            module = f"{module}.{part}"
            continue
        names = _top_level_names(origin)
        if names is None:
            return None, False
        if part in names:
            # What lies beyond a name (an attribute, or a module imported under it) is trusted.
            return None, depth == len(parts)

        # Name what is there that comes close, as importing would.
        message = f"cannot import {path!r}: {module!r} has no attribute {part!r}"
        known = sorted(names | set(_submodules(locations)))
        close = difflib.get_close_matches(part, [n for n in known if n[:1] != "_"], 3, 0.6)
        if close:
            message += "; did you mean " + " or ".join(repr(f"{module}.{c}") for c in close) + "?"
        return message, True
    return None, True


def _submodules(locations: list[str]) -> Iterator[str]:
    """The names of the submodules in a package's folders."""
    for location in locations:
        for entry in FilePath(location).iterdir():
            if entry.suffix == ".py" or (entry.is_dir() and (entry / "__init__.py").is_file()):
                yield entry.stem if entry.suffix == ".py" else entry.name


def _submodule(locations: list[str], name: str) -> tuple[str | None, list[str]] | None:
    """``(origin, search locations)`` of submodule `name` of a package, or None."""
    for location in locations:
        folder = FilePath(location)
        if (folder / f"{name}.py").is_file():
            return str(folder / f"{name}.py"), []
        if (folder / name).is_dir():
            init = folder / name / "__init__.py"
            return (str(init) if init.is_file() else None), [str(folder / name)]
        if any(folder.glob(f"{name}.*.so")) or any(folder.glob(f"{name}.*.pyd")):
            return None, []
    return None


@functools.lru_cache(maxsize=256)
def _top_level_names(origin: str | None) -> frozenset[str] | None:
    """The names a module binds at its top level, or None when they cannot be known statically."""
    import ast

    if origin is None or not origin.endswith(".py"):
        return None
    try:
        tree = ast.parse(FilePath(origin).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, block, []))
        elif isinstance(node, ast.ExceptHandler):
            pending.extend(node.body)
    return None if "__getattr__" in names else frozenset(names)


def _check_members(
    tree: dict[str, Any], sources: SourceMap, registry: Registry
) -> tuple[dict[str, Any] | None, list[ConfigIssue]]:
    """Validate the run section as `create_params` does (a missing value ``???`` is a problem).

    Returns:
        The validated parameters (None when invalid) and the issues.
    """
    from ivory.config.params import create_params

    if not isinstance(tree.get("run"), dict):
        return None, []
    try:
        params, _ = create_params(tree, sources, registry, {}, "run")
    except ConfigError as exc:
        return None, list(exc.issues)
    return params, []


def _missing_paths(node: Any, path: Path) -> Iterator[Path]:
    if is_missing(node):
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _missing_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _missing_paths(item, (*path, i))


def _check_typed(
    params: dict[str, Any], sources: SourceMap, registry: Registry
) -> list[ConfigIssue]:
    """Validate the run section against the experiment's typed schema, when it names one."""
    from ivory.config.typed import resolve_schema, validate_section

    experiment = params.get("experiment") or {}
    if experiment.get("schema") is None:
        return []
    try:
        schema = resolve_schema(experiment["schema"], registry)
    except (RegistryError, TypeError) as exc:
        path: Path = ("experiment", "schema")
        return [ConfigIssue(format_path(path), str(exc), sources.find(path), experiment["schema"])]
    _, issues = validate_section(params["run"], schema, sources, ("run",))
    return issues


def _check_study(
    tree: dict[str, Any], sources: SourceMap, registry: Registry, *, spaces: bool
) -> list[ConfigIssue]:
    """Check the ``study`` section: each search space, and the constructors it names.

    The spaces are read, and with `spaces` checked against the run's parameters (every bound,
    choice and branch must fit its field); suggest functions are resolved, not called (that needs
    Optuna).
    """
    from ivory.config.check import check_members
    from ivory.config.form import constructor_key

    study = tree.get("study")
    if not isinstance(study, dict):
        return []
    issues: list[ConfigIssue] = []

    # The tuner (ivory's Tuner unless it names another) and the constructors it holds: a
    # sampler, a pruner, checked by name only when they are Optuna's.
    others = {key: value for key, value in study.items() if key != "objective"}
    tuner = others.get("tuner")
    if isinstance(tuner, dict) and constructor_key(tuner) is None:
        others["tuner"] = {"class": TUNER, **tuner}
    _, found = check_members(others, registry)
    for issue in found:
        path: Path = ("study", *issue.path)
        value = () if issue.value is no_value() else (issue.value,)
        issues.append(ConfigIssue(format_path(path), issue.message, sources.find(path), *value))

    # The search spaces, against the parameters of the runs they would create.
    if "objective" in study:
        issues += _check_objective(tree, sources, registry, against_run=spaces)
    return issues


TUNER = "ivory.tuning.tuner.Tuner"
"""The constructor of ``study.tuner`` when it names none."""


def _check_objective(
    tree: dict[str, Any], sources: SourceMap, registry: Registry, *, against_run: bool
) -> list[ConfigIssue]:
    from ivory.core.base import Experiment
    from ivory.tuning.objective import SpaceSuggest, check_suggest, read_objective

    suggests, issues = read_objective(tree["study"]["objective"], sources, registry)
    if not against_run:
        return issues
    experiment = Experiment(Params(tree), name=str(tree["experiment"]["name"]))
    experiment._sources = sources
    experiment._registry = registry
    missing = _missing_names(tree)
    for suggest in suggests.values():
        if isinstance(suggest, SpaceSuggest):
            found = check_suggest(suggest, experiment, {})
            issues += [issue for issue in found if issue.path not in missing]
    return issues


def _check_overrides(
    tree: dict[str, Any], sources: SourceMap, registry: Registry, overrides: Mapping[str, str]
) -> tuple[list[ConfigIssue], Params | None]:
    """Check overrides as ``ivory run`` takes them: every name, and every value of a sweep.

    Returns:
        The issues, and the parameters the first value of each override gives (None when
        invalid).
    """
    from ivory.config.grammar import Sweep, parse_value
    from ivory.config.params import create_params
    from ivory.config.values import Text

    # Read each value: one value, or the values of a sweep.
    issues: list[ConfigIssue] = []
    values: dict[str, list[Any]] = {}
    for name, text in overrides.items():
        try:
            parsed = parse_value(text, name)
        except ConfigError as exc:
            issues += exc.issues
            continue
        values[name] = list(parsed.values) if isinstance(parsed, Sweep) else [parsed]
    if issues or not values:
        return issues, None

    # Every value once, the other names at their first value.
    first = {name: items[0] for name, items in values.items()}
    variants = [first] + [
        {**first, name: item} for name, items in values.items() for item in items[1:]
    ]
    params: Params | None = None
    for variant in variants:
        update = {k: Text(v) if isinstance(v, str) else v for k, v in variant.items()}
        try:
            made, _ = create_params(tree, sources, registry, update, "run")
        except ConfigError as exc:
            issues += exc.issues
            continue
        if variant is first:
            params = made
    return _once(issues, values, overrides), params


def _once(
    issues: list[ConfigIssue], values: Mapping[str, list[Any]], overrides: Mapping[str, str]
) -> list[ConfigIssue]:
    """The issues of every value of the overrides, each problem once.

    A problem that every value of a sweep has (its name resolves to nothing) is one problem of
    the override as given (``max_depth=2,4,8``); the others stay with their value.
    """
    # The text that each value's issues give as their source (as `create_params` writes it).
    texts = {
        name: {f"{name}={v}" if isinstance(v, str) else f"{name}={v!r}" for v in items}
        for name, items in values.items()
    }

    def owner(issue: ConfigIssue) -> str | None:
        return next((name for name, known in texts.items() if issue.source in known), None)

    # Which values of its override each problem comes with.
    sources: dict[tuple[str | None, str, str], set[str]] = {}
    for issue in issues:
        sources.setdefault((owner(issue), issue.path, issue.message), set()).add(issue.source)

    def shared(issue: ConfigIssue, name: str) -> bool:
        """Whether every value of a sweep of `name` has this problem."""
        return len(texts[name]) > 1 and sources[(name, issue.path, issue.message)] == texts[name]

    once: list[ConfigIssue] = []
    seen: set[str] = set()
    for issue in issues:
        name = owner(issue)
        if name is not None and shared(issue, name):
            text = f"{name}={overrides[name]}"
            issue = ConfigIssue(issue.path, issue.message, text, overrides[name])
        if str(issue) not in seen:
            seen.add(str(issue))
            once.append(issue)
    return once


def driver_issues(
    tree: Mapping[str, Any], sources: SourceMap, registry: Registry | None = None
) -> list[ConfigIssue]:
    """The problem of parameters (full form) whose run has no member that drives it, if any.

    The same check as ``ivory validate``'s, without building anything, so that a command can
    refuse such a run before it is tracked.
    """
    return _check_driver(dict(tree), sources, CheckingRegistry(registry))


def _check_driver(
    tree: dict[str, Any], sources: SourceMap, registry: CheckingRegistry
) -> list[ConfigIssue]:
    """A run needs a member that drives it: one whose class has ``start`` (trainer, estimator).

    Reported only when every member is known not to drive: a member built by ``call:``, by a
    constructor in a deferred module (imported or not, so that the answer does not depend on
    it), or from a reference could.
    """
    run = tree.get("run")
    if not isinstance(run, dict) or any(_may_drive(node, registry) for node in run.values()):
        return []
    message = (
        "no member drives the run: it needs a trainer or an estimator (a member whose class "
        "has a start method)"
    )
    return [ConfigIssue("run", message, sources.find(("run",)))]


def _may_drive(node: Any, registry: CheckingRegistry) -> bool:
    """Whether a member may have a ``start`` method once built (True when it cannot be known)."""
    from ivory.config.form import constructor_key
    from ivory.config.references import is_reference

    if is_reference(node) or (isinstance(node, str) and "${" in node):
        return True
    kind = constructor_key(node)
    if kind is None:
        return False
    # What a call returns, and what a deferred module holds, are not known here.
    name = node[kind]
    if kind == "call":
        return True
    if isinstance(name, str) and _deferred(registry._target(name) or "", imported=True):
        return True
    try:
        target = registry.get(name) if isinstance(name, str) else name
    except Exception:
        return True  # Reported by the members' check.
    if kind == "class" and not isinstance(target, type):
        return True
    if kind == "def" and len(node) > 1:
        return False  # A partial.
    return callable(getattr(target, "start", None))


def _check_keys(tree: dict[str, Any], sources: SourceMap) -> list[ConfigIssue]:
    """Every parameter of the sections a run tracks must have a tracker key of its own."""
    from ivory.tracking.flatten import key_problems

    issues: list[ConfigIssue] = []
    for section in ("run", "task", "study"):
        node = tree.get(section)
        if isinstance(node, dict):
            for path, message in key_problems(node, prefix=section):
                full = (section, *path)
                issues.append(ConfigIssue(format_path(full), message, sources.find(full)))
    return issues


def _missing_names(tree: dict[str, Any]) -> set[str]:
    run = tree.get("run")
    if not isinstance(run, dict):
        return set()
    return {format_path(("run", *path)) for path in _missing_paths(run, ())}


def _unique(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    seen: set[str] = set()
    unique = []
    for issue in issues:
        if str(issue) not in seen:
            seen.add(str(issue))
            unique.append(issue)
    return unique


def _sorted(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Issues in file order (line, then column); those without a position keep their place."""

    def position(item: tuple[int, ConfigIssue]) -> tuple[float, float, int]:
        index, issue = item
        line, column = _line_column(issue.source)
        return (line if line else math.inf, column if column else 0, index)

    return [issue for _, issue in sorted(enumerate(issues), key=position)]


def _line_column(source: str) -> tuple[int, int]:
    parts = source.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return 0, 0


def _located(issues: Iterable[ConfigIssue], file: str) -> list[ConfigIssue]:
    """Give every issue a source: the file itself when nothing more precise is known."""
    located = []
    for issue in issues:
        if not issue.source:
            issue = ConfigIssue(issue.path, issue.message, file, issue.value)
        located.append(issue)
    return located


def split_source(source: str) -> tuple[str, int | None, int | None]:
    """``(file, line, column)`` of a ``file:line:col`` source (line and column may be None)."""
    line, column = _line_column(source)
    if line:
        return source.rsplit(":", 2)[0], line, column
    return source, None, None
