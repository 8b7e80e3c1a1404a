"""The trajectory cache as users manage it: list its entries, clear them, prune old ones, and keep
the folder under a size limit by removing the entries used least recently.

An entry's last use is its file's modification time (``trajectories.obtain`` touches an entry it
reuses); what made it (reducer, options, dataset, versions) is in its header.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ByteSize, TypeAdapter, ValidationError

from specanim.errors import UserError
from specanim.store.paths import cache_dir
from specanim.store.trajectories import SUFFIX, DamagedEntry, read_header

MAX_SIZE_ENV = "SPECANIM_CACHE_MAX_SIZE"
DEFAULT_MAX_SIZE = "5GB"
NO_LIMIT = "none"

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Entry:
    """One cache file and what its header says about it."""

    path: Path
    size: int  # bytes
    used: float  # last use: seconds since the epoch
    header: dict[str, Any] = field(default_factory=dict)
    damaged: str | None = None  # why the header cannot be read

    @property
    def key(self) -> str:
        """The entry's key (from its file name if the header is unreadable)."""
        return str(self.header.get("key") or self.path.stem.rpartition("-")[2])

    @property
    def reducer(self) -> str:
        """The name of the reducer that made the entry."""
        return str(self.header.get("reducer") or self.path.stem.rpartition("-")[0] or "?")

    @property
    def created(self) -> float | None:
        """When the entry was written (seconds since the epoch), if its header says."""
        created = self.header.get("created")
        return float(created) if isinstance(created, int | float) else None

    def dataset(self) -> str:
        """The dataset entry of the spec that made it, as ``type key=value ...``."""
        entry = self.header.get("dataset")
        if not isinstance(entry, dict) or "type" not in entry:
            return "?"
        options = " ".join(f"{k}={v}" for k, v in entry.items() if k != "type")
        return f"{entry['type']} {options}".strip()

    def as_json(self) -> dict[str, Any]:
        """What ``specanim cache list --json`` shows of this entry."""
        return {
            "key": self.key,
            "file": str(self.path),
            "size": self.size,
            "created": _iso(self.created),
            "last_used": _iso(self.used),
            "reducer": self.reducer,
            "options": self.header.get("options"),
            "dataset": self.header.get("dataset"),
            "data": self.header.get("data"),
            "versions": self.header.get("versions"),
            "damaged": self.damaged,
        }


def folder() -> Path:
    """The folder of the trajectory cache."""
    return cache_dir("trajectories")


def entries(where: Path | None = None) -> list[Entry]:
    """Every entry in the cache folder, the most recently used first."""
    where = where or folder()
    found = []
    for path in where.glob(f"*{SUFFIX}") if where.is_dir() else ():
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed meanwhile
            continue
        header: dict[str, Any] = {}
        damaged = None
        try:
            with open(path, "rb") as f:
                header, _ = read_header(f)
        except (DamagedEntry, OSError) as exc:
            damaged = str(exc)
        found.append(Entry(path, stat.st_size, stat.st_mtime, header, damaged))
    return sorted(found, key=lambda e: (-e.used, e.path.name))


def remove(chosen: Iterable[Entry]) -> list[Entry]:
    """Delete the entries' files; the entries that were deleted (not already gone)."""
    removed = []
    for entry in chosen:
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()
            removed.append(entry)
    return removed


def clear(reducer: str | None = None, where: Path | None = None) -> list[Entry]:
    """Delete every entry, or those that reducer made; the entries deleted."""
    return remove(e for e in entries(where) if reducer is None or e.reducer == reducer)


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


def keep_limit(where: Path, keep: Path) -> None:
    """Apply the size limit after keep was written: delete the least recently used entries."""
    try:
        limit = max_size()
    except UserError as exc:  # the fit is done and stored: a bad setting must not fail it
        log.warning("%s: the trajectory cache is not pruned", exc)
        return
    for entry in prune(max_size=limit, where=where, keep=keep):
        log.info(
            "removed the least recently used cache entry %s (%s) to stay under %s",
            entry.path.name,
            size_text(entry.size),
            size_text(limit or 0),
        )


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
