"""A trajectory cache entry's file: its format, writing and reading it, and its lock.

File layout (little-endian), made so that the snapshots can be memory-mapped in place::

    b"SPECTRAJ"                          magic
    uint64                               length of the header
    32 bytes                             SHA-256 of the header
    header                               UTF-8 JSON, padded with spaces to a multiple of 64 bytes
    snapshots                            float32, C order, shape header["shape"]

The header holds the key, shape, steps, total, the SHA-256 of the snapshot bytes and, for people
looking at the cache, what the key was made from, the dataset entry of the spec that made it (not
part of the key: the data's fingerprint is) and when it was made. The file's modification time is
its last use: reading an entry touches it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from specanim.store.inuse import NotRegular, map_file, open_regular
from specanim.store.locks import locked
from specanim.values import Step, Trajectory

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


@contextlib.contextmanager
def entry_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache entry at path (a ``.lock`` file beside it, see
    ``locks``), waiting for another process that holds it (it fits the same trajectory).
    Without a writable cache folder there is nothing to protect: no lock is taken."""
    lock = path.with_name(path.name + ".lock")

    def wait(fd: int) -> None:
        log.info("waiting for another process that fits the same trajectory (%s)", lock)
        fcntl.flock(fd, fcntl.LOCK_EX)

    with locked(lock, wait):
        yield


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
    try:
        file = open_regular(path)
    except NotRegular as exc:
        raise DamagedEntry(exc.strerror) from None
    with file:
        header, offset = read_header(file)
        size = os.fstat(file.fileno()).st_size
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
        snapshots = map_file(file, _DTYPE, offset, shape) if nbytes else np.zeros(shape, _DTYPE)
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
