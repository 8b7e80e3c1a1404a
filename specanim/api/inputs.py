"""What a user hands ``animate`` and ``from_snapshots`` (arrays, lists, pandas and polars
tables, series and categoricals) as the plain arrays an ``.npz`` file holds without pickling,
checked, with errors that name the argument and the column."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from specanim.errors import UserError, did_you_mean
from specanim.values import Step, Trajectory, bad_features

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


@dataclass(frozen=True)
class Points:
    """What ``animate`` embeds and draws, from an array or a table."""

    features: np.ndarray  # (n, d) float32, every value finite
    labels: Any  # as given, or the table's label column; None: no labels
    columns: dict[str, np.ndarray]  # (n,) float64 numbers to colour by, NaN where missing


def points(
    X: Any, labels: Any, features: Sequence[str] | None, colour_fields: Mapping[str, str]
) -> Points:
    """The features, labels and colour columns of X: an (n, d) array, or a pandas or polars
    DataFrame whose numeric columns (or ``features``) are the features and whose column named
    by ``labels`` holds the classes. The colour columns are the table's numeric columns that are
    no feature (the label among them, if it is a number) and the features that colour_fields
    (``colour_fields()``) name, checked; UserErrors name the argument and the column."""
    table = getattr(X, "columns", None)
    if table is None:
        if features is not None:
            raise UserError("animate(features=...): X is an array, not a table with columns")
        for where in colour_fields:
            raise UserError(
                f"animate(panels=...): {where}: X is an array, whose columns have no names: "
                "pass a DataFrame to colour by one of its columns"
            )
        return Points(_array_features(X), labels, {})
    names = [str(c) for c in table]
    column = dict(zip(names, table, strict=True))
    label = labels if isinstance(labels, str) else None
    named = getattr(labels, "name", None)  # labels=table["digit"]: that column is no feature
    if label is None and hasattr(labels, "dtype") and isinstance(named, str) and named in names:
        label = named
    if label is not None and label not in names:
        raise UserError(
            f"animate(labels={label!r}): X has no column '{label}'{did_you_mean(label, names)}: "
            f"its columns are {_some(names)}"
        )
    numbers = {name: _numbers(X[column[name]]) for name in names}
    if features is not None:
        chosen = list(features)
        missing = [c for c in chosen if c not in names]
        if missing:
            raise UserError(
                f"animate(features=...): X has no column '{missing[0]}'"
                f"{did_you_mean(missing[0], names)}: its columns are {_some(names)}"
            )
        argument = "animate(features=...)"
    else:
        chosen = [c for c in names if c != label and numbers[c][1] == 0]
        if not chosen:
            raise UserError(
                f"animate(X): X has no numeric columns besides the label: its columns are "
                f"{_some(names)}; name the feature columns with features=[...]"
            )
        argument = "animate(X)"
    for name in chosen if features is not None else [c for c in names if c != label]:
        _, others, what = numbers[name]
        # A chosen column with text, or by default one of numbers with some text in it (a
        # marker such as "n/a" for a missing value), which would otherwise be left out.
        if others and (features is not None or others < len(X) / 2):
            raise UserError(
                f"{argument}: column '{name}' holds {what}, features must be numbers: convert "
                "it (pandas.to_numeric(..., errors='coerce') makes text NaN) or leave it out"
            )
    matrix = _finite(np.column_stack([numbers[c][0] for c in chosen]), chosen, argument)
    numeric = [c for c in names if numbers[c][1] == 0]
    _check_colour_fields(colour_fields, numeric)
    wanted = set(colour_fields.values())
    colours = [c for c in numeric if c not in chosen or c in wanted]
    colours = [c for c in colours if c not in (FEATURES, LABELS, CLASSES, IMAGES)]
    return Points(
        matrix,
        X[column[labels]] if isinstance(labels, str) else labels,
        {c: numbers[c][0] for c in colours},
    )


def _array_features(X: Any) -> np.ndarray:
    """X as (n, d) finite float32 features."""
    values = np.asarray(X)
    if values.ndim != 2:
        raise UserError(f"animate(X): X must be (points, features), got shape {values.shape}")
    if values.dtype.kind not in "biuf":
        converted = [_numbers(values[:, j]) for j in range(values.shape[1])]
        others = [(j, what) for j, (_, count, what) in enumerate(converted) if count]
        if others:
            j, what = others[0]
            raise UserError(f"animate(X): column {j} of X holds {what}, features must be numbers")
        values = np.column_stack([numbers for numbers, _, _ in converted])
    return _finite(values, [str(j) for j in range(values.shape[1])], "animate(X)")


def _numbers(column: Any) -> tuple[np.ndarray, int, str]:
    """A column as float64 numbers (NaN where empty), how many of its values are no numbers,
    and what they are, for a message: ``text ('n/a' in 3 of 200 rows)``."""
    values = np.asarray(column)
    if values.dtype.kind in "biuf":
        return values.astype(np.float64), 0, ""
    if values.dtype.kind not in "OUS":  # dates, durations, complex numbers: not features
        return np.full(len(values), np.nan), len(values), f"{values.dtype} values"
    import pandas as pd

    given = pd.Series(values, dtype=object)
    numbers = pd.to_numeric(given, errors="coerce")
    text = given[numbers.isna() & given.notna()]
    what = f"text ({str(text.iloc[0])!r} in {len(text)} of {len(values)} rows)" if len(text) else ""
    return numbers.to_numpy(np.float64), len(text), what


def _finite(values: np.ndarray, names: Sequence[str], argument: str) -> np.ndarray:
    """values as float32 features; a UserError naming the columns with empty, NaN, infinite
    or too large values (and in how many rows) unless every value is a finite float32."""
    _, problem = bad_features(values, names)
    if problem:
        raise UserError(
            f"{argument}: {problem} of {len(values)} rows: fill them in, or leave those rows "
            "out (X.dropna())"
        )
    return np.asarray(values, np.float32)


def _some(names: Sequence[str], most: int = 8) -> str:
    """The first few names, quoted, for a message."""
    shown = ", ".join(f"'{name}'" for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "") or "none"


def colour_fields(spec: Mapping[str, Any]) -> dict[str, str]:
    """The columns the panels of a scene's keywords colour by (``color: {field: ...}``), by
    where they stand (``panels[0].color.field``)."""
    panels = spec.get("panels")
    found = {}
    for i, panel in enumerate(panels if isinstance(panels, list) else []):
        colour = panel.get("color") if isinstance(panel, Mapping) else None
        if isinstance(colour, Mapping) and isinstance(colour.get("field"), str):
            found[f"panels[{i}].color.field"] = colour["field"]
    return found


def _check_colour_fields(fields: Mapping[str, str], numeric: Sequence[str]) -> None:
    """A UserError unless every field is one of the numeric columns, said before any fit."""
    for where, field in fields.items():
        if field in (FEATURES, LABELS, CLASSES, IMAGES):
            raise UserError(
                f"animate(panels=...): {where}: a column named '{field}' cannot colour points "
                "(the name is one of specanim's arrays): rename it"
            )
        if field not in numeric:
            raise UserError(
                f"animate(panels=...): {where}: no numeric column '{field}' to colour by"
                f"{did_you_mean(field, numeric)}: X's numeric columns are {_some(numeric)}"
            )


def image_array(images: Any, count: int, call: str) -> np.ndarray:
    """count images (n, h, w) of pixel values 0..255 or 0..1, as given; UserError otherwise."""
    values = np.asarray(images)
    argument = f"{call}(images=...)"
    if values.ndim != 3 or len(values) != count:
        raise UserError(
            f"{argument}: expected {count} images, one per point (points x height x width), "
            f"got shape {values.shape}"
        )
    if values.dtype.kind not in "biuf":
        raise UserError(f"{argument}: pixels must be numbers, found {values.dtype} values")
    if values.size and values.dtype != np.uint8:
        with np.errstate(over="ignore"):
            low, high = float(np.min(values)), float(np.max(values))
        if not (np.isfinite(low) and np.isfinite(high) and 0 <= low and high <= 255):
            raise UserError(
                f"{argument}: pixel values must lie in 0..1 or 0..255, found {low:g}..{high:g}"
            )
    return values


def trajectory_of(snapshots: Any, call: str) -> Trajectory:
    """A Trajectory, a capture (``.trajectory()``), a list of (n, 2) layouts or an (S, n, 2)
    array as a trajectory of finite layouts; UserError otherwise."""
    argument = f"{call}(snapshots)"
    if isinstance(snapshots, Trajectory):
        trajectory = snapshots
    elif hasattr(snapshots, "trajectory") and callable(snapshots.trajectory):
        trajectory = snapshots.trajectory()
    else:
        try:
            stack = np.asarray(snapshots, np.float32)
        except ValueError:  # layouts of different shapes, or text
            shapes = sorted({np.shape(s) for s in snapshots}) if isinstance(snapshots, list) else []
            raise UserError(
                f"{argument}: expected layouts of numbers, all of one shape (points, 2)"
                + (f", got shapes {', '.join(map(str, shapes))}" if len(shapes) > 1 else "")
            ) from None
        if stack.ndim != 3 or stack.shape[2] != 2:
            raise UserError(
                f"{argument}: expected (snapshots, points, 2) layouts, got shape {stack.shape}"
            )
        steps = tuple(Step(i, i) for i in range(len(stack)))
        trajectory = Trajectory(stack, steps, len(stack) - 1)
    bad = ~np.isfinite(trajectory.snapshots).all(axis=(1, 2))
    if bad.any():
        raise UserError(
            f"{argument}: NaN or infinite coordinates in {int(bad.sum())} of the "
            f"{len(bad)} snapshots (the first: snapshot {int(np.argmax(bad))})"
        )
    return trajectory
