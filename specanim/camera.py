"""How a trajectory's coordinates map to a box's pixels.

A ``Camera`` is prepared once per box of the frame: optionally a rotation (and reflection)
per snapshot that keeps an embedding which spins or flips from appearing to move (``align:
procrustes``), and the region of the plane to show at every snapshot (``mode``). At a frame's
position, which may lie between snapshots, both are interpolated and combined into one affine
map from the reducer's coordinates to the box's pixels: x to the right, y down, data "up" drawn
up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from specanim.options import Options
from specanim.values import Trajectory

SAMPLE = 100_000  # points enough to estimate a rotation or a quantile of a large snapshot


class ViewOptions(Options):
    """Which part of the plane a panel shows, and how it fits the panel."""

    mode: Literal["global", "follow", "fixed"] = Field(
        "global",
        description="global: one region for the whole animation, so the picture never jumps; "
        "follow: each snapshot's own extent, smoothed over time; fixed: the given limits",
    )
    limits: tuple[float, float, float, float] | None = Field(
        None, description="[xmin, xmax, ymin, ymax] shown in mode fixed (required there)"
    )
    margin: float = Field(
        0.05,
        ge=0,
        lt=0.5,
        description="fraction of the panel's width and height left empty on each side",
    )
    aspect: Literal["equal", "fill"] = Field(
        "equal",
        description="equal: one unit is as long across as up, the data centred; "
        "fill: stretch each axis to fill the panel",
    )
    clip_quantile: float = Field(
        0.001,
        ge=0,
        lt=0.5,
        description="ignore this fraction of extreme points on each side of each axis when "
        "measuring extents (stray points beyond the panel are not drawn); 0 fits every point",
    )
    smoothing: float = Field(
        5.0,
        ge=0,
        description="mode follow: the time constant, in snapshots, of the camera's smoothing "
        "(applied forwards and backwards, so the camera does not lag); 0 follows every snapshot",
    )
    align: Literal["none", "procrustes"] = Field(
        "none",
        description="procrustes: rotate or reflect each snapshot onto the one before, so an "
        "embedding that spins or flips as a whole holds still",
    )

    @model_validator(mode="after")
    def _limits(self) -> ViewOptions:
        if self.mode == "fixed" and self.limits is None:
            raise ValueError("mode 'fixed' needs limits: [xmin, xmax, ymin, ymax]")
        if self.mode != "fixed" and self.limits is not None:
            raise ValueError(f"limits apply only to mode 'fixed', not '{self.mode}'")
        if self.limits is not None:
            xmin, xmax, ymin, ymax = self.limits
            # Beyond float32 (3.4e38) spans overflow; layouts live far inside +-1e30.
            if not (xmin < xmax and ymin < ymax) or max(map(abs, self.limits)) > 1e30:
                raise ValueError(
                    "limits need xmin < xmax and ymin < ymax, each within +-1e30, "
                    f"got {list(self.limits)}"
                )
        return self


@dataclass(frozen=True)
class Alignment:
    """Per snapshot s a map of its points onto the first snapshot's frame of reference:
    ``aligned = (x - centres[s]) @ rotations[s] + centres[0]``."""

    rotations: np.ndarray  # (S, 2, 2) orthogonal
    centres: np.ndarray  # (S, 2)

    @staticmethod
    def none(trajectory: Trajectory) -> Alignment:
        """The identity at every snapshot."""
        count = len(trajectory)
        return Alignment(np.tile(np.eye(2), (count, 1, 1)), np.zeros((count, 2)))

    @staticmethod
    def procrustes(trajectory: Trajectory, sample: np.ndarray) -> Alignment:
        """Each snapshot rotated (or reflected) onto the aligned snapshot before it."""
        snapshots = trajectory.snapshots
        centres = np.array([[c.mean(dtype=np.float64) for c in s.T] for s in snapshots])
        rotations = np.empty((len(snapshots), 2, 2))
        rotations[0] = np.eye(2)

        def columns(s: int) -> np.ndarray:  # (2, m) centred, contiguous: fast dot products
            return np.ascontiguousarray((snapshots[s][sample] - centres[s]).T, np.float64)

        previous = columns(0)
        for s in range(1, len(snapshots)):
            current = columns(s)
            # scipy's orthogonal_procrustes(current.T, previous.T), written out for 2-D
            u, _, vt = np.linalg.svd(current @ previous.T)
            rotations[s] = u @ vt
            previous = rotations[s].T @ current
        return Alignment(rotations, centres)

    def at(self, position: float) -> tuple[np.ndarray, np.ndarray]:
        """The (rotation, translation) of ``aligned = x @ rotation + translation`` at a position,
        interpolated between snapshots by angle (a reflection switches half-way)."""
        i, f = _split(position, len(self.rotations))
        j = min(i + 1, len(self.rotations) - 1)
        a, b = self.rotations[i], self.rotations[j]
        if f == 0 or np.linalg.det(a) * np.linalg.det(b) < 0:
            rotation = a if f < 0.5 else b
        else:
            start = np.arctan2(a[1, 0], a[0, 0])
            turn = np.angle(np.exp(1j * (np.arctan2(b[1, 0], b[0, 0]) - start)))  # shortest way
            angle, sign = start + f * turn, np.sign(np.linalg.det(a))
            c, s = np.cos(angle), np.sin(angle)
            rotation = np.array([[c, -sign * s], [s, sign * c]])
        centre = (1 - f) * self.centres[i] + f * self.centres[j]
        return rotation, self.centres[0] - centre @ rotation


class Camera:
    """Maps a trajectory's coordinates, at any position along it, to the pixels of one box.

    One camera serves every panel drawn in a box. What it shows at each snapshot is measured
    the first time it is used (the engine does that before frames go to worker processes).
    """

    def __init__(
        self, options: ViewOptions, trajectory: Trajectory, width: int, height: int
    ) -> None:
        self.options = options
        self.trajectory = trajectory
        self.width = width
        self.height = height

    @functools.cached_property
    def _sample(self) -> np.ndarray:
        n = self.trajectory.snapshots.shape[1]
        rng = np.random.default_rng(0)
        return np.sort(rng.choice(n, SAMPLE, replace=False)) if n > SAMPLE else np.arange(n)

    @functools.cached_property
    def alignment(self) -> Alignment:
        """The rotation (and reflection) of every snapshot: ``align: procrustes``, or none."""
        if self.options.align == "procrustes":
            return Alignment.procrustes(self.trajectory, self._sample)
        return Alignment.none(self.trajectory)

    @functools.cached_property
    def bounds(self) -> np.ndarray:
        """(S, 4): the xmin, xmax, ymin, ymax shown at each snapshot, in aligned coordinates."""
        count = len(self.trajectory)
        if self.options.limits is not None:
            return np.tile(np.asarray(self.options.limits, np.float64), (count, 1))
        snapshots = self.trajectory.snapshots
        extents = np.array([self._extent(snapshots[s], s) for s in range(count)])
        self.trajectory.release()  # read once: the pages need not stay this process's memory
        if self.options.mode == "global":
            whole = [
                extents[:, 0].min(),
                extents[:, 1].max(),
                extents[:, 2].min(),
                extents[:, 3].max(),
            ]
            return np.tile(whole, (count, 1))
        return smooth_extents(extents, self.options.smoothing)

    def _extent(self, snapshot: np.ndarray, s: int) -> list[float]:
        """(xmin, xmax, ymin, ymax) of one aligned snapshot, less clip_quantile on each side."""
        rotation, translation = self.alignment.at(s)
        q = self.options.clip_quantile
        points = snapshot if q == 0 else snapshot[self._sample]
        aligned = affine(points, rotation, translation)
        if not np.isfinite(aligned).all():
            aligned = aligned[np.isfinite(aligned).all(axis=1)]
        if not len(aligned):
            return [0.0, 0.0, 0.0, 0.0]
        extent = []
        for column in aligned.T:  # column by column: numpy reduces (n, 2) along axis 0 slowly
            if q == 0:
                extent += [float(column.min()), float(column.max())]
            else:
                extent += [float(v) for v in np.quantile(column, [q, 1 - q])]
        return extent

    def region(self, position: float) -> np.ndarray:
        """(xmin, xmax, ymin, ymax) shown at a position, in aligned coordinates."""
        i, f = _split(position, len(self.bounds))
        j = min(i + 1, len(self.bounds) - 1)
        region: np.ndarray = (1 - f) * self.bounds[i] + f * self.bounds[j]
        return region

    def transform(self, position: float) -> tuple[np.ndarray, np.ndarray]:
        """(matrix, offset) such that ``pixels = coords @ matrix + offset`` at a position."""
        rotation, translation = self.alignment.at(position)
        xmin, xmax, ymin, ymax = self.region(position)
        spans = np.array([xmax - xmin, ymax - ymin])
        spans = np.maximum(spans, max(spans.max(), 1.0) * 1e-9)  # a point or a line still maps
        room = np.array([self.width, self.height]) * (1 - 2 * self.options.margin)
        scale = room / spans
        if self.options.aspect == "equal":
            scale[:] = scale.min()
        flip = np.diag([scale[0], -scale[1]])  # pixel rows grow downwards
        matrix = rotation @ flip
        centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
        offset = (translation - centre) @ flip + np.array([self.width / 2, self.height / 2])
        return matrix, offset

    def to_pixels(self, coords: np.ndarray, position: float) -> np.ndarray:
        """(n, 2) float32 pixel positions of coords (n, 2) at a position along the trajectory
        (use ``frame.coords, frame.position``): x from the box's left edge, y from its top."""
        return affine(coords, *self.transform(position))

    def warm(self) -> None:
        """Measure the regions now, so that copies sent to worker processes carry them."""
        _ = self.bounds


def affine(points: np.ndarray, matrix: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``points @ matrix + offset`` for (n, 2) points, as float32, one column at a time (numpy's
    matmul of an (n, 2) array by a 2 x 2 one is far slower)."""
    x, y = points[:, 0], points[:, 1]
    out = np.empty((len(points), 2), np.float32)
    m = matrix.astype(np.float32)
    t = offset.astype(np.float32)
    for col in range(2):
        np.multiply(x, m[0, col], out=out[:, col])
        out[:, col] += y * m[1, col]
        out[:, col] += t[col]
    return out


def smooth_extents(extents: np.ndarray, time_constant: float) -> np.ndarray:
    """Extents (S, 4) smoothed over snapshots without lag, by exponential smoothing run
    forwards then backwards: sizes on a log scale (t-SNE grows by orders of magnitude) and
    centres in units of their own size, so that a later, larger layout's centre does not drag
    a tiny early one out of its frame."""
    if time_constant == 0 or len(extents) < 2:
        return extents
    centres = (extents[:, 0::2] + extents[:, 1::2]) / 2
    halves = np.maximum((extents[:, 1::2] - extents[:, 0::2]) / 2, 1e-12)
    series = np.concatenate([centres / halves, np.log(halves)], axis=1)
    keep = float(np.exp(-1 / time_constant))
    for order in (slice(None), slice(None, None, -1)):
        run = series[order]
        for s in range(1, len(run)):
            run[s] = keep * run[s - 1] + (1 - keep) * run[s]
    halves = np.exp(series[:, 2:])
    centres = series[:, :2] * halves
    out = np.empty_like(extents)
    out[:, 0::2], out[:, 1::2] = centres - halves, centres + halves
    return out


def _split(position: float, count: int) -> tuple[int, float]:
    """A position clamped to [0, count - 1] as (snapshot index, fraction towards the next)."""
    p = min(max(float(position), 0.0), count - 1.0)
    i = int(np.floor(p))
    return i, p - i


@dataclass(frozen=True, eq=False)
class Box:
    """The part of the frame a panel draws in: its size in pixels and its camera, which maps
    the trajectory's coordinates to this box's pixels and is shared by every panel in the box
    (a ``layer:`` of the layout draws several panels in one box)."""

    width: int
    height: int
    camera: Camera
