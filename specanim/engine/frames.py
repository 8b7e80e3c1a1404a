"""The frames of a render on any executor: in order, with a bounded number in flight.

The scene goes to the executor's workers once (``Executor.share``), wrapped so that a worker
imports the spec's local plugins before it unpickles the scene (pickle loads in order), and
each frame is one job, ``draw_shot(scene, shot)``. At most two jobs per slot are in flight, so
the caller's memory stays flat however long the animation; closing the generator early (an
error downstream, Ctrl-C) cancels the jobs not started. A worker that died while it drew a
frame ends the render with one line naming that frame (and any other whose worker died too).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from specanim.components import Executor
from specanim.draw.raster import use_compiled_loops_for
from specanim.errors import RenderError, WorkerDied
from specanim.plugins import LocalPlugin, import_locals

IN_FLIGHT_PER_SLOT = 2


@dataclass(frozen=True)
class Drawing:
    """What a render's workers share: draw, a frame's pixels by shot, and the local plugins
    its pickle refers to, imported first wherever it is unpickled."""

    plugins: tuple[LocalPlugin, ...]
    draw: Callable[[int], np.ndarray]

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle loads the arguments in order: the plugins' import runs before draw loads.
        return _drawing, (_Imported(self.plugins), self.draw)


class _Imported:
    """Local plugins that are imported as they are unpickled."""

    def __init__(self, plugins: tuple[LocalPlugin, ...]) -> None:
        self.plugins = plugins

    def __reduce__(self) -> tuple[Any, ...]:
        return _import, (self.plugins,)


def _import(plugins: tuple[LocalPlugin, ...]) -> tuple[LocalPlugin, ...]:
    import_locals(plugins)
    return plugins


def _drawing(plugins: tuple[LocalPlugin, ...], draw: Callable[[int], np.ndarray]) -> Drawing:
    return Drawing(plugins, draw)


def draw_shot(drawing: Drawing, shot: int) -> np.ndarray:
    """The job of one frame, in a worker: its pixels."""
    return np.ascontiguousarray(drawing.draw(shot))


def in_order(
    executor: Executor[Any],
    draw: Callable[[int], np.ndarray],
    shots: Sequence[int],
    name: Callable[[int], str],
    plugins: Iterable[LocalPlugin] = (),
) -> Generator[np.ndarray, None, None]:
    """draw(shot) for every shot, in order, run on executor (an entered one); name(shot) says
    what a shot is to the user ("frame 12"), for errors."""
    if not executor.remote:  # the frames are drawn in this process
        use_compiled_loops_for(len(shots))
    limit = max(1, executor.slots) * IN_FLIGHT_PER_SLOT
    pending: deque[tuple[int, Future[np.ndarray]]] = deque()
    with executor.share(Drawing(tuple(plugins), draw)) as scene:
        try:
            for shot in shots:
                pending.append((shot, executor.submit(draw_shot, scene, shot)))
                if len(pending) >= limit:
                    yield _result(pending, name)
            while pending:
                yield _result(pending, name)
        finally:
            for _, future in pending:
                future.cancel()


def _result(
    pending: deque[tuple[int, Future[np.ndarray]]], name: Callable[[int], str]
) -> np.ndarray:
    """The pixels of the first pending shot; RenderError naming the frames whose workers died."""
    shot, future = pending.popleft()
    try:
        return future.result()
    except WorkerDied as died:
        lost = [shot] + [
            s
            for s, f in pending
            if f.done() and not f.cancelled() and isinstance(f.exception(), WorkerDied)
        ]
        what = ", ".join(name(s) for s in lost)
        raise RenderError(f"a render worker died{died.how} while rendering {what}") from None
