"""``ivory optimize NAME [SUGGEST] [k=DIST ...]``: tune hyperparameters with an Optuna study.

SUGGEST names a suggest of the file's ``study.objective``; ``k=DIST`` items add distributions
(``max_depth=int(2,16)``, ``lr=float(1e-5,1e-2,log)``, ``max_features=choice(sqrt,log2)``) to it,
or make a space of their own without SUGGEST; any other ``k=v`` is a fixed update of every trial.
A progress bar shows the trials and the best value so far; a table of the best trials ends it.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ivory.cli.common import EXIT_FAILURE, command, echo, parse_overrides, require_driver
from ivory.errors import ConfigError, ConfigIssue, IvoryError

if TYPE_CHECKING:
    import optuna
    from rich.progress import Progress, TaskID

    from ivory.core.study import Study

__all__ = ["optimize"]

TOP = 5
"""How many of the best trials the final table shows."""


@command
def optimize(
    name: Annotated[str, typer.Argument(help="The experiment: configs/NAME.yaml or NAME.yaml.")],
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="SUGGEST (a suggest of study.objective), then NAME=DIST search spaces such as "
            "max_depth=int(2,16) and NAME=VALUE fixed updates.",
            metavar="[SUGGEST] [NAME=DIST|NAME=VALUE]...",
        ),
    ] = None,
    n_trials: Annotated[
        int | None, typer.Option("--n-trials", help="Trials to run in this process.", min=0)
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds after which no trial starts.")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="The study database (sqlite:///optuna.db by default; postgresql://... to share "
            "a study between workers).",
        ),
    ] = None,
    number: Annotated[
        int | None,
        typer.Option("--number", "-n", help="Resume or join study#N instead of starting one."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The working directory.")
    ] = Path("."),
    tracking: Annotated[
        bool, typer.Option(help="Track the study and its trials in MLflow.")
    ] = True,
) -> None:
    """Tune experiment NAME: run trials of a search space, each a nested run."""
    import ivory

    # Read the command line: a suggest name first, then NAME=... items.
    suggest, items = _split(args or [])
    updates = parse_overrides(items)
    if n_trials is None and timeout is None:
        n_trials = 10

    # Create the study; every space and update is checked before anything is stored.
    client = ivory.create_client(directory, tracker=tracking)
    require_driver(client.create_experiment(name))
    study = client.create_study(name, suggest, run_number=number, **updates)
    if storage:
        study.tuner.storage = storage

    # Run the trials under a progress bar, shown from the first trial on: a study that cannot be
    # opened ends with its error alone.
    _quiet_optuna()
    advance = _Advance(study, n_trials)
    try:
        optimized = study.optimize(
            suggest, n_trials=n_trials, timeout=timeout, on_start=advance.start, callbacks=[advance]
        )
    except BaseException as exc:
        advance.stop()
        if not isinstance(exc, Exception) or isinstance(exc, IvoryError):
            raise  # Interrupts, and ivory's errors, end through handle_errors.
        if os.environ.get("IVORY_FULL_ERROR") == "1":
            raise

        # A trial raised: the study run ended FAILED with the error saved; say so in one line.
        typer.echo(f"error: {study.name or 'study'} FAILED: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    advance.stop()
    echo(summary(study, optimized))
    table = best_table(study, optimized)
    if table is not None:
        from rich.console import Console

        Console().print(table)


def _split(args: list[str]) -> tuple[str | None, list[str]]:
    if args and "=" not in args[0]:
        suggest, items = args[0], args[1:]
    else:
        suggest, items = None, list(args)
    stray = [item for item in items if "=" not in item]
    if stray:
        raise ConfigError(
            [
                ConfigIssue(
                    item,
                    "expected NAME=DIST or NAME=VALUE (only the first item may name a suggest)",
                    item,
                )
                for item in stray
            ]
        )
    return suggest, items


def _quiet_optuna() -> None:
    """Optuna's own line per trial would break the progress bar; the table says it all.

    Its warning for a failed trial (with the traceback) is left out too: the command ends with
    the error in one line, and the trial's run keeps the traceback (``error.txt``).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)


def _progress() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[best]}"),
        console=Console(stderr=True),
        transient=False,
    )


class _Advance:
    """Starts the bar once the study is open, moves it after each trial, shows the best value."""

    def __init__(self, study: Study, total: int | None) -> None:
        self.study = study
        self.total = total
        self.progress = _progress()
        self.bar: TaskID | None = None

    def start(self, optimized: optuna.Study) -> None:
        """Show the bar: the study is open and its first trial is about to run."""
        self.bar = self.progress.add_task(optimized.study_name, total=self.total, best="")
        self.progress.start()

    def stop(self) -> None:
        """End the bar, if it was shown (rich ends even a bar never shown with a blank line)."""
        if self.bar is not None:
            self.progress.stop()

    def __call__(self, optimized: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.bar is None:
            return
        best = ""
        with contextlib.suppress(ValueError):  # No trial completed yet.
            best = f"best {self.study.metric}={_number(optimized.best_value)}"
        self.progress.update(
            self.bar, advance=1, description=optimized.study_name, best=best, refresh=True
        )


def summary(study: Study, optimized: optuna.Study) -> str:
    """``<study name>: N trials (C complete, P pruned, F failed), best metric=v at trial k``."""
    from optuna.trial import TrialState

    trials = optimized.get_trials(deepcopy=False)
    counts = {
        state: sum(t.state == state for t in trials)
        for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    text = (
        f"{optimized.study_name}: {len(trials)} trials ({counts[TrialState.COMPLETE]} complete, "
        f"{counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAIL]} failed)"
    )
    if counts[TrialState.COMPLETE]:
        best = optimized.best_trial
        text += f", best {study.metric}={_number(best.values[0])} at trial {best.number}"
    return text


def best_table(study: Study, optimized: optuna.Study, top: int = TOP) -> Any:
    """A rich table of the `top` complete trials, best first; None when none completed."""
    from optuna.trial import TrialState
    from rich.table import Table

    complete = optimized.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    reverse = study.direction == "maximize"
    ranked = sorted(complete, key=lambda t: t.values[0], reverse=reverse)[:top]
    names = list(dict.fromkeys(name for trial in ranked for name in trial.params))
    table = Table(title=f"best trials of {optimized.study_name}")
    table.add_column("trial", justify="right")
    table.add_column(study.metric, justify="right")
    for name in names:
        table.add_column(name)
    table.add_column("run")
    for trial in ranked:
        params = study.decode(trial.params)
        cells = [_cell(params[name]) if name in params else "" for name in names]
        table.add_row(str(trial.number), _number(trial.values[0]), *cells, _run_name(study, trial))
    return table


def _run_name(study: Study, trial: optuna.trial.FrozenTrial) -> str:
    from ivory.tuning.tuner import RUN_ID

    run_id = trial.user_attrs.get(RUN_ID)
    if not run_id or study.tracker is None:
        return ""
    try:
        return str(study.tracker.get_run(run_id).info.run_name)
    except Exception:
        return str(run_id)[:8]


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _cell(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)
