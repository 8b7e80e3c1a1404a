"""The trajectory cache: a reducer's fit is kept on disk and reused while nothing it depends on
changes.

An entry's key is a SHA-256 over the data's fingerprint, the reducer's name, its validated options,
the versions of the libraries it uses (``Reducer.versions()``) and the entry format's version.
Entries live in ``cache_dir("trajectories")``, one file each (``entries``), written atomically.

A reducer whose result depends on more than that (``precomputed`` reads a file) sets the class
attribute ``cacheable = False`` and is always fitted; so is one that is not ``reproducible`` (no
fixed seed: each fit is a new layout, and reusing the first would contradict its options).
A damaged entry fails a check when read, is logged, deleted and fitted again: it is never
returned. ``cache`` lists, clears and prunes entries, with the arrays of scenes made in Python.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specanim.components import Reducer
from specanim.errors import InputError
from specanim.plugins import local_plugin
from specanim.store.cache import keep_limit, path_free
from specanim.store.entries import FORMAT, SUFFIX, DamagedEntry, entry_lock, read_entry, write_entry
from specanim.store.paths import cache_dir
from specanim.values import Data, Progress, Trajectory

CacheMode = Literal["use", "refresh", "off"]

log = logging.getLogger(__name__)


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
    path = _entry_path(reducer, key, cache)
    with entry_lock(path):  # a second render of the same scene waits, then reuses this fit
        return _reuse_or_fit(reducer, data, progress, mode, path, key, about, dataset, cache)


def cached(reducer: Reducer, fingerprint: str, cache: Path | None = None) -> bool:
    """Whether obtain() with ``mode="use"`` will find reducer's trajectory on the data of that
    fingerprint in the cache (unless the entry is removed or found damaged meanwhile)."""
    if not (reducer.reproducible and reducer.cacheable):
        return False
    return _entry_path(reducer, cache_key(reducer, fingerprint), cache).is_file()


def _entry_path(reducer: Reducer, key: str, cache: Path | None) -> Path:
    return (cache or cache_dir("trajectories")) / f"{_file_safe(reducer.name)}-{key}{SUFFIX}"


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
    keep_limit(folder, keep=path)  # the whole cache, arrays too, unless a folder was given
    # The stored copy, memory-mapped: render workers share its pages instead of each holding one.
    try:
        return read_entry(path, key, verify=False)
    except (OSError, DamagedEntry):  # removed or replaced meanwhile (a cache clear): ours serves
        return trajectory


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
    """Everything a cache key is made from, as JSON-ready values; fingerprint is the data's.
    A reducer of a local plugin adds the digest of the plugin's files: its code has no
    version."""
    about = {
        "format": FORMAT,
        "data": fingerprint,
        "reducer": reducer.name,
        "options": path_free(reducer.options.model_dump(mode="json")),
        "versions": dict(reducer.versions()),
    }
    local = local_plugin(type(reducer))
    if local is not None:
        about["source"] = local.digest
    return about


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
        if not isinstance(fitted, Trajectory):
            raise TypeError(f"it returned a {type(fitted).__name__}, not a Trajectory")
        snapshots = np.ascontiguousarray(fitted.snapshots, dtype=np.float32)
    if snapshots.shape[1] != len(data):
        raise ValueError(
            f"its snapshots place {snapshots.shape[1]:,} points, the data has {len(data):,}"
        )
    # Snapshot by snapshot: no temporary the size of the whole trajectory.
    bad = next((i for i, snap in enumerate(snapshots) if not np.isfinite(snap).all()), None)
    if bad is not None:
        biggest = float(np.abs(data.features).max()) if data.features.size else 0.0
        raise InputError(
            f"{reducer.name} gave NaN or infinite coordinates (snapshot {bad} of "
            f"{len(snapshots)}); the features may be too large (the largest is {biggest:.3g}): "
            "scale them"
        )
    snapshots.flags.writeable = False  # the same contract as a memory-mapped cache entry
    trajectory = Trajectory(snapshots, fitted.steps, fitted.total)
    trajectory.release()  # the check read every page of a mapped file: it need not stay ours
    return trajectory
