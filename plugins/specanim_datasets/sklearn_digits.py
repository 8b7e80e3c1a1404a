"""``sklearn-digits``: the 1,797 8x8 handwritten digits that ship inside scikit-learn (offline)."""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from specanim.sdk import Data, Dataset, Options, hookimpl

from ._common import Limit, take

_INK_MAX = 16  # load_digits counts ink from 0 to 16 per pixel


class SklearnDigitsOptions(Options):
    """Options of the ``sklearn-digits`` dataset."""

    limit: Limit = None


class SklearnDigits(Dataset):
    """The 1,797 8x8 handwritten digits shipped with scikit-learn: no download needed."""

    name = "sklearn-digits"
    Options = SklearnDigitsOptions

    def load(self) -> Data:
        """The digits in scikit-learn's order, images scaled from 0..16 to 0..255."""
        images, targets = read_digits(shipped_file())
        n = take(len(targets), self.options.limit)
        ink = images[:n] / _INK_MAX
        # Targets index target_names; naming all ten classes keeps the colours when a limit
        # drops a digit.
        return Data(
            features=ink.reshape(n, -1).astype(np.float32),
            labels=targets[:n].astype(np.int64),
            classes=tuple(str(digit) for digit in range(10)),
            images=np.rint(ink * 255).astype(np.uint8),
        )


def shipped_file() -> Path | None:
    """The digits' file inside the installed scikit-learn (``sklearn/datasets/data/digits.csv.gz``),
    found without importing scikit-learn; None if it is not there."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def read_digits(path: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) of ink 0..16, digits (1797,)) as ``load_digits()`` gives them.

    Read from path, the CSV file ``load_digits`` reads (64 pixels and the digit per row), when
    there is one: importing scikit-learn is slow, reading the file is quick. Without
    it, from ``load_digits`` itself.
    """
    if path is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.images, digits.target
    with gzip.open(path, "rt", encoding="utf-8") as file:
        table = np.loadtxt(file, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)


@hookimpl
def register_datasets(register: Callable[[type[Dataset]], None]) -> None:
    """Register the sklearn-digits dataset."""
    register(SklearnDigits)
