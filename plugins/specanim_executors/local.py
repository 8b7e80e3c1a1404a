"""The ``local`` executor: worker processes on this machine (the default)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import numpy as np
from pydantic import Field

from specanim.engine.pool import Pool, default_workers
from specanim.sdk import Draw, Executor, Options, hookimpl

T = TypeVar("T")


class LocalOptions(Options):
    """How many processes."""

    workers: int | None = Field(
        None, ge=1, le=1024, description="processes rendering at once; default: all cores"
    )


class Local(Executor[LocalOptions]):
    """Spawned worker processes on this machine; with one worker, everything runs in-process."""

    name = "local"

    def __init__(self, options: LocalOptions) -> None:
        super().__init__(options)
        self.pool = Pool(options.workers or default_workers())

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

    def frames(
        self,
        draw: Draw,
        shots: Sequence[int],
        name: Callable[[int], str],
        preload: Callable[[], None] | None = None,
    ) -> Generator[np.ndarray, None, None]:
        return self.pool.frames(draw, shots, name, preload)


@hookimpl
def register_executors(register: Callable[[type[Executor[Any]]], None]) -> None:
    register(Local)
