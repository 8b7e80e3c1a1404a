"""``precomputed``: a trajectory made elsewhere, read from a long table or an .npz archive (the
trajectory archive of ``specanim.sdk.read_archive``, which ``write_archive`` writes).

The long table is the layout of the original notebook's ``epochs.parquet``: one row per point per
snapshot, with columns ``index, x, y, digit, epoch`` (optionally ``iteration`` and ``phase``).
``write_long_table`` writes a trajectory in that layout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from specanim.sdk import (
    Data,
    InputError,
    Options,
    Progress,
    Reducer,
    Step,
    Trajectory,
    did_you_mean,
    hookimpl,
    read_archive,
    write_archive,
)

__all__ = ["Precomputed", "write_archive", "write_long_table"]  # write_archive: as before

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".parquet", ".pq", ".csv")
ARCHIVE_SUFFIX = ".npz"


class Columns(Options):
    """The long table's column names."""

    index: str = Field("index", description="The point's row in the dataset, 0 to n-1.")
    x: str = Field("x", description="The point's first coordinate.")
    y: str = Field("y", description="The point's second coordinate.")
    epoch: str = Field("epoch", description="The snapshot's epoch.")
    label: str | None = Field(
        "digit",
        description="Class of the point, checked against the dataset's labels when the table "
        "has it; null: never checked.",
    )
    iteration: str = Field("iteration", description="Iteration within the phase, if present.")
    phase: str = Field("phase", description="The optimisation phase, if present.")

    def optional(self) -> dict[str, str]:
        """The optional columns by role: they are read when present."""
        roles = {"iteration": self.iteration, "phase": self.phase}
        return roles | ({"label": self.label} if self.label else {})


class PrecomputedOptions(Options):
    """Options of the ``precomputed`` reducer."""

    path: Path = Field(
        description="A .parquet or .csv long table, or an .npz archive; relative to the spec."
    )
    columns: Columns = Field(
        default_factory=Columns, description="Column names of a table that differ from these."
    )
    key: str | None = Field(
        None,
        description="The .npz array of shape (snapshots, points, 2); null: the first one. An "
        "array named 'epochs' labels the snapshots.",
    )


class Precomputed(Reducer):
    """A trajectory computed elsewhere: a long table (parquet, CSV) or an .npz of snapshots."""

    name = "precomputed"
    Options = PrecomputedOptions
    # The result is the file's content, which the trajectory cache's key does not cover; and
    # reading it back is as fast as reading a cache entry.
    cacheable = False

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """Read the file and check that it matches the data point for point."""
        opts: PrecomputedOptions = self.options
        path = self.base_dir / opts.path.expanduser()
        if not path.is_file():
            raise InputError(f"file not found: {path}", key="path")
        suffix = path.suffix.lower()
        progress(0, 1)
        if suffix == ARCHIVE_SUFFIX:
            if opts.columns.model_fields_set:
                raise InputError("columns apply to a table, not an .npz archive", key="columns")
            result = read_archive(path, opts.key, points=len(data))
        elif suffix in TABLE_SUFFIXES:
            if opts.key is not None:
                raise InputError(f"key applies to an .npz archive, not a {suffix} table", key="key")
            result = _from_table(_read_table(path), opts.columns, data, path.name)
        else:
            raise InputError(
                f"expected a {', '.join(TABLE_SUFFIXES)} or {ARCHIVE_SUFFIX} file, got '{suffix}'",
                key="path",
            )
        if not all(np.isfinite(snapshot).all() for snapshot in result.snapshots):
            raise InputError(f"{path.name} has coordinates that are NaN or infinite", key="path")
        progress(1, 1)
        return result


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd  # imported when used: importing pandas would slow every command

    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # any reader failure means the file is not a readable table
        raise InputError(f"cannot read {path}: {exc}", key="path") from exc


def _from_table(table: pd.DataFrame, columns: Columns, data: Data, name: str) -> Trajectory:
    required = {"index": columns.index, "x": columns.x, "y": columns.y, "epoch": columns.epoch}
    for role, column in [*required.items(), *columns.optional().items()]:
        if column not in table and (role in required or role in columns.model_fields_set):
            raise InputError(
                f"{name} has no column '{column}'{did_you_mean(column, map(str, table.columns))}; "
                f"it has {', '.join(map(str, table.columns))}",
                key="columns",
            )
    n = len(data)
    index = _whole_numbers(table[columns.index].to_numpy(), f"column '{columns.index}'", "columns")
    epoch = _whole_numbers(table[columns.epoch].to_numpy(), f"column '{columns.epoch}'", "columns")
    points = np.unique(index)
    _same_count(len(points), data, f"{name} (distinct '{columns.index}' values)")
    if points[0] != 0 or points[-1] != n - 1:
        raise InputError(
            f"'{columns.index}' must run from 0 to {n - 1}, got {points[0]} to {points[-1]}",
            key="columns",
        )
    epochs = np.unique(epoch)
    # Each row's place in the (snapshot, point) grid: rows may come in any order.
    slot = np.searchsorted(epochs, epoch) * n + index
    counts = np.bincount(slot, minlength=len(epochs) * n)
    for problem, bad in (("has two rows", counts > 1), ("has no row", counts == 0)):
        if bad.any():
            first = int(np.argmax(bad))
            raise InputError(
                f"{name} {problem} for epoch {epochs[first // n]}, index {first % n}",
                key="path",
            )
    if columns.label and columns.label in table:
        _check_labels(table[columns.label].to_numpy(), slot, data, name)
    try:
        xy = table[[columns.x, columns.y]].to_numpy(np.float32)
    except ValueError as exc:
        raise InputError(f"{name}: x and y must be numbers ({exc})", key="columns") from exc
    snapshots = np.empty((len(epochs) * n, 2), np.float32)
    snapshots[slot] = xy
    row_of = np.empty_like(slot)
    row_of[slot] = np.arange(len(slot))
    steps = _steps(table.iloc[row_of[::n]], columns, epochs)  # the rows of each index 0
    return Trajectory(snapshots.reshape(len(epochs), n, 2), steps, int(epochs.max()))


def _steps(rows: pd.DataFrame, columns: Columns, epochs: np.ndarray) -> tuple[Step, ...]:
    """The steps of the snapshots from one row of each, in epoch order."""
    iterations = epochs
    if columns.iteration in rows:
        what = f"column '{columns.iteration}'"
        iterations = _whole_numbers(rows[columns.iteration].to_numpy(), what, "columns")
    phases = rows[columns.phase].astype(str) if columns.phase in rows else [""] * len(epochs)
    return tuple(
        Step(epoch=int(e), iteration=int(i), phase=p)
        for e, i, p in zip(epochs, iterations, phases, strict=True)
    )


def _check_labels(labels: np.ndarray, slot: np.ndarray, data: Data, name: str) -> None:
    """An InputError naming the first point, in (epoch, index) order, whose label differs."""
    n = len(data)
    expected = np.asarray(data.classes)[data.labels]
    found = _class_names(labels)
    wrong = found != expected[slot % n]
    if wrong.any():
        row = int(np.flatnonzero(wrong)[np.argmin(slot[wrong])])
        point = int(slot[row] % n)
        raise InputError(
            f"{name}: the label of index {point} is '{found[row]}', "
            f"but the dataset's is '{expected[point]}'",
            key="columns",
        )


def _class_names(values: np.ndarray) -> np.ndarray:
    """Label values as class-name strings: 3, 3.0 and "3" all name the class "3"."""
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    return values.astype(str)


def _whole_numbers(values: np.ndarray, what: str, key: str) -> np.ndarray:
    """values as int64, or an InputError at key if any is not a whole number."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "f" and np.all(np.isfinite(values) & (values == np.round(values))):
        return values.astype(np.int64)
    raise InputError(f"{what} must hold whole numbers, got {values.dtype} values", key=key)


def _same_count(points: int, data: Data, where: str) -> None:
    if points != len(data):
        raise InputError(
            f"{where} has {points} points, but the dataset has {len(data)}", key="path"
        )


def write_long_table(trajectory: Trajectory, data: Data, path: Path, label: str = "digit") -> None:
    """Write trajectory as a long table (parquet or CSV, by path's extension) that the
    ``precomputed`` reducer reads back exactly."""
    import pandas as pd

    count, n, _ = trajectory.snapshots.shape
    xy = np.asarray(trajectory.snapshots).reshape(-1, 2)
    names = np.asarray(data.classes)[data.labels]
    numeric = all(c.isdecimal() for c in data.classes)  # the notebook's digit column is numeric
    table = pd.DataFrame(
        {
            "index": np.tile(np.arange(n, dtype=np.int64), count),
            "x": xy[:, 0],
            "y": xy[:, 1],
            label: np.tile(names.astype(np.int64) if numeric else names, count),
            "epoch": np.repeat([s.epoch for s in trajectory.steps], n),
        }
    )
    if any(s.phase for s in trajectory.steps):
        table["iteration"] = np.repeat([s.iteration for s in trajectory.steps], n)
        table["phase"] = np.repeat([s.phase for s in trajectory.steps], n)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table.to_csv(path, index=False, float_format="%.9g")  # 9 digits round-trip float32
    elif suffix in TABLE_SUFFIXES:
        table.to_parquet(path, index=False)
    else:
        raise ValueError(f"a long table is a {', '.join(TABLE_SUFFIXES)} file, not '{suffix}'")


@hookimpl
def register_reducers(register: Callable[[type[Reducer]], None]) -> None:
    """Register the precomputed reducer."""
    register(Precomputed)
