"""The ``local`` executor: worker processes on this machine (the default)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from pydantic import Field

from specanim.sdk import Executor, Options, WorkerPool, default_workers, hookimpl

T = TypeVar("T")


class LocalOptions(Options):
    """How many processes."""

    workers: int | None = Field(
        None, ge=1, le=1024, description="processes rendering at once; default: all cores"
    )


class Local(Executor[LocalOptions]):
    """Worker processes forked on this machine from a server process; one worker: in-process."""

    name = "local"

    def __init__(self, options: LocalOptions) -> None:
        super().__init__(options)
        self.pool = WorkerPool(options.workers or default_workers())

    @property
    def slots(self) -> int:
        return self.pool.workers

    @property
    def remote(self) -> bool:
        return self.pool.workers > 1

    def start(self) -> None:
        self.pool.start()

    def close(self) -> None:
        self.pool.close()

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        return self.pool.submit(fn, *args)

    def share(self, value: Any) -> AbstractContextManager[Any]:
        return self.pool.share(value)


@hookimpl
def register_executors(register: Callable[[type[Executor[Any]]], None]) -> None:
    register(Local)
