"""The scikit-learn estimator member: fits a model on the train part, predicts val and test."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, create_model

__all__ = ["Estimator"]


class Estimator:
    """Wraps a scikit-learn estimator; its keyword arguments are the model's parameters.

    Training is one pseudo-epoch (epoch 0): fit on train, predict train and val. Testing predicts
    the test part.

    Args:
        model: The estimator class (an import path such as
            ``sklearn.ensemble.RandomForestRegressor``, or the class).
        return_probability: Predict with ``predict_proba`` when the model has it.
        allow_pickle: Save the fitted model with pickle when the run is tracked (it has no safe
            format); loading it back then needs an explicit ``allow_pickle=True`` too.
        **kwargs: Parameters of the model.
    """

    def __init__(
        self,
        model: str | type,
        return_probability: bool = False,
        allow_pickle: bool = False,
        **kwargs: Any,
    ) -> None:
        self.model_class = _model_class(model)
        self.model_name = (
            model if isinstance(model, str) else f"{model.__module__}.{model.__qualname__}"
        )
        self.return_probability = return_probability
        self.allow_pickle = allow_pickle
        self.params = kwargs
        self.model = self.model_class(**kwargs)
        self.epoch = -1

    __ivory_schema_key__ = "model"
    """The key whose value picks the schema (one JSON Schema branch per model)."""

    @classmethod
    def __ivory_schema__(cls, kwargs: Mapping[str, Any]) -> type[BaseModel]:
        """The accepted keys: ``model``, ``return_probability`` and the model's own parameters.

        The model's parameters are typed by the constraints scikit-learn declares for them.
        """
        model = kwargs.get("model")
        if not isinstance(model, str | type):
            return _schema(None, None)
        try:
            return _schema(model, None)
        except Exception as exc:
            return _schema(None, str(exc))

    def start(self, run: Any) -> None:
        """Train or test, by the run's mode."""
        if run.mode == "train":
            self.train(run)
        else:
            self.test(run)

    def train(self, run: Any) -> None:
        """Fit on the train part and predict train and val, firing the run's events."""
        datasets = run.datasets
        self.epoch += 1
        run.on_fit_begin()
        try:
            run.on_epoch_begin()
            run.on_train_begin()
            index, input, target = datasets.train.get()
            self.model.fit(input, target)
            self._record(run, "train", index, input, target)
            run.on_train_end()
            run.on_val_begin()
            index, input, target = datasets.val.get()
            self._record(run, "val", index, input, target)
            run.on_val_end()
            run.on_epoch_end()
        finally:
            run.on_fit_end()

    def test(self, run: Any) -> None:
        """Predict the test part."""
        run.on_test_begin()
        index, input, target = run.datasets.test.get()
        self._record(run, "test", index, input, target)
        run.on_test_end()

    def predict(self, input: Any) -> Any:
        """The model's prediction (probabilities when asked and available)."""
        if self.return_probability and hasattr(self.model, "predict_proba"):
            return self.model.predict_proba(input)
        return self.model.predict(input)

    def _record(self, run: Any, mode: str, index: Any, input: Any, target: Any) -> None:
        results = run.get("results")
        if results is not None:
            results.step(mode, index, self.predict(input), target)

    def state_dict(self) -> dict[str, Any]:
        """The fitted model and the epoch."""
        return {"model": self.model, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved state."""
        self.model = state["model"]
        self.epoch = int(state["epoch"])

    def __repr__(self) -> str:
        return f"Estimator(model={self.model!r})"


def _model_class(model: str | type) -> type:
    if isinstance(model, type):
        return model
    from ivory.registry import registry

    found = registry.get(model)
    if not isinstance(found, type):
        raise TypeError(f"{model!r} is not a class")
    return found


@functools.lru_cache(maxsize=256)
def _schema(model: str | type | None, error: str | None) -> type[BaseModel]:
    from ivory.integrations.sklearn_schema import parameter_fields

    # An import path is typed from the cached description when scikit-learn is not imported yet.
    fields: dict[str, Any] = parameter_fields(model, _model_class) if model is not None else {}
    fields = {k: v for k, v in fields.items() if k not in ("model", "return_probability")}
    model_type: Any = str | type
    if error is not None:
        # The model cannot be found: say so on its field, and judge no other key.
        model_type = Annotated[str, AfterValidator(functools.partial(_refuse, error))]
    return create_model(
        "Estimator",
        __config__=ConfigDict(extra="allow" if error else "forbid", arbitrary_types_allowed=True),
        model=(model_type, ...),
        return_probability=(bool, False),
        allow_pickle=(bool, False),
        **fields,
    )


def _refuse(error: str, value: Any) -> Any:
    raise ValueError(error)
