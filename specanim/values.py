"""The values that pass between specanim and its plugins: the data, its trajectory, the scene
panels draw from, one frame, and what a panel's view may hold."""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from specanim.errors import UserError

if TYPE_CHECKING:
    from altair import TopLevelMixin


@dataclass(frozen=True, eq=False)
class Data:
    """Points to embed, their class labels and, for image data, the images; data without
    labels has one class."""

    features: np.ndarray  # (n, d) float32
    labels: np.ndarray  # (n,) int64, an index into classes
    classes: tuple[str, ...]  # class names, in label order
    images: np.ndarray | None = None  # (n, h, w) uint8, 0 = background, 255 = ink
    # Per-point numbers beyond the features, by name ((n,) float64, NaN where missing), that
    # panels may colour by. The fit never reads them, so they are not part of fingerprint().
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)
    # The dataset's own colour per class (CSS, in label order), e.g. those scanpy stored with
    # the file; the scene uses them unless the spec sets `palette:`.
    colors: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.features)
        if self.features.ndim != 2:
            raise ValueError(f"features must be 2-D, got shape {self.features.shape}")
        if self.labels.shape != (n,):
            raise ValueError(f"{len(self.labels)} labels for {n} points")
        if self.images is not None and (self.images.ndim != 3 or len(self.images) != n):
            raise ValueError(f"images must have shape ({n}, h, w), got {self.images.shape}")
        for name, values in self.columns.items():
            if values.shape != (n,):
                raise ValueError(f"column '{name}' has shape {values.shape}, expected ({n},)")
        if self.colors is not None and len(self.colors) != len(self.classes):
            raise ValueError(f"{len(self.colors)} colours for {len(self.classes)} classes")

    def __len__(self) -> int:
        return len(self.features)

    def fingerprint(self) -> str:
        """A SHA-256 of the features and labels: equal data give equal fingerprints."""
        h = hashlib.sha256()
        for a in (self.features, self.labels):
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.data)
        h.update("\0".join(self.classes).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class Step:
    """What one snapshot of a trajectory shows: how far the optimisation had got."""

    epoch: int  # snapshots' own counter: the UMAP epoch, or the t-SNE iteration over all phases
    iteration: int = 0  # the iteration within the phase (t-SNE), else equal to epoch
    phase: str = ""  # "" for single-phase reducers; t-SNE: "exaggeration", "embedding"
    # Extra values the reducer declares in Reducer.frame_values, for titles and labels.
    values: Mapping[str, float | int | str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The layout after every captured step: snapshots[i] is where the points were at steps[i]."""

    snapshots: np.ndarray  # (S, n, 2) float32
    steps: tuple[Step, ...]
    total: int  # the length of the optimisation in the unit of Step.epoch, for progress

    def __post_init__(self) -> None:
        if self.snapshots.ndim != 3 or self.snapshots.shape[2] != 2:
            raise ValueError(f"snapshots must have shape (S, n, 2), got {self.snapshots.shape}")
        if len(self.steps) != len(self.snapshots):
            raise ValueError(f"{len(self.steps)} steps for {len(self.snapshots)} snapshots")

    def __len__(self) -> int:
        return len(self.snapshots)

    def at(self, position: float) -> np.ndarray:
        """(n, 2) float32 coordinates at a position: a snapshot index, linear between two
        snapshots, clamped to the trajectory."""
        last = len(self.snapshots) - 1
        p = min(max(float(position), 0.0), float(last))
        lo = int(np.floor(p))
        t = p - lo
        if t == 0 or lo >= last:
            coords = np.array(self.snapshots[lo])
        else:
            coords = (self.snapshots[lo] * (1 - t) + self.snapshots[lo + 1] * t).astype(np.float32)
        self.release()
        return coords

    def release(self) -> None:
        """Let go of the snapshot pages this process has read, if the snapshots are mapped
        from a file (a cached or precomputed trajectory): they stay in the page cache, and
        reading them again costs a minor page fault, but they stop counting as this process's
        memory. Without it every render worker holds every snapshot it has drawn, more the
        longer the render. Snapshots in memory: nothing happens."""
        owner = self.snapshots.base
        mapping = getattr(owner, "_mmap", None)  # where np.memmap keeps its mmap.mmap
        # Read-only maps only: for a copy-on-write map, MADV_DONTNEED would drop changes.
        if isinstance(mapping, mmap.mmap) and getattr(owner, "mode", "") == "r":
            if hasattr(mmap, "MADV_DONTNEED"):  # Linux and most Unixes; not Windows
                mapping.madvise(mmap.MADV_DONTNEED)


@dataclass(frozen=True, eq=False)
class Scene:
    """What every panel may draw from: the data (labels, classes, images; the features are
    released after the fit), its trajectory and the scene's look."""

    data: Data
    trajectory: Trajectory
    colors: tuple[str, ...]  # one CSS colour per class, in label order
    background: str
    foreground: str
    font: str


@dataclass(frozen=True, eq=False)
class Frame:
    """One frame of the animation: where the points are and the values titles can show."""

    index: int  # 0-based number of the frame in the animation
    position: float  # where in the trajectory: snapshot index, fractional between snapshots
    coords: np.ndarray  # (n, 2) float32, in the reducer's units
    # template.FRAME_FIELDS (epoch, epochs, iteration, phase, progress (0..1), frame (1-based),
    # frames) and the reducer's declared Reducer.frame_values
    values: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0  # a per-frame seed for anything re-sampled each frame
    # True when the view is asked for only to lay the frame out and check it, before any frame
    # is rendered: a raster layer's pixels go unseen, so one of zeros of the box's size will do.
    layout_only: bool = False

    def format(self, text: str, **fields: Any) -> str:
        """Fill ``{epoch}``-style fields of text from this frame's values and fields (a panel's
        own, declared in its ``template_fields``)."""
        if "{" not in text:
            return text
        try:
            return text.format_map({**self.values, **fields})
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            # Templates are checked for their field names when the spec is loaded; a format
            # that does not suit a value ('{phase:.2f}' on a text) shows only here.
            raise UserError(f"template {text!r}: {exc}") from None


@dataclass(frozen=True, eq=False)
class RasterLayer:
    """Pixels a panel paints over its whole box: a (height, width, 4) uint8 RGBA array with
    straight (not premultiplied) alpha, row 0 at the top. The engine places the array itself;
    it is never encoded by the panel."""

    rgba: np.ndarray

    def __post_init__(self) -> None:
        a = self.rgba
        if not (isinstance(a, np.ndarray) and a.ndim == 3 and a.shape[2] == 4):
            raise ValueError(f"a raster layer is (height, width, 4), got {getattr(a, 'shape', a)}")
        if a.dtype != np.uint8:
            raise ValueError(f"a raster layer is uint8 RGBA, got {a.dtype}")


# What Panel.view returns: a Vega-Lite unit or layer view (a dict), an Altair chart, a raster
# layer, or a list of these drawn in order, the first at the bottom.
ViewPart: TypeAlias = "dict[str, Any] | RasterLayer | TopLevelMixin"
View: TypeAlias = "ViewPart | list[ViewPart]"


Progress = Callable[[int, int], None]  # (done, total) while a reducer fits


def bad_features(values: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, str]:
    """Which rows of values ((n, d) numbers, column j named names[j]) cannot be features, and
    why: an (n,) bool array, True where a row holds an empty (NaN), infinite or too large
    value, and one phrase naming those columns and in how many rows each ("empty, NaN,
    infinite or too large (beyond float32, ±3.4e38) values in feature column 'f2' (2 rows)"),
    or "" when every value is a finite float32."""
    # Too large is judged by the cast itself: float32 rounds a value up to half a unit past
    # its maximum down to the maximum and anything beyond to inf.
    with np.errstate(over="ignore", invalid="ignore"):
        bad = ~np.isfinite(np.asarray(values, np.float32))
    if not bad.any():
        return np.zeros(len(bad), bool), ""
    counts = bad.sum(axis=0)
    where = [
        f"'{name}' ({int(k)} row{'s' if k > 1 else ''})"
        for name, k in zip(names, counts, strict=True)
        if k
    ]
    shown = ", ".join(where[:8]) + (f" and {len(where) - 8} more" if len(where) > 8 else "")
    rows = np.asarray(bad.any(axis=1))
    return rows, (
        "empty, NaN, infinite or too large (beyond float32, ±3.4e38) values in feature "
        f"column{'s' if len(where) > 1 else ''} {shown}"
    )
