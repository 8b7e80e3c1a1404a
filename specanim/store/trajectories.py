"""The trajectory cache: a reducer's fit is kept on disk and reused while nothing it depends on
changes.

An entry's key is a SHA-256 over the data's fingerprint, the reducer's name, its validated options,
the versions of the libraries it uses (``Reducer.versions()``) and this file format's version.
Entries live in ``specanim.store.paths.cache_dir("trajectories")``, one file each, written
atomically.

A reducer whose result depends on more than that (``precomputed`` reads a file) sets the class
attribute ``cacheable = False`` and is always fitted; so is one that is not ``reproducible`` (no
fixed seed: each fit is a new layout, and reusing the first would contradict its options).

File layout (little-endian), made so that the snapshots can be memory-mapped in place::

    b"SPECTRAJ"                          magic
    uint64                               length of the header
    32 bytes                             SHA-256 of the header
    header                               UTF-8 JSON, padded with spaces to a multiple of 64 bytes
    snapshots                            float32, C order, shape header["shape"]

The header holds the key, shape, steps, total, the SHA-256 of the snapshot bytes and, for people
looking at the cache, what the key was made from, the dataset entry of the spec that made it (not
part of the key: the data's fingerprint is) and when it was made. The file's modification time is
its last use: reading an entry touches it. A damaged entry fails a check when read, is logged,
deleted and fitted again: it is never returned. ``specanim.store.cache`` lists, clears and prunes
entries, with the arrays of scenes made in Python.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import struct
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from specanim.components import Reducer
from specanim.errors import InputError
from specanim.store.paths import cache_dir
from specanim.values import Data, Progress, Step, Trajectory

CacheMode = Literal["use", "refresh", "off"]

FORMAT = 2  # bump when the layout or the meaning of a key changes: old entries are then ignored
SUFFIX = ".traj"
MAGIC = b"SPECTRAJ"
_PREFIX = struct.Struct("<8sQ32s")  # magic, header length, header SHA-256
_ALIGN = 64  # snapshot bytes start on a multiple of this, for memory mapping
_DTYPE = np.dtype("<f4")
_MAX_HEADER = 1 << 30  # a larger length is a damaged prefix, not a real header

log = logging.getLogger(__name__)


class DamagedEntry(Exception):
    """A cache file that is truncated, fails a checksum or cannot be parsed."""


def obtain(
    reducer: Reducer,
    data: Data,
    progress: Progress,
    mode: CacheMode = "use",
    cache: Path | None = None,
    *,
    fingerprint: str | None = None,
    dataset: Mapping[str, Any] | None = None,
) -> Trajectory:
    """The reducer's trajectory for data: from the cache when ``mode="use"`` finds a sound entry,
    else fitted (and stored unless ``mode="off"``). ``cache`` overrides the cache folder;
    ``fingerprint`` is data's, if already known; ``dataset`` (the spec's entry) is stored in a new
    entry's header for ``specanim cache list``.

    The snapshots are read-only; a cached trajectory's are memory-mapped from its entry file.
    """
    if mode not in ("use", "refresh", "off"):
        raise ValueError(f"unknown cache mode {mode!r}")
    if not reducer.reproducible:
        log.info(
            "%s makes a new layout every run (no fixed seed): fitting it, neither reading nor "
            "writing the trajectory cache",
            reducer.name,
        )
        return _fit(reducer, data, progress)
    if mode == "off" or not reducer.cacheable:
        return _fit(reducer, data, progress)
    about = describe(reducer, fingerprint or data.fingerprint())
    key = _key(about)
    path = (cache or cache_dir("trajectories")) / f"{_file_safe(reducer.name)}-{key}{SUFFIX}"
    with entry_lock(path):  # a second render of the same scene waits, then reuses this fit
        return _reuse_or_fit(reducer, data, progress, mode, path, key, about, dataset, cache)


def _reuse_or_fit(
    reducer: Reducer,
    data: Data,
    progress: Progress,
    mode: CacheMode,
    path: Path,
    key: str,
    about: dict[str, Any],
    dataset: Mapping[str, Any] | None,
    folder: Path | None,
) -> Trajectory:
    if mode == "use":
        try:
            trajectory = read_entry(path, key)
        except FileNotFoundError:
            pass
        except (DamagedEntry, OSError) as exc:
            log.warning("damaged trajectory cache entry %s (%s): fitting again", path, exc)
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        else:
            log.info("using the cached trajectory %s", path)
            with contextlib.suppress(OSError):  # a read-only shared cache still serves
                os.utime(path)  # its last use, for least-recently-used pruning
            done = max(trajectory.total, 1)
            progress(done, done)
            return trajectory
    trajectory = _fit(reducer, data, progress)
    log.info("fitted %s; storing the trajectory as %s", reducer.name, path)
    try:
        write_entry(path, trajectory, key, {**about, "dataset": dict(dataset or {})})
    except OSError as exc:  # a cache that cannot be written must not fail the render
        log.warning("cannot write the trajectory cache entry %s: %s", path, exc)
        return trajectory
    from specanim.store.cache import keep_limit  # late: that module reads entries through this one

    keep_limit(folder, keep=path)  # the whole cache, arrays too, unless a folder was given
    # The stored copy, memory-mapped: render workers share its pages instead of each holding one.
    return read_entry(path, key, verify=False)


@contextlib.contextmanager
def entry_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache entry at path (a ``.lock`` file beside it).

    The holder removes the lock file when it is done, so none is left behind: a process that
    was waiting then holds a lock on a removed file, sees that, and locks the new one. Without
    a writable cache folder there is nothing to protect: no lock is taken.
    """
    lock = path.with_name(path.name + ".lock")
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for another process that fits the same trajectory (%s)", lock)
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(lock)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == os.fstat(fd).st_ino:
                try:
                    yield
                finally:
                    with contextlib.suppress(OSError):
                        lock.unlink()
                return
        finally:
            os.close(fd)  # also releases the lock


@dataclass(frozen=True)
class Origin:
    """What a trajectory was made from, as plain values: render workers unpickle it without
    importing the reducer's class (which may live in a notebook's ``__main__``)."""

    reducer: str
    reproducible: bool
    key: str | None  # the cache key; None when the fit cannot be reproduced
    versions: dict[str, str]


def origin(reducer: Reducer, fingerprint: str) -> Origin:
    """The origin of reducer's fit on the data of that fingerprint."""
    key = cache_key(reducer, fingerprint) if reducer.reproducible else None
    return Origin(reducer.name, reducer.reproducible, key, dict(reducer.versions()))


def describe(reducer: Reducer, fingerprint: str) -> dict[str, Any]:
    """Everything a cache key is made from, as JSON-ready values; fingerprint is the data's."""
    return {
        "format": FORMAT,
        "data": fingerprint,
        "reducer": reducer.name,
        "options": reducer.options.model_dump(mode="json"),
        "versions": dict(reducer.versions()),
    }


def cache_key(reducer: Reducer, fingerprint: str) -> str:
    """The hex SHA-256 that names the cache entry of this reducer, with its options, on the data
    of that fingerprint."""
    return _key(describe(reducer, fingerprint))


def _key(about: dict[str, Any]) -> str:
    text = json.dumps(about, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _fit(reducer: Reducer, data: Data, progress: Progress) -> Trajectory:
    # Overflow inside a fit (features near float32's limit) only shows as non-finite
    # coordinates, refused below in one line instead of numpy's warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        fitted = reducer.fit(data, progress)
        snapshots = np.ascontiguousarray(fitted.snapshots, dtype=np.float32)
    # Snapshot by snapshot: no temporary the size of the whole trajectory.
    if not all(np.isfinite(snapshot).all() for snapshot in snapshots):
        biggest = float(np.abs(data.features).max()) if data.features.size else 0.0
        raise InputError(
            f"{reducer.name} gave NaN or infinite coordinates; the features may be too large "
            f"(the largest is {biggest:.3g}): scale them"
        )
    snapshots.flags.writeable = False  # the same contract as a memory-mapped cache entry
    trajectory = Trajectory(snapshots, fitted.steps, fitted.total)
    trajectory.release()  # the check read every page of a mapped file: it need not stay ours
    return trajectory


def write_entry(path: Path, trajectory: Trajectory, key: str, about: dict[str, Any]) -> None:
    """Store trajectory at path atomically: a reader sees the old file or the whole new one."""
    snapshots = np.ascontiguousarray(trajectory.snapshots, dtype=_DTYPE)
    header = {
        **about,
        "format": FORMAT,
        "key": key,
        "shape": list(snapshots.shape),
        "dtype": _DTYPE.str,
        "sha256": hashlib.sha256(snapshots.data.cast("B")).hexdigest(),
        "total": trajectory.total,
        "steps": [[s.epoch, s.iteration, s.phase, dict(s.values)] for s in trajectory.steps],
        "created": round(time.time()),  # not in the key: for people listing the cache
    }
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-(_PREFIX.size + len(raw)) % _ALIGN)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_PREFIX.pack(MAGIC, len(raw), hashlib.sha256(raw).digest()))
            out.write(raw)
            out.write(snapshots.data.cast("B"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(
            temp, 0o644
        )  # mkstemp's 0600 would hide entries in a cache folder shared by a team
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_entry(path: Path, key: str | None = None, verify: bool = True) -> Trajectory:
    """The trajectory stored at path, its snapshots memory-mapped read-only.

    Raises FileNotFoundError if there is no entry, DamagedEntry if it fails a check: the key (when
    given), the size, and with verify the snapshots' checksum (which reads every byte once).
    """
    with open(path, "rb") as f:
        header, offset = read_header(f)
        size = os.fstat(f.fileno()).st_size
    try:
        shape = tuple(int(d) for d in header["shape"])
        steps = tuple(Step(int(e), int(i), str(p), dict(v)) for e, i, p, v in header["steps"])
        total = int(header["total"])
        if key is not None and header["key"] != key:
            raise DamagedEntry("it belongs to another key")
        if header["format"] != FORMAT or header["dtype"] != _DTYPE.str:
            raise DamagedEntry("it is of another format")
        if len(shape) != 3 or shape[2] != 2 or len(steps) != shape[0]:
            raise DamagedEntry(f"inconsistent shape {shape} for {len(steps)} steps")
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedEntry(f"bad header: {exc!r}") from None
    nbytes = int(np.prod(shape)) * _DTYPE.itemsize
    if size != offset + nbytes:
        raise DamagedEntry(f"{size} bytes instead of {offset + nbytes}")
    if nbytes:
        # A plain ndarray over the map: numpy's subclass paths (np.memmap) made ufunc.at 25x slower.
        mapped = np.memmap(path, _DTYPE, "r", offset=offset, shape=shape)
        snapshots: np.ndarray = mapped.view(np.ndarray)
    else:
        snapshots = np.zeros(shape, _DTYPE)
    if verify and hashlib.sha256(snapshots.data.cast("B")).hexdigest() != header["sha256"]:
        raise DamagedEntry("the snapshots fail their checksum")
    trajectory = Trajectory(snapshots, steps, total)
    trajectory.release()  # the checksum read every page: they need not stay this process's
    return trajectory


def read_header(f: BinaryIO) -> tuple[dict[str, Any], int]:
    """The parsed header and the offset of the snapshot bytes."""
    prefix = f.read(_PREFIX.size)
    if len(prefix) != _PREFIX.size:
        raise DamagedEntry("shorter than its prefix")
    magic, length, digest = _PREFIX.unpack(prefix)
    if magic != MAGIC or length > _MAX_HEADER:
        raise DamagedEntry("not a trajectory cache entry")
    raw = f.read(length)
    if len(raw) != length or hashlib.sha256(raw).digest() != digest:
        raise DamagedEntry("the header fails its checksum")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise DamagedEntry(f"unreadable header: {exc}") from None
    if not isinstance(header, dict):
        raise DamagedEntry("unreadable header")
    return header, _PREFIX.size + length
