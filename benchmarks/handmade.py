"""The hand-made pipeline specanim replaces, re-implemented faithfully: plotnine + PIL + ffmpeg.

For every epoch the notebook drew one frame with plotnine (black background, the digits'
scatter coloured with ColorBrewer "Paired", title, subtitle and a white progress line under
them), saved it as a 1100x800 PNG (11 x 8 inches at 100 dpi), pasted one freshly sampled 28x28
image per digit class onto its right side (each in its class colour, alpha = pixel intensity),
and finally stitched all the PNGs into an H.264 mp4 with ffmpeg. One process, one frame at a
time, as in the notebook.

The digit grid can be drawn two ways: pasted with PIL (``grid="pil"``, cheap: the default, which
makes the baseline faster, so the comparison conservative) or as a second plotnine plot
(``grid="plotnine"``: one ``geom_tile`` per pixel, faceted by digit, saved as its own PNG and
put beside the scatter's), as a notebook that does everything in plotnine would.
"""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from PIL import Image

TITLE = "MNIST data embedded into two dimensions by UMAP"
SUBTITLE = "Each point is a handwritten digit"
PAIRED = (  # ColorBrewer "Paired", the first 10 colours: what scale_color_brewer picks
    "#a6cee3",
    "#1f78b4",
    "#b2df8a",
    "#33a02c",
    "#fb9a99",
    "#e31a1c",
    "#fdbf6f",
    "#ff7f00",
    "#cab2d6",
    "#6a3d9a",
)
WIDTH_IN, HEIGHT_IN, DPI = 11, 8, 100  # 1100 x 800 pixels
GRID_LEFT = 0.74  # the digit grid takes the frame's right part, from this fraction of its width
Grid = Literal["pil", "plotnine"]
DIGIT_SCALE = 4  # a 28x28 digit is drawn 112x112
FPS = 20


def frame_plot(xy: np.ndarray, digits: pd.Categorical, epoch: int, epochs: int) -> object:
    """The plotnine plot of one frame: the scatter, title, subtitle and progress line."""
    from plotnine import (
        aes,
        annotate,
        element_rect,
        element_text,
        geom_point,
        ggplot,
        labs,
        scale_color_manual,
        theme,
        theme_void,
    )

    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "digit": digits})
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    line_y = y1 + 0.08 * (y1 - y0)  # the progress line: above the points, under the titles
    progress = epoch / epochs if epochs else 1.0
    return (
        ggplot(frame, aes("x", "y", color="digit"))
        + geom_point(size=0.8, stroke=0, alpha=0.8)
        + annotate(
            "segment",
            x=x0,
            xend=x0 + (x1 - x0) * progress,
            y=line_y,
            yend=line_y,
            color="white",
            size=1,
        )
        + scale_color_manual(values=PAIRED, guide=None)  # = scale_color_brewer("qual", "Paired")
        + labs(title=TITLE, subtitle=SUBTITLE)
        + theme_void()
        + theme(
            plot_background=element_rect(fill="black", color="black"),
            panel_background=element_rect(fill="black", color="black"),
            plot_title=element_text(color="white", size=18, ha="left"),
            plot_subtitle=element_text(color="white", size=14, ha="left"),
            plot_title_position="plot",
            plot_margin_left=0.035,
            plot_margin_top=0.04,
            plot_margin_bottom=0.03,
            plot_margin_right=1 - GRID_LEFT + 0.02,
        )
    )


def paste_digit_grid(
    png: Path, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> None:
    """Paste one random image of each digit class into the right part of the frame in png,
    two columns, each image in its class colour with alpha = pixel intensity."""
    canvas = Image.open(png).convert("RGB")
    width, height = canvas.size
    left = int(width * GRID_LEFT)
    cell_w, cell_h = (width - left) // 2, height // 5
    size = 28 * DIGIT_SCALE
    for digit, colour in enumerate(PAIRED):
        pool = np.flatnonzero(labels == digit)
        if not len(pool):
            continue
        pixels = images[rng.choice(pool)]
        rgba = np.empty((*pixels.shape, 4), np.uint8)
        rgba[..., :3] = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        rgba[..., 3] = pixels
        sprite = Image.fromarray(rgba, "RGBA").resize((size, size), Image.Resampling.NEAREST)
        row, col = divmod(digit, 2)
        x = left + col * cell_w + (cell_w - size) // 2
        y = row * cell_h + (cell_h - size) // 2
        canvas.paste(sprite, (x, y), sprite)
    canvas.save(png)


def digit_grid_plot(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> object:
    """The digit grid as a plotnine plot: one random image per class, a tile per pixel in the
    class colour with alpha = intensity, faceted two columns wide."""
    from plotnine import (
        aes,
        coord_fixed,
        element_blank,
        element_rect,
        facet_wrap,
        geom_tile,
        ggplot,
        scale_alpha_identity,
        scale_fill_manual,
        scale_y_reverse,
        theme,
        theme_void,
    )

    frames = []
    rows, cols = np.mgrid[0:28, 0:28]
    for digit in range(10):
        pool = np.flatnonzero(labels == digit)
        if not len(pool):
            continue
        pixels = images[rng.choice(pool)]
        frames.append(
            pd.DataFrame(
                {
                    "x": cols.ravel(),
                    "y": rows.ravel(),
                    "alpha": pixels.ravel() / 255.0,
                    "digit": str(digit),
                }
            )
        )
    tiles = pd.concat(frames, ignore_index=True)
    tiles["digit"] = pd.Categorical(tiles["digit"], categories=[str(d) for d in range(10)])
    return (
        ggplot(tiles, aes("x", "y", fill="digit", alpha="alpha"))
        + geom_tile()
        + facet_wrap("digit", ncol=2)
        + scale_fill_manual(values=PAIRED, guide=None, drop=False)
        + scale_alpha_identity()
        + scale_y_reverse()
        + coord_fixed()
        + theme_void()
        + theme(
            plot_background=element_rect(fill="black", color="black"),
            panel_background=element_rect(fill="black", color="black"),
            strip_text=element_blank(),
        )
    )


def plotnine_digit_grid(
    png: Path, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> None:
    """Draw the digit grid as a second plotnine plot, saved as its own PNG, and put it over the
    right part of the frame in png."""
    canvas = Image.open(png).convert("RGB")
    width, height = canvas.size
    left = int(width * GRID_LEFT)
    grid_png = png.with_name(png.stem + "_grid.png")
    plot = digit_grid_plot(images, labels, rng)
    plot.save(  # type: ignore[attr-defined]
        grid_png, width=(width - left) / DPI, height=height / DPI, dpi=DPI, verbose=False
    )
    with Image.open(grid_png) as grid:
        canvas.paste(grid.convert("RGB"), (left, 0))
    grid_png.unlink()
    canvas.save(png)


def ffmpeg_exe() -> str:
    """The ffmpeg binary that the imageio-ffmpeg wheel ships."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def render(
    snapshots: np.ndarray,
    labels: np.ndarray,
    images: np.ndarray,
    frames: int,
    epochs: int,
    folder: Path,
    output: Path,
    log: Callable[[str], None] = print,
    grid: Grid = "pil",
) -> dict[str, float]:
    """Draw the first frames snapshots as PNGs in folder, then encode them to output (mp4);
    grid: how the digit grid is drawn (see the module's docstring).

    Returns the seconds spent drawing ("frames") and encoding ("encode").
    """
    import time

    folder.mkdir(parents=True, exist_ok=True)
    digits = pd.Categorical(labels.astype(str), categories=[str(d) for d in range(10)])
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plotnine's notes on saving
        for index in range(frames):
            png = folder / f"frame_{index:05d}.png"
            plot = frame_plot(snapshots[index], digits, index, epochs)
            plot.save(png, width=WIDTH_IN, height=HEIGHT_IN, dpi=DPI, verbose=False)  # type: ignore[attr-defined]
            draw_grid = paste_digit_grid if grid == "pil" else plotnine_digit_grid
            draw_grid(png, images, labels, np.random.default_rng(index))
            if (index + 1) % 10 == 0 or index + 1 == frames:
                rate = (index + 1) / (time.perf_counter() - started)
                log(f"  hand-made: {index + 1}/{frames} frames, {rate:.2f} frames/s")
    drawn = time.perf_counter()
    command = [
        ffmpeg_exe(),
        "-y",
        "-loglevel",
        "error",
        "-framerate",
        str(FPS),
        "-i",
        str(folder / "frame_%05d.png"),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-crf",
        "18",
        str(output),
    ]
    subprocess.run(command, check=True)
    return {"frames": drawn - started, "encode": time.perf_counter() - drawn}
