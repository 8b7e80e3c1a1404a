"""What a user hands ``animate`` and ``from_snapshots`` (arrays, lists, pandas and polars
tables, series and categoricals) as the plain arrays an ``.npz`` file holds without pickling,
checked, with errors that name the argument and the column."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from specanim.errors import UserError

# The arrays of a scene's data archive, by role: the file dataset reads them by these names.
FEATURES, LABELS, CLASSES, IMAGES = "X", "labels", "classes", "images"


def label_arrays(values: Any, count: int, argument: str) -> dict[str, np.ndarray]:
    """count labels as arrays an .npz file holds without pickling: ``labels`` (numbers or text),
    or for a categorical (pandas, polars Enum) its integer codes and ``classes``, its categories
    in their order, as AnnData keeps them. argument names them in errors."""
    categorical = _categorical(values)
    if categorical is not None:
        codes, names = categorical
        arrays = {LABELS: codes, CLASSES: np.array(names, dtype=str)}
        empty = int((codes < 0).sum())
    else:
        labels = np.asarray(values)
        if labels.ndim != 1:
            raise UserError(f"{argument}: expected one label per point, got shape {labels.shape}")
        empty = int(_missing(labels).sum()) if labels.dtype.kind in "fO" else 0
        if labels.dtype.kind == "O" and not empty:
            # Python objects (a pandas column of dtype object: text, numbers or both) as the
            # array NumPy makes of them, text if they are of mixed types.
            labels = np.array(labels.tolist())
            if labels.dtype.kind not in "biufU":
                labels = labels.astype(str)
        arrays = {LABELS: labels}
    found = len(arrays[LABELS])
    if found != count:
        raise UserError(f"{argument}: {found} labels for {count} points")
    if empty:
        raise UserError(
            f"{argument}: {empty} of the {count} labels are empty (None or NaN): every point "
            "needs a label"
        )
    return arrays


def _categorical(values: Any) -> tuple[np.ndarray, list[str]] | None:
    """(int64 codes, -1 where missing; category names) of a pandas categorical or a polars Enum;
    None for anything else. The libraries are only looked at if the user imported them."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(getattr(values, "dtype", None), pandas.CategoricalDtype):
        table = pandas.Categorical(values)  # a Series or a Categorical, its categories kept
        return table.codes.astype(np.int64), [str(c) for c in table.categories]
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(values, polars.Series):
        if isinstance(values.dtype, polars.Enum):
            codes = values.to_physical().fill_null(-1).to_numpy().astype(np.int64)
            return codes, [str(c) for c in values.dtype.categories.to_list()]
    return None


def _missing(labels: np.ndarray) -> np.ndarray:
    """Where labels are empty (None, NaN, pandas' NA)."""
    import pandas as pd

    return np.asarray(pd.isna(labels))
