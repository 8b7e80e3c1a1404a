"""Inner loops compiled with numba, each giving the same bytes as the numpy code it stands
for: raster.py's point splat, correlation, colours and painting of a layer into a frame.

Importing this module imports numba, which takes a while, and the first call in a process
compiles a loop or loads it from numba's cache (``cache=True``: beside this file, or in the
user's cache folder where that is read-only), so only processes that draw many frames use these
loops (raster.use_compiled_loops: render workers, an in-process render of many frames).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def splat(  # pragma: no cover - compiled; tests call it through PointRasterizer.draw
    xy: np.ndarray,
    weights: np.ndarray,
    size: int,
    shift: np.float32,
    phases: int,
    paint: np.ndarray,
    strength: np.ndarray,
    height: int,
    target: np.ndarray,
    chunk: int,
) -> None:
    """Add every point's footprint to target (pixels, 4) of an image height rows high: a
    pixel's weight, then weight x red, green, blue. raster.PointRasterizer.accumulate's numpy
    loop, with its float32 additions in its order (chunk by chunk, tap by tap, point by point),
    so the sums are the same: xy (n, 2) float32 pixel positions, shifted by shift into the
    padded image; weights (phases^2, size^2) float32; paint (3, n) or (3, 1) float32; strength
    (n,) float32 or empty (one for all). Points whose block would leave the image (or that are
    not finite) are left out."""
    columns = target.shape[0] // height
    rows = height - size - 1  # the padded image's height; the rest catches nothing here
    one_colour = paint.shape[1] == 1
    scaled = strength.shape[0] > 0
    first = np.empty(min(chunk, xy.shape[0]), np.intp)  # a point's block's top left, flat
    phase = np.empty(min(chunk, xy.shape[0]), np.intp)  # -1: the point is left out
    for start in range(0, xy.shape[0], chunk):
        stop = min(start + chunk, xy.shape[0])
        for i in range(start, stop):
            x = xy[i, 0] + shift
            y = xy[i, 1] + shift
            if not (x >= 0 and y >= 0 and x < columns - size + 1 and y < rows - size + 1):
                phase[i - start] = -1
                continue
            bx = np.floor(x)
            by = np.floor(y)
            phase[i - start] = int((y - by) * phases) * phases + int((x - bx) * phases)
            first[i - start] = int(by) * columns + int(bx)
        for ty in range(size):
            for tx in range(size):
                tap = ty * size + tx
                offset = ty * columns + tx
                for i in range(start, stop):
                    at = phase[i - start]
                    if at < 0:
                        continue
                    weight = weights[at, tap]
                    if scaled:
                        weight *= strength[i]
                    j = 0 if one_colour else i
                    pixel = first[i - start] + offset
                    target[pixel, 0] += weight
                    target[pixel, 1] += weight * paint[0, j]
                    target[pixel, 2] += weight * paint[1, j]
                    target[pixel, 3] += weight * paint[2, j]


@numba.njit(cache=True, nogil=True)
def lit_colours(flat: np.ndarray, rgba: np.ndarray) -> np.ndarray:  # pragma: no cover
    """raster.compose's colours in one pass, with its float32 operations (the same bytes): for
    every pixel of flat (4, n) with some weight, its red, green and blue into rgba (n, 4) uint8;
    returns those pixels' indices, in order (numpy's flatnonzero of the weights)."""
    lit = np.empty(flat.shape[1], np.intp)
    count = 0
    top = np.float32(255)
    half = np.float32(0.5)
    for i in range(flat.shape[1]):
        weight = flat[0, i]
        if weight == 0:
            continue
        lit[count] = i
        count += 1
        scale = top / weight
        for ch in range(3):
            rgba[i, ch] = np.uint8(min(flat[ch + 1, i] * scale + half, top))
    return lit[:count]


@numba.njit(cache=True, nogil=True)
def correlate(planes: np.ndarray, kernel: np.ndarray, rows: int) -> np.ndarray:  # pragma: no cover
    """raster.correlate compiled: the first rows of planes (c, rows or more, w) correlated with
    a (j, j) kernel, only the fully covered part, (c, rows - j + 1, w - j + 1), summed tap by
    tap in the same order (the same float32 results). planes is C-contiguous, rows saying where
    the image ends, because numba compiles a strided view's loop without vector instructions,
    which makes it several times slower than the contiguous one."""
    j = kernel.shape[0]
    c, h, w = planes.shape[0], rows - j + 1, planes.shape[2] - j + 1
    out = np.zeros((c, h, w), planes.dtype)
    # Row by row, each row's taps in numpy's order: a pixel's sum is added up as numpy adds it.
    for ch in range(c):
        for y in range(h):
            for dy in range(j):
                for dx in range(j):
                    weight = kernel[dy, dx]
                    if weight == 0:
                        continue
                    for x in range(w):
                        out[ch, y, x] += planes[ch, y + dy, x + dx] * weight
    return out


@numba.njit(cache=True, nogil=True)
def blend(dst: np.ndarray, src: np.ndarray) -> None:  # pragma: no cover - compiled
    """raster.paint's compositing compiled: src (h, w, 4) uint8 RGBA with straight alpha over
    dst (h, w, 3) uint8 in place, with the same integer rounding (the same bytes). Transparent
    pixels are skipped and opaque ones copied, which on a sparse scatter is much quicker than
    numpy's compositing of every pixel."""
    for y in range(src.shape[0]):
        for x in range(src.shape[1]):
            a = np.uint16(src[y, x, 3])
            if a == 0:
                continue
            if a == 255:
                for k in range(3):
                    dst[y, x, k] = src[y, x, k]
                continue
            for k in range(3):
                mixed = (
                    np.uint16(src[y, x, k]) * a
                    + np.uint16(dst[y, x, k]) * (np.uint16(255) - a)
                    + np.uint16(128)
                )
                dst[y, x, k] = (mixed + (mixed >> 8)) >> 8
