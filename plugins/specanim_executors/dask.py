"""The ``dask`` executor: a Dask cluster at ``scheduler:``, or one started on this machine.

Needs ``pip install 'specanim[dask]'``; this module imports Dask only when the executor starts,
so specanim itself never does. A shared value (a render's scene) is scattered to every worker
once (``broadcast``) and every job that names it reads it there, so a worker lost mid-render
has its frames computed again, elsewhere or by the worker its nanny starts in its place, from
the same scene: the pixels are the same as on any other executor.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from specanim.sdk import (
    Executor,
    Options,
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
        self._warming: list[Any] = []
        self._logging = logging.NOTSET

    @property
    def slots(self) -> int:
        if self.client is None:
            return self.options.workers or default_workers()
        return max(1, sum(w["nthreads"] for w in self._workers().values()))

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
        settings = {"distributed.worker.multiprocessing-method": "spawn"}
        # Blocked here, SIGINT stays blocked in the threads started meanwhile (Dask's event
        # loop): Ctrl-C reaches this process's main thread, which ends the cluster.
        # The scheduler of a local cluster runs in this process: its and the client's INFO
        # records would reach the command's stderr.
        quiet = logging.getLogger("distributed")
        self._logging = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
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
        from distributed.comm import parse_address, parse_host_port
        from distributed.comm.registry import get_backend

        try:  # checked first: a Client that fails on its address hangs when it is freed
            scheme, where = parse_address(address)
            get_backend(scheme)
            if scheme in ("tcp", "tls"):
                parse_host_port(where)
        except ValueError as exc:
            raise UserError(
                f"--scheduler {address}: not a Dask scheduler address ({exc})"
            ) from None
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
        cluster, self.cluster = self.cluster, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        logging.getLogger("distributed").setLevel(self._logging)

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
            except BaseException as exc:  # the job's own failure, or its cancellation
                outer.set_exception(exc)

        inner.add_done_callback(relay)
        outer.add_done_callback(lambda o: o.cancelled() and inner.cancel())
        return outer

    @contextmanager
    def share(self, value: Any) -> Iterator[Any]:
        client = self.client
        assert client is not None, "share() on a dask executor that is not started"
        # Pickled here as specanim pickles for any worker (arrays with a canonical dtype), and
        # unpickled once in each worker, as it arrives.
        [handle] = client.scatter([_Pickled(dumps(value))], broadcast=True, hash=False)
        try:
            yield handle
        finally:
            handle.release()

    def _workers(self) -> dict[str, Any]:
        assert self.client is not None
        workers: dict[str, Any] = self.client.scheduler_info()["workers"]
        return workers

    def _check_workers(self) -> None:
        """One line if the cluster has no worker, or one lacks this process's versions."""
        assert self.client is not None
        where = self.options.scheduler or "the local cluster"
        if not self._workers():
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
