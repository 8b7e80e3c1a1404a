"""``sklearn``: the small tables that ship inside scikit-learn (iris, wine, breast_cancer).

Offline, like ``sklearn-digits``: measurements as features, the target as labels named by the
target names, and every measurement also kept as a column to colour points by. Column names are
scikit-learn's feature names in snake case: ``petal length (cm)`` becomes ``petal_length_cm``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field

from specanim.sdk import Data, Dataset, InputError, Options, did_you_mean, hookimpl

from ._common import Limit, take

LOADERS = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer"}


class SklearnTableOptions(Options):
    """Options of the ``sklearn`` dataset."""

    name: Literal["iris", "wine", "breast_cancer"] = Field(
        description="iris (150 flowers, 4 measurements), wine (178 wines, 13), breast_cancer "
        "(569 tumours, 30)"
    )
    features: list[str] | None = Field(
        None, description="the measurements to embed, by column name (default: all of them)"
    )
    standardize: bool = Field(
        True,
        description="scale every feature to mean 0 and standard deviation 1, so that "
        "measurements in large units do not decide the layout alone",
    )
    limit: Limit = None


def snake_case(name: str) -> str:
    """'petal length (cm)' -> 'petal_length_cm'."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


class SklearnTable(Dataset[SklearnTableOptions]):
    """A small table shipped with scikit-learn: iris, wine or breast_cancer; no download."""

    name = "sklearn"

    def load(self) -> Data:
        """The rows in scikit-learn's order; every measurement is also a colour column."""
        import sklearn.datasets  # a slow import: only when used

        bunch = getattr(sklearn.datasets, LOADERS[self.options.name])()
        n = take(len(bunch.target), self.options.limit)
        names = [snake_case(str(f)) for f in bunch.feature_names]
        values = np.asarray(bunch.data[:n], np.float64)
        chosen = self.options.features or names
        for name in chosen:
            if name not in names:
                raise InputError(
                    f"{self.options.name} has no column '{name}'{did_you_mean(name, names)}: "
                    f"its columns are {', '.join(names)}",
                    key="features",
                )
        features = values[:, [names.index(c) for c in chosen]]
        if self.options.standardize:
            features = (features - features.mean(axis=0)) / features.std(axis=0)
        return Data(
            features=features.astype(np.float32),
            labels=bunch.target[:n].astype(np.int64),
            classes=tuple(str(t) for t in bunch.target_names),
            columns={name: values[:, j] for j, name in enumerate(names)},
        )


@hookimpl
def register_datasets(register: Callable[[type[Dataset[Any]]], None]) -> None:
    """Register the sklearn dataset."""
    register(SklearnTable)
