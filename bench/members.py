"""The members of the benchmark experiment: plain classes, importable by ivory and by Hydra.

They import nothing from ivory, so the Hydra process (its own virtual environment) can build
them too.
"""

from __future__ import annotations

from typing import Any


class Data:
    def __init__(
        self,
        path: str,
        batch_size: int = 32,
        shuffle: bool = True,
        num_workers: int = 0,
        seed: int = 0,
        split: float = 0.2,
    ) -> None:
        self.path = path
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.num_workers = num_workers
        self.seed = seed
        self.split = split


class MLP:
    def __init__(
        self,
        hidden_sizes: list[int],
        in_features: int = 8,
        out_features: int = 1,
        dropout: float = 0.0,
        activation: str = "relu",
        batch_norm: bool = False,
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.in_features = in_features
        self.out_features = out_features
        self.dropout = dropout
        self.activation = activation
        self.batch_norm = batch_norm

    def parameters(self) -> list[int]:
        return [self.in_features, *self.hidden_sizes, self.out_features]


class SGD:
    def __init__(
        self,
        params: Any,
        lr: float = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.nesterov = nesterov


class StepLR:
    def __init__(self, optimizer: Any, step_size: int = 10, gamma: float = 0.1) -> None:
        self.optimizer = optimizer
        self.step_size = step_size
        self.gamma = gamma


class Trainer:
    def __init__(
        self,
        max_epochs: int = 10,
        grad_clip: float = 0.0,
        log_every: int = 10,
        precision: int = 32,
        output_dir: str = "runs",
        patience: int = 5,
    ) -> None:
        self.max_epochs = max_epochs
        self.grad_clip = grad_clip
        self.log_every = log_every
        self.precision = precision
        self.output_dir = output_dir
        self.patience = patience


class Monitor:
    def __init__(self, metric: str = "val_loss", mode: str = "min", min_delta: float = 0.0) -> None:
        self.metric = metric
        self.mode = mode
        self.min_delta = min_delta
