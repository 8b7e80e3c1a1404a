"""The local pool and a local Dask cluster of the same size, side by side in one run.

    .venv/bin/pip install -e '.[dask]'
    .venv/bin/python benchmarks/bench_dask.py                 # about 3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_dask.py --quick         # smoke test, < 1 minute

Two cases, each on the ``local`` executor and on the ``dask`` executor (a LocalCluster of as
many worker processes, one thread each), in one run:

* **render**: frames/s of one scene (the 1,797 scikit-learn digits walking for ``--frames``
  snapshots, scatter + digit grid + progress line + title, 1100x800, H.264), the executor
  already started; and the output's bytes compared.
* **sweep**: the wall time of 6 UMAP fits of the digits (``n_neighbors`` x ``min_dist``, 100
  epochs, cache off) submitted at once to the executor, each loading and fitting in a worker;
  the first fit in each new worker process pays numba's compilation unless numba's on-disk
  cache already has umap-learn's functions.

The machine is shared: the load of other processes during each measurement is printed beside
it (cores kept busy by others, from /proc/stat). Re-run on a quiet machine before trusting a
number.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from measure import descendants, machine, machine_cpu
from specanim_executors.dask import Dask, DaskOptions
from specanim_executors.local import Local, LocalOptions

from specanim import engine
from specanim.components import Executor
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

SCENE = """
title: "Digits walking, step {epoch} of {epochs}"
subtitle: Each point is a handwritten digit
width: 1100
height: 800
palette: paired
dataset: {type: sklearn-digits}
reducer: {type: precomputed, path: walk.npz}
panels:
  - type: progress-bar
    style: line
  - type: scatter
    point_size: 5
  - type: digit-grid
    columns: 2
layout:
  row:
    - column: [progress-bar, scatter]
      sizes: [1, 28]
      title: true
    - digit-grid
  sizes: [3, 1]
timeline: {fps: 20}
"""
SWEEP = """
dataset: {type: sklearn-digits}
reducer: {type: umap, epochs: EPOCHS, random_state: 42, n_neighbors: NEIGHBORS, min_dist: DIST}
panels: [{type: scatter}]
"""
GRID = [(n, d) for n in (10, 15, 30) for d in (0.1, 0.5)]  # 6 fits


def tree_cpu() -> float:
    """CPU seconds of this process and every process below it (the executors' workers)."""
    total = 0
    for pid in descendants(os.getpid()):
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


class Watch:
    """Wall time of a block, the CPU our process tree used and what the rest of the machine
    used meanwhile (read while the executor's workers still run)."""

    def __enter__(self) -> Watch:
        self._start = (time.perf_counter(), tree_cpu(), machine_cpu()[0])
        return self

    def stop(self) -> None:
        wall, ours, busy = time.perf_counter(), tree_cpu(), machine_cpu()[0]
        self.seconds = wall - self._start[0]
        self.ours = ours - self._start[1]
        self.others = max(busy - self._start[2] - self.ours, 0.0) / self.seconds

    def __exit__(self, *exc: object) -> None:
        if not hasattr(self, "seconds"):
            self.stop()

    def describe(self) -> str:
        return f"we used {self.ours:.1f} CPU-s; other processes {self.others:.2f} cores"


def fit(text: str, folder: str) -> int:
    """Load and fit one sweep spec (in a worker): the number of snapshots."""
    path = Path(folder) / f"sweep-{os.getpid()}-{time.monotonic_ns()}.yaml"
    path.write_text(text, encoding="utf-8")
    plan = load_plan(path, default_registry())
    return len(engine.prepare(plan, cache="off").trajectory)


def executors(workers: int) -> dict[str, Callable[[], Executor[Any]]]:
    return {
        "local": lambda: Local(LocalOptions(workers=workers)),
        "dask": lambda: Dask(DaskOptions(workers=workers)),
    }


def render_case(folder: Path, workers: int, frames: int) -> None:
    walk = np.cumsum(np.random.default_rng(0).normal(size=(frames, 1797, 2)), axis=0)
    np.savez(folder / "walk.npz", walk.astype(np.float32))
    spec = folder / "walk.yaml"
    spec.write_text(SCENE, encoding="utf-8")
    print(f"render: {frames} frames of 1,797 points, 1100x800 H.264, {workers} workers")
    rates: dict[str, float] = {}
    outputs: dict[str, bytes] = {}
    for name, make in executors(workers).items():
        with Watch() as started, make() as executor:
            plan = load_plan(spec, default_registry(), folder / f"{name}.mp4")
            prepared = engine.prepare(plan)
            started.stop()
            with Watch() as watch:
                result = engine.render(prepared, executor=executor)
                watch.stop()
        rates[name] = result.frames / watch.seconds
        outputs[name] = result.path.read_bytes()
        print(
            f"  {name:5}  {rates[name]:6.2f} frames/s  ({watch.describe()}; start and load "
            f"{started.seconds:.1f} s)"
        )
    same = outputs["local"] == outputs["dask"]
    print(f"  dask/local: {rates['dask'] / rates['local']:.2f}; same bytes: {same}")


def sweep_case(folder: Path, workers: int, epochs: int) -> None:
    print(f"sweep: {len(GRID)} UMAP fits of the 1,797 digits, {epochs} epochs, {workers} workers")
    texts = [
        SWEEP.replace("EPOCHS", str(epochs)).replace("NEIGHBORS", str(n)).replace("DIST", str(d))
        for n, d in GRID
    ]
    seconds: dict[str, float] = {}
    for name, make in executors(workers).items():
        with Watch() as watch, make() as executor:
            counts = [f.result() for f in [executor.submit(fit, t, str(folder)) for t in texts]]
            watch.stop()
        assert len(set(counts)) == 1 and counts[0] >= epochs, counts
        seconds[name] = watch.seconds
        print(f"  {name:5}  {watch.seconds:6.1f} s  ({watch.describe()})")
    print(f"  dask/local time: {seconds['dask'] / seconds['local']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--frames", type=int, default=200, help="frames of the render case")
    parser.add_argument("--epochs", type=int, default=100, help="UMAP epochs of each fit")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script")
    args = parser.parse_args()
    frames, epochs = (20, 10) if args.quick else (args.frames, args.epochs)
    print("machine:", ", ".join(f"{k} {v}" for k, v in machine().items()))
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        render_case(Path(tmp), args.workers, frames)
        sweep_case(Path(tmp), args.workers, epochs)
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
