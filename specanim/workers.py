"""Rendering frames in a pool of worker processes, delivered in order with bounded memory.

vl-convert holds the GIL and one global converter, so only processes render in parallel, and
they must be spawned, not forked (a process forked after vl-convert ran hung; NOTES.md). Each
worker gets the prepared scene once; its large arrays travel as memory-mapped files rather than
copies, so a million-point trajectory is in memory once however many workers there are.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import signal
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SHARE_ABOVE = 1 << 20  # arrays larger than this many bytes are mapped, not copied
IN_FLIGHT_PER_WORKER = 2

Render = Callable[[int], np.ndarray]


def render_in_order(render: Render, shots: Sequence[int], workers: int) -> Iterator[np.ndarray]:
    """Yield render(shot) for every shot in order, using up to workers processes."""
    if workers <= 1 or len(shots) <= 1:
        for shot in shots:
            yield render(shot)
        return
    with tempfile.TemporaryDirectory(prefix="specanim-") as folder:
        payload = _dumps(render, Path(folder))
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(min(workers, len(shots)), initializer=_init, initargs=(payload,))
        try:
            pending: deque[Any] = deque()
            todo = iter(shots)
            limit = workers * IN_FLIGHT_PER_WORKER
            for shot in todo:
                pending.append(pool.apply_async(_render, (shot,)))
                if len(pending) >= limit:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
            pool.close()
        finally:
            pool.terminate()  # also on Ctrl-C or an error: no worker outlives the render
            pool.join()


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- the worker side -------------------------------------------------------------------------

_render_fn: Render | None = None


def _init(payload: bytes) -> None:
    global _render_fn
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    _render_fn = pickle.loads(payload)


def _render(shot: int) -> np.ndarray:
    assert _render_fn is not None, "worker used before its initialiser ran"
    return _render_fn(shot)


# --- pickling with mapped arrays -------------------------------------------------------------


def _dumps(obj: object, folder: Path) -> bytes:
    buf = io.BytesIO()
    _MappingPickler(buf, folder).dump(obj)
    return buf.getvalue()


def _load_mapped(path: str) -> np.ndarray:
    return np.load(path, mmap_mode="r")


class _MappingPickler(pickle.Pickler):
    """Pickles large arrays as references to .npy files that every worker maps."""

    def __init__(self, file: io.BytesIO, folder: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.folder = folder
        self.saved: dict[int, str] = {}

    def reducer_override(self, obj: object) -> Any:
        if not isinstance(obj, np.ndarray) or obj.nbytes <= SHARE_ABOVE or obj.dtype.hasobject:
            return NotImplemented
        path = self.saved.get(id(obj))
        if path is None:
            path = str(self.folder / f"array{len(self.saved)}.npy")
            np.save(path, np.ascontiguousarray(obj))
            self.saved[id(obj)] = path
        return _load_mapped, (path,)
