"""The four kinds of component a plugin can provide, and the values that pass between them.

A component is a class with a ``name`` (the spec's ``type:``), an ``Options`` pydantic model that
validates the rest of its spec entry, and the one method its kind needs:

    Dataset.load()                      -> Data
    Reducer.fit(data, progress)         -> Trajectory
    Panel.view(frame, width, height)    -> a Vega-Lite view (dict) for one frame
    Encoder.open(path, width, height, fps) -> FrameSink that takes RGB frames
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

Kind = Literal["dataset", "reducer", "panel", "encoder"]
KINDS: tuple[Kind, ...] = ("dataset", "reducer", "panel", "encoder")


class Options(BaseModel):
    """Base of every component's options model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Component(ABC):
    """What every component class declares."""

    kind: ClassVar[Kind]
    name: ClassVar[str]
    Options: ClassVar[type[Options]] = Options

    @classmethod
    def summary(cls) -> str:
        """The first line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Data:
    """Points to embed, their class labels and, for image data, the images."""

    features: np.ndarray  # (n, d) float32
    labels: np.ndarray  # (n,) int64, an index into classes
    classes: tuple[str, ...]  # class names, in label order
    images: np.ndarray | None = None  # (n, h, w) uint8, 0 = background, 255 = ink

    def __post_init__(self) -> None:
        n = len(self.features)
        if self.features.ndim != 2:
            raise ValueError(f"features must be 2-D, got shape {self.features.shape}")
        if self.labels.shape != (n,):
            raise ValueError(f"{len(self.labels)} labels for {n} points")
        if self.images is not None and (self.images.ndim != 3 or len(self.images) != n):
            raise ValueError(f"images must have shape ({n}, h, w), got {self.images.shape}")

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

    index: int
    position: float  # where in the trajectory: snapshot index, fractional between snapshots
    coords: np.ndarray  # (n, 2) float32, in the reducer's units
    # template.FRAME_FIELDS: epoch, epochs, iteration, phase, progress (0..1), frame, frames
    values: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0  # a per-frame seed for anything re-sampled each frame

    def format(self, text: str) -> str:
        """Fill ``{epoch}``-style fields of text from this frame's values."""
        return text.format_map(self.values) if "{" in text else text


# --- the four kinds -------------------------------------------------------------------------


class Dataset(Component):
    """Loads the points to embed."""

    kind: ClassVar[Kind] = "dataset"

    def __init__(self, options: Any, base_dir: Path) -> None:
        self.options = options
        self.base_dir = base_dir  # relative paths in the spec are relative to the spec file

    @abstractmethod
    def load(self) -> Data:
        """Load the data; raise InputError about anything wrong with it."""


Progress = Callable[[int, int], None]  # (done, total) while a reducer fits


class Reducer(Component):
    """Fits an embedding and captures its layout as it learns."""

    kind: ClassVar[Kind] = "reducer"
    cacheable: ClassVar[bool] = True  # False: the result depends on more than data and options
    # Per instance: False when two fits of the same data with the same options differ (no fixed
    # seed); such a fit is never cached and a render made from it cannot be checked.
    reproducible: bool = True

    def __init__(self, options: Any, base_dir: Path) -> None:
        self.options = options
        self.base_dir = base_dir

    @abstractmethod
    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """Fit data and return every captured snapshot."""

    def versions(self) -> Mapping[str, str]:
        """The versions of the libraries whose results this reducer returns (for caching)."""
        return {}


class Panel(Component):
    """Draws one part of every frame as a Vega-Lite view."""

    kind: ClassVar[Kind] = "panel"
    dynamic: bool = True  # False: the view is the same in every frame (may be set per instance)

    def __init__(self, options: Any, scene: Scene) -> None:
        self.options = options
        self.scene = scene

    @abstractmethod
    def view(self, frame: Frame, width: int, height: int) -> dict[str, Any]:
        """A Vega-Lite unit or layer view that fills width x height pixels for this frame."""


class FrameSink(ABC):
    """An open output that takes frames in order."""

    @abstractmethod
    def write(self, rgb: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 frame."""

    @abstractmethod
    def close(self) -> None:
        """Finish the output; after this the file is complete."""

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Encoder(Component):
    """Writes frames to a file (or a folder) of one format."""

    kind: ClassVar[Kind] = "encoder"
    extensions: ClassVar[tuple[str, ...]] = ()  # file endings that choose this encoder: ".mp4"

    def __init__(self, options: Any) -> None:
        self.options = options

    @abstractmethod
    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        """Start writing to path; frames are width x height RGB."""
