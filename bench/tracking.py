"""A 20-epoch run through ivory against the same logging done directly with `MlflowClient`.

ivory side: `client.create_run(...)` then `run.start("train")` on a small experiment (a linear
model trained by ivory's core Trainer, one batch per epoch) whose metrics member records three
values per epoch (``loss``, ``val_loss``, ``mae``). Timed: creating the parameters, building the
members, creating the MLflow run (number, tags, flattened parameters, ``params.yaml``), 20
epochs with one batched metrics call each, the member states saved at the end of training, and
ending the run.

Direct side, batched, on an identical SQLite store: create the run (numbered by a counter,
without asking the store) with the same tags, log the same flattened parameters in one batch,
save ``params.yaml``, then per epoch one ``log_batch`` of three metrics, and end the run. The
per-epoch numbers are made the same way (a tiny numpy computation), so the difference is
ivory's own cost: validating and building, numbering, the status check after each epoch (for
``ivory kill``) and the member states saved at the end of training.

Both stores are made before timing (an MLflow schema costs ~2 s); repetitions alternate between
the two sides, each going first in turn. SQLite commits dominate both sides, and their latency
varies with the disk and the machine's load, so compare the ratio of one run, not raw figures
across runs. Prints the median of each side and the ratio ivory / direct (target <= 1.25).

Run: ``.venv/bin/python bench/tracking.py [--repeat 15] [--epochs 20]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ivory.data import Data, kfold_split

CONFIG = """\
datasets:
  data: {class: bench.tracking.LineData}
  fold: 0
model: {class: bench.tracking.Line, lr: 0.1}
trainer: {epochs: EPOCHS, batch_size: 1000}
results:
metrics: {mae: bench.tracking.mae}
"""


def mae(target: Any, output: Any) -> float:
    """Mean absolute error, in numpy."""
    return float(np.abs(np.asarray(target) - np.asarray(output)).mean())


def _data() -> tuple[Any, Any]:
    x = np.linspace(0.0, 1.0, 100).reshape(-1, 1)
    return x, 3.0 * x[:, 0] + 1.0


class LineData(Data):
    """100 samples of y = 3x + 1 in five folds and a test part."""

    def init(self) -> None:
        self.input, self.target = _data()
        self.index = np.arange(100)
        self.fold = kfold_split(100, n_splits=5, test_size=0.2)


class Line:
    """y = w x + b by gradient descent; one step per batch."""

    def __init__(self, lr: float = 0.1) -> None:
        self.lr = lr
        self.w = np.zeros(2)

    def train_step(self, input: Any, target: Any) -> tuple[Any, float]:
        output = input[:, 0] * self.w[0] + self.w[1]
        error = output - target
        self.w -= self.lr * np.array([(error * input[:, 0]).mean(), error.mean()])
        return output, float((error**2).mean())

    def val_step(self, input: Any, target: Any) -> tuple[Any, float]:
        output = input[:, 0] * self.w[0] + self.w[1]
        return output, float(((output - target) ** 2).mean())

    def state_dict(self) -> dict[str, Any]:
        return {"w": self.w.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.w = np.asarray(state["w"])


def make_store(directory: Path) -> str:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{directory / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()
    return uri


def ivory_side(directory: Path, epochs: int) -> tuple[Any, Any]:
    import ivory

    (directory / "configs").mkdir(exist_ok=True)
    (directory / "configs" / "line.yaml").write_text(CONFIG.replace("EPOCHS", str(epochs)))
    client = ivory.create_client(directory)

    def once() -> float:
        start = time.perf_counter()
        run = client.create_run("line")
        run.start("train")
        elapsed = time.perf_counter() - start
        assert len(run.metrics.history) == 3
        return elapsed

    return client, once


def direct_side(directory: Path, epochs: int) -> Any:
    import yaml
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{directory / 'mlflow.db'}")
    experiment_id = client.create_experiment(
        "line", artifact_location=(directory / "mlruns").as_uri()
    )
    params = {
        "datasets.class": "datasets",
        "datasets.data.class": "bench.tracking.LineData",
        "datasets.fold": "0",
        "model.class": "bench.tracking.Line",
        "model.lr": "0.1",
        "trainer.class": "trainer",
        "trainer.epochs": str(epochs),
        "trainer.batch_size": "1000",
        "results.class": "results",
        "metrics.class": "metrics",
        "metrics.mae": "bench.tracking.mae",
    }
    text = yaml.safe_dump({"run": params, "experiment": {"name": "line", "id": experiment_id}})
    x, y = _data()

    count = iter(range(1_000_000))

    def once() -> float:
        start = time.perf_counter()
        name = f"run#{next(count)}"
        tags = {"ivory.kind": "run", "ivory.update": "{}", "mlflow.source.name": "line.yaml"}
        run_id = client.create_run(experiment_id, tags=tags, run_name=name).info.run_id
        client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])
        client.log_text(run_id, text, "params.yaml")
        w = np.zeros(2)
        for epoch in range(epochs):
            output = x[:, 0] * w[0] + w[1]
            error = output - y
            w -= 0.1 * np.array([(error * x[:, 0]).mean(), error.mean()])
            values = {"loss": float((error**2).mean()), "val_loss": 0.0, "mae": mae(y, output)}
            timestamp = int(time.time() * 1000)
            metrics = [Metric(k, v, timestamp, epoch) for k, v in values.items()]
            client.log_batch(run_id, metrics=metrics)
        client.set_terminated(run_id, "FINISHED")
        return time.perf_counter() - start

    return once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import ivory

    ivory.registry.allow("bench")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        ivory_dir, direct_dir = Path(a), Path(b)
        make_store(ivory_dir)
        make_store(direct_dir)
        _, ivory_once = ivory_side(ivory_dir, args.epochs)
        direct_once = direct_side(direct_dir, args.epochs)

        # Warm up both (imports, first queries), then alternate.
        ivory_once()
        direct_once()
        ivory_times: list[float] = []
        direct_times: list[float] = []
        for i in range(args.repeat):
            # Alternate which side goes first, so that neither always follows the other's writes.
            if i % 2:
                ivory_times.append(ivory_once())
                direct_times.append(direct_once())
            else:
                direct_times.append(direct_once())
                ivory_times.append(ivory_once())

    ivory_median = statistics.median(ivory_times) * 1000
    direct_median = statistics.median(direct_times) * 1000
    print(f"{args.epochs}-epoch run, 3 metrics per epoch, {args.repeat} repetitions (medians):")
    print(f"  ivory (create_run + start):  {ivory_median:8.1f} ms")
    print(f"  direct MlflowClient, batched: {direct_median:8.1f} ms")
    print(f"  ratio ivory / direct:         {ivory_median / direct_median:8.2f}  (target <= 1.25)")


if __name__ == "__main__":
    main()
