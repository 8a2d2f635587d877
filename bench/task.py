"""A 200-run task against a plain loop doing the same MLflow calls; memory after 20 and 200 runs.

The experiment is small on purpose (ridge regression on scikit-learn's diabetes data, 442
samples) so that what is measured is ivory's own cost per run: creating and validating the
parameters, building the members, tracking, and the task's bookkeeping. The plain loop fits the
same model on the same folds and makes the same MLflow calls through `MlflowClient` (create the
run with its tags and check its name is unique, log its parameters, save ``params.yaml``, log
the metrics, save the states, end it); the calls each side makes per run are counted and printed.

Memory: the peak resident set size (ru_maxrss) of the timed task after 20 and after 200 runs
must stay within 10%. To see what a run leaves behind, a second task (and a second plain loop)
is traced with tracemalloc: the peak within runs 1-20 and within runs 21-200, and what remains
at run 20 and run 200 after a garbage collection made only for the reading, with and without
MLflow's module cache of one artifact repository per run (up to 1024). A control task keeps
every run alive on purpose, to show what a leak of the members would look like.

Run: ``.venv/bin/python bench/task.py [--runs 200]``.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CONTROL_RUNS = 40
"""Runs of the leaking control task after its first mark."""

CONFIG = """\
library: sklearn
datasets:
  data: {class: ivory.data.SklearnData, name: diabetes, n_splits: 5}
  fold: 0
estimator:
  model: sklearn.linear_model.Ridge
  alpha: 1.0
results:
metrics: {mse: }
monitor: {metric: mse, mode: min}
"""


def rss_mb() -> tuple[float, float]:
    """The resident set size now and the process's peak so far, in MB (Linux)."""
    import resource

    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20, peak


@contextmanager
def counting(calls: collections.Counter[str]) -> Iterator[None]:
    """Count the calls of each public MlflowClient method made inside the block."""
    from mlflow.tracking import MlflowClient

    originals: dict[str, Callable[..., Any]] = {}
    for name in (
        "search_runs",
        "create_run",
        "log_batch",
        "log_text",
        "log_artifacts",
        "log_artifact",
        "set_tag",
        "set_terminated",
        "update_run",
        "get_run",
        "get_experiment",
        "get_experiment_by_name",
        "list_artifacts",
    ):
        original = getattr(MlflowClient, name)
        originals[name] = original

        def wrapper(self: Any, *args: Any, __name: str = name, **kwargs: Any) -> Any:
            calls[__name] += 1
            return originals[__name](self, *args, **kwargs)

        setattr(MlflowClient, name, wrapper)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(MlflowClient, name, original)


def sweep(runs: int) -> dict[str, list[Any]]:
    """``alpha`` over ``runs // 5`` values and ``fold`` over 0..4: `runs` combinations."""
    import numpy as np

    return {"alpha": np.linspace(0.01, 10.0, runs // 5).tolist(), "fold": list(range(5))}


def run_ivory_task(
    experiment: Any,
    runs: int,
    marks: tuple[int, ...] = (),
    probe: Callable[[], Any] = rss_mb,
    kept: list[Any] | None = None,
) -> dict[str, Any]:
    """Run the task; per-run durations (probes excluded) and a probe at each mark.

    With `kept`, every run is appended to it: a leak on purpose, the control of the measurement.
    """
    task = experiment.create_task()
    durations: list[float] = []
    measured: dict[int, Any] = {}
    start = time.perf_counter()
    keep = kept.append if kept is not None else None
    for record in task.execute(task.product(**sweep(runs)), on_start=keep):
        durations.append(time.perf_counter() - start)
        assert record.status == "FINISHED", record
        if len(durations) in marks:
            measured[len(durations)] = probe()
        start = time.perf_counter()
    assert task.status == "FINISHED"
    return {"durations": durations, "measured": measured}


def run_plain_loop(
    directory: Path, runs: int, marks: tuple[int, ...] = (), probe: Callable[[], Any] = rss_mb
) -> dict[str, Any]:
    """The same model and folds, and the same MLflow calls as ivory makes per run, by hand."""
    import json

    import numpy as np
    import yaml
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_squared_error

    client = MlflowClient(tracking_uri=f"sqlite:///{directory / 'mlflow.db'}")
    experiment_id = client.create_experiment(
        "plain", artifact_location=(directory / "mlruns").as_uri()
    )
    parent = client.create_run(experiment_id, run_name="task#0").info.run_id
    x, y = load_diabetes(return_X_y=True)
    folds = np.random.default_rng(0).permutation(len(x)) % 6 - 1  # -1 is the test part

    def save_state(run_id: str, folder: str, arrays: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            np.savez(Path(tmp) / "results.npz", **arrays)
            (Path(tmp) / "metrics.json").write_text(json.dumps({"mse": arrays["mse"].item()}))
            client.log_artifacts(run_id, tmp, folder)

    durations: list[float] = []
    measured: dict[int, Any] = {}
    start = time.perf_counter()
    number = len(client.search_runs([experiment_id], "attributes.run_name LIKE 'run#%'"))
    for alpha in sweep(runs)["alpha"]:
        for fold in range(5):
            # Create the run with its tags and check its name is unique (one exact-name search,
            # as ivory's tracker does), log its parameters and params.yaml.
            params = {"alpha": alpha, "fold": fold, "model": "sklearn.linear_model.Ridge"}
            tags = {"mlflow.parentRunId": parent, "ivory.kind": "run", "ivory.update": "fold"}
            run = client.create_run(experiment_id, run_name=f"run#{number}", tags=tags)
            run_id = run.info.run_id
            same = client.search_runs([experiment_id], f"attributes.run_name = 'run#{number}'")
            assert [r.info.run_id for r in same] == [run_id]
            number += 1
            client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
            client.log_text(run_id, yaml.safe_dump({"run": params}), "params.yaml")

            # Fit, score, log the metrics and the states (current, best, test), end the run.
            train, val, test = folds >= 0, folds == fold, folds == -1
            train &= ~val
            model = Ridge(alpha=alpha).fit(x[train], y[train])
            output = model.predict(x[val])
            mse = float(mean_squared_error(y[val], output))
            stamp = int(time.time() * 1000)
            metrics = [Metric(k, v, stamp, 0) for k, v in (("mse", mse), ("best_score", mse))]
            client.log_batch(run_id, metrics=[*metrics, Metric("best_epoch", 0.0, stamp, 0)])
            arrays = {"index": np.flatnonzero(val), "output": output, "mse": np.array(mse)}
            save_state(run_id, "current", arrays)
            save_state(run_id, "best", arrays)
            test_mse = float(mean_squared_error(y[test], model.predict(x[test])))
            client.log_batch(run_id, metrics=[Metric("test_mse", test_mse, stamp, 0)])
            save_state(run_id, "test", {**arrays, "mse": np.array(test_mse)})
            client.set_terminated(run_id, "FINISHED")
            now = time.perf_counter()
            durations.append(now - start)
            if len(durations) in marks:
                measured[len(durations)] = probe()
            start = time.perf_counter()
    client.set_terminated(parent, "FINISHED")
    return {"durations": durations, "measured": measured}


def traced(run: Callable[[Callable[[], Any]], dict[str, Any]]) -> dict[int, tuple[float, ...]]:
    """Trace the memory of `run`, in MB: at each mark, the peak since the last mark, what remains
    after a garbage collection, and what remains without MLflow's cache of artifact repositories
    (cleared at each mark; the collections are only for the reading)."""
    import gc

    from mlflow.tracking import _tracking_service

    def probe() -> tuple[float, float, float]:
        _, peak = tracemalloc.get_traced_memory()
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
        # MLflow keeps an artifact repository per run in a module cache (up to 1024 of them).
        _tracking_service.utils._artifact_repos_cache.clear()
        gc.collect()
        own, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        return peak / 2**20, current / 2**20, own / 2**20

    tracemalloc.start()
    try:
        return run(probe)["measured"]  # type: ignore[no-any-return]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per task (a multiple of 5)")
    args = parser.parse_args()
    runs = args.runs
    marks = (20, runs)
    first = marks[0]
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    import ivory
    from ivory.tracking import create_tracker

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bench.yaml").write_text(CONFIG)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        experiment = ivory.Experiment.from_file(str(root / "bench.yaml"))
        experiment.set_tracker(create_tracker(str(root)))
        for name in ("warm", "plain", "traced"):
            (root / name).mkdir()

        # Warm up: the stores' tables, imports and first-call caches.
        warm = experiment.create_task()
        list(warm.execute(warm.product(fold=[0, 1])))
        run_plain_loop(root / "warm", 5)

        # Time ivory's task and the plain loop, counting their MLflow calls.
        ivory_calls: collections.Counter[str] = collections.Counter()
        with counting(ivory_calls):
            timed = run_ivory_task(experiment, runs, marks)
        plain_calls: collections.Counter[str] = collections.Counter()
        with counting(plain_calls):
            plain = run_plain_loop(root / "plain", runs, marks)

        # Trace the memory of a second task, and of the plain loop; then of a task whose runs
        # are all kept alive on purpose, to show what a leak of the members would look like.
        ivory_memory = traced(lambda probe: run_ivory_task(experiment, runs, marks, probe))
        plain_memory = traced(lambda probe: run_plain_loop(root / "traced", runs, marks, probe))
        kept: list[Any] = []
        control = (first, first + CONTROL_RUNS)
        leaky = traced(lambda probe: run_ivory_task(experiment, control[1], control, probe, kept))
        kept.clear()

    report(runs, marks, timed, plain, ivory_calls, plain_calls, ivory_memory, plain_memory, leaky)


def report(
    runs: int,
    marks: tuple[int, int],
    timed: dict[str, Any],
    plain: dict[str, Any],
    ivory_calls: collections.Counter[str],
    plain_calls: collections.Counter[str],
    ivory_memory: dict[int, tuple[float, ...]],
    plain_memory: dict[int, tuple[float, ...]],
    leaky: dict[int, tuple[float, ...]],
) -> None:
    first, last = marks
    print(f"{runs} runs per task; ridge regression on diabetes (442 samples), SQLite store")
    print()
    print(f"{'time':28}{'median ms/run':>15}{'mean ms/run':>14}{'total s':>10}")
    for label, durations in (
        ("ivory Task", timed["durations"]),
        ("plain loop", plain["durations"]),
    ):
        print(
            f"{label:28}{statistics.median(durations) * 1e3:15.1f}"
            f"{statistics.fmean(durations) * 1e3:14.1f}{sum(durations):10.2f}"
        )
    ratio = statistics.median(timed["durations"]) / statistics.median(plain["durations"])
    print(f"{'ratio ivory / plain (median)':28}{ratio:15.2f}")
    print()
    print(f"{'median ms/run':28}{f'runs 1-{first}':>15}{f'runs {last - first + 1}-{last}':>14}")
    for label, durations in (
        ("ivory Task", timed["durations"]),
        ("plain loop", plain["durations"]),
    ):
        early, late = durations[:first], durations[-first:]
        print(
            f"{label:28}{statistics.median(early) * 1e3:15.1f}{statistics.median(late) * 1e3:14.1f}"
        )
    print()
    print("MLflow client calls per run (ivory | plain):")
    for name in sorted(set(ivory_calls) | set(plain_calls)):
        print(f"  {name:26}{ivory_calls[name] / runs:6.2f} | {plain_calls[name] / runs:6.2f}")
    print()
    print(f"{'memory (MB)':36}{f'after {first}':>10}{f'after {last}':>10}{'change':>9}")
    rows = [
        ("ivory: peak traced, this window", ivory_memory, 0),
        ("ivory: retained", ivory_memory, 1),
        ("ivory: retained, MLflow cache out", ivory_memory, 2),
        ("plain: peak traced, this window", plain_memory, 0),
        ("plain: retained", plain_memory, 1),
        ("plain: retained, MLflow cache out", plain_memory, 2),
    ]
    for label, memory, index in rows:
        a, b = memory[first][index], memory[last][index]
        print(f"{label:36}{a:10.2f}{b:10.2f}{(b - a) / a * 100:8.1f}%")
    for label, side, index in (
        ("ivory: resident set size", timed, 0),
        ("ivory: peak resident set size", timed, 1),
        ("plain: resident set size", plain, 0),
    ):
        a, b = side["measured"][first][index], side["measured"][last][index]
        print(f"{label:36}{a:10.1f}{b:10.1f}{(b - a) / a * 100:8.1f}%")
    print()
    print("retained growth per run (KB; MLflow cache out):")
    (c_first, c_last) = sorted(leaky)
    rows_growth = (
        (f"ivory Task, runs {first + 1}-{last}", ivory_memory, first, last),
        (f"plain loop, runs {first + 1}-{last}", plain_memory, first, last),
        (f"control: runs kept, {c_first + 1}-{c_last}", leaky, c_first, c_last),
    )
    for label, memory, a, b in rows_growth:
        growth = (memory[b][2] - memory[a][2]) * 1024 / (b - a)
        print(f"  {label:34}{growth:8.2f}")
    peak_first, peak_last = timed["measured"][first][1], timed["measured"][last][1]
    flat = peak_last <= peak_first * 1.10
    print()
    print(
        f"ivory's peak RSS after {last} runs within 10% of after {first}: "
        f"{'yes' if flat else 'NO'} ({(peak_last - peak_first) / peak_first * 100:+.1f}%)"
    )
    sys.exit(0 if flat else 1)


if __name__ == "__main__":
    main()
