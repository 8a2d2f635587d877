"""The epoch trainer: drives a model member batch by batch, firing the run's events.

It needs no deep-learning library. The model member (``model`` unless told otherwise) takes
part through three methods on numpy batches:

- ``train_step(input, target) -> (output, loss)``: learn from one batch;
- ``val_step(input, target) -> (output, loss)``: evaluate one batch;
- ``test_step(input) -> output`` (or ``predict(input)``): predict one test batch.

Per epoch the trainer fires ``on_epoch_begin``, ``on_train_begin``, the train batches,
``on_train_end``, ``on_val_begin``, the val batches, ``on_val_end`` and ``on_epoch_end``. It
records each loop's outputs in the ``results`` member and the mean losses as ``loss`` and
``val_loss`` in the ``metrics`` member. A member that calls ``run.request_stop`` during an epoch
ends training after that epoch, whose metrics are therefore tracked like any other.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from ivory.errors import BuildError

__all__ = ["Trainer"]

logger = logging.getLogger(__name__)


class Trainer:
    """Trains a model member for a number of epochs, and tests it.

    Calling ``run.start`` again trains `epochs` more epochs: the epoch count goes on.

    Args:
        epochs: How many epochs one start trains.
        batch_size: Samples per batch.
        shuffle: Shuffle the train samples each epoch.
        random_state: Seed of the shuffle (None: a fresh one).
        model: The name of the member to train.

    Attributes:
        epoch: The last epoch trained (-1 before training).
        global_step: The last train batch (-1 before training).
    """

    __ivory_restore__ = False

    def __init__(
        self,
        epochs: int = 10,
        batch_size: int = 32,
        shuffle: bool = True,
        random_state: int | None = 0,
        model: str = "model",
    ) -> None:
        if epochs < 0:
            raise ValueError(f"epochs must be 0 or more (got {epochs})")
        if batch_size < 1:
            raise ValueError(f"batch_size must be 1 or more (got {batch_size})")
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.model = model
        self.epoch = -1
        self.global_step = -1
        self._rng = np.random.default_rng(random_state)

    def start(self, run: Any) -> None:
        """Train or test, by the run's mode."""
        if run.mode == "train":
            self.train(run)
        else:
            self.test(run)

    def train(self, run: Any) -> None:
        """Train `epochs` epochs, or fewer when a member asks to stop."""
        model = self._model(run, "train_step", "val_step")
        run.on_fit_begin()
        try:
            for _ in range(self.epochs):
                self.epoch += 1
                self._train_epoch(run, model)
                if run.stop_request is not None:
                    break
        finally:
            run.on_fit_end()
        request = run.stop_request
        if request is not None and request.error is not None:
            raise request.error

    def _train_epoch(self, run: Any, model: Any) -> None:
        run.on_epoch_begin()
        run.on_train_begin()
        self._loop(run, "train", model.train_step)
        run.on_train_end()
        run.on_val_begin()
        self._loop(run, "val", model.val_step)
        run.on_val_end()
        run.on_epoch_end()
        metrics = run.get("metrics")
        monitor = run.get("monitor")
        best = " (best)" if getattr(monitor, "is_best", False) else ""
        logger.info("%s epoch %d: %s%s", run.name or "run", self.epoch, metrics or "", best)

    def test(self, run: Any) -> None:
        """Predict the test samples."""
        model = self._model(run)
        step = getattr(model, "test_step", None) or getattr(model, "predict", None)
        if not callable(step):
            raise BuildError(
                f"{self.model}: the model has no test_step(input) or predict(input) to test with"
            )
        run.on_test_begin()
        self._loop(run, "test", step)
        run.on_test_end()

    def _loop(self, run: Any, mode: str, step: Any) -> None:
        datasets = run.get("datasets")
        if datasets is None:
            raise BuildError(
                f"trainer: the run has no 'datasets' member to take {mode} batches from "
                f"(members: {', '.join(run.keys())})"
            )
        dataset = datasets[mode]
        size = len(dataset)
        order = self._rng.permutation(size) if mode == "train" and self.shuffle else np.arange(size)
        indices: list[npt.NDArray[Any]] = []
        outputs: list[npt.NDArray[Any]] = []
        targets: list[npt.NDArray[Any]] = []
        total = 0.0
        for begin in range(0, size, self.batch_size):
            index, input, target = dataset[order[begin : begin + self.batch_size]]
            if mode == "test":
                output = step(input)
            else:
                if mode == "train":
                    self.global_step += 1
                output, loss = step(input, target)
                total += float(loss) * len(index)
            indices.append(np.asarray(index))
            outputs.append(np.asarray(output))
            targets.append(np.asarray(target))
        results = run.get("results")
        if results is not None and indices:
            results.step(
                mode, np.concatenate(indices), np.concatenate(outputs), np.concatenate(targets)
            )
        metrics = run.get("metrics")
        if metrics is not None and mode != "test" and size:
            metrics["loss" if mode == "train" else "val_loss"] = total / size

    def _model(self, run: Any, *methods: str) -> Any:
        model = run.get(self.model)
        if model is None:
            raise BuildError(
                f"trainer.model: the run has no member {self.model!r} to train "
                f"(members: {', '.join(run.keys())})"
            )
        missing = [name for name in methods if not callable(getattr(model, name, None))]
        if missing:
            raise BuildError(
                f"trainer.model: member {self.model!r} ({type(model).__name__}) has no "
                f"{' or '.join(f'{name}(input, target)' for name in missing)}"
            )
        return model

    def state_dict(self) -> dict[str, Any]:
        """The epoch and step counters, and the shuffle's random state."""
        return {
            "epoch": self.epoch,
            "global_step": self.global_step,
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved state."""
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        if "rng" in state:
            self._rng.bit_generator.state = state["rng"]

    def __repr__(self) -> str:
        return f"Trainer(epoch={self.epoch}, epochs={self.epochs}, batch_size={self.batch_size})"
