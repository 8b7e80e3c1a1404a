"""One frame's cost on one core, the two ways specanim can draw it, side by side in one run.

* embedded: vl-convert draws the frame's full Vega-Lite, raster layers embedded as PNG images
  (what ``specanim still --vega-lite`` writes);
* painted: vl-convert draws the rest, and the raster layers are painted into the pixels where
  Vega put their boxes, never encoded as PNG (what renders do).

    .venv/bin/python benchmarks/bench_frame.py                      # specs/digits_umap.yaml
    .venv/bin/python benchmarks/bench_frame.py specs/mnist_umap.yaml \\
        --set dataset.path=../shared/data/mnist --set dataset.split=test --frames 20

It prints milliseconds per frame for each, their ratio, the largest pixel difference between
them, and the machine's load (other processes on a 2-core machine skew every number).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from specanim import engine, palette
from specanim.plugins import default_registry
from specanim.render import fit_canvas, rasterize
from specanim.spec.validate import load_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("spec", type=Path, nargs="?", default=Path("specs/digits_umap.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="P=V")
    parser.add_argument("--frames", type=int, default=15, help="frames timed, spread evenly")
    args = parser.parse_args()

    plan = load_plan(args.spec, default_registry(), overrides=args.overrides)
    prepared = engine.prepare(plan)
    spec = plan.spec
    shots = np.linspace(0, len(prepared.shots) - 1, args.frames).astype(int).tolist()

    def embedded(shot: int) -> np.ndarray:
        rgb = rasterize(prepared.composer.frame_spec(prepared.frame(shot)))
        return fit_canvas(rgb, spec.width, spec.height, palette.rgb(spec.background))

    ways = {"embedded": embedded, "painted": prepared.pixels}
    for shot in shots[:2]:  # warm both: vl-convert's first call in a process is slow
        for draw in ways.values():
            draw(shot)
    timings: dict[str, float] = {}
    for name, draw in ways.items():
        started = time.perf_counter()
        for shot in shots:
            draw(shot)
        timings[name] = (time.perf_counter() - started) / len(shots)
    difference = max(
        int(np.abs(embedded(s).astype(int) - prepared.pixels(s)).max()) for s in shots[::5]
    )
    load = os.getloadavg()[0]
    print(f"{args.spec}: {spec.width}x{spec.height}, {len(prepared.data)} points, one process")
    for name, seconds in timings.items():
        print(f"  {name:9} {seconds * 1000:7.1f} ms a frame")
    print(f"  painted is {timings['embedded'] / timings['painted']:.2f}x as fast as embedded")
    print(f"  largest pixel difference between the two: {difference}")
    print(f"  load average during the run: {load:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
