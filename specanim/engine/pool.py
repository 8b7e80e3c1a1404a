"""A pool of worker processes on this machine, the ``local`` executor: it runs jobs, and sends
a value its jobs share (a render's scene) to each worker once.

vl-convert converts one spec at a time in a process (one global converter), so only processes
render in parallel, and none may be forked from a process that has run vl-convert (such a fork
hung). The pool starts a server, a fresh interpreter (``python -c``) that loads what every
worker needs once (imports and compiled loops, ``warm``) and never runs vl-convert, and the
server forks the workers as the pool asks (``os.fork``), reporting each one's pid and, once it
has ended, its exit code; each worker starts vl-convert itself as it starts, beside its first
jobs (``start_vl_convert``). The server and the workers talk to the pool over sockets of their own
(``multiprocessing.connection``, AF_UNIX, with a random key that reaches the server through its
standard input, with the pool's ``sys.path``). Nothing of the main module runs in them: a plain
script, a script read from standard input and a notebook start workers alike, and what
``__main__`` defines travels by value (``pickling``).

The pool is started before the reducer fits, so its workers are ready when frames come, and it
outlives one render, serving every scene of a sweep. A worker runs one job at a time; the pool
knows which, so a worker that dies (killed, out of memory: its connection reaches its end)
fails that job alone with ``WorkerDied``, saying how it ended, and a new worker takes its
place; a job sent to no worker yet waits for the next free one. A worker that ends before it
has connected (with the server, if the server ends first) is not replaced: when none is left,
every job fails with one line. Results come back through the connection: a worker killed in the
middle of one leaves a message that ends early, which reads as its end, never a wait. An
exception raised in a worker reaches the parent as itself when it survives pickling, else as a
stand-in with the same type name, message and exit code (``portable``).

The server and the workers end with the process that started the pool however it ends: the end
of their connection tells an idle one, and a thread watching that process ends a busy one. They
run in a session of their own, so a terminal's Ctrl-C (sent to its foreground process group)
reaches only the main process, which ends them; they ignore SIGINT too. They end with
os._exit, skipping the teardown of their interpreter (numba's and vl-convert's modules).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from specanim.engine.pickling import dumps
from specanim.engine.progress import one_line_warnings
from specanim.errors import (
    RenderError,
    SpecanimError,
    UserError,
    WorkerDied,
    describe_exception,
)

T = TypeVar("T")
# What render workers run with, unless this process's environment sets the variable already:
WORKER_ENVIRONMENT = {
    # A pool runs a worker per core already, and OpenBLAS starts a thread per core as it loads
    # (numpy's, and scipy's, which numba's import loads): threads nothing uses, which cost each
    # worker's warm-up CPU.
    "OPENBLAS_NUM_THREADS": "1",
    # glibc keeps freed blocks below 32 MB for the next frame rather than giving them back to
    # the system and faulting in zeroed pages again: a large frame's buffers were otherwise
    # faulted in anew for every frame.
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
}
# What the server runs: its setup comes through standard input, and the pool's sys.path is in
# place before anything of specanim is imported. The last argument names it, and the workers it
# forks, in process lists.
WORKER_NAME = "specanim-render-worker"
_BOOT = (
    "import pickle, sys; setup = pickle.load(sys.stdin.buffer); sys.path[:] = setup['path']; "
    "from specanim.engine.pool import serve; serve(setup)"
)
_KEY = 32  # characters of a shared value's key (uuid4().hex)


class WorkerPool:
    """workers worker processes (none for one worker: everything runs in this process),
    started by start(), which returns while they warm up, and ended by close()."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._crew: _Crew | None = None
        self._shared: dict[str, bytes] = {}  # the values shared now, pickled, by key
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the workers now; they warm up in the background."""
        if self.workers > 1:
            self._running()

    def close(self) -> None:
        """End every worker: at once if one still works (that work is no longer wanted)."""
        with self._lock:
            crew, self._crew = self._crew, None
        if crew is not None:
            crew.close()

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """fn(*args) in a worker (in this process with one worker); a worker that dies makes
        the future's exception a WorkerDied naming fn."""
        if self.workers <= 1:
            inline: Future[T] = Future()
            try:
                inline.set_result(fn(*args))
            except Exception as exc:  # the job's failure is its future's, as in a worker
                inline.set_exception(exc)
            return inline
        future: Future[T] = Future()
        try:
            payload = dumps((fn, args))
        except Exception as exc:  # it cannot be sent: its future says why
            future.set_exception(exc)
            return future
        keys = tuple(arg.key for arg in args if isinstance(arg, Shared))
        self._running().submit(_Job(future, payload, keys, getattr(fn, "__qualname__", repr(fn))))
        return future

    @contextmanager
    def share(self, value: Any) -> Iterator[Any]:
        """A handle on value for submit's args (value itself with one worker): value goes to
        each worker once, before its first job that has the handle, pickled with its large
        arrays as files the workers map, and is let go when the block ends."""
        if self.workers <= 1:
            yield value
            return
        # Jobs still running when the block ends may read the folder until they finish.
        with tempfile.TemporaryDirectory(prefix="specanim-", ignore_cleanup_errors=True) as folder:
            key = uuid.uuid4().hex
            held: list[int] = []  # the cache files the workers map, held meanwhile
            try:
                self._shared[key] = dumps(value, Path(folder), held)
                yield Shared(key)
            finally:
                for fd in held:
                    os.close(fd)
                self._shared.pop(key, None)
                with self._lock:
                    crew = self._crew
                if crew is not None:
                    crew.drop(key)

    def _running(self) -> _Crew:
        with self._lock:
            if self._crew is None:
                self._crew = _Crew(self.workers, self._shared)
            return self._crew


@dataclass(frozen=True)
class Shared:
    """A handle on a value a pool shares (see WorkerPool.share): in a worker, it unpickles as the
    value itself."""

    key: str

    def __reduce__(self) -> tuple[Callable[[str], Any], tuple[str]]:
        return _shared_value, (self.key,)


@dataclass(eq=False)
class _Job:
    future: Future[Any]
    payload: bytes  # (fn, args), pickled
    keys: tuple[str, ...]  # the shared values it needs
    what: str  # fn's name, for errors
    started: bool = False  # its future runs already (a job given back by a worker that died)


@dataclass(eq=False)
class _Worker:
    process: _Forked
    token: str  # what it sends first when it connects
    connection: Connection | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    job: _Job | None = None
    has: set[str] = field(default_factory=set)  # the shared values sent to it
    sending: threading.Lock = field(default_factory=threading.Lock)

    def send(self, data: bytes) -> None:
        assert self.connection is not None
        self.connection.send_bytes(data)


class _Crew:
    """The workers of one start of a pool, a thread for each that gives it jobs, and the jobs
    waiting for a free worker."""

    def __init__(self, size: int, shared: dict[str, bytes]) -> None:
        self.shared = shared
        self.lock = threading.Lock()
        self.free = threading.Condition(self.lock)  # notified when a job or the end comes
        self.queue: deque[_Job] = deque()
        self.workers: list[_Worker] = []
        self.waiting: dict[str, _Worker] = {}  # workers not connected yet, by token
        self.threads: list[threading.Thread] = []
        self.closing = False
        self.broken: str | None = None  # why no worker can start
        self.authkey = os.urandom(32)
        # On Linux an abstract socket: no file to remove, whatever ends this process; elsewhere
        # a file in a folder multiprocessing removes as this process exits.
        address = f"\0specanim-{uuid.uuid4().hex}" if sys.platform == "linux" else None
        try:
            self.listener = Listener(address, "AF_UNIX", backlog=64, authkey=self.authkey)
        except OSError as exc:
            raise RenderError(f"render workers cannot start ({describe_exception(exc)})") from None
        self.address = self.listener.address
        # The server the workers are forked from, and what it has said about them.
        self.server_token = uuid.uuid4().hex
        self.server_connection: Connection | None = None
        self.server_sending = threading.Lock()
        self.server_code: int | None = None
        self.server_ended = False
        self.unforked: list[_Forked] = []  # asked for before the server connected
        self.forked: dict[str, _Forked] = {}  # by token
        self.by_pid: dict[int, _Forked] = {}  # those whose end the server has not reported
        self.early: dict[int, int] = {}  # exit codes reported before their fork's own report
        accepting = threading.Thread(target=self._accept, name="pool-accept", daemon=True)
        accepting.start()
        self.threads.append(accepting)
        try:
            self.server = self._start_server()
        except RenderError:
            self._stop_accepting()
            raise
        watch = threading.Thread(target=self._watch_server, name="pool-server", daemon=True)
        watch.start()
        self.threads.append(watch)
        with self.lock:
            for _ in range(size):
                self._launch()

    # --- starting and ending workers

    def _start_server(self) -> subprocess.Popen[bytes]:
        """Start the server the workers are forked from: a fresh interpreter (``python -c``)
        that loads what every worker needs once, with the workers' environment, this process's
        sys.path, and a session of its own, which its workers share."""
        setup = {
            "path": list(sys.path),
            "address": self.address,
            "authkey": self.authkey,
            "token": self.server_token,
            "parent": os.getpid(),
            "server": True,
        }
        try:
            server = subprocess.Popen(
                [sys.executable, "-c", _BOOT, WORKER_NAME],
                stdin=subprocess.PIPE,
                env={**WORKER_ENVIRONMENT, **os.environ},
                start_new_session=True,
            )
        except OSError as exc:
            raise RenderError(f"render workers cannot start ({describe_exception(exc)})") from None
        assert server.stdin is not None
        try:
            with server.stdin:
                server.stdin.write(pickle.dumps(setup))
        except OSError:  # it ended already: its connection never comes, its end is heard
            pass
        return server

    def _launch(self) -> None:
        """Ask the server for a worker, and start the thread that serves it (with self.lock
        held)."""
        token = uuid.uuid4().hex
        process = _Forked(token)
        if self.server_ended:
            process.end(self.server_code)
        elif self.server_connection is None:
            self.unforked.append(process)
        else:
            self._fork(process)
        worker = _Worker(process, token)
        self.workers.append(worker)
        self.waiting[token] = worker
        thread = threading.Thread(target=self._serve, args=(worker,), name="pool-worker")
        thread.daemon = True
        thread.start()
        self.threads.append(thread)

    def _fork(self, process: _Forked) -> None:
        """Ask the server to fork the worker process stands for (with self.lock held)."""
        assert self.server_connection is not None
        self.forked[process.token] = process
        try:
            with self.server_sending:
                self.server_connection.send_bytes(process.token.encode())
        except OSError:  # the server has ended: its end is heard, and ends process too
            pass

    def _watch_server(self) -> None:
        """Hear what the server says of its workers (forked, ended) until it ends; then every
        worker it has not forked ends with it."""
        while True:
            with self.lock:
                connection = self.server_connection
            if connection is not None or self.server_ended:
                break
            try:
                self.server.wait(0.05)
            except subprocess.TimeoutExpired:
                continue
            break  # it ended before it connected
        while connection is not None:
            try:
                message = connection.recv_bytes()
            except (EOFError, OSError):
                break
            with self.lock:
                if message[:1] == b"P":  # forked: token, pid
                    forked = self.forked.get(message[1 : 1 + _KEY].decode())
                    pid = int(message[1 + _KEY :])
                    if forked is not None:
                        forked.pid = pid
                        if pid in self.early:
                            forked.end(self.early.pop(pid))
                        else:
                            self.by_pid[pid] = forked
                else:  # ended: pid, exit code
                    pid, code = map(int, message[1:].split())
                    ended = self.by_pid.pop(pid, None)
                    if ended is None:
                        self.early[pid] = code
                    else:
                        ended.end(code)
        server_code = _reap(self.server)
        with self.lock:
            self.server_ended, self.server_code = True, server_code
            left = [*self.unforked, *self.forked.values()]
            self.unforked = []
        for process in left:
            if not process.ended.is_set():  # a worker it forked runs on; its end goes unheard
                process.end(server_code if process.pid is None else None, heard=False)

    def _accept(self) -> None:
        """Take the connections of the workers as they start, until the pool closes."""
        while True:
            try:
                connection: Connection | None = self.listener.accept()
            except Exception:  # one that ended as it connected (a worker killed mid-handshake
                connection = None  # raises ConnectionResetError), a wrong key, close()'s wake-up
            with self.lock:
                if self.closing:
                    if connection is not None:
                        connection.close()
                    self.listener.close()
                    return
            if connection is None:
                continue
            try:
                token = connection.recv_bytes(64).decode()
            except Exception:  # it ended as it connected: its thread finds out
                connection.close()
                continue
            with self.lock:
                if token == self.server_token:
                    self.server_connection = connection
                    for process in self.unforked:
                        self._fork(process)
                    self.unforked = []
                    continue
                worker = self.waiting.pop(token, None)
            if worker is None:
                connection.close()
                continue
            worker.connection = connection
            worker.connected.set()

    def close(self) -> None:
        with self.lock:
            self.closing = True
            queued, self.queue = list(self.queue), deque()
            workers = list(self.workers)
            unforked, self.unforked = self.unforked, []
            connection = self.server_connection
            self.free.notify_all()
        for job in queued:
            if not job.future.cancel():  # given back by a worker that died: it runs already
                job.future.set_exception(RenderError("the pool was closed"))
        for process in unforked:
            process.end(None, heard=False)
        if connection is None:  # still loading: it would fork nothing more
            self.server.kill()
        for worker in workers:
            # A busy worker's work is no longer wanted; an idle one ends when its thread
            # closes its connection.
            if worker.job is not None or not worker.connected.is_set():
                worker.process.kill()
        self._stop_accepting()
        for worker in workers:
            _reap(worker.process)
        if connection is not None:
            try:
                with self.server_sending:
                    connection.send_bytes(b"X")  # end now
            except OSError:  # it has ended already
                pass
        _reap(self.server)
        for thread in self.threads:
            thread.join(10)
        if connection is not None:
            connection.close()

    def _stop_accepting(self) -> None:
        """Close the listener: wake the accepting thread, which closes it once closing is set."""
        with self.lock:
            self.closing = True
        # A bare connection, not a Client: a Client waits for the listener's challenge, forever
        # if the accepting thread has ended; a bare one is accepted, fails the handshake and
        # wakes the thread, or, with the thread gone, waits in the backlog until closed here.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wake:
            wake.settimeout(10)
            try:
                wake.connect(self.address)
            except OSError:  # the listener is closed already
                pass

    def _ended(self, worker: _Worker, served: bool) -> None:
        """worker has ended: a new one takes its place if it had served; if it ended before it
        connected and none is left, every job waiting fails."""
        code = _reap(worker.process)
        with self.lock:
            if worker in self.workers:
                self.workers.remove(worker)
            self.waiting.pop(worker.token, None)
            if self.closing:
                return
            failed: list[_Job] = []
            if served:
                try:
                    self._launch()
                    return
                except RenderError as exc:
                    self.broken = str(exc)
            if not self.workers:
                if self.server_ended and worker.process.pid is None:  # the server's end, not its
                    end = _server_end(self.server_code)
                    self.broken = (
                        f"render workers cannot start: the process they are forked from {end}"
                    )
                self.broken = self.broken or f"a render worker could not start{_death(code)}"
                failed, self.queue = list(self.queue), deque()
        for job in failed:
            if job.started or job.future.set_running_or_notify_cancel():
                job.future.set_exception(RenderError(self.broken))

    # --- jobs

    def submit(self, job: _Job) -> None:
        with self.lock:
            broken = self.broken
            if broken is None:
                self.queue.append(job)
                self.free.notify()
        if broken is not None:
            job.future.set_exception(RenderError(broken))

    def drop(self, key: str) -> None:
        """Tell the workers that have the shared value key to let it go."""
        for worker in list(self.workers):
            with worker.sending:
                if key in worker.has:
                    worker.has.discard(key)
                    try:
                        worker.send(b"D" + key.encode())
                    except OSError:  # it has ended: its thread finds out
                        pass

    def _take(self, worker: _Worker) -> _Job | None:
        """The next job for worker, waiting for one; None once the pool closes."""
        with self.lock:
            while not self.closing:
                while self.queue:
                    job = self.queue.popleft()
                    if job.started or job.future.set_running_or_notify_cancel():
                        job.started = True
                        worker.job = job
                        return job
                self.free.wait()
            return None

    def _serve(self, worker: _Worker) -> None:
        """Give worker jobs one at a time until the pool closes or the worker ends."""
        while not worker.connected.wait(0.05):
            if worker.process.ended.is_set():
                self._ended(worker, served=False)
                return
            if self.closing:
                return
        assert worker.connection is not None
        with worker.connection:
            while (job := self._take(worker)) is not None:
                if not self._run(worker, job):
                    return

    def _run(self, worker: _Worker, job: _Job) -> bool:
        """Run job on worker; False if the worker ended."""
        try:
            with worker.sending:
                for key in job.keys:
                    if key not in worker.has:
                        value = self.shared.get(key)
                        if value is None:
                            raise KeyError(key)
                        worker.send(b"S" + key.encode() + value)
                        worker.has.add(key)
                worker.send(b"J" + job.payload)
        except KeyError:
            worker.job = None
            job.future.set_exception(RenderError(f"{job.what}: its shared value was let go"))
            return True
        except OSError:  # it ended before it took the job: the next free worker takes it
            with self.lock:
                worker.job = None
                self.queue.appendleft(job)
                self.free.notify()
            self._ended(worker, served=True)
            return False
        assert worker.connection is not None
        try:
            reply = worker.connection.recv_bytes()
        except (EOFError, OSError):
            how = _death(_reap(worker.process))
            if not worker.process.heard and self.server_ended:  # only the server hears its end
                end = _server_end(self.server_code)
                how = f" (its server, the process it was forked from, {end} before it)"
            worker.job = None
            job.future.set_exception(WorkerDied(how, job.what))
            self._ended(worker, served=True)
            return False
        worker.job = None
        try:
            done, value = pickle.loads(reply)
        except Exception as exc:  # a result that does not unpickle here
            job.future.set_exception(
                RenderError(f"{job.what}: its result cannot be read ({describe_exception(exc)})")
            )
            return True
        if done:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)
        return True


class _Forked:
    """A worker the server forks: its pid and exit code as the server reports them, and
    ``subprocess.Popen``'s wait() and kill()."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.pid: int | None = None
        self.returncode: int | None = None
        self.ended = threading.Event()
        self.heard = False  # its end was reported: its pid may be another process's now

    def end(self, code: int | None, heard: bool = True) -> None:
        self.returncode, self.heard = code, heard
        self.ended.set()

    def wait(self, timeout: float | None = None) -> int | None:
        if not self.ended.wait(timeout):
            raise subprocess.TimeoutExpired("render worker", timeout or 0)
        return self.returncode

    def kill(self) -> None:
        if self.pid is not None and not self.heard:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # it has ended
                pass


def _reap(process: _Forked | subprocess.Popen[bytes]) -> int | None:
    """process's exit code, once it has ended (killed if it has not within seconds; None if
    that is not known)."""
    for _ in range(2):
        try:
            return process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    return None


def _death(exitcode: int | None) -> str:
    """`` (killed by SIGKILL, ...)``: how a process ended."""
    if exitcode is None:
        return ""
    if exitcode == -signal.SIGKILL:
        return " (killed by SIGKILL, as the system does when memory runs out)"
    if exitcode < 0:
        return f" (killed by {signal.Signals(-exitcode).name})"
    return f" (exit code {exitcode})"


def _server_end(exitcode: int | None) -> str:
    """How the server ended: ``was killed by SIGKILL``, ``ended with exit code 3``."""
    if exitcode is None:
        return "ended"
    if exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"ended with exit code {exitcode}"


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
    as the block ends."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --- the worker side -------------------------------------------------------------------------

_received: dict[str, bytes] = {}  # shared values, pickled, by key
_values: dict[str, Any] = {}  # those unpickled, on the first job that needed each


def serve(setup: dict[str, Any]) -> None:
    """A worker's life: connect, warm up, then answer jobs until the connection ends; or, given
    ``server``, the life of the server that forks them."""
    one_line_warnings()  # a plugin's warnings (NumPy's "Mean of empty slice") as the CLI shows them
    if setup.get("server"):
        _fork_workers(setup)
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    threading.Thread(
        target=_end_with, args=(setup["parent"],), name="parent-watch", daemon=True
    ).start()
    try:
        connection = Client(setup["address"], "AF_UNIX", authkey=setup["authkey"])
        connection.send_bytes(setup["token"].encode())
    except Exception:  # the pool is gone already
        _exit()
    warm()
    # vl-convert's first call in a process starts its runtime, which takes a while; a worker
    # makes it now, beside its first jobs (the call releases the GIL), rather than in its first
    # frame with vector marks. The server never may: a process forked after vl-convert ran hung.
    threading.Thread(target=start_vl_convert, name="vl-convert-start", daemon=True).start()
    while True:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):  # the pool has closed, or its process has ended
            _exit()
        kind, body = message[:1], memoryview(message)[1:]
        if kind == b"S":
            _received[bytes(body[:_KEY]).decode()] = bytes(body[_KEY:])
        elif kind == b"D":
            key = bytes(body).decode()
            _received.pop(key, None)
            _values.pop(key, None)
        else:
            try:
                connection.send_bytes(_answer(body))
            except OSError:
                _exit()


def _fork_workers(setup: dict[str, Any]) -> None:
    """Load what every worker needs once, then fork a worker for each token the pool sends,
    and report each one's pid and, once it has ended, its exit code. Never runs vl-convert: a
    process forked after vl-convert had run hung."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # its workers inherit it from their start
    threading.Thread(
        target=_end_with, args=(setup["parent"],), name="parent-watch", daemon=True
    ).start()
    warm()
    try:
        connection = Client(setup["address"], "AF_UNIX", authkey=setup["authkey"])
        connection.send_bytes(setup["token"].encode())
    except Exception:  # the pool is gone already
        _exit()
    sending = threading.Lock()
    children = threading.Semaphore(0)  # released once per worker forked

    def report_ends() -> None:
        while True:
            children.acquire()
            pid, status = os.waitpid(-1, 0)
            try:
                with sending:
                    connection.send_bytes(b"E%d %d" % (pid, os.waitstatus_to_exitcode(status)))
            except OSError:  # the pool is gone
                _exit()

    threading.Thread(target=report_ends, name="report-ends", daemon=True).start()
    while True:
        try:
            token = connection.recv_bytes()
        except (EOFError, OSError):
            _exit()
        if token == b"X":
            _exit()
        with sending:
            pid = os.fork()
            if pid == 0:  # the worker: only this thread goes on here
                connection.close()
                serve({**setup, "token": token.decode(), "server": False})
                _exit()
            try:
                connection.send_bytes(b"P" + token + b"%d" % pid)
            except OSError:
                _exit()
        children.release()


def _answer(job: memoryview) -> bytes:
    """(True, fn(*args)) pickled, or (False, the exception it raised made portable)."""
    try:
        fn, args = pickle.loads(job)
        return pickle.dumps((True, fn(*args)), pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # a job's failure is the parent's to report
        return pickle.dumps((False, portable(exc)), pickle.HIGHEST_PROTOCOL)


def _shared_value(key: str) -> Any:
    """The value a pool shares under key, unpickled on the first job that needs it."""
    if key not in _values:
        _values[key] = pickle.loads(_received[key])
    return _values[key]


def _exit() -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a pipe nobody reads any more
            pass
    os._exit(0)


def _end_with(parent: int) -> None:
    """End this worker once the process whose pool it serves has ended, however it ended: a
    busy worker reads its connection only when its job is done."""
    try:
        ended = os.pidfd_open(parent)  # Linux 5.3+: readable once the process has ended
    except ProcessLookupError:
        _exit()
    except (AttributeError, OSError):  # no pidfd here: look every second instead
        while _alive(parent):
            time.sleep(1)
        _exit()
    select.select([ended], [], [])
    _exit()


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
    in a process that draws many frames)."""
    try:
        from specanim.draw.raster import use_compiled_loops
        from specanim.engine import prepared, rendering  # noqa: F401  (the rendering modules)

        use_compiled_loops()
    except Exception:  # only a head start: a real problem shows, as one line, on the first job
        pass


def start_vl_convert() -> None:
    """Start vl-convert's runtime in this process: draw a tiny spec."""
    try:
        from specanim.draw.vlconvert import rasterize

        rasterize({"width": 1, "height": 1, "mark": "point", "data": {"values": []}})
    except Exception:  # only a head start: a real problem shows, as one line, on a frame
        pass


def call_portably(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """fn(*args); its exception, if any, made portable (see portable())."""
    try:
        return fn(*args)
    except BaseException as exc:
        stand_in = portable(exc)
        if stand_in is exc:
            raise
        raise stand_in from None


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
