"""One frame's cost in one process: the two ways specanim can draw it, and where its time goes.

* embedded: vl-convert draws the frame's full Vega-Lite, raster layers embedded as PNG images
  (what ``specanim still --vega-lite`` writes);
* painted: vl-convert draws the rest, box by box, and the raster layers are painted into the
  pixels where Vega put their boxes, never encoded as PNG (what renders do);
* the split: the painted frame as a render worker draws it (``Prepared.pixels``, with the
  compiled loops workers load), hashed and converted as workers do, then encoded by the spec's
  encoder as the main process does, with timers around each part: every panel's view (the
  scatter's is rasterising the points, the digit grid's is drawing the digits), composing the
  rest of the Vega-Lite, vl-convert (Vega to SVG, SVG to PNG, decoding the PNG),
  painting the raster layers, hashing, converting, encoding.

    .venv/bin/python benchmarks/bench_frame.py                      # specs/digits_umap.yaml
    .venv/bin/python benchmarks/bench_frame.py specs/mnist_umap.yaml \\
        --set dataset.path=../shared/data/mnist --set dataset.split=test --frames 20 --one-core

It prints milliseconds per frame for each, their ratio, the largest pixel difference between
them, the split, and the machine's load (other processes on a 2-core machine skew every
number). ``bench_render.py`` runs it on the seed scene (``--one-core --json FILE``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from specanim import engine
from specanim.draw import raster
from specanim.draw.vlconvert import fit_canvas, rasterize
from specanim.engine import pictures
from specanim.plugins import default_registry
from specanim.spec import palette
from specanim.spec.validate import load_plan


def compare(prepared: engine.Prepared, shots: list[int]) -> dict[str, float]:
    """Seconds a frame takes embedded and painted, and the largest pixel difference between
    the two ("difference", over every fifth shot)."""
    spec = prepared.plan.spec

    def embedded(shot: int) -> np.ndarray:
        rgb = rasterize(prepared.composer.frame_spec(prepared.frame(shot)))
        return fit_canvas(rgb, spec.width, spec.height, palette.rgb(spec.background))

    ways: dict[str, Callable[[int], np.ndarray]] = {
        "embedded": embedded,
        "painted": prepared.pixels,
    }
    for shot in shots[:2]:  # warm both: vl-convert's first call in a process is slow
        for draw in ways.values():
            draw(shot)
    out: dict[str, float] = {}
    for name, draw in ways.items():
        started = time.perf_counter()
        for shot in shots:
            draw(shot)
        out[name] = (time.perf_counter() - started) / len(shots)
    out["difference"] = max(
        int(np.abs(embedded(s).astype(int) - prepared.pixels(s)).max()) for s in shots[::5]
    )
    return out


class Split:
    """Seconds spent in each part of drawing and encoding frames, summed over frames."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, attribute: str, part: str) -> None:
        """Time every call of owner.attribute as part (until ``restore``)."""
        function = getattr(owner, attribute)
        had_own = attribute in vars(owner)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - started

        setattr(owner, attribute, timed)
        self._undo.append(
            (lambda: setattr(owner, attribute, function))
            if had_own
            else (lambda: delattr(owner, attribute))
        )

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    @contextmanager
    def timing(self, part: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[part] += time.perf_counter() - started


def split(prepared: engine.Prepared, shots: list[int]) -> dict[str, float]:
    """Seconds per frame of each part of the painted path and of encoding, for the shots;
    "total" is their sum, as one process runs them one after another.

    Parts: "view: KEY" for every panel drawn per frame (what a static panel drew once is not
    there), "composing" (the rest of the frame's Vega-Lite), "vl-convert: Vega to SVG",
    "vl-convert: SVG to PNG", "PNG decoding", "painting", "hashing" (the frame's
    SHA-256 for the manifest), "converting" (the encoder's converter, which render workers run:
    a video's RGB to YUV), "encoding" (the encoder compressing the frame) and "other" (whatever
    else ``Prepared.pixels`` does).
    """
    import vl_convert as vlc

    plan = prepared.plan
    times = Split()
    for shot in shots[:2]:  # warm up: vl-convert's first call in a process is slow
        prepared.pixels(shot)
    for key, panel in prepared.composer.panels.items():
        times.wrap(panel, "view", f"view: {key}")
    times.wrap(prepared.composer, "frame_pieces", "composing")
    times.wrap(vlc, "vegalite_to_svg", "vl-convert: Vega to SVG")
    times.wrap(vlc, "svg_to_png", "vl-convert: SVG to PNG")
    placing = sys.modules[engine.Prepared.__module__]  # where Prepared.place draws the pieces
    times.wrap(placing, "rasterize_remembered", "rasterize")
    times.wrap(placing, "paint", "painting")
    encoder = plan.encoder.cls(plan.encoder.options)
    convert = encoder.converter()
    spec = plan.spec
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"frames{plan.output.suffix}"
            sink = encoder.open(path, spec.width, spec.height, spec.timeline.fps)
            for shot in shots:
                with times.timing("pixels"):
                    rgb = prepared.pixels(shot)
                with times.timing("hashing"):
                    pictures.digest(rgb)
                if convert is None:
                    with times.timing("encoding"):
                        sink.write(rgb)
                    continue
                with times.timing("converting"):
                    frame = convert(rgb)
                with times.timing("encoding"):
                    sink.write_converted(frame)
            with times.timing("encoding"):
                sink.close()  # the frames the encoder still holds
    finally:
        times.restore()
    s = times.seconds
    views = sum(v for k, v in s.items() if k.startswith("view: "))
    s["composing"] -= views
    s["PNG decoding"] = s["rasterize"] - s["vl-convert: Vega to SVG"] - s["vl-convert: SVG to PNG"]
    s["other"] = s["pixels"] - s.pop("rasterize") - s["composing"] - views
    s["other"] -= s["painting"]
    s["total"] = s.pop("pixels") + s["encoding"] + s["hashing"] + s.get("converting", 0.0)
    return {part: seconds / len(shots) for part, seconds in s.items()}


def describe_split(parts: dict[str, float]) -> list[str]:
    """The split as lines: ms per frame, largest first, the total last."""
    total = parts["total"]
    lines = [
        f"{seconds * 1000:7.1f} ms  {seconds / total:4.0%}  {part}"
        for part, seconds in sorted(parts.items(), key=lambda kv: -kv[1])
        if part != "total"
    ]
    return [*lines, f"{total * 1000:7.1f} ms  100%  one frame, drawn and encoded"]


def one_core() -> int:
    """Keep this process (and the threads it starts: PyAV's encoder has some) on one core."""
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("spec", type=Path, nargs="?", default=Path("specs/digits_umap.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="P=V")
    parser.add_argument("--frames", type=int, default=15, help="frames timed, spread evenly")
    parser.add_argument("--one-core", action="store_true", help="run on one core only")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    core = one_core() if args.one_core else None
    raster.use_compiled_loops()  # as render workers do while they warm up: the same pixels

    plan = load_plan(args.spec, default_registry(), overrides=args.overrides)
    prepared = engine.prepare(plan)
    spec = plan.spec
    shots = np.linspace(0, len(prepared.shots) - 1, args.frames).astype(int).tolist()
    timings = compare(prepared, shots)
    parts = split(prepared, shots)
    load = os.getloadavg()[0]
    where = f"core {core}" if core is not None else f"{os.cpu_count()} cores"
    print(f"{args.spec}: {spec.width}x{spec.height}, {len(prepared.data)} points, one process")
    for name in ("embedded", "painted"):
        print(f"  {name:9} {timings[name] * 1000:7.1f} ms a frame")
    print(f"  painted is {timings['embedded'] / timings['painted']:.2f}x as fast as embedded")
    print(f"  largest pixel difference between the two: {timings['difference']:.0f}")
    print(f"  where a painted frame's time goes ({len(shots)} frames, {where}):")
    for line in describe_split(parts):
        print(f"    {line}")
    print(f"  load average during the run: {load:.1f} on {os.cpu_count()} cores")
    if args.json:
        result = {
            "spec": str(args.spec),
            "points": len(prepared.data),
            "frames": len(shots),
            "one_core": core is not None,
            "load": load,
            **timings,
            "split": parts,
        }
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
