"""Constructors that the config tests name in their parameter files.

Every annotation here is a string (``from __future__ import annotations``), so validating against
these constructors also shows that string annotations are resolved.
"""

from __future__ import annotations

import enum
import math
import pathlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ivory.config.schema import CallableName
from ivory.registry import Registry

CALLS: list[str] = []
"""The constructors called, in order (cleared by the `registry` fixture)."""


class Activation(str, enum.Enum):
    RELU = "relu"
    GELU = "gelu"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Layer(BaseModel):
    units: int
    act: Activation = Activation.RELU


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"]
    bark: str = "woof"


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]


@dataclass
class Window:
    size: int = 3
    stride: int = 1


class OptimizerCfg(BaseModel):
    lr: float
    momentum: float = 0.0


class SchedulerCfg(BaseModel):
    step: int = 10
    gamma: float = 0.1


class CallbackCfg(BaseModel):
    every: int = 1
    mode: str = "min"


DEFAULT_LAYER = Layer(units=3)
DEFAULT_WINDOW = Window()
DEFAULT_SCHEDULER = SchedulerCfg(step=10)
DATA = pathlib.Path("data")


class Net:
    """Scalars, lists, Literal, Enum, a constrained float, a union and a reserved name."""

    def __init__(
        self,
        hidden_sizes: list[int],
        act: Activation = Activation.RELU,
        level: Level = Level.LOW,
        dropout: Annotated[float, Field(ge=0, le=1)] = 0.1,
        mode: Literal["fast", "slow"] = "fast",
        warmup: int | float = 1,
        copy: bool = True,
    ) -> None:
        CALLS.append("net")
        self.hidden_sizes = hidden_sizes
        self.act = act
        self.level = level
        self.dropout = dropout
        self.mode = mode
        self.warmup = warmup
        self.copy = copy


class Blocks:
    """Nested models: a dict of dicts of models, a list of models, a dataclass, a union."""

    def __init__(
        self,
        blocks: dict[str, dict[str, Layer]] | None = None,
        layers: list[Layer] | None = None,
        first: Layer = DEFAULT_LAYER,
        window: Window = DEFAULT_WINDOW,
        pet: Pet | None = None,
    ) -> None:
        CALLS.append("blocks")
        self.blocks = blocks
        self.layers = layers
        self.first = first
        self.window = window
        self.pet = pet


class Files:
    def __init__(
        self, root: pathlib.Path = DATA, out: pathlib.Path | None = None, name: str = ""
    ) -> None:
        CALLS.append("files")
        self.root = root
        self.out = out
        self.name = name


class Trainer:
    def __init__(
        self,
        optimizer: OptimizerCfg,
        scheduler: SchedulerCfg | None = DEFAULT_SCHEDULER,
        callbacks: list[CallbackCfg] | None = None,
        max_epochs: int = 10,
        output_dir: str = "runs",
    ) -> None:
        CALLS.append("trainer")
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.callbacks = callbacks
        self.max_epochs = max_epochs
        self.output_dir = output_dir


class Model:
    """A field that is required but may be null."""

    def __init__(self, checkpoint: str | None, size: int = 1) -> None:
        CALLS.append("model")
        self.checkpoint = checkpoint
        self.size = size


class Loose:
    """Takes any keyword."""

    def __init__(self, x: int = 0, **kwargs: Any) -> None:
        CALLS.append("loose")
        self.x = x
        self.kwargs = kwargs


class Node:
    """A member that may refer to others."""

    def __init__(self, teacher: Any = None, size: int = 1) -> None:
        CALLS.append("node")
        self.teacher = teacher
        self.size = size
        self.sizes = [size, 2 * size]

    def parameters(self) -> list[int]:
        return [self.size]


class Optimizer:
    def __init__(self, params: Any = None, lr: float = 0.1, momentum: float = 0.0) -> None:
        CALLS.append("optimizer")
        self.params = params
        self.lr = lr
        self.momentum = momentum


class Adam:
    def __init__(
        self, params: Any = None, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999)
    ) -> None:
        CALLS.append("adam")
        self.params = params
        self.lr = lr
        self.betas = betas


class Scheduler:
    def __init__(self, optimizer: Any, step: int = 1) -> None:
        CALLS.append("scheduler")
        self.optimizer = optimizer
        self.step = step


class Linear:
    def __init__(self, in_features: int, out_features: int = 1) -> None:
        CALLS.append("linear")
        self.in_features = in_features
        self.out_features = out_features


class Callback:
    def __init__(self, every: int = 1, mode: str = "min") -> None:
        CALLS.append("callback")
        self.every = every
        self.mode = mode


class Typed:
    """The schema of case B06: a bool, anything, a str, a list of ints and a union."""

    def __init__(
        self,
        use_amp: bool = False,
        tag: Any = None,
        note: str = "",
        hidden_sizes: list[int] | None = None,
        query: str = "",
        pattern: str = "",
        warmup: int | float = 1,
        maybe: str | None = "x",
    ) -> None:
        self.use_amp = use_amp
        self.tag = tag
        self.note = note
        self.hidden_sizes = hidden_sizes
        self.query = query
        self.pattern = pattern
        self.warmup = warmup
        self.maybe = maybe


class EarlyStop:
    def __init__(
        self, min_delta: float = 0.0, max_loss: float = math.inf, floor: float = -math.inf
    ) -> None:
        self.min_delta = min_delta
        self.max_loss = max_loss
        self.floor = floor


class Picky:
    """Refuses a negative size when called."""

    def __init__(self, size: int = 1) -> None:
        CALLS.append("picky")
        if size < 0:
            raise ValueError(f"size must be >= 0, not {size}")
        self.size = size


class Wrapper:
    """Names a class and functions by text, and imports them itself when called."""

    def __init__(
        self,
        model: Annotated[str, CallableName("class")],
        hooks: list[Annotated[str, CallableName()]] | None = None,
        loss: Annotated[str | None, CallableName(empty="math.fsum")] = "math.fsum",
    ) -> None:
        from ivory.registry import registry

        CALLS.append("wrapper")
        self.model = model
        self.hooks = [registry.get(hook) for hook in hooks or []]
        self.loss = registry.get(loss or "math.fsum")


def scale(x: float, factor: float = 2.0) -> float:
    return x * factor


CONSTRUCTORS: dict[str, Any] = {
    "net": Net,
    "blocks": Blocks,
    "files": Files,
    "trainer": Trainer,
    "model": Model,
    "loose": Loose,
    "node": Node,
    "optimizer": Optimizer,
    "adam": Adam,
    "scheduler": Scheduler,
    "linear": Linear,
    "callback": Callback,
    "typed": Typed,
    "early_stop": EarlyStop,
    "scale": scale,
    "picky": Picky,
    "wrapper": Wrapper,
}


def make_registry() -> Registry:
    """A fresh registry with every constructor of this module, and no defaults."""
    registry = Registry()
    for name, constructor in CONSTRUCTORS.items():
        registry.register(name, constructor)
    return registry
