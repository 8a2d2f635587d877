"""Benchmark: tracked trials through ivory, and through Optuna with its MLflowCallback.

Both sides optimize the same small objective, ``(x - 1)^2 + (y - 2)^2``, for the same number of
trials with ``RandomSampler(seed=0)``, on the same kinds of stores: an Optuna storage in a SQLite
file and an MLflow tracking store in a SQLite file (its tables made beforehand on both sides, so
neither pays MLflow's schema creation). Each side runs in its own fresh process.

- ivory: ``ivory.create_client(dir).create_study("toy").optimize(n_trials=N)``: each trial is a
  nested MLflow run (parameters, params.yaml, the epoch's metrics, best score, tags, trial link).
- optuna: ``optuna.create_study(storage=sqlite).optimize(objective, n_trials=N,
  callbacks=[MLflowCallback(tracking_uri=sqlite, metric_name="loss")])``.

The time of a trial is the interval between the ends of consecutive trials (so the one-off
opening of stores is not counted); the script prints the median per side and the ratio. ivory
keeps its SQLite files in write-ahead-log mode; ``--peer-wal`` gives the Optuna side's files the
same mode, to separate what that brings from the rest.

Run: ``.venv/bin/python bench/study.py [--trials 50] [--rounds 3]`` (needs ``optuna-integration``;
``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TOY = '''
class Quadratic:
    """One epoch whose loss is (x - 1)^2 + (y - 2)^2."""

    def __init__(self, x: float = 0.0, y: int = 0) -> None:
        self.x = x
        self.y = y
        self.epoch = -1

    def start(self, run):
        if run.mode != "train":
            return
        run.on_fit_begin()
        self.epoch += 1
        run.on_epoch_begin()
        run.metrics["loss"] = (self.x - 1) ** 2 + (self.y - 2) ** 2
        run.on_epoch_end()
        run.on_fit_end()
'''

CONFIG = """
trainer: {class: benchtoy.Quadratic}
metrics:
monitor: {metric: loss, mode: min}
study:
  objective:
    xy:
      x: float(-2.0, 3.0)
      y: int(0, 4)
  tuner:
    sampler: {class: optuna.samplers.RandomSampler, seed: 0}
"""


def make_store(directory: Path) -> str:
    """An MLflow SQLite store with its tables made; returns its URI."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{directory / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()
    return uri


def run_ivory(directory: Path, trials: int) -> list[float]:
    import optuna

    import ivory

    (directory / "benchtoy.py").write_text(textwrap.dedent(TOY))
    (directory / "toy.yaml").write_text(textwrap.dedent(CONFIG))
    make_store(directory)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    ends: list[float] = []
    client = ivory.create_client(directory)
    study = client.create_study("toy")
    study.optimize(n_trials=trials, callbacks=[lambda s, t: ends.append(time.perf_counter())])
    return [b - a for a, b in itertools.pairwise(ends)]


def write_ahead(path: Path) -> None:
    """Switch a SQLite file to write-ahead-log mode, as ivory does with its own stores."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def run_optuna(directory: Path, trials: int, wal: bool = False) -> list[float]:
    import optuna
    from optuna_integration.mlflow import MLflowCallback

    uri = make_store(directory)
    if wal:
        write_ahead(directory / "mlflow.db")
        write_ahead(directory / "optuna.db")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -2.0, 3.0)
        y = trial.suggest_int("y", 0, 4)
        return (x - 1) ** 2 + (y - 2) ** 2

    ends: list[float] = []
    tracking = MLflowCallback(tracking_uri=uri, metric_name="loss")
    study = optuna.create_study(
        storage=f"sqlite:///{directory / 'optuna.db'}",
        study_name="toy.xy",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.optimize(
        objective,
        n_trials=trials,
        callbacks=[tracking, lambda s, t: ends.append(time.perf_counter())],
    )
    return [b - a for a, b in itertools.pairwise(ends)]


def side(name: str, trials: int, wal: bool) -> list[float]:
    """Run one side in a fresh process; return its trial times."""
    result = subprocess.run(
        [sys.executable, __file__, "--side", name, "--trials", str(trials)]
        + (["--peer-wal"] if wal else []),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stderr}")
    times: list[float] = json.loads(result.stdout.strip().splitlines()[-1])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--peer-wal",
        action="store_true",
        help="Give the Optuna side's SQLite files a write-ahead log too, as ivory's stores have.",
    )
    parser.add_argument("--side", choices=("ivory", "optuna"), help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.side:
        with tempfile.TemporaryDirectory() as folder:
            if options.side == "ivory":
                times = run_ivory(Path(folder), options.trials)
            else:
                times = run_optuna(Path(folder), options.trials, options.peer_wal)
            print(json.dumps(times))
        return

    # Alternate the sides, each round in fresh processes; pool the trial times per side.
    pooled: dict[str, list[float]] = {"ivory": [], "optuna": []}
    for round_number in range(options.rounds):
        for name in ("optuna", "ivory") if round_number % 2 == 0 else ("ivory", "optuna"):
            times = side(name, options.trials, options.peer_wal)
            pooled[name] += times
            median = statistics.median(times) * 1e3
            print(f"round {round_number + 1} {name:>6}: median {median:7.1f} ms per trial")
    ivory_median = statistics.median(pooled["ivory"]) * 1e3
    optuna_median = statistics.median(pooled["optuna"]) * 1e3
    peer = "optuna + MLflowCallback" + (" (WAL stores)" if options.peer_wal else "")
    print(f"{'ivory (study, nested runs)':<36} median {ivory_median:7.1f} ms per tracked trial")
    print(f"{peer:<36} median {optuna_median:7.1f} ms per tracked trial")
    print(f"ratio (optuna + callback / ivory)    {optuna_median / ivory_median:.2f}x")


if __name__ == "__main__":
    main()
