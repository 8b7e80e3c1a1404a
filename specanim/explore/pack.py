"""Arrays for the page: quantized, deflated and base64-encoded, so a browser reads them back
with ``DecompressionStream('deflate')``; the same arrays give the same bytes."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import numpy as np

LEVEL = 9  # zlib's output is the same for the same input and level
QUANTA = 65535  # uint16 steps across a snapshot's range


def deflated(raw: bytes) -> str:
    """raw, zlib-deflated and base64-encoded."""
    return base64.b64encode(zlib.compress(raw, LEVEL)).decode("ascii")


def packed_json(value: Any) -> str:
    """A JSON value as deflated, base64-encoded UTF-8 text (keys sorted: the same bytes)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return deflated(text.encode("utf-8"))


def quantized(snapshots: np.ndarray) -> tuple[bytes, list[list[float]]]:
    """Snapshots (S, n, 2) as uint16 steps across each snapshot's own range per axis (a t-SNE
    layout grows a thousandfold, so one range for all would lose its first snapshots), and
    per snapshot [xmin, xstep, ymin, ystep]: ``x = xmin + q * xstep``. The bytes are laid out
    snapshot by snapshot, axis by axis, all high bytes of an axis before its low bytes, which
    deflates better than interleaved ones. Points that are not finite go to the range's low end."""
    count, n, _ = snapshots.shape
    out = np.empty((count, 2, 2, n), np.uint8)
    ranges: list[list[float]] = []
    for s in range(count):
        snap = np.asarray(snapshots[s], np.float64)
        scale: list[float] = []
        for axis in range(2):
            column = snap[:, axis]
            finite = np.isfinite(column)
            lo = float(column[finite].min()) if finite.any() else 0.0
            hi = float(column[finite].max()) if finite.any() else 0.0
            step = (hi - lo) / QUANTA if hi > lo else 1.0
            q = np.rint((np.where(finite, column, lo) - lo) / step).astype(np.uint16)
            out[s, axis, 0] = q >> 8
            out[s, axis, 1] = q & 0xFF
            scale += [lo, step]
        ranges.append(scale)
    return out.tobytes(), ranges
