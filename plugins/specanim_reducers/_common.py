"""What the built-in reducers share: option types, library versions, input checks, snapshots."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from specanim.sdk import Data, InputError, OptionsT, Reducer, Step, Trajectory

RandomState = Annotated[
    int | None,
    Field(
        ge=0,
        description="Seed of the random number generator: the same seed gives the same frames. "
        "null: a new layout every run, never cached, and the render's manifest says that it "
        "cannot be reproduced.",
    ),
]


class Seeded(Reducer[OptionsT]):
    """A reducer whose options have a ``random_state``: null makes it unreproducible."""

    def __init__(self, options: OptionsT, base_dir: Path) -> None:
        super().__init__(options, base_dir)
        self.reproducible = getattr(options, "random_state", None) is not None


# Input metrics that umap-learn and openTSNE both accept on dense features without extra
# parameters, whether the neighbours are exact (openTSNE below 1,000 points uses scikit-learn's,
# which lacks "correlation") or approximate.
MetricName = Literal["euclidean", "manhattan", "chebyshev", "cosine", "braycurtis", "canberra"]
METRIC_DESCRIPTION = "How distances between input points are measured."
Metric = Annotated[MetricName, Field(description=METRIC_DESCRIPTION)]
# PaCMAP and TriMap share these: both pair points after an optional PCA to 100 dimensions.
SmallStart = Annotated[
    Literal["pca", "random"], Field(description="How the (small) starting layout is made.")
]
ApplyPca = Annotated[
    bool, Field(description="Reduce the features to 100 principal components before pairing.")
]


def optional_module(module: str, reducer: str, package: str | None = None) -> ModuleType:
    """Import module, which the reducer's optional extra installs; an InputError at the entry's
    ``type`` when it is missing (package: its distribution name, if not the module's)."""
    package = package or module
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        fix = f"pip install 'specanim[{reducer}]'"
        if isinstance(exc, ModuleNotFoundError) and exc.name == module:
            message = f"reducer '{reducer}' needs the optional package {package}: {fix}"
        else:  # installed, but something it imports is missing or broken
            message = f"reducer '{reducer}' cannot import {package} ({exc}); reinstall it: {fix}"
        raise InputError(message, key="type") from None


def require_points(data: Data, needed: int, key: str | None, why: str) -> None:
    """An InputError at key (None: the whole entry) unless data has at least needed points."""
    if len(data) < needed:
        raise InputError(f"{why} needs at least {needed} points; the data has {len(data)}", key=key)


def features(data: Data) -> np.ndarray:
    """The features as the C-contiguous float32 array every reducer library accepts."""
    return np.ascontiguousarray(data.features, dtype=np.float32)


def trajectory(snapshots: Sequence[np.ndarray], steps: Sequence[Step], total: int) -> Trajectory:
    """A trajectory of the snapshots, stacked into one float32 (S, n, 2) array."""
    stacked = np.empty((len(snapshots), *snapshots[0].shape), np.float32)
    for target, snapshot in zip(stacked, snapshots, strict=True):
        target[...] = snapshot  # one copy each, converted on the way: no float64 stack first
    return Trajectory(stacked, tuple(steps), total)
