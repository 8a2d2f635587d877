"""Data, datasets and k-fold splits.

`Data` holds every sample with a fold number: ``-1`` marks the held-out test part, ``0`` to
``n_splits - 1`` the k-fold parts. A `Dataset` is one mode's view (train, val or test) for a
given validation fold, and `Datasets` holds the three.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Data", "Dataset", "Datasets", "SklearnData", "kfold_split"]

Mode = Literal["train", "val", "test"]
TEST_FOLD = -1


def kfold_split(
    n_samples: int, n_splits: int = 5, test_size: float = 0.0, random_state: int | None = 0
) -> npt.NDArray[np.int8]:
    """Assign each sample a fold: ``-1`` for the test part, then ``0`` to ``n_splits - 1``.

    Args:
        n_samples: How many samples there are.
        n_splits: How many folds the non-test samples are split into (at least 2).
        test_size: The fraction of samples held out as the test part (0 for none).
        random_state: Seed of the shuffle; None for a fresh one each time.

    Returns:
        The fold of every sample.

    Example:
        >>> folds = kfold_split(10, n_splits=2, test_size=0.2)
        >>> sorted(folds.tolist())
        [-1, -1, 0, 0, 0, 0, 1, 1, 1, 1]
    """
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2 (got {n_splits})")
    if not 0.0 <= test_size < 1.0:
        raise ValueError(f"test_size must be in [0, 1) (got {test_size})")
    order = np.random.default_rng(random_state).permutation(n_samples)
    folds = np.empty(n_samples, dtype=np.int8)
    n_test = round(n_samples * test_size)
    folds[order[:n_test]] = TEST_FOLD
    rest = order[n_test:]
    folds[rest] = np.arange(len(rest)) % n_splits
    return folds


class Data:
    """Every sample of a data set, with its index, input, target and fold.

    Subclasses set ``index``, ``input``, ``target`` and ``fold`` in `init`.
    """

    def __init__(self) -> None:
        self.index: npt.NDArray[Any] = np.empty(0, dtype=np.int64)
        self.input: npt.NDArray[Any] = np.empty(0)
        self.target: npt.NDArray[Any] = np.empty(0)
        self.fold: npt.NDArray[np.int8] = np.empty(0, dtype=np.int8)
        self.init()

    def init(self) -> None:
        """Load the arrays (a hook for subclasses)."""

    def get_index(self, mode: Mode, fold: int) -> npt.NDArray[Any]:
        """The sample indices of `mode` when `fold` is the validation fold."""
        if mode == "train":
            selected = (self.fold != fold) & (self.fold != TEST_FOLD)
        elif mode == "val":
            selected = self.fold == fold
        else:
            selected = self.fold == TEST_FOLD
        index: npt.NDArray[Any] = self.index[selected]
        return index

    def get(
        self, index: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
        """``(index, input, target)`` of the given sample indices."""
        return self.index[index], self.input[index], self.target[index]

    def __repr__(self) -> str:
        test = int((self.fold == TEST_FOLD).sum())
        return f"{type(self).__name__}(train_size={len(self.index) - test}, test_size={test})"


class SklearnData(Data):
    """One of scikit-learn's bundled data sets (no download), split into folds.

    Args:
        name: The data set: ``diabetes``, ``digits``, ``iris``, ``wine``, ``breast_cancer``.
        n_splits: How many k-fold parts the non-test samples are split into.
        test_size: The fraction of samples held out as the test part (fold -1).
        random_state: Seed of the split.
    """

    def __init__(
        self,
        name: Literal["diabetes", "digits", "iris", "wine", "breast_cancer"],
        n_splits: int = 5,
        test_size: float = 0.2,
        random_state: int = 0,
    ) -> None:
        self.name = name
        self.n_splits = n_splits
        self.test_size = test_size
        self.random_state = random_state
        super().__init__()

    def init(self) -> None:
        """Load the data set and assign folds."""
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{self.name}")()
        self.input = np.asarray(bunch.data, dtype=np.float64)
        self.target = np.asarray(bunch.target)
        self.index = np.arange(len(self.input))
        self.fold = kfold_split(len(self.input), self.n_splits, self.test_size, self.random_state)


class Dataset:
    """The samples of one mode for one validation fold.

    Args:
        data: The whole data set.
        mode: ``train``, ``val`` or ``test``.
        fold: The validation fold.
        transform: A function ``(mode, input, target) -> (input, target)`` applied on access.
    """

    def __init__(
        self,
        data: Data,
        mode: Mode,
        fold: int,
        transform: Callable[[str, Any, Any], tuple[Any, Any]] | None = None,
    ) -> None:
        self.data = data
        self.mode = mode
        self.fold = TEST_FOLD if mode == "test" else fold
        self.transform = transform
        self.index = data.get_index(mode, fold)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: Any) -> tuple[Any, Any, Any]:
        index, input, target = self.data.get(self.index[key])
        if self.transform is not None:
            input, target = self.transform(self.mode, input, target)
        return index, input, target

    def __iter__(self) -> Iterator[tuple[Any, Any, Any]]:
        for i in range(len(self)):
            yield self[i]

    def get(self) -> tuple[Any, Any, Any]:
        """``(index, input, target)`` of every sample."""
        return self[np.arange(len(self))]

    def __repr__(self) -> str:
        return f"Dataset(mode={self.mode!r}, num_samples={len(self)})"


class Datasets:
    """The train, val and test datasets of one validation fold.

    Args:
        data: The whole data set.
        fold: The validation fold: 0 to ``n_splits - 1``, or -1 to validate on the test part.
        dataset: The factory that makes each `Dataset` (``def:`` in a parameter file).
    """

    def __init__(
        self,
        data: Data,
        fold: int = 0,
        dataset: Callable[..., Dataset] = Dataset,
    ) -> None:
        problem = _fold_problem(fold, *_folds(data))
        if problem is not None:
            from ivory.errors import BuildError

            raise BuildError(f"fold: {problem} (got {fold})")
        self.data = data
        self.fold = fold
        self.train = dataset(data=data, mode="train", fold=fold)
        self.val = dataset(data=data, mode="val", fold=fold)
        self.test = dataset(data=data, mode="test", fold=fold)

    @classmethod
    def __ivory_schema__(cls, kwargs: Mapping[str, Any]) -> Any:
        """The signature's fields, with `fold` held to the folds of `data` where they are known.

        They are known for data built already, and for a data node that gives ``n_splits``
        (``data: {class: ivory.data.SklearnData, name: diabetes, n_splits: 5}``), so that
        ``fold=9`` is refused before anything is built. Otherwise the constructor checks.
        """
        return _datasets_schema(*_folds(kwargs.get("data")))

    def __getitem__(self, mode: str) -> Dataset:
        if mode not in ("train", "val", "test"):
            raise KeyError(mode)
        dataset: Dataset = getattr(self, mode)
        return dataset

    def __repr__(self) -> str:
        sizes = f"train={len(self.train)}, val={len(self.val)}, test={len(self.test)}"
        return f"Datasets(fold={self.fold}, {sizes})"


def _folds(data: Any) -> tuple[int | None, bool]:
    """``(n_splits, whether there is a test part)`` of built data or of a data node.

    `n_splits` is None when it cannot be known before the data is built.
    """
    if isinstance(data, Data):
        built = int(data.fold.max()) + 1 if len(data.fold) else 0
        return max(built, 1), bool((data.fold == TEST_FOLD).any())
    if not isinstance(data, Mapping) or not any(key in data for key in ("class", "call")):
        return None, True
    given, test_size = data.get("n_splits"), data.get("test_size")
    if not isinstance(given, int) or isinstance(given, bool) or given < 1:
        return None, True
    return given, not (isinstance(test_size, int | float) and test_size == 0)


def _fold_problem(fold: int, n_splits: int | None, test_part: bool) -> str | None:
    """What is wrong with `fold` for data of `n_splits` folds, or None."""
    lowest = TEST_FOLD if test_part else 0
    if n_splits is None or lowest <= fold < n_splits:
        return None
    test = ", -1 being the test part" if test_part else " (it has no test part)"
    return f"must be in {lowest}..{n_splits - 1} for data with n_splits: {n_splits}{test}"


@functools.lru_cache(maxsize=64)
def _datasets_schema(n_splits: int | None, test_part: bool) -> Any:
    import pydantic

    from ivory.config.schema import signature_model

    base = signature_model(Datasets)
    if base is None or n_splits is None:
        return base
    check = pydantic.AfterValidator(functools.partial(_checked_fold, n_splits, test_part))
    return pydantic.create_model("Datasets", __base__=base, fold=(Annotated[int, check], 0))


def _checked_fold(n_splits: int, test_part: bool, fold: int) -> int:
    problem = _fold_problem(fold, n_splits, test_part)
    if problem is not None:
        raise ValueError(problem)
    return fold
