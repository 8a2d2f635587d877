"""Property tests: random documents and overrides raise nothing but IvoryError, and change nothing.

The alphabets lean on what breaks parsers: reserved keys, references, interpolations, the missing
marker, dots and brackets in names, numbers in every YAML spelling.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ivory
from ivory.config.dump import dump_yaml
from ivory.config.values import Text
from ivory.errors import IvoryError
from ivory.registry import Registry
from tests.config.constructors import CONSTRUCTORS

KEYS = [
    "a", "b", "lr", "model", "class", "call", "def", "run", "task", "study", "experiment",
    "library", "extends", "include", "hidden_sizes", "bos.token", "20s", "0", "1", "$", "size",
    "teacher", "units", "x", "name", "???", "<<",
]  # fmt: skip
WORDS = [
    "$", "$.a", "$.model.size", "$.b.parameters()", "$.a.0", "$.a.__class__", "${a}", "${b.c}",
    "${model.size}", "\\${x}", "???", "null", "~", "true", "1e-3", ".nan", "-.inf", "010",
    "0x1f", "net", "node", "optimizer", "scale", "linear", "loose", "os.system", "[1, 2]",
    "{a: 1}", "a=b", "", " ", "'quoted'", "é", "${oc.env:HOME}",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=8),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=6))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=20,
)
documents = st.one_of(
    st.dictionaries(keys, trees, max_size=6).map(dump_yaml),
    st.text(max_size=80),
    st.lists(st.sampled_from([*KEYS, *WORDS, ": ", "\n", "  ", "- ", "{", "}", "[", "]", ","])).map(
        "".join
    ),
)
names = st.one_of(
    st.sampled_from(KEYS),
    st.lists(
        st.sampled_from([*KEYS, "-1", "5", "[0]", "[x", "\\.", ":0", ":1", "+"]), max_size=4
    ).map(lambda parts: ".".join(parts)),
    st.text(max_size=10),
)
values = st.one_of(scalars, trees, st.sampled_from(WORDS).map(Text), st.text(max_size=10).map(Text))
overrides = st.dictionaries(names, values, max_size=4)

BASE = """
model: {class: net, hidden_sizes: [64, 32], act: relu}
optimizer: {class: optimizer, params: $.model.hidden_sizes, lr: 1e-3}
trainer: {class: trainer, optimizer: {lr: 0.1}, callbacks: [{every: 2}]}
dims: {hidden: 128}
head: {class: linear, in_features: "${dims.hidden}"}
tokenizer: {special: {"bos.token": "<s>"}, 20s_window: 4}
blocks: {class: blocks, pet: {kind: cat}}
"""


def make_registry() -> Registry:
    """The test constructors, and no import path at all."""
    registry = Registry(allowed=())
    for name, constructor in CONSTRUCTORS.items():
        registry.register(name, constructor)
    return registry


REGISTRY = make_registry()
BASE_EXPERIMENT = ivory.Experiment.from_text(BASE, name="base", registry=REGISTRY)


def snapshot(experiment: ivory.Experiment) -> str:
    """The experiment's parameters as text (NaN compares equal to itself this way)."""
    return repr(experiment.params.to_dict())


def check_overrides(experiment: ivory.Experiment, updates: dict[str, Any]) -> None:
    before = snapshot(experiment)
    copied = repr(updates)
    with contextlib.suppress(IvoryError):
        experiment.create_params(updates)
    assert snapshot(experiment) == before
    assert repr(updates) == copied


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(updates=overrides)
def test_random_overrides_raise_only_ivory_errors(updates: dict[str, Any]) -> None:
    check_overrides(BASE_EXPERIMENT, updates)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=documents, updates=overrides)
def test_random_documents_raise_only_ivory_errors(text: str, updates: dict[str, Any]) -> None:
    try:
        experiment = ivory.Experiment.from_text(text, name="doc", registry=REGISTRY)
    except IvoryError:
        return
    check_overrides(experiment, {})
    check_overrides(experiment, updates)
