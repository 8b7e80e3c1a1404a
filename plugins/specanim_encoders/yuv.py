"""The video encoders' weighted chroma conversion as one loop compiled with numba: the same
bytes as ``video.weighted_yuv420p``'s numpy code. Importing this module imports numba, so the
encoders use it only in a process that has numba loaded already (render workers draw with
numba's loops; a fit with umap-learn loads it too)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def weighted_yuv420p(  # pragma: no cover - compiled; tests compare it with the numpy version
    rgb: np.ndarray,
    weights: np.ndarray,
    floor: np.float32,
    chroma_scales: np.ndarray,
    levels: np.ndarray,
    luma: np.ndarray,
    chroma: np.ndarray,
) -> None:
    """video.weighted_yuv420p's conversion in one pass, with the same float32 operations in the
    same order (the same bytes): rgb (h, w, 3) uint8 into luma (h, w) and chroma (2, h / 2,
    w / 2), both uint8. weights: the luma weights of red, green and blue; chroma_scales: Cb's
    and Cr's factors; levels: the luma scale, the luma offset and the chroma offset."""
    top = np.float32(255)
    zero = np.float32(0)
    for i in range(chroma.shape[1]):
        for j in range(chroma.shape[2]):
            total = zero
            blue = zero
            red = zero
            # numpy's block sums add (0, 0) and (1, 0), then (0, 1), then (1, 1)
            for dx in range(2):
                for dy in range(2):
                    y, x = 2 * i + dy, 2 * j + dx
                    r = np.float32(rgb[y, x, 0])
                    g = np.float32(rgb[y, x, 1])
                    b = np.float32(rgb[y, x, 2])
                    light = r * weights[0] + g * weights[1] + b * weights[2]
                    weight = light + floor
                    total += weight
                    blue += (b - light) * weight
                    red += (r - light) * weight
                    luma[y, x] = np.uint8(light * levels[0] + levels[1])
            for k, summed in ((0, blue), (1, red)):
                mean = summed * (chroma_scales[k] / total) + levels[2]
                chroma[k, i, j] = np.uint8(min(max(mean, zero), top))
