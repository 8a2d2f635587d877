"""A small classifier in plain numpy, trained by the core `ivory.core.trainer.Trainer`.

`MLP` is a multi-layer perceptron (no hidden layer: softmax regression) with ReLU activations,
softmax cross-entropy and SGD with momentum. Its state is numpy arrays only, so it is saved in a
safe format (``.npz``) and loads back exactly.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MLP"]

Array = npt.NDArray[np.float64]


class MLP:
    """A multi-layer perceptron for classification.

    Args:
        n_features: Inputs per sample.
        n_classes: How many classes (targets are ``0`` to ``n_classes - 1``).
        hidden_sizes: Units of each hidden layer; empty for softmax regression.
        lr: Learning rate.
        momentum: Momentum of SGD.
        weight_decay: L2 penalty on the weights.
        input_scale: Factor applied to every input (``1/16`` for the digits' pixel values).
        random_state: Seed of the initial weights.

    Example:
        >>> model = MLP(n_features=2, n_classes=2, hidden_sizes=[4], lr=0.5)
        >>> x = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> y = np.array([1, 0])
        >>> losses = [model.train_step(x, y)[1] for _ in range(50)]
        >>> losses[-1] < losses[0], model.predict(x).argmax(axis=1).tolist()
        (True, [1, 0])
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_sizes: list[int] | None = None,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        input_scale: float = 1.0,
        random_state: int = 0,
    ) -> None:
        if n_features < 1 or n_classes < 2:
            raise ValueError(
                f"need n_features >= 1 and n_classes >= 2 (got {n_features} and {n_classes})"
            )
        self.n_features = n_features
        self.n_classes = n_classes
        self.hidden_sizes = list(hidden_sizes or [])
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.input_scale = input_scale
        rng = np.random.default_rng(random_state)
        sizes = [n_features, *self.hidden_sizes, n_classes]
        self.weights: list[Array] = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            self.weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)))
            self.weights.append(np.zeros(fan_out))
        self.velocity: list[Array] = [np.zeros_like(w) for w in self.weights]

    def _forward(self, input: Any) -> list[Array]:
        activations = [np.asarray(input, dtype=np.float64) * self.input_scale]
        layers = len(self.weights) // 2
        for i in range(layers):
            z = activations[-1] @ self.weights[2 * i] + self.weights[2 * i + 1]
            activations.append(np.maximum(z, 0.0) if i < layers - 1 else _softmax(z))
        return activations

    def predict(self, input: Any) -> Array:
        """Class probabilities, one row per sample."""
        return self._forward(input)[-1]

    def _loss(self, probabilities: Array, target: Any) -> float:
        picked = probabilities[np.arange(len(probabilities)), np.asarray(target, dtype=np.int64)]
        return float(-np.log(np.clip(picked, 1e-12, None)).mean())

    def train_step(self, input: Any, target: Any) -> tuple[Array, float]:
        """One SGD step on a batch; returns the batch's probabilities and loss before the step."""
        activations = self._forward(input)
        probabilities = activations[-1]
        loss = self._loss(probabilities, target)

        # Back-propagate the softmax cross-entropy.
        delta = probabilities.copy()
        delta[np.arange(len(delta)), np.asarray(target, dtype=np.int64)] -= 1.0
        delta /= len(delta)
        gradients: list[Array] = [np.empty(0)] * len(self.weights)
        for i in reversed(range(len(self.weights) // 2)):
            gradients[2 * i] = activations[i].T @ delta + self.weight_decay * self.weights[2 * i]
            gradients[2 * i + 1] = delta.sum(axis=0)
            if i:
                delta = (delta @ self.weights[2 * i].T) * (activations[i] > 0)

        # Update with momentum.
        for w, v, g in zip(self.weights, self.velocity, gradients, strict=True):
            v *= self.momentum
            v -= self.lr * g
            w += v
        return probabilities, loss

    def val_step(self, input: Any, target: Any) -> tuple[Array, float]:
        """The probabilities and loss of a batch, without learning."""
        probabilities = self.predict(input)
        return probabilities, self._loss(probabilities, target)

    def test_step(self, input: Any) -> Array:
        """The probabilities of a test batch."""
        return self.predict(input)

    def state_dict(self) -> dict[str, Any]:
        """The weights and the momentum buffers (numpy arrays)."""
        return {"weights": list(self.weights), "velocity": list(self.velocity)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take saved weights and momentum buffers."""
        weights = [np.array(w, dtype=np.float64) for w in state["weights"]]
        if [w.shape for w in weights] != [w.shape for w in self.weights]:
            raise ValueError(
                f"saved weights have shapes {[w.shape for w in weights]}, this model "
                f"{[w.shape for w in self.weights]}"
            )
        self.weights = weights
        self.velocity = [np.array(v, dtype=np.float64) for v in state["velocity"]]

    def __repr__(self) -> str:
        sizes = [self.n_features, *self.hidden_sizes, self.n_classes]
        return f"MLP(sizes={sizes}, lr={self.lr})"


def _softmax(z: Array) -> Array:
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    result: Array = shifted / shifted.sum(axis=1, keepdims=True)
    return result
