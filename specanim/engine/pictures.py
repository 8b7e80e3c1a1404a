"""What render workers send back for a frame when the encoder converts frames (see
``Encoder.converter``): the converted frame and the SHA-256 of the frame's RGB pixels (a
manifest's frame hash), packed into one uint8 array, so that every executor carries it as it
carries pixels."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from specanim.draw.compose import Entry

DIGEST = 32  # bytes of a SHA-256


def digest(rgb: np.ndarray) -> str:
    """The SHA-256 of a frame's RGB bytes, as a manifest records it (hex)."""
    return hashlib.sha256(np.ascontiguousarray(rgb).data).hexdigest()


@dataclass(frozen=True)
class Converting:
    """A draw function followed by an encoder's converter: what render workers run. Its errors
    name the encoder's entry and the frame (the first of the shot: starts[shot])."""

    draw: Callable[[int], np.ndarray]
    convert: Callable[[np.ndarray], np.ndarray]
    encoder: Entry
    starts: tuple[int, ...]

    def __call__(self, shot: int) -> np.ndarray:
        rgb = self.draw(shot)
        with self.encoder.blame(f"the converter of frame {self.starts[shot]}"):
            converted = self.convert(rgb)
        return pack(converted, digest(rgb))


def pack(frame: np.ndarray, hex_digest: str) -> np.ndarray:
    """A uint8 array (ndim, shape, digest, bytes) holding a converted frame and its RGB's
    digest; ``unpack`` returns both."""
    frame = np.ascontiguousarray(frame, np.uint8)
    header = np.array([frame.ndim, *frame.shape], "<u4").view(np.uint8)
    return np.concatenate(
        [header, np.frombuffer(bytes.fromhex(hex_digest), np.uint8), frame.ravel()]
    )


def unpack(packed: np.ndarray) -> tuple[np.ndarray, str]:
    """The converted frame and the digest that ``pack`` put into packed."""
    ndim = int(packed[:4].view("<u4")[0])
    start = 4 * (ndim + 1)
    shape = tuple(int(n) for n in packed[4:start].view("<u4"))
    frame = packed[start + DIGEST :].reshape(shape)
    return frame, bytes(packed[start : start + DIGEST]).hex()
