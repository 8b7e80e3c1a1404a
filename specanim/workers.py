"""Rendering frames in a pool of worker processes, delivered in order with bounded memory.

vl-convert holds the GIL and one global converter, so only processes render in parallel, and
they must be spawned, not forked (a process forked after vl-convert had run hung). Each
worker gets the prepared scene once; its large arrays travel as memory-mapped files rather than
copies, so a million-point trajectory is in memory once however many workers there are.

Workers hand their pixels back as files in the temporary folder and send only the file's name
through the result pipe: a message that small is written to the pipe in one piece, so a worker
killed at any moment never leaves half a message that the pool's reader would wait on forever.

A worker that dies (killed, out of memory) fails the render at once with a RenderError naming
the frame it was rendering: concurrent.futures marks the whole pool broken when a worker's
process ends, where multiprocessing.Pool would wait for its result forever. An exception raised
in a worker reaches the parent as itself when it survives pickling, else as a stand-in with the
same type name, message and exit code.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import signal
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np

from specanim.errors import RenderError, SpecanimError, UserError, describe_exception

SHARE_ABOVE = 1 << 20  # arrays larger than this many bytes are mapped, not copied
IN_FLIGHT_PER_WORKER = 2

Render = Callable[[int], np.ndarray]


def render_in_order(
    render: Render,
    shots: Sequence[int],
    workers: int,
    name: Callable[[int], str] = lambda shot: f"shot {shot}",
    preload: Callable[[], None] | None = None,
) -> Generator[np.ndarray, None, None]:
    """Yield render(shot) for every shot in order, using up to workers processes.

    name(shot) says what a shot is to the user ("frame 12"), for the error if a worker dies.
    Each worker calls preload (a picklable function) before it unpickles render: it imports
    the modules that render's classes live in and a spawned process would not find (local
    plugins).
    Closing the generator early (an error downstream, Ctrl-C) ends every worker before it
    returns, and removes the mapped arrays.
    """
    if workers <= 1 or len(shots) <= 1:
        for shot in shots:
            yield render(shot)
        return
    count = min(workers, len(shots))
    with tempfile.TemporaryDirectory(prefix="specanim-") as folder:
        context = multiprocessing.get_context("spawn")
        # Which shot each worker is rendering: (pid, shot) per worker, -1 when idle.
        board = context.Array("q", [-1] * (2 * count), lock=False)
        claimed = context.Value("i", 0)
        start = Start(_dumps(render, Path(folder)), folder, board, claimed, preload)
        executor = ProcessPoolExecutor(count, context, initializer=_init, initargs=(start,))
        finished = False
        try:
            pending: deque[tuple[int, Future[str]]] = deque()
            limit = count * IN_FLIGHT_PER_WORKER
            for shot in shots:
                with _ctrl_c_held():
                    pending.append((shot, executor.submit(_render, shot)))
                if len(pending) >= limit:
                    yield _result(executor, *pending.popleft(), board, name)
            while pending:
                yield _result(executor, *pending.popleft(), board, name)
            finished = True
        finally:
            if not finished:  # an error, Ctrl-C or an early close: end the workers now
                for process in _processes(executor):
                    process.kill()
            executor.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold SIGINT back while workers may start (the executor spawns them in submit).

    A spawned process inherits the signal mask, so workers start with SIGINT blocked: Ctrl-C,
    which a terminal sends to the whole process group, never reaches them, not even while they
    import (a KeyboardInterrupt traceback from each); the parent gets its own Ctrl-C as soon as
    the block ends.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _processes(executor: ProcessPoolExecutor) -> list[BaseProcess]:
    # concurrent.futures has no public list of its processes before Python 3.14
    # (terminate_workers); _processes has held them, by pid, since 3.2.
    return list((getattr(executor, "_processes", None) or {}).values())


def _result(
    executor: ProcessPoolExecutor,
    shot: int,
    future: Future[str],
    board: Any,
    name: Callable[[int], str],
) -> np.ndarray:
    """The pixels of shot, or RenderError naming what the worker that died was rendering."""
    try:
        path = future.result()
    except BrokenProcessPool:
        pass
    else:
        try:
            return np.load(path)
        finally:
            os.unlink(path)
    processes = _processes(executor)
    for process in processes:
        process.join(5)  # the executor ends the others when one dies; wait for their codes
    dead = {p.pid: p.exitcode for p in processes if p.exitcode not in (None, 0, -signal.SIGTERM)}
    busy = {board[2 * i]: board[2 * i + 1] for i in range(len(board) // 2) if board[2 * i + 1] >= 0}
    lost = sorted(busy[pid] for pid in dead if pid in busy) or [shot]
    how = next((_death(code) for code in dead.values() if code is not None), "")
    raise RenderError(
        f"a render worker died{how} while rendering {', '.join(name(s) for s in lost)}"
    ) from None


def _death(exitcode: int) -> str:
    if exitcode == -signal.SIGKILL:
        return " (killed by SIGKILL, as the system does when memory runs out)"
    if exitcode < 0:
        return f" (killed by {signal.Signals(-exitcode).name})"
    return f" (exit code {exitcode})"


# --- the worker side -------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """What every worker gets once, when it starts."""

    payload: bytes  # the render callable, pickled by _MappingPickler
    folder: str  # where results go
    board: Any  # shared int64 array: (pid, shot being rendered or -1) per worker
    claimed: Any  # shared int: how many workers have taken their place on the board
    preload: Callable[[], None] | None = None  # imports local plugins before the unpickling


_render_fn: Render | None = None
_folder = ""
_failure: BaseException | None = None
_board: Any = None
_slot = -1


def _init(start: Start) -> None:
    global _render_fn, _folder, _failure, _board, _slot
    _folder = start.folder
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    with start.claimed.get_lock():
        _slot = start.claimed.value
        start.claimed.value += 1
    _board = start.board
    _board[2 * _slot] = os.getpid()
    try:
        if start.preload is not None:
            start.preload()
        _render_fn = pickle.loads(start.payload)
    except BaseException as exc:
        # Raised with the first shot, as one line: concurrent.futures would log a traceback
        # for an initialiser's error and only say that the pool broke.
        _failure = portable(exc)


def _render(shot: int) -> str:
    """Render shot into a file; its name is the result."""
    if _failure is not None:
        raise _failure
    assert _render_fn is not None, "worker used before its initialiser ran"
    _board[2 * _slot + 1] = shot
    try:
        path = os.path.join(_folder, f"shot{shot}.npy")
        _save(path, np.ascontiguousarray(_render_fn(shot)))
        return path
    except BaseException as exc:
        stand_in = portable(exc)
        if stand_in is exc:
            raise
        raise stand_in from None
    finally:
        _board[2 * _slot + 1] = -1


def portable(exc: BaseException) -> BaseException:
    """exc if it survives a pickle round trip (the way back to the parent), else a stand-in
    that prints the same lines and exits with the same code."""
    try:
        back = pickle.loads(pickle.dumps(exc))
        if type(back) is type(exc) and str(back) == str(exc):
            return exc
    except Exception:  # any failure to pickle or unpickle means: send a stand-in
        pass
    if isinstance(exc, UserError):
        return UserError("\n".join(exc.lines()))
    if isinstance(exc, SpecanimError):
        return (RenderError if isinstance(exc, RenderError) else SpecanimError)(str(exc))
    return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")


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


class _MappingPickler(cloudpickle.Pickler):
    """Pickles large arrays as references to files that every worker maps, and every array
    with a canonical dtype: numpy's own pickling gives unpickled arrays a dtype object that
    took ufunc.at off its fast path (10-20x slower rasterising in the workers).

    Classes and functions defined in ``__main__`` (a notebook's cells, a script) travel by
    value, as cloudpickle does: a spawned worker cannot import its parent's ``__main__``."""

    def __init__(self, file: io.BytesIO, folder: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.folder = folder
        self.saved: dict[int, str] = {}

    def reducer_override(self, obj: object) -> Any:
        if type(obj) is not np.ndarray or obj.dtype.hasobject:
            return super().reducer_override(obj)
        if obj.nbytes <= SHARE_ABOVE:
            return _rebuild, (np.ascontiguousarray(obj).tobytes(), obj.dtype.str, obj.shape)
        mapped = _whole_file_map(obj)
        if mapped is not None:  # already a file (a trajectory cache entry): map the same one
            return _map_raw, (str(mapped.filename), mapped.offset, obj.dtype.str, obj.shape)
        path = self.saved.get(id(obj))
        if path is None:
            path = str(self.folder / f"array{len(self.saved)}.npy")
            _save(path, np.ascontiguousarray(obj))
            self.saved[id(obj)] = path
        return _load_mapped, (path,)


def _save(path: str, array: np.ndarray) -> None:
    """np.save, through Python's own writes: numpy's tofile reports a full disk as a short
    write with no errno, which nothing downstream could tell from any other failure."""
    try:
        with open(path, "wb") as file:
            header = np.lib.format.header_data_from_array_1_0(array)
            np.lib.format.write_array_header_1_0(file, header)
            file.write(array.data.cast("B"))
    except OSError as exc:  # a failed write names no file
        raise OSError(exc.errno, exc.strerror, path) from None


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
