"""raster.py's inner loops compiled with numba: the points rasteriser's, for many points, and
painting a layer into a frame, in render workers.

Importing this module imports numba (about 0.3 s) and the first call in a process compiles a
loop or loads it from numba's cache (``cache=True``: beside this file, or in the user's cache
folder where that is read-only), so raster.py uses these loops only where they earn that back:
frames with many points, and processes that draw many frames (raster.use_compiled_loops).
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
    sums: np.ndarray,
) -> None:
    """Add every point's footprint to sums (4, rows, columns): weight, then weight x red,
    green, blue. As raster.PointRasterizer.accumulate's numpy loop, in one pass: xy (n, 2)
    float32 pixel positions, shifted by shift into the padded image; weights (phases^2,
    size^2) float32; paint (3, n) or (3, 1) float32; strength (n,) float32 or empty (one for
    all). Points whose block would leave the image (or that are not finite) are left out."""
    rows = sums.shape[1] - size - 1  # the padded image's height; the rest catches nothing here
    columns = sums.shape[2]
    one_colour = paint.shape[1] == 1
    scaled = strength.shape[0] > 0
    for i in range(xy.shape[0]):
        x = xy[i, 0] + shift
        y = xy[i, 1] + shift
        if not (x >= 0 and y >= 0 and x < columns - size + 1 and y < rows - size + 1):
            continue
        bx = np.floor(x)
        by = np.floor(y)
        phase = int((y - by) * phases) * phases + int((x - bx) * phases)
        j = 0 if one_colour else i
        red, green, blue = paint[0, j], paint[1, j], paint[2, j]
        top, left = int(by), int(bx)
        for ty in range(size):
            for tx in range(size):
                weight = weights[phase, ty * size + tx]
                if scaled:
                    weight *= strength[i]
                sums[0, top + ty, left + tx] += weight
                sums[1, top + ty, left + tx] += weight * red
                sums[2, top + ty, left + tx] += weight * green
                sums[3, top + ty, left + tx] += weight * blue


@numba.njit(cache=True, nogil=True)
def correlate(planes: np.ndarray, kernel: np.ndarray) -> np.ndarray:  # pragma: no cover
    """raster.correlate compiled: planes (c, h, w) correlated with a (j, j) kernel, only the
    fully covered part, (c, h - j + 1, w - j + 1), summed tap by tap in the same order (the
    same float32 results). A third of numpy's time at 1000x740 (8 ms against 25)."""
    j = kernel.shape[0]
    c, h, w = planes.shape[0], planes.shape[1] - j + 1, planes.shape[2] - j + 1
    out = np.zeros((c, h, w), planes.dtype)
    for dy in range(j):
        for dx in range(j):
            weight = kernel[dy, dx]
            if weight == 0:
                continue
            for ch in range(c):
                for y in range(h):
                    for x in range(w):
                        out[ch, y, x] += planes[ch, y + dy, x + dx] * weight
    return out


@numba.njit(cache=True, nogil=True)
def blend(dst: np.ndarray, src: np.ndarray) -> None:  # pragma: no cover - compiled
    """raster.paint's compositing compiled: src (h, w, 4) uint8 RGBA with straight alpha over
    dst (h, w, 3) uint8 in place, with the same integer rounding (the same bytes). Transparent
    pixels are skipped and opaque ones copied: 3 ms for a 700x700 scatter against numpy's 17."""
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
