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

from specanim.errors import describe_exception

SHARE_ABOVE = 1 << 20  # arrays larger than this many bytes are mapped, not copied
IN_FLIGHT_PER_WORKER = 2

Render = Callable[[int], np.ndarray]


def render_in_order(
    render: Render,
    shots: Sequence[int],
    workers: int,
    preload: Callable[[], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield render(shot) for every shot in order, using up to workers processes. Each worker
    calls preload (a picklable function) before it unpickles render: it imports the modules
    render's classes live in that a spawned process would not find (local plugins)."""
    if workers <= 1 or len(shots) <= 1:
        for shot in shots:
            yield render(shot)
        return
    with tempfile.TemporaryDirectory(prefix="specanim-") as folder:
        payload = _dumps(render, Path(folder))
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(
            min(workers, len(shots)), initializer=_init, initargs=(payload, preload)
        )
        try:
            pending: deque[Any] = deque()
            limit = workers * IN_FLIGHT_PER_WORKER
            for shot in shots:
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


def _init(payload: bytes, preload: Callable[[], None] | None = None) -> None:
    global _render_fn
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    if preload is not None:
        preload()
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
    return np.load(path, mmap_mode="r").view(np.ndarray)


def _map_raw(path: str, offset: int, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.memmap(path, np.dtype(dtype), "r", offset=offset, shape=shape).view(np.ndarray)


def _rebuild(data: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(data, np.dtype(dtype)).reshape(shape).copy()


class _MappingPickler(pickle.Pickler):
    """Pickles large arrays as references to files that every worker maps, and every array
    with a canonical dtype: numpy's own pickling gives unpickled arrays a dtype object that
    took ufunc.at off its fast path (10-20x slower rasterising in the workers)."""

    def __init__(self, file: io.BytesIO, folder: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.folder = folder
        self.saved: dict[int, str] = {}

    def reducer_override(self, obj: object) -> Any:
        if type(obj) is not np.ndarray or obj.dtype.hasobject:
            return NotImplemented
        if obj.nbytes <= SHARE_ABOVE:
            return _rebuild, (np.ascontiguousarray(obj).tobytes(), obj.dtype.str, obj.shape)
        mapped = _whole_file_map(obj)
        if mapped is not None:  # already a file (a trajectory cache entry): map the same one
            return _map_raw, (str(mapped.filename), mapped.offset, obj.dtype.str, obj.shape)
        path = self.saved.get(id(obj))
        if path is None:
            path = str(self.folder / f"array{len(self.saved)}.npy")
            np.save(path, np.ascontiguousarray(obj))
            self.saved[id(obj)] = path
        return _load_mapped, (path,)


def _whole_file_map(obj: np.ndarray) -> np.memmap | None:
    """The memmap obj is a plain view of, if it covers all of it in order."""
    base = obj.base
    if (
        isinstance(base, np.memmap)
        and base.filename
        and obj.shape == base.shape
        and obj.strides == base.strides
        and obj.__array_interface__["data"][0] == base.__array_interface__["data"][0]
    ):
        return base
    return None


# --- the process contract ---------------------------------------------------------------------


def pickle_problem(obj: object) -> str | None:
    """Why obj cannot be sent to a worker (naming the attribute at fault), or None if it can.

    It pickles obj with the workers' pickler, except that arrays (which always pickle) are
    not copied, so checking a scene with large arrays costs nearly nothing.
    """
    error = _pickle_error(obj)
    if error is None:
        return None
    for name, value in vars(obj).items() if hasattr(obj, "__dict__") else ():
        inner = _pickle_error(value)
        if inner is not None:
            return f"its attribute '{name}' ({type(value).__name__}) cannot be pickled ({inner})"
    return f"it cannot be pickled ({error})"


def _pickle_error(obj: object) -> str | None:
    try:
        _CheckingPickler(_Discard(), Path(tempfile.gettempdir())).dump(obj)
    except Exception as exc:  # pickling runs arbitrary __reduce__ code: any error means no
        return describe_exception(exc)
    return None


class _Discard(io.BytesIO):
    """A file that forgets what is written to it."""

    def write(self, data: Any) -> int:
        return len(memoryview(data))


class _CheckingPickler(_MappingPickler):
    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
            return np.empty, (0,)  # any such array pickles; its bytes need not be read
        return super().reducer_override(obj)
