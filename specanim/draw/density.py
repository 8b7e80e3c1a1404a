"""Points counted per pixel and shaded by how many there are, as datashader's ``shade`` does.

Each pixel's colour is the mean of the colours of the points in it (a pixel where two classes
overlap mixes their colours, weighted by their counts), or, colouring by a value, the scheme's
colour at the mean of their values. Its alpha follows the pixel's count through a ramp: the
least crowded pixel that has any point gets ``min_alpha``, the most crowded one full opacity, and
``log`` or ``eq_hist`` (histogram equalisation: each alpha level covers as many pixels as the
next) spread the counts in between, so that a million points show structure instead of a solid
blob.

The kernel is numpy (the comparison is benchmarks/bench_shade.py's ``kernels`` part; its
figures are in benchmarks/README.md). datashader (``Canvas.points`` with ``count_cat``, then
``shade``) gives alphas and colours within one level of these (it truncates where this rounds)
but is several times slower, and would bring pandas, xarray, dask and param into every render
worker. Counting with one np.bincount per pixel and class is slower too. A numba kernel counts
faster at many points, but every new process would pay numba's import and the kernel's
compilation or loading, and the difference is small beside the rest of a frame.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from specanim.draw.raster import correlate

How = Literal["eq_hist", "log", "linear"]


def pixel_index(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Each point's pixel as row * width + column, and width * height for points off the image
    (or not finite): (n,) intp. xy: (n, 2) pixel positions, (0, 0) the top left corner."""
    x, y = xy[:, 0], xy[:, 1]
    inside = (x >= 0) & (y >= 0) & (x < width) & (y < height)  # False for NaN too
    everywhere = bool(inside.all())
    if not everywhere:  # casting NaN or huge values to integers is undefined
        x, y = np.where(inside, x, 0), np.where(inside, y, 0)
    # Truncation is floor here: the points left of or above 0 are out.
    index = y.astype(np.intp) * width + x.astype(np.intp)
    if not everywhere:
        index[~inside] = width * height
    return index


def count(index: np.ndarray, size: int, weights: list[np.ndarray]) -> np.ndarray:
    """Per pixel, the number of points and the sum of each of weights over them:
    (1 + len(weights), size) float32. index: from pixel_index (size for points off the image)."""
    planes = np.zeros((1 + len(weights), size + 1), np.float32)
    # ufunc.at into float32 rather than np.bincount with weights, which sums in float64 and
    # is the slower of the two with numpy 2.
    np.add.at(planes[0], index, np.float32(1))
    for plane, weight in zip(planes[1:], weights, strict=True):
        np.add.at(plane, index, weight)
    return planes[:, :size]


def disc(radius: int) -> np.ndarray:
    """The pixels within radius of the centre, as a (2 radius + 1) square of 0 and 1 (datashader's
    circle shape for ``spread``)."""
    r = np.arange(-radius, radius + 1)
    return (r[:, None] ** 2 + r[None, :] ** 2 <= radius * radius).astype(np.float32)


def spread(planes: np.ndarray, radius: int) -> np.ndarray:
    """planes (c, h, w) with every pixel's sums added to the pixels within radius: each point
    counts in a disc around it, so that lone points show."""
    if radius == 0:
        return planes
    c, h, w = planes.shape
    padded = np.zeros((c, h + 2 * radius, w + 2 * radius), planes.dtype)
    padded[:, radius : radius + h, radius : radius + w] = planes
    return correlate(padded, disc(radius))


def alpha_ramp(counts: np.ndarray, how: How, min_alpha: float) -> np.ndarray:
    """Alpha in min_alpha..1 (float32) for counts (m,) all above zero: the least count gets
    min_alpha and the greatest 1, through how (``linear``, ``log`` of one plus the count above
    the least, or ``eq_hist``: each count's share of pixels at or below it)."""
    if len(counts) == 0:
        return np.zeros(0, np.float32)
    above = counts - counts.min()  # as datashader: the ramp starts at the least count
    if how == "linear":
        scaled = above
    elif how == "log":
        scaled = np.log1p(above)
    else:
        # Counts are whole numbers (sums of points), so the histogram is exact, one bin a count.
        whole = np.rint(above).astype(np.intp)
        cdf = np.cumsum(np.bincount(whole)) / np.float64(len(whole))
        scaled = cdf[whole]
    low, high = scaled.min(), scaled.max()
    if high <= low:  # every pixel as crowded as the next
        return np.ones(len(counts), np.float32)
    ramp = (scaled - low) * ((1 - min_alpha) / (high - low)) + min_alpha
    return ramp.astype(np.float32)


class DensityShader:
    """Shades the same points frame after frame, their colours or values fixed at the start."""

    def __init__(
        self,
        colors: np.ndarray,
        how: How = "eq_hist",
        min_alpha: float = 0.16,
        radius: int = 0,
        values: np.ndarray | None = None,
    ) -> None:
        """Mixing classes: colors (n, 3) uint8, each point's colour, and values None. Colouring
        by a value: values (n,) in 0..1 (NaN where missing) and colors the scheme's samples
        (m, 3) from 0 to 1, then the colour of pixels where every value is missing. radius: each
        point also counts in the pixels within this many pixels (``spread``)."""
        self.colors = np.asarray(colors, np.uint8)
        self.how: How = how
        self.min_alpha = min_alpha
        self.radius = radius
        self.values = values
        self.weights: list[np.ndarray]
        if values is None:
            self.weights = list(np.ascontiguousarray(np.asarray(colors, np.float32).T))
        else:
            known = np.isfinite(values)
            self.weights = [known.astype(np.float32), np.where(known, values, 0).astype(np.float32)]

    def draw(self, xy: np.ndarray, width: int, height: int) -> np.ndarray:
        """A (height, width, 4) uint8 RGBA image (straight alpha) of the points at xy (n, 2)."""
        size = width * height
        planes = count(pixel_index(xy, width, height), size, self.weights)
        planes = spread(planes.reshape(-1, height, width), self.radius).reshape(-1, size)
        lit = np.flatnonzero(planes[0])
        sums = planes[:, lit]
        rgba = np.zeros((size, 4), np.uint8)
        rgba[lit, :3] = self._colors(sums)
        alpha = alpha_ramp(sums[0], self.how, self.min_alpha)
        rgba[lit, 3] = np.rint(alpha * 255).astype(np.uint8)
        return rgba.reshape(height, width, 4)

    def _colors(self, sums: np.ndarray) -> np.ndarray:
        """(m, 3) uint8 colours of pixels with these sums (count first, then the weights')."""
        if self.values is None:
            return np.minimum(np.rint(sums[1:].T / sums[0][:, None]), 255).astype(np.uint8)
        known, total = sums[1], sums[2]
        top = len(self.colors) - 2  # the last sample; the missing colour follows it
        with np.errstate(invalid="ignore", divide="ignore"):
            sample = np.rint(np.clip(total / known, 0, 1) * top)
        sample = np.where(known > 0, sample, top + 1).astype(np.intp)
        return self.colors[sample]
