"""Benchmark: creating a run's parameters and members, ivory against Hydra and OmegaConf.

One experiment of about forty leaves (six members: data, model, optimizer, scheduler, trainer,
monitor) and the same three overrides, measured in one run:

- ivory ``create_params`` (copy, override, interpolate, validate every node);
- Hydra ``compose`` with the same overrides (read, merge, override);
- ivory building the six members from validated parameters, against ``hydra.utils.instantiate``
  of the same members from the composed config;
- ivory ``create_run`` without tracking (``create_params`` plus building);
- OmegaConf deep copy plus three ``OmegaConf.update`` calls;
- a plain ``copy.deepcopy`` of the dict plus three assignments: the floor.

Hydra pins an older omegaconf than ivory, so it runs in its own virtual environment, made on
first use (``IVORY_BENCH_HYDRA_VENV``, default ``/tmp/ivory-bench/hydra-venv``), in a child
process that prints its medians as JSON. Run: ``.venv/bin/python bench/params.py``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("IVORY_BENCH_HYDRA_VENV", "/tmp/ivory-bench/hydra-venv"))

IVORY_YAML = """
seed: 42
name: demo
data: {class: data, path: data/train.csv, batch_size: 32, shuffle: true, num_workers: 4,
       seed: 0, split: 0.2}
model: {class: mlp, hidden_sizes: [128, 64, 32], in_features: 16, out_features: 1,
        dropout: 0.1, activation: relu, batch_norm: true}
optimizer: {class: sgd, params: $.model.parameters(), lr: 0.01, momentum: 0.9,
            weight_decay: 1.0e-4, nesterov: true}
scheduler: {class: step_lr, optimizer: $, step_size: 10, gamma: 0.5}
trainer: {class: trainer, max_epochs: 20, grad_clip: 1.0, log_every: 10, precision: 32,
          output_dir: runs, patience: 5}
monitor: {class: monitor, metric: val_loss, mode: min, min_delta: 0.0}
"""

# The same experiment as Hydra users write it: the references become instantiate arguments.
HYDRA_YAML = (
    IVORY_YAML.replace("class: data", "_target_: members.Data")
    .replace("class: mlp", "_target_: members.MLP")
    .replace("class: sgd, params: $.model.parameters()", "_target_: members.SGD")
    .replace("class: step_lr, optimizer: $", "_target_: members.StepLR")
    .replace("class: trainer", "_target_: members.Trainer")
    .replace("class: monitor", "_target_: members.Monitor")
)

OVERRIDES = {
    "optimizer.lr": "0.001",
    "model.hidden_sizes": "[256,128]",
    "trainer.max_epochs": "50",
}


def median_us(function: Callable[[], object], repeat: int, warmup: int = 10) -> float:
    """The median wall time of one call, in microseconds."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        function()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def count_leaves(node: Any) -> int:
    if isinstance(node, dict):
        return sum(count_leaves(value) for value in node.values())
    if isinstance(node, list):
        return sum(count_leaves(item) for item in node)
    return 1


# Ivory and OmegaConf, in this process.


def measure_ivory(repeat: int) -> dict[str, float]:
    """Medians of ivory's create_params, building, create_run, and the OmegaConf/dict floors."""
    sys.path.insert(0, str(HERE))
    import members
    from omegaconf import OmegaConf

    import ivory
    from ivory.config.values import Text
    from ivory.core.build import build_members
    from ivory.registry import Registry

    registry = Registry()
    constructors = {
        "data": members.Data,
        "mlp": members.MLP,
        "sgd": members.SGD,
        "step_lr": members.StepLR,
        "trainer": members.Trainer,
        "monitor": members.Monitor,
    }
    for name, constructor in constructors.items():
        registry.register(name, constructor)
    experiment = ivory.Experiment.from_text(IVORY_YAML, name="bench", registry=registry)
    texts = {name: Text(value) for name, value in OVERRIDES.items()}

    # Check that every side does the same work.
    params, update = experiment.create_params(texts)
    assert update == {
        "optimizer.lr": 0.001,
        "model.hidden_sizes": [256, 128],
        "trainer.max_epochs": 50,
    }
    run = experiment.create_run(texts)
    assert run.scheduler.optimizer is run.optimizer
    assert run.optimizer.params == [16, 256, 128, 1]
    tree = experiment.params.to_dict()["run"]
    values = {"optimizer.lr": 0.001, "model.hidden_sizes": [256, 128], "trainer.max_epochs": 50}

    def dict_copy() -> None:
        copied = copy.deepcopy(tree)
        for name, value in values.items():
            section, key = name.split(".")
            copied[section][key] = value

    config = OmegaConf.create(tree)

    def omegaconf_copy() -> None:
        copied = copy.deepcopy(config)
        for name, value in values.items():
            OmegaConf.update(copied, name, value)

    return {
        "leaves": count_leaves(tree),
        "ivory_create_params": median_us(lambda: experiment.create_params(texts), repeat),
        "ivory_build": median_us(lambda: build_members(params["run"], registry), repeat),
        "ivory_create_run": median_us(lambda: experiment.create_run(texts), repeat),
        "omegaconf_copy_update": median_us(omegaconf_copy, repeat),
        "dict_deepcopy": median_us(dict_copy, repeat),
    }


# Hydra, in its own virtual environment.


def ensure_hydra() -> Path:
    """The Python of a virtual environment with hydra-core, made when missing."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"making {VENV} with hydra-core (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "hydra-core"], check=True)
    return python


def measure_hydra(repeat: int) -> dict[str, Any]:
    python = ensure_hydra()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "bench.yaml").write_text(textwrap.dedent(HYDRA_YAML), encoding="utf-8")
        result = subprocess.run(
            [str(python), __file__, "--hydra-child", folder, "--repeat", str(repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
    measured: dict[str, Any] = json.loads(result.stdout)
    return measured


def hydra_child(folder: str, repeat: int) -> None:
    """Run inside the Hydra environment: print the medians of compose and instantiate."""
    sys.path.insert(0, str(HERE))
    import hydra
    import omegaconf
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    overrides = [f"{name}={value}" for name, value in OVERRIDES.items()]
    with initialize_config_dir(config_dir=folder, version_base=None):
        config = compose("bench", overrides=overrides)
        assert config.optimizer.lr == 0.001
        assert list(config.model.hidden_sizes) == [256, 128]

        def build() -> None:
            model = instantiate(config.model)
            optimizer = instantiate(config.optimizer, params=model.parameters())
            instantiate(config.scheduler, optimizer=optimizer)
            instantiate(config.data)
            instantiate(config.trainer)
            instantiate(config.monitor)

        results = {
            "hydra_version": hydra.__version__,
            "omegaconf_version": omegaconf.__version__,
            "hydra_compose": median_us(
                lambda: compose("bench", overrides=overrides), max(repeat // 5, 20), warmup=3
            ),
            "hydra_instantiate": median_us(build, repeat),
        }
    print(json.dumps(results))


def report(ivory: dict[str, float], hydra: dict[str, Any]) -> None:
    base = ivory["ivory_create_params"]
    rows = [
        ("ivory create_params (3 overrides)", base),
        ("Hydra compose (3 overrides)", hydra["hydra_compose"]),
        ("OmegaConf deepcopy + 3 updates", ivory["omegaconf_copy_update"]),
        ("dict deepcopy + 3 sets (floor)", ivory["dict_deepcopy"]),
        ("ivory build 6 members", ivory["ivory_build"]),
        ("hydra.utils.instantiate 6 members", hydra["hydra_instantiate"]),
        ("ivory create_run, 6 members, no tracking", ivory["ivory_create_run"]),
    ]
    print(
        f"experiment: {ivory['leaves']} leaves, 6 members; overrides: "
        + " ".join(f"{k}={v}" for k, v in OVERRIDES.items())
    )
    print(f"Hydra {hydra['hydra_version']} (omegaconf {hydra['omegaconf_version']})")
    print(f"{'':44} {'median':>12} {'vs create_params':>17}")
    for label, value in rows:
        print(f"{label:44} {value:>9.1f} us {value / base:>16.2f}x")
    print()
    compose = hydra["hydra_compose"] / base
    build = hydra["hydra_instantiate"] / ivory["ivory_build"]
    run_ms = ivory["ivory_create_run"] / 1000
    print(f"Hydra compose / ivory create_params: {compose:.1f}x (target >= 20x)")
    print(f"hydra.utils.instantiate / ivory build: {build:.2f}x")
    print(f"ivory create_run median: {run_ms:.3f} ms (target < 3 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500, help="timed calls per measurement")
    parser.add_argument("--hydra-child", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hydra_child:
        hydra_child(args.hydra_child, args.repeat)
        return
    hydra = measure_hydra(args.repeat)
    ivory = measure_ivory(args.repeat)
    report(ivory, hydra)


if __name__ == "__main__":
    main()
