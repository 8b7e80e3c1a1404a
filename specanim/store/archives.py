"""The trajectory archive: a trajectory as an ``.npz`` file of plain arrays, which the
``precomputed`` reducer reads and ``specanim.from_snapshots`` writes.

    snapshots    float32 (snapshots, points, 2); any name (``key`` picks it), else the first
                 array not named below
    epochs       int, one per snapshot: each snapshot's epoch (default 0, 1, 2, ...)
    iterations   int, one per snapshot: its iteration within its phase (default: its epoch)
    phases       str, one per snapshot: its phase (default "")
    total        int: the length of the optimisation (default: the last epoch)

``np.savez`` stores each array uncompressed, so the snapshots are memory-mapped in place.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from specanim.errors import InputError, did_you_mean
from specanim.store.inuse import map_file, open_regular
from specanim.values import Step, Trajectory

SUFFIX = ".npz"
SNAPSHOTS_ARRAY, EPOCHS_ARRAY = "snapshots", "epochs"
# Optional arrays beside the snapshots: what a snapshot's Step says, and the length of the
# optimisation (default: the last epoch).
ITERATIONS_ARRAY, PHASES_ARRAY, TOTAL_ARRAY = "iterations", "phases", "total"
STEP_ARRAYS = (EPOCHS_ARRAY, ITERATIONS_ARRAY, PHASES_ARRAY, TOTAL_ARRAY)


def archive_arrays(trajectory: Trajectory) -> dict[str, np.ndarray]:
    """The arrays of trajectory's archive, by name."""
    steps = trajectory.steps
    return {
        SNAPSHOTS_ARRAY: np.asarray(trajectory.snapshots, np.float32),
        EPOCHS_ARRAY: np.array([s.epoch for s in steps], np.int64),
        ITERATIONS_ARRAY: np.array([s.iteration for s in steps], np.int64),
        PHASES_ARRAY: np.array([s.phase for s in steps], str),
        TOTAL_ARRAY: np.array(trajectory.total, np.int64),
    }


def write_archive(trajectory: Trajectory, path: Path | BinaryIO) -> None:
    """Store a trajectory as an .npz archive (a path or an open binary file) that
    ``read_archive`` (and so the ``precomputed`` reducer) reads back step for step."""
    arrays: dict[str, Any] = archive_arrays(trajectory)
    np.savez(path, **arrays)


def read_archive(path: Path, key: str | None = None, points: int | None = None) -> Trajectory:
    """The trajectory of the archive at path: its array key (None: the first that is not a
    step array), the snapshots memory-mapped when stored uncompressed. An InputError at ``path``
    or ``key`` when the file is unreadable or its arrays do not fit together, or when points is
    given and the snapshots have another number of points (the dataset's)."""
    try:
        with open_regular(path) as file, np.load(file) as archive:
            names = list(archive.files)
            arrays = {name: archive[name] for name in names if name in STEP_ARRAYS}
            chosen = key or next((name for name in names if name not in STEP_ARRAYS), None)
            if chosen is not None and chosen in names and chosen not in arrays:
                mapped = _mapped_member(path, chosen)
                arrays[chosen] = archive[chosen] if mapped is None else mapped
    except Exception as exc:  # any reader failure means the file is not a readable archive
        raise InputError(f"cannot read {path}: {exc}", key="path") from exc
    snapshot_names = [name for name in names if name not in STEP_ARRAYS]
    if key is None:
        if not snapshot_names:
            raise InputError(f"{path.name} holds no array of snapshots", key="path")
        key = snapshot_names[0]
    elif key not in arrays:
        raise InputError(
            f"{path.name} has no array '{key}'{did_you_mean(key, names)}; "
            f"it has {', '.join(names)}",
            key="key",
        )
    snapshots = arrays[key]
    if snapshots.ndim != 3 or snapshots.shape[2] != 2 or not len(snapshots):
        raise InputError(
            f"array '{key}' must have shape (snapshots, points, 2), got {snapshots.shape}",
            key="key",
        )
    if points is not None and snapshots.shape[1] != points:
        raise InputError(
            f"array '{key}' has {snapshots.shape[1]} points, but the dataset has {points}",
            key="path",
        )
    count = len(snapshots)
    if EPOCHS_ARRAY in arrays and key != EPOCHS_ARRAY:
        epochs = _whole_numbers(arrays[EPOCHS_ARRAY], f"array '{EPOCHS_ARRAY}'")
        if epochs.shape != (count,):
            raise InputError(
                f"array '{EPOCHS_ARRAY}' must hold one epoch per snapshot ({count}), "
                f"got shape {epochs.shape}",
                key="path",
            )
    else:
        epochs = np.arange(count)
    iterations = _per_snapshot(arrays, ITERATIONS_ARRAY, count, epochs)
    phases = _per_snapshot(arrays, PHASES_ARRAY, count, np.full(count, ""))
    total = int(arrays[TOTAL_ARRAY]) if TOTAL_ARRAY in arrays else int(epochs.max())
    steps = tuple(
        Step(epoch=int(e), iteration=int(i), phase=str(p))
        for e, i, p in zip(epochs, iterations, phases, strict=True)
    )
    return Trajectory(snapshots.astype(np.float32, copy=False), steps, total)


def _mapped_member(path: Path, name: str) -> np.ndarray | None:
    """The archive's array name memory-mapped from the file, or None if it cannot be (stored
    compressed, or not a plain array).

    ``np.savez`` stores each array as an uncompressed ``NAME.npy`` member: its bytes lie in the
    file as they are, after the member's local header (30 bytes, then its name and extra
    field) and the .npy header. Mapped, the snapshots take no memory of their own, and render
    workers map the same file instead of receiving a copy.
    """
    with open_regular(path) as file:
        with zipfile.ZipFile(file) as archive:
            if f"{name}.npy" not in archive.namelist():
                return None
            info = archive.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        file.seek(info.header_offset)
        local = file.read(30)
        if local[:4] != b"PK\x03\x04":
            return None
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        file.seek(info.header_offset + 30 + name_length + extra_length)
        readers = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }
        reader = readers.get(np.lib.format.read_magic(file))
        if reader is None:
            return None
        shape, fortran_order, dtype = reader(file)
        if fortran_order or dtype.hasobject:
            return None
        return map_file(file, dtype, file.tell(), shape)


def _per_snapshot(
    arrays: dict[str, np.ndarray], name: str, count: int, default: np.ndarray
) -> np.ndarray:
    """An optional array of the archive with one value per snapshot, else default."""
    if name not in arrays:
        return default
    values = arrays[name]
    if values.shape != (count,):
        raise InputError(
            f"array '{name}' must hold one value per snapshot ({count}), got shape {values.shape}",
            key="path",
        )
    return values


def _whole_numbers(values: np.ndarray, what: str) -> np.ndarray:
    """values as int64, or an InputError at path if any is not a whole number."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "f" and np.all(np.isfinite(values) & (values == np.round(values))):
        return values.astype(np.int64)
    raise InputError(f"{what} must hold whole numbers, got {values.dtype} values", key="path")
