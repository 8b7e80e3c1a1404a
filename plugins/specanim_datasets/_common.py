"""What the built-in datasets share: options, file checks, limits, labels, pixels, downloads."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field

from specanim.sdk import Data, InputError

Limit = Annotated[
    int | None,
    Field(ge=1, description="Keep only the first N points (all of them when not set)."),
]

ONE_CLASS: tuple[str, ...] = ("all",)  # the class of every point of data without labels
DOWNLOAD_TIMEOUT = 60.0  # seconds without a byte before a download gives up


def resolve(base_dir: Path, path: Path) -> Path:
    """path as given in the spec: ``~`` expanded, relative to the spec file's folder."""
    return base_dir / path.expanduser()


def existing_file(path: Path, key: str) -> Path:
    """path itself, or an InputError at key if it is not a readable file."""
    if path.is_dir():
        raise InputError(f"expected a file, found a folder: {path}", key=key)
    if not path.is_file():
        raise InputError(f"file not found: {path}", key=key)
    return path


def take(available: int, limit: int | None) -> int:
    """How many of the available points to keep; warns when limit asks for more than there are."""
    if limit is None:
        return available
    if limit > available:
        warnings.warn(
            f"limit {limit} is more than the {available} points there are: using all {available}",
            UserWarning,
            stacklevel=3,
        )
        return available
    return limit


def _natural_key(text: str) -> list[str | int]:
    # re.split with a group alternates text and digit runs, so the types line up position by
    # position: "item10" sorts after "item9".
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


def encode_labels(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels as int64 indices into class names sorted naturally: numbers by value, "a2" < "a10"."""
    values = np.asarray(values)
    if (
        values.dtype.kind == "f"
        and np.isfinite(values).all()
        and np.all(values == np.round(values))
    ):
        values = values.astype(np.int64)  # a CSV reader's 3.0 is the class "3"
    if values.dtype.kind in "biuf":
        names, indices = np.unique(values, return_inverse=True)
        return indices.astype(np.int64).reshape(-1), tuple(str(v) for v in names.tolist())
    names, indices = np.unique(values.astype(str), return_inverse=True)
    texts = [str(name) for name in names]
    order = sorted(range(len(texts)), key=lambda i: (_natural_key(texts[i]), texts[i]))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank[indices.reshape(-1)], tuple(texts[i] for i in order)


def scale_pixels(values: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixel values (either 0..1 or 0..255) as float32 features in 0..1 and uint8 0..255 pixels.

    Both keep the shape of values; an InputError at key if the values are neither range.
    """
    if values.dtype == np.uint8:  # already 0..255: skip the checks and a float64 copy
        return np.divide(values, np.float32(255), dtype=np.float32), values
    with np.errstate(over="ignore"):  # beyond float32 becomes inf, refused just below
        values = values.astype(np.float32, copy=False)
    if values.size == 0:
        return values, values.astype(np.uint8)
    if not np.isfinite(values).all():
        raise InputError("pixel values must be numbers, found empty or NaN values", key=key)
    low, high = float(values.min()), float(values.max())
    scale = 255.0 if high > 1 else 1.0
    if low < 0 or high > 255:
        raise InputError(
            f"pixel values must lie in 0..1 or 0..255, found {low:g}..{high:g}", key=key
        )
    features = values / np.float32(scale)
    return features, np.rint(features * 255).astype(np.uint8)


def image_data(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> Data:
    """Data whose features are the pixels of images (uint8, n x h x w), scaled to 0..1."""
    features, _ = scale_pixels(images.reshape(len(images), -1), key="images")
    return Data(features=features, labels=labels.astype(np.int64), classes=classes, images=images)


class DownloadError(Exception):
    """A download that failed; the message says why, in one line."""
