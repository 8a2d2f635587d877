"""Benchmark: ``ivory validate`` over 100 parameter files, against JSON Schema validators.

A temporary project holds 100 generated files, alternating between the two bundled experiments
(a scikit-learn random forest with a study section, and a numpy network trained by ivory's
Trainer), each with its own values. Measured in one run, as CI would run them (a fresh process
each time, wall time, median of several runs):

- ``python -c pass`` and ``python -c "import ivory"``: the interpreter and the import of ivory;
- ``ivory validate configs/``: everything ivory checks (composition, names, signatures, the
  constraints scikit-learn declares, references, search spaces), with a cold cache (scikit-learn
  imported to describe its estimators, as on a fresh CI runner) and a warm one (described from
  the cache, scikit-learn not imported);
- the ``jsonschema`` library validating the same YAML trees against the generated
  ``experiment.schema.json`` (what an editor checks: types and names, no registry or signatures);
- ``check-jsonschema`` over the same files and schema, installed on first use in its own virtual
  environment (``IVORY_BENCH_CJS_VENV``, default ``/tmp/ivory-bench/cjs-venv``).

Also ``validate_files`` in-process, after a warm-up: the cost per file once imports are paid.
Target: ``ivory validate`` over 100 files in under 2 seconds. Run:
``.venv/bin/python bench/validate.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("IVORY_BENCH_CJS_VENV", "/tmp/ivory-bench/cjs-venv"))
MODELINE = "# yaml-language-server: $schema=../schemas/experiment.schema.json\n"

FOREST = """
library: sklearn
datasets:
  data: {{class: ivory.data.SklearnData, name: diabetes, n_splits: 5, test_size: 0.2}}
  fold: {fold}
estimator:
  model: sklearn.ensemble.RandomForestRegressor
  n_estimators: {n_estimators}
  max_depth: {max_depth}
  max_features: {max_features}
  random_state: {i}
results:
metrics: {{mse: , r2: sklearn.metrics.r2_score}}
monitor: {{metric: mse, mode: min}}
study:
  objective:
    forest:
      n_estimators: int(10, 300, step=10)
      max_depth: int(2, 16)
      max_features: choice(sqrt, log2, 1.0)
  tuner:
    sampler: {{class: optuna.samplers.TPESampler, seed: {i}}}
"""

NETWORK = """
datasets:
  data: {{class: ivory.data.SklearnData, name: digits, n_splits: 5, test_size: 0.2}}
  fold: {fold}
model:
  class: ivory.integrations.numpy.MLP
  n_features: 64
  n_classes: 10
  hidden_sizes: [{hidden}]
  lr: {lr}
  momentum: 0.9
  random_state: {i}
trainer: {{epochs: {epochs}, batch_size: 32}}
results:
metrics: {{accuracy: }}
monitor: {{metric: val_loss, mode: min}}
early_stopping: {{patience: 3}}
"""


def make_project(directory: Path, count: int) -> None:
    """Write `count` parameter files and the experiment schema into `directory`."""
    configs = directory / "configs"
    configs.mkdir(parents=True)
    for i in range(count):
        if i % 2 == 0:
            text = FOREST.format(
                i=i,
                fold=i % 5,
                n_estimators=10 + i,
                max_depth=2 + i % 10,
                max_features=("sqrt", "log2", 0.5)[i % 3],
            )
        else:
            text = NETWORK.format(
                i=i,
                fold=i % 5,
                hidden=", ".join(["32"] * (1 + i % 3)),
                lr=0.01 * (1 + i % 5),
                epochs=10 + i,
            )
        (configs / f"exp{i:03d}.yaml").write_text(MODELINE + textwrap.dedent(text).lstrip())
    ivory(directory, "schema")


def ivory(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivory", *args], cwd=directory, capture_output=True, text=True
    )


def wall(
    command: list[str], directory: Path, repeat: int, before: Callable[[], None] | None = None
) -> tuple[float, float, int]:
    """The median wall and CPU times of a command, in seconds, and its last exit code.

    The CPU time (user and system, of the child) moves less than the wall time when other
    processes share the machine.
    """
    times = []
    cpus = []
    code = 0
    for _ in range(repeat):
        if before is not None:
            before()
        used = _children_cpu()
        start = time.perf_counter()
        result = subprocess.run(command, cwd=directory, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - used)
        code = result.returncode
    return statistics.median(times), statistics.median(cpus), code


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


JSONSCHEMA_SCRIPT = """
import json, sys
from pathlib import Path
import jsonschema
from ruamel.yaml import YAML
yaml = YAML(typ="safe", pure=True)
schema = json.loads(Path("schemas/experiment.schema.json").read_text())
validator = jsonschema.Draft7Validator(schema)
bad = 0
for path in sorted(Path("configs").glob("*.yaml")):
    bad += any(True for _ in validator.iter_errors(yaml.load(path.read_text())))
sys.exit(1 if bad else 0)
"""


def check_jsonschema() -> Path | None:
    """The check-jsonschema command, installed on first use; None when it cannot be."""
    command = VENV / "bin" / "check-jsonschema"
    if command.exists():
        return command
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "check-jsonschema"],
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        print(f"check-jsonschema could not be installed ({exc}); left out", file=sys.stderr)
        return None
    return command


def in_process(directory: Path, repeat: int) -> float:
    """The median seconds of validate_files over the project, in this process after a warm-up."""
    code = textwrap.dedent(
        f"""
        import os, statistics, time
        os.chdir({str(directory)!r})
        import ivory
        from ivory.config.validate import find_files, validate_files
        ivory.create_client(".", tracker=False)
        files = find_files(["configs"])
        validate_files(files)
        times = []
        for _ in range({repeat}):
            start = time.perf_counter()
            reports = validate_files(files)
            times.append(time.perf_counter() - start)
        assert all(r.valid for r in reports)
        print(statistics.median(times))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(result.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder) / "project"
        cache = Path(folder) / "cache"
        os.environ["IVORY_CACHE_DIR"] = str(cache)
        make_project(directory, args.files)
        python = [sys.executable, "-c"]
        rows: list[tuple[str, float, float, int | None]] = []
        start, cpu, _ = wall([*python, "pass"], directory, args.repeat)
        rows.append(("python -c pass", start, cpu, None))
        imported, cpu, _ = wall([*python, "import ivory"], directory, args.repeat)
        rows.append(("python -c 'import ivory'", imported, cpu, None))
        command = [sys.executable, "-m", "ivory", "validate", "configs"]
        cold, cold_cpu, code = wall(
            command, directory, args.repeat, lambda: shutil.rmtree(cache, True)
        )
        rows.append((f"ivory validate, cold ({args.files} files)", cold, cold_cpu, code))
        validate, validate_cpu, code = wall(command, directory, args.repeat)
        rows.append((f"ivory validate, warm ({args.files} files)", validate, validate_cpu, code))
        library, cpu, library_code = wall([*python, JSONSCHEMA_SCRIPT], directory, args.repeat)
        rows.append((f"jsonschema library ({args.files} files)", library, cpu, library_code))
        checker = check_jsonschema()
        if checker is not None:
            files = sorted(str(p.relative_to(directory)) for p in directory.glob("configs/*"))
            cjs, cpu, cjs_code = wall(
                [str(checker), "--schemafile", "schemas/experiment.schema.json", *files],
                directory,
                args.repeat,
            )
            rows.append((f"check-jsonschema ({args.files} files)", cjs, cpu, cjs_code))
        warm = in_process(directory, args.repeat)

    load = os.getloadavg()[0]
    print(f"{args.files} files, median of {args.repeat} runs, load average {load:.1f}")
    print(f"{'command':<40} {'wall':>8} {'cpu':>8} {'wall vs warm':>13}  exit")
    for label, seconds, cpu, exit_code in rows:
        ratio = seconds / validate
        shown = "" if exit_code is None else str(exit_code)
        print(f"{label:<40} {seconds:>7.3f}s {cpu:>7.3f}s {ratio:>12.2f}x  {shown}")
    print(
        f"validate_files in-process, warm: {warm * 1000:.1f} ms for {args.files} files "
        f"({warm * 1000 / args.files:.2f} ms per file)"
    )
    for label, seconds, cpu in (("cold", cold, cold_cpu), ("warm", validate, validate_cpu)):
        verdict = "meets" if seconds < 2.0 else "misses"
        print(
            f"ivory validate over {args.files} files, {label}: {seconds:.2f}s wall, {cpu:.2f}s cpu "
            f"({verdict} the 2 s target)"
        )


if __name__ == "__main__":
    main()
