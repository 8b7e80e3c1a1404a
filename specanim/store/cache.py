"""The cache as users manage it: list its entries, clear them, prune old ones, and keep it under a
size limit by removing the entries used least recently.

Entries are of two kinds. A ``trajectory`` is a reducer's fit (``store.trajectories``); what
made it (reducer, options, dataset, versions) is in its header. ``arrays`` are the arrays of a
scene made in Python (``specanim.animate``, ``from_snapshots``), stored once, named by their
content, as the ``.npz`` files that the ``file`` dataset and the ``precomputed`` reducer read:
``store_arrays`` writes them. An entry's last use is its file's modification time: reusing a
trajectory touches it, and so does a scene made in Python each time it loads or renders.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
from pydantic import ByteSize, TypeAdapter, ValidationError

from specanim.errors import UserError
from specanim.store import inuse
from specanim.store.archives import STEP_ARRAYS
from specanim.store.entries import SUFFIX, DamagedEntry, entry_lock, read_header
from specanim.store.inuse import open_regular
from specanim.store.paths import cache_dir

MAX_SIZE_ENV = "SPECANIM_CACHE_MAX_SIZE"
DEFAULT_MAX_SIZE = "5GB"
NO_LIMIT = "none"

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

CACHED_ARRAYS = "cache:arrays/"  # how a path into the arrays folder is written path-free
EntryKind = Literal["trajectory", "arrays"]
KINDS: tuple[EntryKind, ...] = ("trajectory", "arrays")
ARRAYS_SUFFIX = ".npz"


@dataclass(frozen=True)
class Entry:
    """One cache file and what its header says about it (arrays: the shape of each array)."""

    path: Path
    size: int  # bytes
    used: float  # last use: seconds since the epoch
    header: dict[str, Any] = field(default_factory=dict)
    damaged: str | None = None  # why the header cannot be read
    kind: EntryKind = "trajectory"

    @property
    def key(self) -> str:
        """The entry's key (from its file name if the header is unreadable); for arrays, the
        hash of their content."""
        if self.kind == "arrays":
            return self.path.stem.partition("-")[0]
        return str(self.header.get("key") or self.path.stem.rpartition("-")[2])

    @property
    def reducer(self) -> str:
        """The name of the reducer that made the entry ("-" for arrays: none did)."""
        if self.kind == "arrays":
            return "-"
        return str(self.header.get("reducer") or self.path.stem.rpartition("-")[0] or "?")

    @property
    def role(self) -> str | None:
        """What arrays are in a scene: ``data`` (a ``file`` dataset's) or ``trajectory`` (a
        ``precomputed`` reducer's); None for a trajectory entry."""
        return (self.path.stem.partition("-")[2] or "?") if self.kind == "arrays" else None

    @property
    def created(self) -> float | None:
        """When the entry was written (seconds since the epoch), if its header says."""
        created = self.header.get("created")
        return float(created) if isinstance(created, int | float) else None

    def dataset(self) -> str:
        """The dataset entry of the spec that made it, as ``type key=value ...``; for arrays,
        their role and shapes, as ``data: X 300x64, labels 300`` or ``trajectory: snapshots
        16x300x2`` (not the steps' arrays)."""
        if self.kind == "arrays":
            shapes = self.header.get("arrays", {}).items()
            steps = STEP_ARRAYS if self.role == "trajectory" else ()
            shown = [f"{k} {_dims(v)}" for k, v in shapes if k not in steps]
            return f"{self.role}: {', '.join(shown)}"
        entry = self.header.get("dataset")
        if not isinstance(entry, dict) or "type" not in entry:
            return "?"
        options = " ".join(f"{k}={v}" for k, v in entry.items() if k != "type")
        return f"{entry['type']} {options}".strip()

    def as_json(self) -> dict[str, Any]:
        """What ``specanim cache list --json`` shows of this entry."""
        common = {
            "kind": self.kind,
            "key": self.key,
            "file": str(self.path),
            "size": self.size,
            "created": _iso(self.created),
            "last_used": _iso(self.used),
        }
        if self.kind == "arrays":
            return {
                **common,
                "role": self.role,
                "arrays": self.header.get("arrays"),
                "damaged": self.damaged,
            }
        return {
            **common,
            "reducer": self.reducer,
            "options": self.header.get("options"),
            "dataset": self.header.get("dataset"),
            "data": self.header.get("data"),
            "versions": self.header.get("versions"),
            "damaged": self.damaged,
        }


def root() -> Path:
    """The cache folder: trajectories and arrays are in folders of it."""
    return cache_dir()


def folder() -> Path:
    """The folder of the trajectory entries."""
    return cache_dir("trajectories")


def arrays_folder() -> Path:
    """The folder of the arrays entries."""
    return cache_dir("arrays")


def path_free(value: Any) -> Any:
    """value (a spec, options) with every path into the cache's arrays folder (a scene made in
    Python reads its arrays there) written as ``cache:arrays/<entry>``: an entry is named by the
    hash of its content, so the same arrays have the same name on every machine, and a manifest
    or cache key made from value holds no path of the cache."""
    if isinstance(value, dict):
        return {key: path_free(item) for key, item in value.items()}
    if isinstance(value, list):
        return [path_free(item) for item in value]
    if isinstance(value, str) and Path(value).is_absolute():
        path = Path(value)
        if path.parent == arrays_folder() or path.parent.resolve() == arrays_folder().resolve():
            return CACHED_ARRAYS + path.name
    return value


def entries(where: Path | None = None) -> list[Entry]:
    """Every entry in the cache, trajectories and arrays (or in the one folder where), the most
    recently used first."""
    found = []
    for place in [where] if where is not None else [folder(), arrays_folder()]:
        for path in sorted(place.iterdir()) if place.is_dir() else ():
            if path.name.startswith("."):  # a file being written
                continue
            if path.suffix == SUFFIX:
                entry = _entry(path, "trajectory")
            elif path.suffix == ARRAYS_SUFFIX:
                entry = _entry(path, "arrays")
            else:  # a lock file
                continue
            if entry is not None:
                found.append(entry)
    return sorted(found, key=lambda e: (-e.used, e.path.name))


def _entry(path: Path, kind: EntryKind) -> Entry | None:
    """The entry of the file at path, None if it was removed meanwhile."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    header: dict[str, Any] = {}
    damaged = None
    try:
        with open_regular(path) as file:
            header = read_header(file)[0] if kind == "trajectory" else {"arrays": _shapes(file)}
    except (DamagedEntry, OSError, ValueError, zipfile.BadZipFile) as exc:
        damaged = str(exc) or type(exc).__name__
    return Entry(path, stat.st_size, stat.st_mtime, header, damaged, kind)


def _shapes(file: BinaryIO) -> dict[str, list[int]]:
    """The shape of each array of an open .npz file, from the headers of its members."""
    shapes = {}
    with zipfile.ZipFile(file) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, _ = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, _, _ = np.lib.format.read_array_header_2_0(member)
            shapes[info.filename.removesuffix(".npy")] = list(shape)
    return shapes


def _dims(shape: Any) -> str:
    return "x".join(map(str, shape)) if isinstance(shape, list) and shape else "scalar"


def remove(chosen: Iterable[Entry]) -> list[Entry]:
    """Delete the entries' files, but those a process maps now (a render: a warning names
    each); the entries that were deleted (not already gone)."""
    removed = []
    for entry in chosen:
        with contextlib.suppress(FileNotFoundError):
            if inuse.remove(entry.path):
                removed.append(entry)
            else:
                log.warning("kept %s: a running render uses it", entry.path.name)
    return removed


def clear(
    reducer: str | None = None, where: Path | None = None, kind: EntryKind | None = None
) -> list[Entry]:
    """Delete every entry, or those of a kind, or the trajectories that reducer made; the entries
    deleted."""
    return remove(
        e
        for e in entries(where)
        if (kind is None or e.kind == kind) and (reducer is None or e.reducer == reducer)
    )


def prune(
    older_than: float | None = None,
    max_size: int | None = None,
    where: Path | None = None,
    keep: Path | None = None,
) -> list[Entry]:
    """Delete entries unused for older_than seconds, then the least recently used ones until the
    rest take at most max_size bytes; never keep (an entry just written). The entries deleted."""
    now = time.time()
    kept: list[Entry] = []
    doomed: list[Entry] = []
    for entry in entries(where):
        stale = older_than is not None and now - entry.used > older_than
        (doomed if stale and entry.path != keep else kept).append(entry)
    if max_size is not None:
        total = sum(e.size for e in kept)
        for entry in reversed(list(kept)):  # the least recently used first
            if total <= max_size:
                break
            if entry.path != keep:
                doomed.append(entry)
                kept.remove(entry)
                total -= entry.size
    return remove(doomed)


def keep_limit(where: Path | None, keep: Path) -> None:
    """Apply the size limit after keep was written: delete the least recently used entries of
    the cache (or of the folder where)."""
    try:
        limit = max_size()
    except UserError as exc:  # the fit is done and stored: a bad setting must not fail it
        log.warning("%s: the cache is not pruned", exc)
        return
    for entry in prune(max_size=limit, where=where, keep=keep):
        log.info(
            "removed the least recently used cache entry %s (%s) to stay under %s",
            entry.path.name,
            size_text(entry.size),
            size_text(limit or 0),
        )


def store_arrays(arrays: Mapping[str, np.ndarray], role: str, path: Path | None = None) -> Path:
    """The path of an arrays entry holding arrays (an .npz file of them, named by the hash of
    their names, dtypes, shapes and bytes, and by role), written if the cache lacks it and
    touched (used) if it has it. path: where these arrays were stored before, if known (their
    content is not hashed again). The size limit is then applied, never removing this entry."""
    if path is None:
        path = arrays_folder() / f"{_content_hash(arrays)}-{role}{ARRAYS_SUFFIX}"
    with entry_lock(path):  # two processes storing the same arrays write them once
        if path.is_file():
            with contextlib.suppress(OSError):  # a read-only shared cache still serves
                os.utime(path)
            return path
        log.info("storing the arrays of a scene made in Python as %s", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                members: dict[str, Any] = dict(arrays)
                np.savez(out, **members)
            os.chmod(temp, 0o644)  # as trajectory entries: readable in a shared cache folder
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    keep_limit(None, keep=path)
    return path


def _content_hash(arrays: Mapping[str, np.ndarray]) -> str:
    """The hex SHA-256 (its first 128 bits) of the arrays' names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise ValueError(f"array '{name}' holds Python objects: it cannot be stored")
        contiguous = np.ascontiguousarray(array)  # (at least one dimension)
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(contiguous.view(np.uint8).reshape(-1).data)
    return digest.hexdigest()[:32]


def max_size() -> int | None:
    """The cache's size limit in bytes from ``$SPECANIM_CACHE_MAX_SIZE`` (default 5GB), or None
    when it is ``none``."""
    text = os.environ.get(MAX_SIZE_ENV, "").strip() or DEFAULT_MAX_SIZE
    return None if text.lower() == NO_LIMIT else parse_size(text, MAX_SIZE_ENV)


def parse_size(text: str, what: str) -> int:
    """Bytes from ``2GB``, ``500MB``, ``1.5GiB`` or a plain number; UserError naming what."""
    try:
        return int(TypeAdapter(ByteSize).validate_python(text))
    except ValidationError:
        raise UserError(f"{what} {text}: not a size (e.g. 5GB, 500MB, 1.5GiB)") from None


def parse_age(text: str, what: str) -> float:
    """Seconds from ``30d``, ``12h``, ``2w``, ``90m`` or ``45s``; UserError naming what."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise UserError(f"{what} {text}: not an age (e.g. 30d, 12h, 2w; units s m h d w)")
    return float(match[1]) * _UNITS[match[2]]


def size_text(size: int) -> str:
    """A size for people: ``14.4kB``, ``1.2GB``."""
    return ByteSize(size).human_readable(decimal=True)


def age_text(seconds: float) -> str:
    """How long ago, roughly: ``45s``, ``12m``, ``5h``, ``3d``."""
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{int(seconds // length)}{unit}"
    return f"{max(int(seconds), 0)}s"


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")
