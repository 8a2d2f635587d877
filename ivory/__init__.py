"""ivory: declarative, typed configuration of machine-learning experiments.

One YAML parameter file is one experiment. Its members are validated against their
constructors, built once each, started as a run, tracked in MLflow and tuned with Optuna.
Importing ivory loads none of MLflow, Optuna, scikit-learn or torch.
"""

from __future__ import annotations

from ivory.config.params import Params
from ivory.core.base import Base, Callback, CallbackCaller, Creator, Experiment
from ivory.core.client import Client, create_client
from ivory.core.run import Run
from ivory.core.study import Study
from ivory.core.task import Task
from ivory.errors import (
    BuildError,
    ConfigError,
    IvoryError,
    OverrideError,
    RegistryError,
    TrackingError,
    TuningError,
)
from ivory.registry import register, registry

__all__ = [
    "Base",
    "BuildError",
    "Callback",
    "CallbackCaller",
    "Client",
    "ConfigError",
    "Creator",
    "Experiment",
    "IvoryError",
    "OverrideError",
    "Params",
    "RegistryError",
    "Run",
    "Study",
    "Task",
    "TrackingError",
    "TuningError",
    "__version__",
    "create_client",
    "register",
    "registry",
]

__version__ = "0.1.0"
