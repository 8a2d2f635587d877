"""The exceptions ivory raises.

Every error ivory raises on purpose derives from `IvoryError`. A configuration error carries the
dotted `path` of the offending node (in the syntax the override parser accepts, so it can be pasted
on the command line), the offending `value` and its `source` (``file:line:col`` or the override
text). Errors of one validation pass are collected into a single `ConfigError` whose `issues` list
holds each of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BuildError",
    "ConfigError",
    "ConfigIssue",
    "IvoryError",
    "IvoryWarning",
    "OverrideError",
    "RegistryError",
    "TrackingError",
    "TuningError",
]

_UNSET: Any = object()


class IvoryError(Exception):
    """The root of every error ivory raises on purpose."""


class IvoryWarning(UserWarning):
    """A misuse that ivory can work around, but that the user should fix."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found in a parameter file or an override.

    Attributes:
        path: The dotted path of the node, e.g. ``run.model.hidden_sizes.1``.
        message: What is wrong and what was expected.
        source: ``file:line:col`` of the node, or the override text, or ``""``.
        value: The offending value, when there is one.
    """

    path: str
    message: str
    source: str = ""
    value: Any = _UNSET

    def __str__(self) -> str:
        # An override's text already starts with its path ("max_dept=3"): name it once.
        path = "" if self.source.startswith(f"{self.path}=") else self.path
        parts = [part for part in (self.source, path) if part]
        return ": ".join([*parts, self.message])

    @property
    def has_value(self) -> bool:
        """Whether the issue carries an offending value."""
        return self.value is not _UNSET


class ConfigError(IvoryError, ValueError):
    """A parameter file, an override or a value does not fit its schema.

    Attributes:
        issues: Every problem found in one pass, in the order found.
        path: The path of the first issue.
        value: The offending value of the first issue (None when it has none).
        source: The source of the first issue.
    """

    def __init__(self, issues: ConfigIssue | Sequence[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = (
            [issues] if isinstance(issues, ConfigIssue) else list(issues)
        )
        if not self.issues:
            raise ValueError("ConfigError needs at least one issue")
        first = self.issues[0]
        self.path = first.path
        self.value = first.value if first.has_value else None
        self.source = first.source
        super().__init__("\n".join(str(issue) for issue in self.issues))

    @classmethod
    def single(cls, path: str, message: str, source: str = "", value: Any = _UNSET) -> ConfigError:
        """Build an error with one issue."""
        return cls(ConfigIssue(path, message, source, value))


class OverrideError(ConfigError):
    """An override (``k=v`` or a `create_params` argument) names no field or has a bad value."""


class RegistryError(IvoryError, LookupError):
    """A constructor name is not registered, or an import path is not allowed."""


class BuildError(IvoryError):
    """A member cannot be built, a reference cannot be resolved, or members form a cycle."""


class TrackingError(IvoryError):
    """The tracking backend (MLflow) refused an operation."""


class TuningError(IvoryError):
    """The tuning backend (Optuna) refused an operation, or a search space is invalid."""
