"""Helpers for the reducer and trajectory-cache tests: small real data, progress recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_digits

from specanim.components import Data, Reducer


def digits(n: int = 300) -> Data:
    """The first n of scikit-learn's real 8x8 digits (features 0..16), labelled "0".."9"."""
    d = load_digits()
    return Data(
        features=d.data[:n].astype(np.float32),
        labels=d.target[:n].astype(np.int64),
        classes=tuple(str(c) for c in d.target_names),
    )


def make(cls: type[Reducer], base_dir: Path = Path("."), **options: Any) -> Reducer:
    """A reducer of class cls with options validated by its own Options model."""
    return cls(cls.Options.model_validate(options), base_dir)


class Calls(list[tuple[int, int]]):
    """A progress callback that records every (done, total) it is given."""

    def __call__(self, done: int, total: int) -> None:
        self.append((done, total))
