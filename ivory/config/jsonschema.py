"""JSON Schema of parameter files, for editors and CI: what ``ivory schema`` writes.

The schema describes a parameter file in both forms (members at the top level, or under
``run:``), with the ``experiment``, ``study`` and ``task`` sections. Every member slot is a
union keyed on ``class`` (or ``call``/``def``): one branch per constructor the project knows
(every registered name, and every import path its parameter files use), with that constructor's
parameters, their types, defaults and descriptions. A member that declares no constructor is
described by the default registered for its name (and library). Descriptions come from field
docstrings for pydantic models, and from the ``Args:`` (Google) or ``Parameters`` (numpydoc)
section of a constructor's docstring otherwise.

Values that ivory resolves later are accepted wherever a parameter is typed: references (``$``,
``$.name``), interpolations (``${a.b}``), the missing marker ``???`` and nested constructor nodes.
Names that only `ivory validate` can judge (a typo in an import path) are accepted here too.

The output is strict JSON in JSON Schema draft-07, the dialect yaml-language-server (VS Code,
Neovim, JetBrains and others) validates with. Defaults that JSON cannot hold (``inf``, objects)
are left out, with a note saying so.
"""

from __future__ import annotations

import copy
import enum
import json
import math
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from ivory.config.docstrings import attribute_docs, parameter_docs, summary
from ivory.registry import CONSTRUCTOR_KEYS, Registry, qualified_name

__all__ = [
    "DIALECT",
    "EXPERIMENT_FILE",
    "Export",
    "SchemaFile",
    "dumps",
    "export_schemas",
    "modeline",
]

DIALECT = "http://json-schema.org/draft-07/schema#"
EXPERIMENT_FILE = "experiment.schema.json"
MODELINE = "# yaml-language-server: $schema="
TUNER = "ivory.tuning.tuner.Tuner"

_DEFS = "#/definitions/"
_MARKER = "x-ivory-object"
_REFERENCE = r"^(\$($|\.)|\?\?\?$)|\$\{"
_DISTRIBUTION = r"^\s*(int|float|choice)\s*\(.*\)\s*$"
_VERSIONED = re.compile(r"^(?P<base>.+)\.v\d+$")
_ANNOTATIONS = ("description", "default", "examples", "deprecated")
_ANY_CONSTRUCTOR_KEY = [{"required": [key]} for key in CONSTRUCTOR_KEYS]


@dataclass
class SchemaFile:
    """One generated schema file.

    Attributes:
        name: The file name (``experiment.schema.json``, ``<experiment>.schema.json``).
        schema: The JSON Schema.
        configs: The parameter files that should point at it.
    """

    name: str
    schema: dict[str, Any]
    configs: list[Path] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The file's content: strict JSON, two-space indented, with a final newline."""
        return dumps(self.schema)


@dataclass
class Export:
    """What `export_schemas` made.

    Attributes:
        files: The schema files: the experiment schema first, then one per typed experiment.
        notes: What could not be described exactly (a default JSON cannot hold, a constructor
            that failed to import); for stderr, never for the files.
    """

    files: list[SchemaFile]
    notes: list[str] = field(default_factory=list)


def dumps(schema: Mapping[str, Any]) -> str:
    """Strict JSON text of a schema: no NaN or Infinity, keys in the order they were built.

    Raises:
        ValueError: The schema holds a value JSON cannot (it never does when built here).
    """
    return json.dumps(schema, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def modeline(config: Path, schema: Path) -> str:
    """The first line that points yaml-language-server at `schema` from `config`.

    Example:
        >>> modeline(Path("configs/diabetes.yaml"), Path("schemas/experiment.schema.json"))
        '# yaml-language-server: $schema=../schemas/experiment.schema.json'
    """
    import os

    relative = os.path.relpath(schema, config.parent).replace(os.sep, "/")
    return f"{MODELINE}{relative}"


def export_schemas(configs: Sequence[Path], registry: Registry | None = None) -> Export:
    """Build the experiment schema, and one schema per parameter file that declares a typed one.

    Args:
        configs: The project's parameter files; the import paths they use join the registered
            names as branches, and those with ``experiment.schema`` get a schema of their own.
        registry: The registry whose names and defaults are described (the global one).

    Returns:
        The schema files and the notes.
    """
    from ivory.config.validate import CheckingRegistry

    builder = _Builder(CheckingRegistry(registry))
    typed = builder.scan(configs)
    base = builder.experiment()
    main = SchemaFile(EXPERIMENT_FILE, base)
    files = [main]
    for config, model in typed:
        if model is None:
            main.configs.append(config)
            continue
        files.append(SchemaFile(f"{config.stem}.schema.json", builder.typed(base, model, config)))
        files[-1].configs.append(config)
    return Export(files, builder.notes)


@dataclass
class _Constructor:
    """A constructor the schema describes, with the names it goes by."""

    obj: Any
    names: set[str] = field(default_factory=set)
    variants: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        return qualified_name(self.obj) if hasattr(self.obj, "__qualname__") else repr(self.obj)

    @property
    def key(self) -> str | None:
        """The key whose value picks the constructor's schema (``model`` for an Estimator)."""
        key = getattr(self.obj, "__ivory_schema_key__", None)
        return key if isinstance(key, str) else None


class _Builder:
    """Collects constructors from the registry and the parameter files, then writes schemas."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.notes: list[str] = []
        self.constructors: dict[Any, _Constructor] = {}
        self.definitions: dict[str, Any] = {}

    # Collecting the constructors.

    def scan(self, configs: Sequence[Path]) -> list[tuple[Path, type[BaseModel] | None]]:
        """Collect every constructor; return each file with its typed schema (or None)."""
        for name in self._registered_names():
            self._add(name)
        self._add(TUNER)
        typed: list[tuple[Path, type[BaseModel] | None]] = []
        for config in configs:
            tree = self._load(config)
            if tree is None:
                continue
            for node in _nodes(tree):
                self._add_node(node)
            typed.append((config, self._typed_model(config, tree)))
        return typed

    def _registered_names(self) -> list[str]:
        names = set(self.registry.names())
        names.update(m["base"] for name in names if (m := _VERSIONED.match(name)))
        return sorted(names)

    def _add(self, name: str) -> _Constructor | None:
        try:
            obj = self.registry.get(name)
        except Exception as exc:
            self.notes.append(f"{name}: left out of the schema: {exc}")
            return None
        if getattr(obj, "__name__", "") == "_unchecked" or not callable(obj):
            return None
        try:
            found = self.constructors.setdefault(obj, _Constructor(obj))
        except TypeError:  # unhashable
            return None
        found.names.add(name)
        path = found.id
        if (
            not any(part.startswith("_") for part in path.split("."))
            and self.registry.check(path) is None
        ):
            found.names.add(path)
        return found

    def _add_node(self, node: Mapping[str, Any]) -> None:
        kind = next(key for key in CONSTRUCTOR_KEYS if key in node)
        name = node[kind]
        if not isinstance(name, str):
            return
        found = self._add(name)
        if found is not None and found.key is not None and isinstance(node.get(found.key), str):
            found.variants.add(node[found.key])

    def _load(self, config: Path) -> dict[str, Any] | None:
        from ivory.config.form import normalize
        from ivory.config.loader import compose_file
        from ivory.errors import ConfigError

        try:
            tree, _ = normalize(compose_file(config), config.stem, self.registry)
        except ConfigError as exc:
            self.notes.append(f"{config}: not read for names ({exc.issues[0]})")
            return None
        return tree

    def _typed_model(self, config: Path, tree: dict[str, Any]) -> type[BaseModel] | None:
        from ivory.config.typed import resolve_schema

        experiment = tree.get("experiment") or {}
        name = experiment.get("schema") if isinstance(experiment, dict) else None
        if name is None:
            return None
        try:
            return resolve_schema(name, self.registry)
        except Exception as exc:
            self.notes.append(f"{config}: experiment.schema {name!r} left out: {exc}")
            return None

    # Writing the schema.

    def experiment(self) -> dict[str, Any]:
        """The schema of any parameter file of the project."""
        self.definitions = {}
        constructors = sorted(self.constructors.values(), key=lambda c: c.id)
        branches = [self._constructor(c) for c in constructors]
        self._common(constructors, branches)
        slots, conditionals = self._slots()
        members = {
            "type": "object",
            "description": "The members of a run, in order: each is built into an object "
            "(a mapping with class, call or def, or a member with a default constructor) or "
            "kept as a value.",
            "properties": slots,
            "additionalProperties": {"$ref": _DEFS + "value"},
        }
        self.definitions["members"] = members
        root: dict[str, Any] = {
            "$schema": DIALECT,
            "title": "ivory parameter file",
            "description": "One experiment: the members of its runs (at the top level, or under "
            "run:), and its experiment, task and study sections. Generated by `ivory schema`.",
            "type": "object",
            "properties": {**self._reserved(), **slots},
            "additionalProperties": {"$ref": _DEFS + "value"},
        }
        if conditionals:
            root["allOf"] = conditionals
        root["definitions"] = dict(sorted(self.definitions.items()))
        converted: dict[str, Any] = _draft7(root)
        return converted

    def typed(self, base: dict[str, Any], model: type[BaseModel], config: Path) -> dict[str, Any]:
        """The experiment schema with the run's members also held to the user's `model`."""
        schema = copy.deepcopy(base)
        raw = self._model_schema(model, f"typed.{model.__name__}", model, widen=False)
        typed = {key: value for key, value in raw.items() if key != "additionalProperties"}
        typed["description"] = summary(model) or f"The run's members, typed by {model.__name__}."
        schema["definitions"].update(self._take_definitions())
        schema["definitions"]["typed"] = typed
        schema["title"] = f"ivory parameter file: {config.stem} ({model.__name__})"
        schema.setdefault("allOf", []).append(
            {
                "if": {"required": ["run"]},
                "then": {"properties": {"run": {"$ref": _DEFS + "typed"}}},
                "else": {"$ref": _DEFS + "typed"},
            }
        )
        schema["definitions"] = dict(sorted(schema["definitions"].items()))
        converted: dict[str, Any] = _draft7(schema)
        return converted

    def _take_definitions(self) -> dict[str, Any]:
        taken, self.definitions = self.definitions, {}
        return taken

    def _reserved(self) -> dict[str, Any]:
        libraries = sorted({lib for lib, _ in _defaults(self.registry) if lib is not None})
        library: dict[str, Any] = {
            "type": "string",
            "description": "The library whose default constructors members get (e.g. sklearn).",
        }
        if libraries:
            library["examples"] = libraries
        return {
            "library": library,
            "extends": {
                "type": "string",
                "description": "A sibling file (without extension) that this file deep-merges "
                "over: this file wins for every key, lists are replaced.",
            },
            "include": {
                "description": "Sibling files whose top-level keys are templates: a key here "
                "with a null value and the same name takes the template.",
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            },
            "run": {"$ref": _DEFS + "members"},
            "experiment": {"$ref": _DEFS + "experiment"},
            "task": {"$ref": _DEFS + "task"},
            "study": {"$ref": _DEFS + "study"},
        }

    def _common(self, constructors: list[_Constructor], branches: list[str]) -> None:
        """The definitions every schema shares: values, nodes, references and the sections."""
        names = sorted({name for c in constructors for name in c.names})
        by_name = {
            key: {"anyOf": [{"enum": names}, {"type": "string"}]} for key in CONSTRUCTOR_KEYS
        }
        self.definitions.update(
            {
                "node": {
                    "description": "A mapping built into an object: class: NAME builds "
                    "NAME(**other keys), call: NAME is its return value, def: NAME the callable "
                    "(bound to the other keys). NAME is a registered name or an import path; "
                    "names this schema does not know are checked by ivory validate.",
                    "type": "object",
                    "properties": by_name,
                    "allOf": [
                        {"if": _named(c.names), "then": {"$ref": _DEFS + ref}}
                        for c, ref in zip(constructors, branches, strict=True)
                    ],
                },
                "value": {
                    "if": {"type": "object", "anyOf": _ANY_CONSTRUCTOR_KEY},
                    "then": {"$ref": _DEFS + "node"},
                    "else": {
                        "anyOf": [
                            {"type": "object", "additionalProperties": {"$ref": _DEFS + "value"}},
                            {"type": "array", "items": {"$ref": _DEFS + "value"}},
                            {"type": ["string", "number", "boolean", "null"]},
                        ]
                    },
                },
                "reference": {
                    "type": "string",
                    "pattern": _REFERENCE,
                    "description": "A member ($ for the member named like the key, $.name, "
                    "$.name.attr, $.name.method()), an interpolation (${a.b}) or a value to give "
                    "later (???).",
                },
                "dynamic": {"anyOf": [{"$ref": _DEFS + "reference"}, {"$ref": _DEFS + "node"}]},
                "experiment": _EXPERIMENT,
                "task": _TASK,
                "study": self._study(),
                "space": _SPACE,
                "distribution": _DISTRIBUTION_SCHEMA,
                "suggest": _SUGGEST,
            }
        )

    def _study(self) -> dict[str, Any]:
        study = copy.deepcopy(_STUDY)
        tuner = next((c for c in self.constructors.values() if TUNER in c.names), None)
        if tuner is not None:
            study["properties"]["tuner"] = {
                "description": study["properties"]["tuner"]["description"],
                **_node_or(_DEFS + f"params.{tuner.id}"),
            }
        return study

    def _slots(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Member slots with a default constructor: plain ones, and those that vary by library."""
        defaults = _defaults(self.registry)
        by_member: dict[str, dict[str | None, tuple[str, str]]] = {}
        for (library, member), default in defaults.items():
            by_member.setdefault(member, {})[library] = default
        slots: dict[str, Any] = {}
        conditionals: list[dict[str, Any]] = []
        for member in sorted(by_member):
            for library, (kind, name) in sorted(
                by_member[member].items(), key=lambda item: item[0] or ""
            ):
                ref = self._slot(member, library, kind, name)
                if ref is None:
                    continue
                if library is None and len(by_member[member]) == 1:
                    slots[member] = {"$ref": _DEFS + ref}
                else:
                    conditionals.append(_when_library(library, by_member[member], member, ref))
        return slots, conditionals

    def _slot(self, member: str, library: str | None, kind: str, name: str) -> str | None:
        found = self._add(name)
        if found is None:
            return None
        ref = f"slot.{member}" + (f"@{library}" if library else "")
        under = f" under library {library}" if library else ""
        self.definitions[ref] = {
            "description": f"Without class, call or def, {member}{under} is {kind}: {name}. "
            + (summary(found.obj) or found.id),
            **_node_or(_DEFS + f"params.{found.id}", null=True),
        }
        return ref

    def _constructor(self, found: _Constructor) -> str:
        """Define the branch and the parameter object of a constructor; return the branch's."""
        names = sorted(found.names)
        keys: dict[str, Any] = {key: {"enum": names} for key in CONSTRUCTOR_KEYS}
        if found.key is None:
            params = self._parameters(found, None)
            branch = _branch(params, keys, None, None)
        else:
            values = sorted(found.variants)
            variants = {value: self._parameters(found, value) for value in values}
            description = summary(found.obj)
            params = _dispatch(found.key, variants, description)
            branches = {value: _branch(v, keys, found.key, value) for value, v in variants.items()}
            branch = _dispatch(found.key, branches, description)
            branch["properties"] = {**keys, **branch["properties"]}
            branch["oneOf"] = [{"required": [key]} for key in CONSTRUCTOR_KEYS]
        self.definitions[f"params.{found.id}"] = params
        self.definitions[f"ctor.{found.id}"] = branch
        return f"ctor.{found.id}"

    def _parameters(self, found: _Constructor, variant: str | None) -> dict[str, Any]:
        """The object of a constructor's parameters (for one value of its schema key)."""
        from ivory.config.schema import model_for

        try:
            model = model_for(found.obj, {found.key: variant} if found.key else None)
        except Exception as exc:
            self.notes.append(f"{found.id}: parameters left open: {exc}")
            model = None
        description = summary(found.obj)
        if model is None:
            return {"type": "object", "description": description}
        label = found.id if variant is None else f"{found.id}[{variant}]"
        schema = self._model_schema(model, label, found.obj)
        if description:
            schema["description"] = description
        return schema

    def _model_schema(
        self, model: type[BaseModel], label: str, source: Any, *, widen: bool = True
    ) -> dict[str, Any]:
        """A model's JSON Schema as a parameter object, its definitions moved to the root.

        With `widen`, each parameter also takes references, interpolations and nested nodes.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                raw = model.model_json_schema(
                    ref_template=_DEFS + label + ".{model}", schema_generator=_Generator
                )
            except Exception as exc:
                self.notes.append(f"{label}: parameters left open: {exc}")
                return {"type": "object"}
        for warning in caught:
            if "non-serializable-default" not in str(warning.message):
                self.notes.append(f"{label}: {warning.message}")
        for name, definition in raw.pop("$defs", {}).items():
            self.definitions[f"{label}.{name}"] = self._clean(definition, f"{label}.{name}")
        docs = _docs(source, model)
        properties: dict[str, Any] = {}
        for key, value in raw.get("properties", {}).items():
            value = self._clean(value, f"{label}.{key}")
            if "description" not in value and key in docs:
                value = {"description": docs[key], **value}
            properties[key] = _widened(value) if widen else value
        self._note_lost_defaults(model, raw.get("properties", {}), properties, label)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if raw.get("required"):
            schema["required"] = list(raw["required"])
        schema["additionalProperties"] = raw.get("additionalProperties", True) is not False
        return schema

    def _note_lost_defaults(
        self,
        model: type[BaseModel],
        raw: Mapping[str, Any],
        properties: Mapping[str, Any],
        label: str,
    ) -> None:
        """Note each default that JSON could not hold (an object, a class) and was left out."""
        for name, info in model.model_fields.items():
            key = info.alias or name
            if info.is_required() or info.default_factory is not None or key not in raw:
                continue
            if callable(info.default):
                continue  # A constructor as default: a file gives it as a node, not a value.
            if "default" not in raw[key] and "default" not in properties.get(key, {}):
                self.notes.append(
                    f"{label}.{key}: the default {info.default!r} has no JSON form; left out of "
                    "the schema"
                )

    def _clean(self, schema: Any, where: str) -> Any:
        """Drop generated titles and values JSON cannot hold (with a note for each)."""
        if isinstance(schema, list):
            return [self._clean(item, where) for item in schema]
        if not isinstance(schema, dict):
            return schema
        cleaned: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in ("default", "const", "examples", "minimum", "maximum") and not _finite(value):
                self.notes.append(
                    f"{where}: {key} {value!r} has no JSON form (no Infinity or NaN in JSON); "
                    "left out of the schema"
                )
                continue
            if key in ("properties", "definitions", "$defs", "patternProperties"):
                cleaned[key] = {k: self._clean(v, f"{where}.{k}") for k, v in value.items()}
            else:
                cleaned[key] = self._clean(value, where)
        return cleaned


class _Generator(GenerateJsonSchema):
    """pydantic's generator, with objects marked instead of refused and enums by name too."""

    def is_instance_schema(self, schema: core_schema.IsInstanceSchema) -> JsonSchemaValue:
        return {_MARKER: True}

    def is_subclass_schema(self, schema: core_schema.IsSubclassSchema) -> JsonSchemaValue:
        return {_MARKER: True}

    def callable_schema(self, schema: core_schema.CallableSchema) -> JsonSchemaValue:
        return {_MARKER: True}

    def handle_invalid_for_json_schema(self, schema: Any, error_info: str) -> JsonSchemaValue:
        return {_MARKER: True}

    def enum_schema(self, schema: core_schema.EnumSchema) -> JsonSchemaValue:
        # ivory takes an enum member by value or by name (RELU or relu).
        result = super().enum_schema(schema)
        members: list[enum.Enum] = list(schema["members"])
        names = [m.name for m in members if m.name not in result["enum"]]
        if names:
            result["enum"] = [*result["enum"], *names]
            if result.get("type") != "string":
                result.pop("type", None)
        return result


def _docs(source: Any, model: type[BaseModel]) -> dict[str, str]:
    docs: dict[str, str] = {}
    if isinstance(source, type) and issubclass(source, BaseModel):
        docs.update(attribute_docs(source))
    elif source is not None:
        docs.update(parameter_docs(source))
    if model is not source and isinstance(model, type) and issubclass(model, BaseModel):
        for key, value in attribute_docs(model).items():
            docs.setdefault(key, value)
    return docs


def _widened(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema that also takes references, interpolations, ??? and nested nodes."""
    outer = {key: schema[key] for key in _ANNOTATIONS if key in schema}
    core = _unmarked({key: value for key, value in schema.items() if key not in _ANNOTATIONS})
    if core is None:
        return {**outer, "$ref": _DEFS + "dynamic"}
    if not core:
        return outer
    return {**outer, "anyOf": [core, {"$ref": _DEFS + "dynamic"}]}


def _unmarked(schema: dict[str, Any]) -> dict[str, Any] | None:
    """`schema` without the branches that only Python objects fit (None when nothing is left)."""
    if schema.get(_MARKER):
        return None
    for key in ("anyOf", "oneOf"):
        if key in schema:
            kept = [b for b in schema[key] if not (isinstance(b, dict) and b.get(_MARKER))]
            if not kept:
                return None
            rest = {k: v for k, v in schema.items() if k != key}
            return {**rest, key: kept} if len(kept) > 1 else {**rest, **kept[0]}
    return schema


def _branch(
    params: dict[str, Any], keys: dict[str, Any], key: str | None, value: str | None
) -> dict[str, Any]:
    """A node of one constructor: its parameters plus exactly one of class, call or def."""
    properties = {**keys, **params.get("properties", {})}
    required = list(params.get("required", []))
    if key is not None and value is not None:
        properties[key] = {**properties.get(key, {}), "const": value}
        properties[key].pop("anyOf", None)
        required = sorted({*required, key})
    elif key is not None:
        properties[key] = params["properties"][key]
    branch: dict[str, Any] = {"type": "object"}
    if params.get("description"):
        branch["description"] = params["description"]
    branch["properties"] = properties
    branch["additionalProperties"] = params.get("additionalProperties", True)
    partial = [key] if key is not None and key in required else []
    branch["oneOf"] = [
        {"required": ["class", *required]},
        {"required": ["call", *required]},
        {"required": ["def", *partial]},
    ]
    return branch


def _dispatch(key: str, schemas: Mapping[str, dict[str, Any]], description: str) -> dict[str, Any]:
    """One schema per value of `key` (``model``), each applied when the node has that value."""
    result: dict[str, Any] = {"type": "object"}
    if description:
        result["description"] = description
    result["properties"] = {key: {"type": "string", "examples": list(schemas)}}
    result["required"] = [key]
    if schemas:
        result["allOf"] = [
            {"if": {"properties": {key: {"const": value}}, "required": [key]}, "then": schema}
            for value, schema in schemas.items()
        ]
    return result


def _named(names: set[str]) -> dict[str, Any]:
    """A node naming one of `names` under class, call or def."""
    return {
        "anyOf": [
            {"required": [key], "properties": {key: {"enum": sorted(names)}}}
            for key in CONSTRUCTOR_KEYS
        ]
    }


def _node_or(params: str, *, null: bool = False) -> dict[str, Any]:
    """A node when the mapping names a constructor, else the parameters at `params`."""
    otherwise: dict[str, Any] = {"$ref": params}
    if null:
        otherwise = {"if": {"type": "null"}, "else": otherwise}
    return {
        "if": {"type": "object", "anyOf": _ANY_CONSTRUCTOR_KEY},
        "then": {"$ref": _DEFS + "node"},
        "else": otherwise,
    }


def _when_library(
    library: str | None,
    defaults: Mapping[str | None, tuple[str, str]],
    member: str,
    ref: str,
) -> dict[str, Any]:
    """Apply a member's default under `library` (or, for None, under no library that has one)."""
    others = sorted(lib for lib in defaults if lib is not None)
    if library is not None:
        condition: dict[str, Any] = {
            "properties": {"library": {"const": library}},
            "required": ["library"],
        }
    else:
        condition = {"not": {"properties": {"library": {"enum": others}}, "required": ["library"]}}
    slot = {"$ref": _DEFS + ref}
    return {
        "if": condition,
        "then": {"properties": {member: slot, "run": {"properties": {member: slot}}}},
    }


def _defaults(registry: Registry) -> dict[tuple[str | None, str], tuple[str, str]]:
    """Every default constructor the registry knows: ``(library, member) -> (kind, name)``."""
    # TODO: read these through a public Registry method once it has one.
    defaults: dict[tuple[str | None, str], tuple[str, str]] = vars(registry).get("_defaults", {})
    return dict(defaults)


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every constructor node of a parameter tree."""
    if isinstance(tree, dict):
        if any(key in tree for key in CONSTRUCTOR_KEYS):
            yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _nodes(item)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    return True


def _draft7(schema: Any) -> Any:
    """Rewrite in draft-07 what pydantic writes in draft 2020-12.

    That is ``$defs`` references, ``prefixItems``, and keywords beside ``$ref`` (which draft-07
    ignores).
    """
    if isinstance(schema, list):
        return [_draft7(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _draft7(value) for key, value in schema.items()}
    if "prefixItems" in result:
        prefix = result.pop("prefixItems")
        if "items" in result:
            result["additionalItems"] = result.pop("items")
        result["items"] = prefix
    if "$ref" in result and len(result) > 1:
        ref = result.pop("$ref")
        result["allOf"] = [{"$ref": ref}, *result.get("allOf", [])]
    if isinstance(result.get("$ref"), str):
        result["$ref"] = result["$ref"].replace("#/$defs/", _DEFS)
    return result


_EXPERIMENT: dict[str, Any] = {
    "type": "object",
    "description": "The experiment these runs belong to.",
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "description": "The experiment name (the file stem by default).",
        },
        "id": {"type": "string", "description": "The MLflow experiment id, once tracked."},
        "library": {"type": "string", "description": "Set from the top-level library key."},
        "description": {"type": "string", "description": "What the experiment is about."},
        "tags": {
            "type": "object",
            "description": "Tags of the MLflow experiment.",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "schema": {
            "type": "string",
            "description": "The import path of a pydantic model of the run's members: the run "
            "section is validated against it too, and run.params is typed by it.",
        },
    },
    "additionalProperties": False,
}

_TASK: dict[str, Any] = {
    "type": "object",
    "description": "The task section: ivory records the task's name and id here when a task "
    "(a grid or a chain of runs, `ivory run NAME fold=0-4`) is created.",
}

_STUDY: dict[str, Any] = {
    "type": "object",
    "description": "Hyperparameter tuning with Optuna: the suggests and the tuner.",
    "properties": {
        "objective": {
            "type": "object",
            "description": "Suggests by name (`ivory optimize NAME SUGGEST`): a search space, or "
            "a suggest function (an import path, or def: PATH with bound arguments).",
            "additionalProperties": {"$ref": _DEFS + "suggest"},
        },
        "tuner": {
            "description": "Where studies live and how they sample and prune: storage, sampler, "
            "pruner, heartbeat_interval, grace_period, max_retry.",
        },
    },
    "additionalProperties": {"$ref": _DEFS + "value"},
}

_SUGGEST: dict[str, Any] = {
    "anyOf": [
        {"$ref": _DEFS + "space"},
        {"type": "string", "description": "The import path of a suggest function."},
        {
            "type": "object",
            "required": ["def"],
            "properties": {"def": {"type": "string"}},
            "description": "A suggest function with bound arguments.",
        },
    ]
}

_SPACE: dict[str, Any] = {
    "type": "object",
    "description": "Parameter names (as overrides name them: n_estimators, optimizer.lr, "
    "hidden_sizes:0) to distributions; a mapping of choices to sub-spaces makes a conditional "
    "parameter.",
    "minProperties": 1,
    "additionalProperties": {
        "anyOf": [
            {"$ref": _DEFS + "distribution"},
            {
                "type": "object",
                "additionalProperties": {"anyOf": [{"type": "null"}, {"$ref": _DEFS + "space"}]},
            },
        ]
    },
}

_DISTRIBUTION_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": _DISTRIBUTION,
    "description": "int(low, high[, step=S][, log]), float(low, high[, step=S][, log]) or "
    "choice(v1, v2, ...)",
}
