"""Arrays for the page: quantized, deflated and base64-encoded, so a browser reads them back
with ``DecompressionStream('deflate')``; the same arrays give the same bytes."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import numpy as np

LEVEL = 9  # zlib's output is the same for the same input and level
# Steps across a snapshot's range: about 0.05 pixels in a box of 800, which a zoom of 10 still
# shows smooth; finer steps made the seed scene's points 2.6 times larger.
QUANTA = 16383


def deflated(raw: bytes) -> str:
    """raw, zlib-deflated and base64-encoded."""
    return base64.b64encode(zlib.compress(raw, LEVEL)).decode("ascii")


def packed_json(value: Any) -> str:
    """A JSON value as deflated, base64-encoded UTF-8 text (keys sorted: the same bytes)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return deflated(text.encode("utf-8"))


def quantized(snapshots: np.ndarray) -> tuple[bytes, list[list[float]]]:
    """Snapshots (S, n, 2) as whole steps (0 to QUANTA) across each snapshot's own range per
    axis (a t-SNE layout grows a thousandfold, so one range for all would lose its first
    snapshots), and per snapshot [xmin, xstep, ymin, ystep]: ``x = xmin + q * xstep``.

    Each snapshot's steps are stored as their difference from a prediction: where the two
    snapshots before it put a point, carried on at the same speed (``2 x1 - x0``; the snapshot
    before, for the second; 0 for the first), in this snapshot's steps (``_steps``). The
    difference, modulo 2**16, is zigzagged (0, -1, 1, -2, ... to 0, 1, 2, 3, ...): points move
    smoothly, so most high bytes are 0. The bytes go snapshot by snapshot, axis by axis, all high
    bytes of an axis before its low bytes, and deflate well. The page makes the same prediction
    in the same float64 arithmetic, so it recovers the steps exactly. Points that are not finite
    go to the range's low end."""
    count, n, _ = snapshots.shape
    out = np.empty((count, 2, 2, n), np.uint8)
    ranges: list[list[float]] = []
    seen: list[list[np.ndarray]] = []  # the snapshots before, per axis, as the page recovers them
    for s in range(count):
        snap = np.asarray(snapshots[s], np.float64)
        scale: list[float] = []
        now: list[np.ndarray] = []
        for axis in range(2):
            column = snap[:, axis]
            finite = np.isfinite(column)
            lo = float(column[finite].min()) if finite.any() else 0.0
            hi = float(column[finite].max()) if finite.any() else 0.0
            step = (hi - lo) / QUANTA if hi > lo else 1.0
            q = _steps(np.where(finite, column, lo), lo, step)
            if len(seen) >= 2:
                predicted = _steps(2 * seen[-1][axis] - seen[-2][axis], lo, step)
            elif seen:
                predicted = _steps(seen[-1][axis], lo, step)
            else:
                predicted = np.zeros(n, np.int64)
            delta = ((q - predicted) % 65536).astype(np.uint16).view(np.int16).astype(np.int32)
            zigzag = ((delta << 1) ^ (delta >> 15)).astype(np.uint16)
            out[s, axis, 0] = zigzag >> 8
            out[s, axis, 1] = zigzag & 0xFF
            now.append(lo + q * step)
            scale += [lo, step]
        seen = [*seen[-1:], now]
        ranges.append(scale)
    return out.tobytes(), ranges


def _steps(values: np.ndarray, lo: float, step: float) -> np.ndarray:
    """values as whole steps from lo, rounded half up (as the page's Math.floor(v + 0.5))."""
    return np.clip(np.floor((values - lo) / step + 0.5), 0, QUANTA).astype(np.int64)
