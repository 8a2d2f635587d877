"""Worker processes on one study: a shared PostgreSQL storage, and a worker killed mid-trial.

The PostgreSQL test needs a server: ``.ci/run`` starts one and exports
``IVORY_TEST_POSTGRES_URL`` (``export IVORY_TEST_POSTGRES_URL="$(.ci/postgres)"`` does it by
hand); without that variable the test is skipped, saying so.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

import ivory
from ivory.errors import ConfigError
from tests.conftest import write
from tests.tuning.conftest import mlflow_client, runs_of, snapshot, study_names

POSTGRES = os.environ.get("IVORY_TEST_POSTGRES_URL", "")


def worker(directory: Path, *args: str) -> subprocess.Popen[str]:
    """``ivory optimize toy xy ...`` in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "ivory", "optimize", "toy", "xy", *args],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> str:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    return out


@pytest.fixture
def postgres() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    if not POSTGRES:
        pytest.skip("IVORY_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server)")
    import psycopg

    name = f"ivory_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_three_workers_share_one_postgres_study(toy: Path, postgres: str) -> None:
    # Three workers start at once on study#0, which none of them has made yet.
    workers = [worker(toy, "-n", "0", "--n-trials", "4", "--storage", postgres) for _ in range(3)]
    try:
        outputs = [finish(process) for process in workers]
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert all("toy.xy.study#0" in out for out in outputs)

    # Every trial counted once, none lost: 12 complete trials numbered 0 to 11.
    storage = optuna.storages.RDBStorage(postgres)
    try:
        study = optuna.load_study(study_name="toy.xy.study#0", storage=storage)
        trials = study.get_trials()
        attrs = study.user_attrs
    finally:
        storage.engine.dispose()  # Its connections must not outlive the database.
    assert sorted(t.number for t in trials) == list(range(12))
    assert {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}

    # One study run; each trial its own nested run, linked both ways.
    runs = runs_of(toy, "toy")
    studies = [name for name in runs if name.startswith("study#")]
    assert studies == ["study#0"]
    study_id = runs["study#0"].info.run_id
    assert attrs["run_id"] == study_id
    nested = {run.info.run_id: run for name, run in runs.items() if name.startswith("run#")}
    assert len(nested) == 12
    assert sorted(t.user_attrs["run_id"] for t in trials) == sorted(nested)
    for trial in trials:
        run = nested[trial.user_attrs["run_id"]]
        assert run.data.tags["trial_number"] == str(trial.number)
        assert run.data.tags["mlflow.parentRunId"] == study_id
        assert run.info.status == "FINISHED"
    assert runs["study#0"].info.status == "FINISHED"
    assert runs["study#0"].data.metrics["n_complete"] == 12


def test_resuming_in_a_server_storage_without_the_study_masks_its_password(
    toy: Path, postgres: str
) -> None:
    client = ivory.create_client(toy)
    client.create_study("toy").optimize(n_trials=1)
    before = snapshot(toy, "toy")

    # The server trusts loopback connections: the password is only there to be masked.
    url = postgres.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")
    study = client.create_study("toy", run_number=0)
    study.tuner.storage = url
    shown = url.replace(":s3cret@", ":***@")
    message = (
        f"run_number: study#0 has no Optuna study named 'toy.xy.study#0' in {shown} (study#0 is "
        f"in sqlite:///{toy.resolve() / 'optuna.db'}); resume it with that storage (--storage), "
        "or leave out the number to start a new study"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        study.optimize(n_trials=1)
    assert study_names(postgres) == []
    assert snapshot(toy, "toy") == before


def test_a_killed_workers_trial_is_failed_retried_and_its_run_ended(toy: Path) -> None:
    write(toy, "client.yaml", "tuner: {heartbeat_interval: 1, grace_period: 2}\n")
    url = f"sqlite:///{toy / 'optuna.db'}"

    # A worker whose trial takes a minute; kill it once its trial runs with a linked run.
    doomed = worker(toy, "--n-trials", "1", "delay=60")
    running = None
    deadline = time.monotonic() + 60
    while running is None and time.monotonic() < deadline:
        if doomed.poll() is not None:
            pytest.fail(doomed.communicate()[1])
        time.sleep(0.2)
        try:
            stored = optuna.load_study(study_name="toy.xy.study#0", storage=url)
        except KeyError:
            continue
        running = next(
            (
                t
                for t in stored.get_trials()
                if t.state.name == "RUNNING" and "run_id" in t.user_attrs
            ),
            None,
        )
    assert running is not None
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate()
    killed_run = running.user_attrs["run_id"]
    assert mlflow_client(toy).get_run(killed_run).info.status == "RUNNING"

    # Once its heartbeat is stale, the next worker fails the trial, ends its run and retries it.
    time.sleep(2.5)
    finish(worker(toy, "-n", "0", "--n-trials", "2"))
    trials = optuna.load_study(study_name="toy.xy.study#0", storage=url).get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    retried = trials[1]
    assert retried.params == trials[0].params
    assert retried.user_attrs["retry_of_trial"] == 0
    assert retried.user_attrs["run_id"] != killed_run

    client = mlflow_client(toy)
    dead = client.get_run(killed_run)
    assert dead.info.status == "FAILED"
    assert dead.data.tags["trial_state"] == "FAIL"
    assert (
        "stopped sending heartbeats"
        in Path(client.download_artifacts(killed_run, "error.txt", str(toy))).read_text()
    )
    again = client.get_run(retried.user_attrs["run_id"])
    assert again.info.status == "FINISHED"
    assert again.data.tags["retry_of_trial"] == "0"
    assert runs_of(toy, "toy")["study#0"].info.status == "FINISHED"
