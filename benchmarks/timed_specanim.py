"""Run the ``specanim`` command unchanged, recording how long each of its phases takes.

    python benchmarks/timed_specanim.py TIMES.json render SPEC [options]

is ``specanim render SPEC [options]`` (or any other specanim command) with timers around
``engine.prepare`` (load the data, read or fit the trajectory, build the panels), inside it
``trajectories.obtain`` (read or fit the trajectory: "fit") and ``Composer.start`` (the parts
drawn once), ``engine.render`` (render every frame and encode it), ``engine.still`` (one frame)
and the frame stream inside ``engine.render`` (from the executor it is given): when the first
frame arrived, how long the main process waited for frames and how long it spent on everything
else (writing them to the encoder). "imported" is when specanim's command line had been
imported; "libraries" holds how long the first import of a few heavy libraries took, wherever
it happened (umap-learn's includes numba compiling pynndescent's functions, or loading them from
numba's cache). The times, in seconds from this script's start, are written to TIMES.json when
the command ends; specanim's code is not changed.

With the environment variable ``SPECANIM_BENCH_PROFILE=FILE``, the render phase alone runs under
cProfile and its statistics go to FILE (use ``--workers 1`` so that the frames are rendered in
this process).
"""

from __future__ import annotations

import builtins
import cProfile
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()  # before specanim's imports, so that they count

from specanim import cli, engine  # noqa: E402
from specanim.draw.compose import Composer  # noqa: E402
from specanim.engine import rendering  # noqa: E402
from specanim.store import trajectories  # noqa: E402

times: dict[str, Any] = {"imported": time.perf_counter() - STARTED}


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """function, recording when it started and how long it ran under name."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        times[f"{name}_start"] = start - STARTED
        try:
            return function(*args, **kwargs)
        finally:
            times[name] = time.perf_counter() - start

    return wrapper


def stream(function: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """A frame stream that records the first frame's arrival and the time spent waiting."""

    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        start = time.perf_counter()
        waited, count = 0.0, 0
        frames = function(*args, **kwargs)
        while True:
            before = time.perf_counter()
            try:
                frame = next(frames)
            except StopIteration:
                break
            waited += time.perf_counter() - before
            count += 1
            if count == 1:
                times["first_frame"] = time.perf_counter() - start
            times["waiting"], times["pictures"] = waited, count
            yield frame
        times["stream"] = time.perf_counter() - start

    return wrapper


def profiled(function: Callable[..., Any], stats_file: str) -> Callable[..., Any]:
    """function, run under cProfile; its statistics are written to stats_file."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        profile = cProfile.Profile()
        try:
            return profile.runcall(function, *args, **kwargs)
        finally:
            profile.dump_stats(stats_file)

    return wrapper


LIBRARIES = ("umap", "openTSNE", "sklearn", "numba", "vl_convert", "av", "pandas", "altair")


def time_library_imports() -> None:
    """Record how long the first import of each of LIBRARIES takes (import statements go
    through builtins.__import__; a library imported inside another counts in both)."""
    real = builtins.__import__
    took: dict[str, float] = times.setdefault("libraries", {})

    def importing(name: str, *args: Any, **kwargs: Any) -> Any:
        top = name.partition(".")[0]
        level = args[3] if len(args) > 3 else kwargs.get("level", 0)
        if level or top not in LIBRARIES or top in sys.modules:
            return real(name, *args, **kwargs)
        start = time.perf_counter()
        try:
            return real(name, *args, **kwargs)
        finally:
            took.setdefault(top, time.perf_counter() - start)

    builtins.__import__ = importing


def executor_streamed(render: Callable[..., Any]) -> Callable[..., Any]:
    """engine.render, with the frame stream of the executor it is given (if any) timed."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        executor = kwargs.get("executor")
        if executor is not None and hasattr(executor, "frames"):
            executor.frames = stream(executor.frames)
        return render(*args, **kwargs)

    return wrapper


def main() -> None:
    out = Path(sys.argv[1])
    time_library_imports()
    engine.prepare = timed("prepare", engine.prepare)
    trajectories.obtain = timed("fit", trajectories.obtain)
    Composer.start = timed("start", Composer.start)  # type: ignore[method-assign]
    engine.still = timed("still", engine.still)
    render = engine.render
    if os.environ.get("SPECANIM_BENCH_PROFILE"):
        render = profiled(render, os.environ["SPECANIM_BENCH_PROFILE"])
    engine.render = timed("render", executor_streamed(render))
    # The frame stream engine.render consumes: the engine's frames loop.
    rendering.in_order = stream(rendering.in_order)  # type: ignore[assignment]
    sys.argv = ["specanim", *sys.argv[2:]]
    try:
        cli.main()
    finally:
        times["total"] = time.perf_counter() - STARTED
        out.write_text(json.dumps(times, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
