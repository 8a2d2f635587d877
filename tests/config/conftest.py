"""Fixtures of the config tests: a registry of test constructors and a loader of YAML text."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

import ivory
from ivory.registry import Registry
from tests.config.constructors import CALLS, make_registry

Load = Callable[..., ivory.Experiment]


@pytest.fixture
def registry() -> Registry:
    """A fresh registry of the test constructors; the record of calls starts empty."""
    CALLS.clear()
    return make_registry()


@pytest.fixture
def load(registry: Registry) -> Load:
    """Load an experiment from (dedented) YAML text, named ``x`` (so sources read ``x.yaml``)."""

    def load(text: str, name: str = "x") -> ivory.Experiment:
        return ivory.Experiment.from_text(
            textwrap.dedent(text).lstrip("\n"), name=name, registry=registry
        )

    return load
