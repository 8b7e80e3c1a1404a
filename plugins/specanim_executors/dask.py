"""The ``dask`` executor: a Dask cluster at ``scheduler:``, or one started on this machine.

Needs ``pip install 'specanim[dask]'``; this module imports Dask only when the executor starts,
so specanim itself never does. A shared value (a render's scene) is scattered to every worker
once (``broadcast``) and every job that names it reads it there, so a worker lost mid-render
has its frames computed again, elsewhere or by the worker its nanny starts in its place, from
the same scene: the pixels are the same as on any other executor. When every worker that held
the scene has died, the jobs left fail with ``WorkerDied``: the render ends in one line.

A local cluster keeps its scratch folders in a temporary folder of its own, removed as it
closes, and its worker processes never see a terminal's Ctrl-C: this process ends them.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager
from importlib import metadata
from multiprocessing import resource_tracker
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from specanim.sdk import (
    Executor,
    Options,
    RenderError,
    UserError,
    WorkerDied,
    call_portably,
    ctrl_c_held,
    default_workers,
    describe_exception,
    dumps,
    hookimpl,
    warm,
)

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

T = TypeVar("T")

# The distributions whose versions decide the pixels: every worker must have this process's.
SAME_VERSIONS = ("specanim", "vl-convert-python", "numpy", "pillow")
# Where Dask logs, in this process: a local cluster's scheduler and nannies, and the client.
LOGGERS = "distributed"


class DaskOptions(Options):
    """Where the cluster is."""

    scheduler: str | None = Field(
        None,
        description="the address of a running Dask scheduler (tcp://host:8786); none: start a "
        "cluster of worker processes on this machine",
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="without scheduler: the local cluster's worker processes (one thread "
        "each); default: all cores",
    )
    timeout: float = Field(
        10, gt=0, le=3600, description="seconds to wait for the scheduler to answer"
    )


class Dask(Executor[DaskOptions]):
    """Fits and frames as Dask tasks, on a cluster or on a local one started for the run."""

    name = "dask"

    def __init__(self, options: DaskOptions) -> None:
        super().__init__(options)
        self.client: Client | None = None
        self.cluster: LocalCluster | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._warming: list[Any] = []
        self._shared: list[Any] = []  # the handles share() holds now
        self._levels: dict[str, int] = {}  # the log levels start() changed, to restore

    @property
    def slots(self) -> int:
        if self.client is None:
            return self.options.workers or default_workers()
        return max(1, sum(w["nthreads"] for w in self._workers().values()))

    @property
    def where(self) -> str:
        """The cluster, as messages name it."""
        address = self.options.scheduler
        return "the local cluster" if address is None else f"the cluster at {address}"

    def start(self) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise UserError(
                "executor 'dask' needs Dask and its distributed scheduler: "
                "pip install 'specanim[dask]'"
            ) from None
        # Nannies start workers with this multiprocessing method (Dask's default); vl-convert
        # hangs in a process forked after it ran, so a configured fork is overridden here.
        settings: dict[str, Any] = {"distributed.worker.multiprocessing-method": "spawn"}
        # The scheduler of a local cluster runs in this process, and Dask's loggers print its,
        # the nannies' and the client's records (a lost worker, data it cannot gather) to
        # stderr: the command says what matters in one line.
        self._levels = _silence(LOGGERS)
        try:
            if self.options.scheduler is None:
                # The scheduler, every nanny and every worker keeps a "dask-scratch-space"
                # folder in Dask's temporary-directory as it starts (a worker its nanny starts
                # again, in its nanny's), and leaves it behind.
                self._scratch = tempfile.TemporaryDirectory(
                    prefix="specanim-dask-", ignore_cleanup_errors=True
                )
                settings["temporary-directory"] = self._scratch.name
            else:
                _check_scheduler(self.options.scheduler, self.options.timeout)
            # Blocked here, SIGINT stays blocked in the threads started meanwhile (Dask's event
            # loop) and in the worker processes they spawn, which inherit the mask: Ctrl-C
            # reaches this process's main thread only, which ends the cluster. The first spawn
            # starts multiprocessing's resource tracker and unblocks SIGINT in the spawning
            # thread as it returns: started now, the tracker leaves the mask alone.
            resource_tracker.ensure_running()
            with ctrl_c_held(), dask.config.set(settings):
                self.client = self._connect(Client, LocalCluster)
            self._check_workers()
            # One task per worker, not awaited: the workers warm up while the caller fits.
            self._warming = [
                self.client.submit(warm, pure=False, workers=[worker]) for worker in self._workers()
            ]
        except BaseException:
            self.close()
            raise

    def _connect(self, client: type[Client], cluster: type[LocalCluster]) -> Client:
        """A client of the scheduler at the address given, else of a new local cluster."""
        address = self.options.scheduler
        if address is None:
            self.cluster = cluster(
                n_workers=self.options.workers or default_workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                # The scheduler serves /health and /metrics even without a dashboard, on port
                # 8787 unless told: any free port, so that clusters side by side never clash.
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.CRITICAL,
            )
            return client(self.cluster, set_as_default=False)
        try:
            return client(address, timeout=f"{self.options.timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UserError(
                f"--scheduler {address}: no Dask scheduler answered within "
                f"{self.options.timeout:g} s ({describe_exception(exc)})"
            ) from None

    def close(self) -> None:
        client, self.client = self.client, None
        self._warming = []
        self._shared = []
        cluster, self.cluster = self.cluster, None
        scratch, self._scratch = self._scratch, None
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        finally:
            if scratch is not None:
                scratch.cleanup()
            levels, self._levels = self._levels, {}
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        from distributed import KilledWorker

        client = self.client
        assert client is not None, "submit() on a dask executor that is not started"
        inner = client.submit(_run_portably, fn, *args, pure=False)
        outer: Future[T] = Future()
        what = getattr(fn, "__qualname__", repr(fn))

        def relay(done: Any) -> None:  # in a thread of the client's, once inner is done
            if not outer.set_running_or_notify_cancel():
                return
            try:
                outer.set_result(done.result())
            except KilledWorker:
                outer.set_exception(WorkerDied(" (Dask lost every worker it ran on)", what))
            except CancelledError as exc:  # not by the caller: outer would be cancelled
                outer.set_exception(self._cancelled(exc, what))
            except BaseException as exc:  # the job's own failure
                outer.set_exception(exc)

        inner.add_done_callback(relay)
        outer.add_done_callback(lambda o: o.cancelled() and inner.cancel())
        return outer

    def _cancelled(self, exc: CancelledError, what: str) -> RenderError:
        """Why the cluster cancelled a job the caller still wanted, as one line."""
        reason = getattr(exc, "reason", None) or "no reason given"
        if reason == "scheduler-connection-lost":  # the client cancels every job then
            return RenderError(f"the connection to the Dask scheduler of {self.where} was lost")
        if any(handle.status != "finished" for handle in self._shared):
            # Dask forgets scattered data once every worker that held it has gone, and
            # cancels the jobs that need it ("already forgotten").
            return WorkerDied(f" (the last Dask worker of {self.where} that held the scene)", what)
        return RenderError(f"Dask cancelled {what} on {self.where} ({reason})")

    @contextmanager
    def share(self, value: Any) -> Iterator[Any]:
        client = self.client
        assert client is not None, "share() on a dask executor that is not started"
        # Pickled here as specanim pickles for any worker (arrays with a canonical dtype), and
        # unpickled once in each worker, as it arrives.
        [handle] = client.scatter([_Pickled(dumps(value))], broadcast=True, hash=False)
        self._shared.append(handle)
        try:
            yield handle
        finally:
            if handle in self._shared:  # not if closed meanwhile
                self._shared.remove(handle)
            handle.release()

    def _workers(self) -> dict[str, Any]:
        assert self.client is not None
        workers: dict[str, Any] = self.client.scheduler_info()["workers"]
        return workers

    def _check_workers(self) -> None:
        """One line if the cluster has no worker, or one lacks this process's versions."""
        assert self.client is not None
        if not self._workers():
            where = self.options.scheduler or "the local cluster"
            raise UserError(f"--scheduler {where}: the Dask cluster has no workers")
        for name in SAME_VERSIONS:
            try:
                here = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
            # importlib.metadata.version is sent by reference to the standard library, so it
            # runs on a worker whatever is installed there.
            there = self.client.run(metadata.version, name, on_error="return")
            for worker, version in sorted(there.items()):
                if isinstance(version, metadata.PackageNotFoundError):
                    found = "does not have it"
                elif version == here:
                    continue
                else:
                    found = (
                        f"has {version}"
                        if isinstance(version, str)
                        else describe_exception(version)
                    )
                raise UserError(
                    f"dask worker {worker}: {name} {here} is needed (as here), the worker "
                    f"{found}: install the same versions on every worker"
                )


def _silence(prefix: str) -> dict[str, int]:
    """Raise every logger named prefix or below it to CRITICAL; their levels before, by name.
    Dask sets some of its own loggers' levels as it loads ("distributed.client"), so its
    records pass them whatever the level of "distributed" above."""
    loggers = logging.Logger.manager.loggerDict
    names = [prefix] + [name for name in loggers if name.startswith(prefix + ".")]
    levels = {}
    for name in names:
        logger = logging.getLogger(name)
        if logger.level < logging.CRITICAL:
            levels[name] = logger.level
            logger.setLevel(logging.CRITICAL)
    return levels


def _check_scheduler(address: str, timeout: float) -> None:
    """UserError unless a Dask scheduler answers at address within timeout seconds."""
    from distributed.comm import CommClosedError, parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:  # checked first: a Client that fails on its address hangs when it is freed
        scheme, where = parse_address(address)
        get_backend(scheme)
        if scheme in ("tcp", "tls"):
            parse_host_port(where)
    except ValueError as exc:
        raise UserError(f"--scheduler {address}: not a Dask scheduler address ({exc})") from None
    failure = _handshake(address, timeout)
    if failure is None:
        return
    if type(failure) is OSError:  # Dask's connect gave up: nothing accepted the connection in time
        why = describe_exception(failure.__cause__ or failure)
        raise UserError(
            f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s ({why})"
        )
    if isinstance(failure, TimeoutError):
        problem = f"no Dask scheduler answered within {timeout:g} s (no answer to its handshake)"
    elif isinstance(failure, CommClosedError):
        problem = "does not answer as a Dask scheduler (it closed the connection)"
    else:  # an HTTP server's "HTTP/1.1", read as a message's length, asks for 3 EiB
        problem = "does not answer as a Dask scheduler (its answer is not in Dask's protocol)"
    raise UserError(
        f"--scheduler {address}: {problem}; a Dask scheduler listens on port 8786 unless told "
        "otherwise, its dashboard (HTTP) on 8787"
    )


def _handshake(address: str, timeout: float) -> BaseException | None:
    """Why Dask's handshake with address failed within timeout seconds; None if it did not.
    Dask's connect waits for the answer to its handshake without a timeout: a server that
    accepted the connection and never answered held it for good."""
    from distributed.comm import connect

    async def handshake() -> None:
        comm = await connect(address, timeout=timeout)
        await comm.close()

    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(handshake(), timeout))
        except BaseException as exc:  # the caller's to report
            failed.append(exc)

    # A thread of its own: asyncio.run refuses to run in a thread whose event loop runs (a
    # notebook's).
    thread = threading.Thread(target=run, name="dask-handshake", daemon=True)
    thread.start()
    thread.join()
    return failed[0] if failed else None


class _Pickled:
    """A value pickled already: it unpickles as that value."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> tuple[Callable[[bytes], Any], tuple[bytes]]:
        return pickle.loads, (self.data,)


def _run_portably(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) on a worker, any exception made portable."""
    return call_portably(fn, args)


@hookimpl
def register_executors(register: Callable[[type[Executor[Any]]], None]) -> None:
    register(Dask)
