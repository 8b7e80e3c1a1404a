"""Helpers for the reducer and trajectory-cache tests: small real data, progress recording."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field
from sklearn.datasets import load_digits

from specanim.sdk import Data, Options, Progress, Reducer, Step, Trajectory


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


class RampOptions(Options):
    """A made-up optimisation of a given length."""

    steps: int = Field(3, ge=1, description="snapshots, one per epoch")
    scale: float = Field(1.0, gt=0, description="how large the layout is")


class Ramp(Reducer[RampOptions]):
    """Points that grow from a line into a square, one epoch a snapshot."""

    name = "ramp"
    cacheable = False

    @classmethod
    def frame_values(cls, options: RampOptions) -> Mapping[str, str]:
        return {"size": "the layout's scale at this snapshot"}

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        n, k = len(data), self.options.steps
        base = np.random.default_rng(1).uniform(-1, 1, (n, 2)).astype(np.float32)
        grow = np.linspace(0.1, 1, k, dtype=np.float32) if k > 1 else np.ones(1, np.float32)
        snapshots = np.stack([base * [1, g] * self.options.scale for g in grow])
        steps = tuple(Step(s, s, "", {"size": float(grow[s])}) for s in range(k))
        return Trajectory(snapshots.astype(np.float32), steps, k - 1)
