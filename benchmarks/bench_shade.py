"""Density shading and small dots, measured: what the scatter's ``shade: density`` and the
video encoders' ``chroma: weighted`` rest on.

    .venv/bin/pip install datashader       # only to measure it against; specanim does not use it
    .venv/bin/python benchmarks/bench_shade.py
    .venv/bin/python benchmarks/bench_shade.py --part kernels --points 30000 300000 1000000

Two parts, each on one core, side by side in one run:

* ``kernels``: aggregating and shading 30k, 300k and 1M points (ten classes, in drifting
  Gaussian clusters) into 700x700 pixels, with datashader (``Canvas.points`` with
  ``count_cat``, then ``shade``), specanim's numpy kernel (``specanim.draw.density``: ufunc.at of
  each point's colour into float32 sums), numpy counting per pixel and class with one
  ``np.bincount`` then mixing by a (pixels, classes) @ (classes, 3) product, and a numba kernel
  that counts in one pass; all three numpy-shaded the same way. Milliseconds a frame, ratios,
  and the largest difference of any pixel's RGBA from the numpy kernel's. Then the scatter's
  points path (``PointRasterizer.draw``) at 1M points into its 1000x740 box of an 1100x800
  frame.
* ``chroma``: small coloured dots through H.264's 4:2:0 chroma subsampling. The last frame of
  the digits scene (1,797 points of 5 px; PCA, to skip UMAP's fit) and a 1M-point density frame
  are rendered losslessly, encoded by specanim's mp4 encoder, decoded with PyAV (BT.709, as
  tagged), and compared with the lossless frame: mean colour error on the lit pixels and on the
  dark pixels beside them, and the saturation the lit pixels lost, for the mp4 encoder's
  ``chroma: even`` (FFmpeg's conversion) and ``weighted``, a lower crf, and a video at twice the
  size (what drawing at 2x would cost).

It prints the machine's load too: other processes on a 2-core machine skew every number.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenes  # noqa: E402  (the benchmark's own inputs, beside this script)

from specanim.draw.density import DensityShader, How, alpha_ramp  # noqa: E402
from specanim.spec.palette import resolve, rgb  # noqa: E402

BOX = 700  # pixels a side of the density benchmark's box
HOW: How = "eq_hist"
MIN_ALPHA = 40 / 255  # datashader's default


def timed(draw: Callable[[], Any], repeat: int) -> float:
    """Milliseconds a call, the best of repeat after one warm-up call."""
    draw()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        draw()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def cluster_points(n: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """n points of ten classes in their final clusters, as pixel positions filling the box with
    a margin of 5 %: (xy (n, 2) float32, labels (n,))."""
    snapshots, labels = scenes.cluster_snapshots(n, 2)
    xy = snapshots[-1]
    low, high = xy.min(axis=0), xy.max(axis=0)
    size = np.array([width, height], np.float32)
    return ((xy - low) / (high - low) * 0.9 * size + 0.05 * size).astype(np.float32), labels


def palette_rgb(k: int = 10) -> np.ndarray:
    return np.asarray([rgb(c) for c in resolve("paired", k)], np.uint8)


# --- part 1: kernels --------------------------------------------------------------------------


def datashader_kernel(xy: np.ndarray, labels: np.ndarray, colors: np.ndarray) -> Callable[[], Any]:
    """datashader's own aggregation and shading, into BOX x BOX pixels (row 0 at y = 0, as
    specanim's pixel rows)."""
    import datashader as ds
    import datashader.transfer_functions as tf
    import pandas as pd

    key = ["#{:02x}{:02x}{:02x}".format(*c) for c in colors]
    category = pd.Categorical.from_codes(labels, categories=[str(k) for k in range(len(colors))])
    canvas = ds.Canvas(plot_width=BOX, plot_height=BOX, x_range=(0, BOX), y_range=(0, BOX))

    def draw() -> np.ndarray:
        frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "c": category})
        agg = canvas.points(frame, "x", "y", agg=ds.count_cat("c"))
        image = tf.shade(agg, color_key=key, how=HOW, min_alpha=40)
        return np.asarray(image.data).view(np.uint8).reshape(BOX, BOX, 4)

    return draw


def class_count_kernel(xy: np.ndarray, labels: np.ndarray, colors: np.ndarray) -> Callable[[], Any]:
    """numpy the other way: one np.bincount of pixel x classes + class, then the (pixels,
    classes) counts times the (classes, 3) palette, shaded as specanim's."""
    from specanim.draw.density import pixel_index

    k = len(colors)
    palette = colors.astype(np.float32)

    def draw() -> np.ndarray:
        size = BOX * BOX
        index = pixel_index(xy, BOX, BOX) * k + labels
        counts = np.bincount(index, minlength=(size + 1) * k)[: size * k].reshape(size, k)
        total = counts.sum(axis=1)
        lit = np.flatnonzero(total)
        mixed = counts[lit].astype(np.float32) @ palette
        rgba = np.zeros((size, 4), np.uint8)
        rgba[lit, :3] = np.minimum(np.rint(mixed / total[lit, None]), 255)
        rgba[lit, 3] = np.rint(alpha_ramp(total[lit].astype(np.float32), HOW, MIN_ALPHA) * 255)
        return rgba.reshape(BOX, BOX, 4)

    return draw


def numba_kernel(xy: np.ndarray, labels: np.ndarray, colors: np.ndarray) -> Callable[[], Any]:
    """Counting and colour sums in one compiled pass over the points, shaded as numpy's."""
    import numba

    @numba.njit(cache=False, nogil=True)
    def accumulate(xy: np.ndarray, paint: np.ndarray, width: int, height: int) -> np.ndarray:
        planes = np.zeros((height * width, 4), np.float32)
        for i in range(xy.shape[0]):
            x, y = xy[i, 0], xy[i, 1]
            if x >= 0 and y >= 0 and x < width and y < height:
                p = int(y) * width + int(x)
                planes[p, 0] += 1
                planes[p, 1] += paint[i, 0]
                planes[p, 2] += paint[i, 1]
                planes[p, 3] += paint[i, 2]
        return planes

    paint = colors[labels].astype(np.float32)

    def draw() -> np.ndarray:
        planes = accumulate(xy, paint, BOX, BOX)
        lit = np.flatnonzero(planes[:, 0])
        sums = planes[lit]
        rgba = np.zeros((BOX * BOX, 4), np.uint8)
        rgba[lit, :3] = np.minimum(np.rint(sums[:, 1:] / sums[:, :1]), 255)
        rgba[lit, 3] = np.rint(alpha_ramp(sums[:, 0], HOW, MIN_ALPHA) * 255)
        return rgba.reshape(BOX, BOX, 4)

    started = time.perf_counter()
    draw()
    print(f"  numba: first call (compilation) {time.perf_counter() - started:.2f} s")
    return draw


def difference(image: np.ndarray, reference: np.ndarray) -> int:
    """The largest difference of two RGBA images' alphas, and of their colours where both
    show (datashader colours the pixels it leaves transparent)."""
    a, b = image.astype(int), reference.astype(int)
    shown = (a[..., 3] > 0) & (b[..., 3] > 0)
    alpha = np.abs(a[..., 3] - b[..., 3]).max()
    return int(max(alpha, np.abs(a[shown, :3] - b[shown, :3]).max(initial=0)))


def kernels(points: list[int], repeat: int) -> None:
    print(f"== density kernels: {HOW}, into {BOX}x{BOX} pixels, ten classes, one core ==")
    colors = palette_rgb()
    for n in points:
        xy, labels = cluster_points(n, BOX, BOX)
        shader = DensityShader(colors[labels], how=HOW, min_alpha=MIN_ALPHA)
        ways: dict[str, Callable[[], Any]] = {"numpy": functools.partial(shader.draw, xy, BOX, BOX)}
        try:
            ways["datashader"] = datashader_kernel(xy, labels, colors)
        except ImportError:
            print("  datashader is not installed: left out")
        ways["numpy, bincount per class"] = class_count_kernel(xy, labels, colors)
        ways["numba"] = numba_kernel(xy, labels, colors)
        reference = ways["numpy"]()
        times = {name: timed(draw, repeat) for name, draw in ways.items()}
        differences = {name: difference(draw(), reference) for name, draw in ways.items()}
        print(f"  {n:,} points:")
        for name, ms in times.items():
            print(
                f"    {name:26} {ms:7.1f} ms a frame  {ms / times['numpy']:5.2f}x numpy's  "
                f"largest difference from numpy's: {differences[name]}"
            )


def points_path(n: int, repeat: int) -> None:
    """The scatter's points (not density) at n points into its box of an 1100x800 frame."""
    from specanim.draw.raster import PointRasterizer

    width, height = 1000, 740
    xy, labels = cluster_points(n, width, height)
    rasterizer = PointRasterizer(palette_rgb()[labels], 2.5, 0.8)
    ms = timed(lambda: rasterizer.draw(xy, width, height), repeat)
    print(f"== points path: {n:,} points of 2.5 px into {width}x{height}: {ms:.1f} ms a frame ==")


# --- part 2: chroma ---------------------------------------------------------------------------


def last_frame(spec: Path, overrides: list[str]) -> np.ndarray:
    """The scene's last frame, drawn losslessly: (height, width, 3) uint8."""
    from specanim import engine
    from specanim.plugins import default_registry
    from specanim.spec.validate import load_plan

    prepared = engine.prepare(load_plan(spec, default_registry(), overrides=overrides))
    return prepared.pixels(len(prepared.shots) - 1)


def through_mp4(rgb: np.ndarray, path: Path, **options: Any) -> tuple[np.ndarray, int]:
    """rgb encoded (three times) by specanim's mp4 encoder with options and decoded with PyAV
    as the stream is tagged (BT.709, limited range): the last frame and the file's size."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    from specanim_encoders.video import Mp4, Mp4Options

    height, width = rgb.shape[:2]
    with Mp4(Mp4Options(**options)).open(path, width, height, 20) as sink:
        for _ in range(3):
            sink.write(rgb)
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams.video[0]))
    decoded = frames[-1].reformat(
        format="rgb24", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG
    )
    return decoded.to_ndarray(), path.stat().st_size


def colour_errors(lossless: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """Mean absolute error (levels, averaged over R, G, B) on the lit pixels (any channel above
    40) and on the dark pixels next to them (where colour bleeds), and the mean saturation (max -
    min channel) the lit pixels lost."""
    a, b = lossless.astype(np.float32), decoded.astype(np.float32)
    lit = a.max(axis=2) > 40
    near = np.zeros_like(lit)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= np.roll(lit, (dy, dx), axis=(0, 1))
    error = np.abs(a - b).mean(axis=2)
    saturation = (a.max(axis=2) - a.min(axis=2)) - (b.max(axis=2) - b.min(axis=2))
    return {
        "lit": float(error[lit].mean()),
        "beside": float(error[near & ~lit].mean()),
        "desaturation": float(saturation[lit].mean()),
    }


def supersampling(work: Path) -> None:
    """Dots drawn at 2x and reduced by a 2x2 box filter (a remedy often suggested for 4:2:0)
    against drawn at 1x: how far apart, and each one's errors through the mp4 encoder."""
    from specanim.draw.raster import PointRasterizer

    width, height = 1000, 740
    xy, labels = cluster_points(1797, width, height)
    colors = palette_rgb()[labels]
    once = PointRasterizer(colors, 5, 0.8).draw(xy, width, height).astype(np.float32)
    big = PointRasterizer(colors, 10, 0.8).draw(xy * 2, 2 * width, 2 * height).astype(np.float32)
    # Over black, as the frame shows them; then the box filter.
    shown_once = once[..., :3] * once[..., 3:] / 255
    shown_big = big[..., :3] * big[..., 3:] / 255
    reduced = shown_big.reshape(height, 2, width, 2, 3).mean(axis=(1, 3))
    difference = np.abs(shown_once - reduced)[(once[..., 3] > 0) | (reduced.max(axis=2) > 0)]
    print(
        f"  1,797 dots of 5 px drawn at 2x and box-filtered vs drawn at 1x: largest difference "
        f"{difference.max():.0f} levels, mean {difference.mean():.2f}; through the mp4 encoder "
        "(chroma: even):"
    )
    for name, frame in (("drawn at 1x", shown_once), ("drawn at 2x, reduced", reduced)):
        rgb = np.ascontiguousarray(np.rint(frame).astype(np.uint8))
        decoded, size = through_mp4(rgb, work / "dots.mp4", chroma="even")
        e = colour_errors(rgb, decoded)
        print(
            f"    {name:22} error on the dots {e['lit']:5.2f}, beside them {e['beside']:5.2f}; "
            f"saturation lost {e['desaturation']:5.2f}"
        )


def chroma(million: int, repeat: int) -> None:
    from specanim_encoders.video import weighted_yuv420p

    print("== small dots through H.264 4:2:0 (specanim's mp4 encoder, crf 18, decoded by PyAV) ==")
    with tempfile.TemporaryDirectory(prefix="bench_shade_") as folder:
        work = Path(folder)
        snapshots, labels = scenes.cluster_snapshots(million, 2)
        dense = scenes.write_scene(work, "million", snapshots, labels, None, "clusters")
        frames = {
            "digits scene, 1,797 points of 5 px (pca)": last_frame(
                scenes.REPO / "specs" / "digits_umap.yaml", ["reducer={type: pca}"]
            ),
            f"{million:,} points, shade: density": last_frame(
                dense.spec, ["panels.scatter.shade=density"]
            ),
        }
        variants: dict[str, dict[str, Any]] = {
            "chroma: even (FFmpeg)": {"chroma": "even"},
            "chroma: weighted": {"chroma": "weighted"},
            "chroma: even, crf 10": {"chroma": "even", "crf": 10},
        }
        for name, rgb in frames.items():
            print(f"  {name}, {rgb.shape[1]}x{rgb.shape[0]}:")
            for variant, options in variants.items():
                decoded, size = through_mp4(rgb, work / "frame.mp4", **options)
                e = colour_errors(rgb, decoded)
                print(
                    f"    {variant:22} error on the dots {e['lit']:5.2f}, beside them "
                    f"{e['beside']:5.2f}; saturation lost {e['desaturation']:5.2f}; "
                    f"{size / 1024:5.0f} kB"
                )
            # Twice the size (each pixel 2x2, as if drawn at 2x), brought back down to compare.
            big = np.repeat(np.repeat(rgb, 2, axis=0), 2, axis=1)
            decoded, size = through_mp4(big, work / "frame.mp4", chroma="even")
            h, w = rgb.shape[:2]
            small = decoded.reshape(h, 2, w, 2, 3).mean(axis=(1, 3))
            e = colour_errors(rgb, small)
            print(
                f"    {'video at 2x the size':22} error on the dots {e['lit']:5.2f}, beside them "
                f"{e['beside']:5.2f}; saturation lost {e['desaturation']:5.2f}; "
                f"{size / 1024:5.0f} kB"
            )
        rgb = next(iter(frames.values()))
        ms = timed(lambda: weighted_yuv420p(rgb, compiled=False), repeat)
        compiled = timed(lambda: weighted_yuv420p(rgb, compiled=True), repeat)
        print(
            f"  chroma: weighted converts a {rgb.shape[1]}x{rgb.shape[0]} frame in {ms:.1f} ms "
            f"(numpy), {compiled:.1f} ms (the compiled loop render workers use)"
        )
        supersampling(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--part", choices=("kernels", "chroma", "all"), default="all")
    parser.add_argument(
        "--points", type=int, nargs="+", default=[30_000, 300_000, 1_000_000], metavar="N"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed calls; the best counts")
    args = parser.parse_args()
    if args.part in ("kernels", "all"):
        kernels(args.points, args.repeat)
        points_path(max(args.points), args.repeat)
    if args.part in ("chroma", "all"):
        chroma(max(args.points), args.repeat)
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
