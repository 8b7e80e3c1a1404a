"""``sklearn-digits``: the 1,797 8x8 handwritten digits that ship inside scikit-learn (offline)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from specanim import hookimpl
from specanim.components import Data, Dataset, Options

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
        from sklearn.datasets import load_digits  # a 1.3 s import: only when used

        digits = load_digits()
        n = take(len(digits.target), self.options.limit)
        ink = digits.images[:n] / _INK_MAX
        # Targets index target_names; naming all ten classes keeps the colours when a limit
        # drops a digit.
        return Data(
            features=ink.reshape(n, -1).astype(np.float32),
            labels=digits.target[:n].astype(np.int64),
            classes=tuple(str(name) for name in digits.target_names),
            images=np.rint(ink * 255).astype(np.uint8),
        )


@hookimpl
def register_datasets(register: Callable[[type[Dataset]], None]) -> None:
    """Register the sklearn-digits dataset."""
    register(SklearnDigits)
