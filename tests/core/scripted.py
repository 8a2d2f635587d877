"""A scripted model and tiny data for run tests: the validation loss of each epoch is given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import ivory
from ivory.data import Data, kfold_split

# Called by the model at the start of each train step with (model, epoch): tests use it to fail,
# to interrupt, or to kill the run from outside.
HOOKS: list[Callable[[Any, int], None]] = []


class TinyData(Data):
    """Twenty samples, one feature, two folds and a test part."""

    def init(self) -> None:
        self.index = np.arange(20)
        self.input = np.arange(20, dtype=np.float64).reshape(20, 1)
        self.target = np.arange(20, dtype=np.float64) % 2
        self.fold = kfold_split(20, n_splits=2, test_size=0.2)


class Scripted:
    """A model whose validation loss at epoch k is ``losses[k]``; its weight counts epochs."""

    def __init__(self, losses: list[float]) -> None:
        self.losses = losses
        self.weight = np.zeros(1)
        self.epoch = -1

    def train_step(self, input: Any, target: Any) -> tuple[Any, float]:
        self.epoch += 1
        for hook in HOOKS:
            hook(self, self.epoch)
        self.weight = self.weight + 1.0
        return np.zeros(len(input)), 1.0

    def val_step(self, input: Any, target: Any) -> tuple[Any, float]:
        return np.full(len(input), self.weight[0]), self.losses[self.epoch]

    def test_step(self, input: Any) -> Any:
        return np.full(len(input), self.weight[0])

    def state_dict(self) -> dict[str, Any]:
        return {"weight": self.weight.copy(), "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weight = np.asarray(state["weight"])
        self.epoch = int(state["epoch"])


ivory.register("tests.tiny_data", TinyData)
ivory.register("tests.scripted", Scripted)

LOSSES = [5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 1.0, 0.5, 0.4, 0.3]
"""Best at epoch 2, then three epochs without improvement: patience 3 stops after epoch 5."""

TINY = f"""
datasets:
  data: {{class: tests.tiny_data}}
  fold: 0
model: {{class: tests.scripted, losses: {LOSSES}}}
trainer: {{epochs: 10, batch_size: 100}}
results:
metrics:
monitor: {{metric: val_loss}}
early_stopping: {{patience: 3}}
"""
