"""A pool of worker processes on this machine: it runs jobs and renders frames, delivered in
order with bounded memory; the ``local`` executor is this pool.

vl-convert converts one spec at a time in a process (one global converter), so only processes
render in parallel, and none may be forked from a process that has run vl-convert (such a fork
hung). Workers are forked from multiprocessing's forkserver, a fresh process that has loaded
what they all need once (``preload``: imports and compiled loops, 0.7 s a worker when each
loaded them) and never runs vl-convert. The pool is started before the reducer fits, so its
workers are ready when frames come, and it outlives one render, serving every scene of a
sweep. A worker starts vl-convert (its first call: about 0.35 s) on its first frame that needs
it, if any: this process draws the vector marks that draw quickly (a progress line) ahead and
sends them with each frame (``DrawsAhead``). Each render's scene goes to the workers once,
through a queue per worker, which each worker reads on its first shot of that render, pickled
as ``pickling`` says (large arrays as files the workers map). A worker ends with os._exit, as
every child of the forkserver does, skipping the teardown of its interpreter (numba's and
vl-convert's modules: about 0.35 s).

Workers hand their pixels back as files in the temporary folder and send only the file's name
through the result pipe: a message that small is written to the pipe in one piece, so a worker
killed at any moment never leaves half a message that the pool's reader would wait on forever.

A worker that dies (killed, out of memory) fails the render at once with a RenderError naming
the frame it was rendering: concurrent.futures marks the whole pool broken when a worker's
process ends, where multiprocessing.Pool would wait for its result forever; the next use starts
a new pool. An exception raised in a worker reaches the parent as itself when it survives
pickling, else as a stand-in with the same type name, message and exit code.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import select
import signal
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from specanim.components import Draw
from specanim.draw.raster import use_compiled_loops_for
from specanim.engine.pickling import dumps, save
from specanim.errors import RenderError, SpecanimError, UserError, describe_exception

IN_FLIGHT_PER_WORKER = 2

T = TypeVar("T")
# What render workers run with (see worker_environment):
WORKER_ENVIRONMENT = {
    # A pool runs a worker per core already, and OpenBLAS starts a thread per core as it loads
    # (numpy's, and scipy's, which numba's import loads): 0.14 CPU-s of a worker's warm-up on
    # 2 cores, for threads nothing used.
    "OPENBLAS_NUM_THREADS": "1",
    # glibc keeps freed blocks below 32 MB for the next frame rather than giving them back to
    # the system and faulting in zeroed pages again: a million-point frame's buffers cost 5,800
    # page faults, 14 of its 70 ms, before.
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
}


class Pool:
    """workers worker processes (none for one worker: everything runs in this process),
    started by start(), which returns while they warm up, and ended by close()."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._board: Any = None  # (pid, shot being rendered or -1) per worker
        self._inboxes: list[Any] = []  # a queue per worker: the scenes of renders
        self._users = 0  # frames() calls and submitted jobs not yet done
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the workers now; they warm up in the background."""
        if self.workers > 1:
            self._pool()

    def close(self) -> None:
        """End every worker: at once if one still works (that work is no longer wanted)."""
        executor, self._executor = self._executor, None
        inboxes, self._inboxes = self._inboxes, []
        self._board = None
        if executor is not None:
            # Idle workers exit on their own, running their exit handlers: a killed worker
            # leaves the semaphores it made (tqdm's lock, in a fit) to the resource tracker,
            # which warns about them. concurrent.futures keeps the work not yet done in
            # _pending_work_items (since 3.2).
            if getattr(executor, "_pending_work_items", True):
                for process in _processes(executor):
                    process.kill()
            executor.shutdown(wait=True, cancel_futures=True)
        for inbox in inboxes:
            inbox.cancel_join_thread()  # what the workers did not read is no longer wanted
            inbox.close()

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """fn(*args) in a worker (in this process with one worker); a worker that dies makes
        the future's exception a RenderError naming fn."""
        if self.workers <= 1:
            inline: Future[T] = Future()
            try:
                inline.set_result(fn(*args))
            except Exception as exc:  # the job's failure is its future's, as in a worker
                inline.set_exception(exc)
            return inline
        executor = self._pool()
        self._use(+1)
        inner: Future[T] = _submit(executor, call_portably, fn, args)
        outer: Future[T] = Future()
        what = getattr(fn, "__qualname__", repr(fn))

        def relay(done: Future[T]) -> None:
            self._use(-1)
            if done.cancelled():
                outer.cancel()
            elif isinstance(done.exception(), BrokenProcessPool):
                outer.set_exception(RenderError(f"a worker died{self._how()} while running {what}"))
            elif done.exception() is not None:
                outer.set_exception(done.exception())  # type: ignore[arg-type]
            else:
                outer.set_result(done.result())

        inner.add_done_callback(relay)
        outer.add_done_callback(lambda o: o.cancelled() and inner.cancel())
        return outer

    def frames(
        self,
        draw: Draw,
        shots: Sequence[int],
        name: Callable[[int], str] = lambda shot: f"shot {shot}",
        preload: Callable[[], None] | None = None,
    ) -> Generator[np.ndarray, None, None]:
        """draw(shot) for every shot in order, at most two per worker in flight.

        Closing the iterator early (an error downstream, Ctrl-C) ends the workers before it
        returns, unless other jobs run on them (a sweep's fits): then only its own shots are
        cancelled. The mapped arrays go either way.
        """
        if self.workers <= 1 or len(shots) <= 1:
            use_compiled_loops_for(len(shots))
            for shot in shots:
                yield draw(shot)
            return
        executor = self._pool()
        inboxes = self._inboxes
        self._use(+1)
        pending: deque[tuple[int, Future[str]]] = deque()
        finished = False
        # Shots still rendering for an early-closed call may write into the folder as it goes.
        with tempfile.TemporaryDirectory(prefix="specanim-", ignore_cleanup_errors=True) as folder:
            job = Job(uuid.uuid4().hex, folder, preload)
            try:
                payload = dumps(draw, Path(folder))
                for inbox in inboxes:  # each worker takes it from its inbox on its first shot
                    inbox.put((job.key, payload))
                limit = self.workers * IN_FLIGHT_PER_WORKER
                for shot in shots:
                    pending.append((shot, _submit(executor, _render, job, shot)))
                    if len(pending) >= limit:
                        yield self._result(*pending.popleft(), name)
                while pending:
                    yield self._result(*pending.popleft(), name)
                finished = True
            finally:
                alone = self._use(-1) == 0
                if not finished:  # an error, Ctrl-C or an early close
                    for _, future in pending:
                        future.cancel()
                    if alone:
                        self.close()  # end the workers now; the next use starts new ones
                if self._inboxes is inboxes:  # the same workers: they may drop the scene
                    for inbox in inboxes:
                        inbox.put((job.key, None))

    def _use(self, change: int) -> int:
        with self._lock:
            self._users += change
            return self._users

    def _pool(self) -> ProcessPoolExecutor:
        """The running pool; a new one if there is none or a worker's death broke it."""
        # concurrent.futures marks a broken pool in _broken (a message), since Python 3.8.
        if self._executor is not None and getattr(self._executor, "_broken", False):
            self.close()
        if self._executor is None:
            try:
                context = _server()
            except OSError as exc:  # it could not be started
                problem = describe_exception(exc)
                raise RenderError(f"render workers cannot start ({problem})") from None
            self._board = context.Array("q", [-1] * (2 * self.workers), lock=False)
            claimed = context.Value("i", 0)
            self._inboxes = [context.Queue() for _ in range(self.workers)]
            self._executor = ProcessPoolExecutor(
                self.workers,
                context,
                initializer=_init,
                initargs=(self._board, claimed, self._inboxes, os.getpid()),
            )
            # The pool starts a process per submitted job up to its size. Each start waits
            # until the server has loaded what it preloads (about 0.7 s after it started), so
            # a thread starts the workers while the caller goes on.
            starting = (self._executor,)
            threading.Thread(
                target=self._start_workers, args=starting, name="pool-start", daemon=True
            ).start()
        return self._executor

    def _start_workers(self, executor: ProcessPoolExecutor) -> None:
        """Start the workers of executor, each warming up in its initialiser; if the pool was
        closed meanwhile, end those that started too late for close() to see them."""
        try:
            for _ in range(self.workers):
                executor.submit(_ready)
        except Exception:  # closed meanwhile, or broken: the next submit says why, as one line
            pass
        if self._executor is not executor:
            for process in _processes(executor):
                process.kill()

    def _result(self, shot: int, future: Future[str], name: Callable[[int], str]) -> np.ndarray:
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
        dead = self._dead()
        board = self._board if self._board is not None else []
        busy = {
            board[2 * i]: board[2 * i + 1] for i in range(len(board) // 2) if board[2 * i + 1] >= 0
        }
        lost = sorted(busy[pid] for pid in dead if pid in busy) or [shot]
        raise RenderError(
            f"a render worker died{self._how()} while rendering {', '.join(name(s) for s in lost)}"
        ) from None

    def _dead(self) -> dict[int, int | None]:
        """The exit codes of the workers that died, by pid."""
        if self._executor is None:
            return {}
        # Once the pool breaks, the executor's manager thread ends the other workers and joins
        # them all. A forked worker's exit code comes through a pipe from the server, which
        # only one reader can read (a second one reads nothing: exit code 255), so that thread
        # reads them; concurrent.futures has named it _executor_manager_thread since 3.9.
        manager = getattr(self._executor, "_executor_manager_thread", None)
        if manager is not None and manager is not threading.current_thread():
            manager.join(5)
        processes = _processes(self._executor)
        for process in processes:
            process.join(5)  # the executor ends the others when one dies; wait for their codes
        return {
            p.pid: p.exitcode
            for p in processes
            if p.pid is not None and p.exitcode not in (None, 0, -signal.SIGTERM)
        }

    def _how(self) -> str:
        """`` (killed by SIGKILL, ...)``: how a worker died, if one did."""
        return next((_death(code) for code in self._dead().values() if code is not None), "")


def _server() -> ForkServerContext:
    """The context workers start in: forked from multiprocessing's forkserver, a process of
    its own, started now if it does not run yet, that imports ``specanim.engine.preload`` once
    before it forks any worker.

    The server runs until this process ends and serves every pool of it. It starts with this
    process's environment, which its workers inherit, so it starts with ``WORKER_ENVIRONMENT``
    set (a later change to this process's environment does not reach the workers)."""
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["specanim.engine.preload"])
    with worker_environment():
        forkserver.ensure_running()
    return context


def _submit(executor: ProcessPoolExecutor, fn: Callable[..., T], *args: Any) -> Future[T]:
    """executor.submit(fn, *args); if a worker's death has broken the pool meanwhile, a future
    that failed with BrokenProcessPool, which the caller turns into one line naming what the
    dead worker was doing (the pool raises it at once rather than in the future)."""
    try:
        return executor.submit(fn, *args)
    except BrokenProcessPool as exc:
        failed: Future[T] = Future()
        failed.set_exception(exc)
        return failed
    except (EOFError, OSError) as exc:  # a worker's start: the server is gone (see _server)
        raise RenderError(f"a render worker could not start ({describe_exception(exc)})") from None


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold SIGINT back in this thread meanwhile. Threads started inside inherit the mask (a
    Dask cluster's event loop), so Ctrl-C is this thread's to handle; it gets its own as soon
    as the block ends. (Processes started with multiprocessing's spawn or forkserver do not
    keep it: a new worker server's mask was empty. Render workers ignore SIGINT instead: see
    ``preload``.)
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def worker_environment() -> Iterator[None]:
    """Processes started inside get ``WORKER_ENVIRONMENT``, but for the variables this
    process's environment sets already (the user's choice stands). A new process takes the
    environment as it starts, so this process's gets them only meanwhile."""
    added = [name for name in WORKER_ENVIRONMENT if name not in os.environ]
    os.environ.update({name: WORKER_ENVIRONMENT[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _processes(executor: ProcessPoolExecutor) -> list[BaseProcess]:
    # concurrent.futures has no public list of its processes before Python 3.14
    # (terminate_workers); _processes has held them, by pid, since 3.2.
    return list((getattr(executor, "_processes", None) or {}).values())


def _death(exitcode: int) -> str:
    if exitcode == -signal.SIGKILL:
        return " (killed by SIGKILL, as the system does when memory runs out)"
    if exitcode < 0:
        return f" (killed by {signal.Signals(-exitcode).name})"
    return f" (exit code {exitcode})"


# --- the worker side -------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """What every shot of one render carries: where the render's scene and results are."""

    key: str  # which render: its scene comes through the worker's inbox under this key
    folder: str  # where results go
    preload: Callable[[], None] | None = None  # imports local plugins before the unpickling


_board: Any = None
_slot = -1
_inbox: Any = None  # this worker's queue of (render key, pickled scene, or None: drop it)
_received: dict[str, bytes] = {}  # scenes taken from the inbox, by render key
_loaded: tuple[str, Draw] | None = None  # the render key last unpickled, and its callable


def _init(board: Any, claimed: Any, inboxes: list[Any], parent: int) -> None:
    global _board, _slot, _inbox
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    threading.Thread(target=_end_with, args=(parent,), name="parent-watch", daemon=True).start()
    with claimed.get_lock():
        _slot = claimed.value
        claimed.value += 1
    _board = board
    _board[2 * _slot] = os.getpid()
    _inbox = inboxes[_slot]
    warm()


def _end_with(parent: int) -> None:
    """End this worker once the process whose pool it serves has ended, however it ended. A
    worker waits for work on a queue whose writing end it holds itself, so it never sees that
    process go: killed, or gone while a worker was still starting (a slow server start), it
    would leave the worker waiting forever, and with it the server and the standard streams
    they share, which a pipe reading them waits on."""
    try:
        ended = os.pidfd_open(parent)  # Linux 5.3+: readable once the process has ended
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd here: look every second instead
        while _alive(parent):
            time.sleep(1)
        os._exit(0)
    select.select([ended], [], [])
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's: a reused pid
        return True
    return True


def warm() -> None:
    """Import what rendering needs and switch to the compiled paint loop (worth its load time
    in a process that draws many frames): what a worker forked from the server has already
    (``preload``). vl-convert starts on a worker's first frame that needs it, if any does: the
    parent draws the vector marks that are quick to draw (``DrawsAhead``)."""
    try:
        from specanim import engine  # noqa: F401  (imports the rendering modules)
        from specanim.draw.raster import use_compiled_loops

        use_compiled_loops()
    except Exception:  # only a head start: a real problem shows, as one line, on the first shot
        pass


def _ready() -> None:
    """A job that does nothing: submitting it starts a worker."""


def call_portably(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """fn(*args); its exception, if any, made portable (see portable())."""
    try:
        return fn(*args)
    except BaseException as exc:
        stand_in = portable(exc)
        if stand_in is exc:
            raise
        raise stand_in from None


def _draw(job: Job) -> Draw:
    """The render's callable, unpickled on this worker's first shot of the render."""
    global _loaded
    if _loaded is not None and _loaded[0] == job.key:
        return _loaded[1]
    _loaded = None  # the previous render's scene goes first
    while job.key not in _received:  # renders at once (a sweep's) interleave in the inbox
        key, payload = _inbox.get()
        if payload is None:
            _received.pop(key, None)
        else:
            _received[key] = payload
    if job.preload is not None:
        job.preload()
    _loaded = (job.key, pickle.loads(_received[job.key]))
    return _loaded[1]


def _render(job: Job, shot: int) -> str:
    """Render shot into a file; its name is the result."""
    _board[2 * _slot + 1] = shot
    try:
        return call_portably(_render_to_file, (job, shot))
    finally:
        _board[2 * _slot + 1] = -1


def _render_to_file(job: Job, shot: int) -> str:
    path = os.path.join(job.folder, f"shot{shot}.npy")
    save(path, np.ascontiguousarray(_draw(job)(shot)))
    return path


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
