"""The five kinds of component a plugin can provide, and the values that pass between them.

A component is a class with a ``name`` (the spec's ``type:``), an ``Options`` pydantic model that
validates the rest of its spec entry, and the one method its kind needs:

    Dataset.load()                          -> Data
    Reducer.fit(data, progress)             -> Trajectory
    Panel.view(frame, box)                  -> View: Vega-Lite, an Altair chart or a RasterLayer
    Encoder.open(path, width, height, fps)  -> FrameSink that takes RGB frames
    Executor.submit(fn, *args)              -> Future; Executor.share(value) -> a handle for jobs

Components are generic over their options model: ``class Legend(Panel[LegendOptions])`` makes
``LegendOptions`` the model that validates the entry and types ``self.options``.
"""

from __future__ import annotations

import hashlib
import mmap
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    Protocol,
    Self,
    TypeAlias,
    TypeVar,
    runtime_checkable,
)

import numpy as np
from pydantic import BaseModel, ConfigDict

from specanim.errors import UserError

if TYPE_CHECKING:
    from altair import TopLevelMixin

    from specanim.view import Camera

Kind = Literal["dataset", "reducer", "panel", "encoder", "executor"]
KINDS: tuple[Kind, ...] = ("dataset", "reducer", "panel", "encoder", "executor")


class Options(BaseModel):
    """Base of every component's options model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


OptionsT = TypeVar("OptionsT", bound=Options)


class Component(ABC, Generic[OptionsT]):
    """What every component class declares."""

    kind: ClassVar[Kind]
    name: ClassVar[str]
    Options: ClassVar[type[Options]] = Options
    options: OptionsT

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # ``class Legend(Panel[LegendOptions])`` alone names the options model.
        if "Options" not in cls.__dict__:
            for base in cls.__dict__.get("__orig_bases__", ()):
                args: tuple[Any, ...] = getattr(base, "__args__", ())
                if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], Options):
                    cls.Options = args[0]

    @classmethod
    def summary(cls) -> str:
        """The first line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


# --- values -------------------------------------------------------------------------------


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
        memory. Without it every render worker holds every snapshot it has drawn (280 MB for
        500 snapshots of 70,000 points). Snapshots in memory: nothing happens."""
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

    def format(self, text: str) -> str:
        """Fill ``{epoch}``-style fields of text from this frame's values."""
        if "{" not in text:
            return text
        try:
            return text.format_map(self.values)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            # Templates are checked for their field names when the spec is loaded; a format
            # that does not suit a value ('{phase:.2f}' on a text) shows only here.
            raise UserError(f"template {text!r}: {exc}") from None


@dataclass(frozen=True, eq=False)
class Box:
    """The part of the frame a panel draws in: its size in pixels and its camera, which maps
    the trajectory's coordinates to this box's pixels and is shared by every panel in the box
    (a ``layer:`` of the layout draws several panels in one box)."""

    width: int
    height: int
    camera: Camera


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


# --- the five kinds -------------------------------------------------------------------------


class Dataset(Component[OptionsT]):
    """Loads the points to embed."""

    kind: ClassVar[Kind] = "dataset"

    def __init__(self, options: OptionsT, base_dir: Path) -> None:
        self.options = options
        self.base_dir = base_dir  # relative paths in the spec are relative to the spec file

    @abstractmethod
    def load(self) -> Data:
        """Load the data; raise InputError about anything wrong with it."""


Progress = Callable[[int, int], None]  # (done, total) while a reducer fits


class Reducer(Component[OptionsT]):
    """Fits an embedding and captures its layout as it learns."""

    kind: ClassVar[Kind] = "reducer"
    cacheable: ClassVar[bool] = True  # False: the result depends on more than data and options
    # Per instance: False when two fits of the same data with the same options differ (no fixed
    # seed); such a fit is never cached and a render made from it cannot be checked.
    reproducible: bool = True

    def __init__(self, options: OptionsT, base_dir: Path) -> None:
        self.options = options
        self.base_dir = base_dir

    @classmethod
    def frame_values(cls, options: Any) -> Mapping[str, str]:
        """The extra values (name: description) this reducer records in every ``Step.values``
        with these options; titles and labels may show them as ``{name}``."""
        return {}

    @abstractmethod
    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """Fit data and return every captured snapshot."""

    def versions(self) -> Mapping[str, str]:
        """The versions of the libraries whose results this reducer returns (for caching)."""
        return {}


class Panel(Component[OptionsT]):
    """Draws one part of every frame.

    A panel is built once per render in the main process, then pickled into every render
    worker process: keep only picklable state (no lambdas, open files or locks).
    """

    kind: ClassVar[Kind] = "panel"
    dynamic: bool = True  # False: the view is the same in every frame (may be set per instance)

    def __init__(self, options: OptionsT, scene: Scene) -> None:
        self.options = options
        self.scene = scene

    @abstractmethod
    def view(self, frame: Frame, box: Box) -> View:
        """What this panel shows in a frame, filling box.width x box.height pixels: a Vega-Lite
        unit or layer view (positions in pixels, or scales of its own), an Altair chart, a
        RasterLayer of exactly the box's size, or a list of these drawn bottom to top."""


class FrameSink(ABC):
    """An open output that takes frames in order."""

    @abstractmethod
    def write(self, rgb: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 frame."""

    def write_converted(self, frame: np.ndarray) -> None:
        """Append one frame as its encoder's ``converter()`` made it. A render gives a sink
        these instead of RGB frames when its encoder has a converter."""
        raise NotImplementedError(f"{type(self).__name__} takes RGB frames only")

    @abstractmethod
    def close(self) -> None:
        """Finish the output; after this the file is complete."""

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Encoder(Component[OptionsT]):
    """Writes frames to a file (or a folder) of one format."""

    kind: ClassVar[Kind] = "encoder"
    extensions: ClassVar[tuple[str, ...]] = ()  # file endings that choose this encoder: ".mp4"

    def __init__(self, options: OptionsT) -> None:
        self.options = options

    @classmethod
    def check_size(cls, width: int, height: int) -> None:
        """Raise InputError (key "width" or "height") if this format cannot take frames of
        width x height pixels; validation calls it, so the spec's line is named."""

    @abstractmethod
    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        """Start writing to path; frames are width x height RGB."""

    def converter(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """A picklable function that turns a (height, width, 3) uint8 RGB frame into the array
        this encoder's sinks take with ``write_converted``, or None (the default): sinks take RGB.

        Render workers call it right after drawing a frame, so converting (a video's RGB to
        YUV, say) runs beside the drawing rather than in the process that encodes, and the
        array that travels back may be smaller."""
        return None


T = TypeVar("T")
# What workers make of one shot: its (height, width, 3) uint8 pixels, or a uint8 array packing the
# encoder's converted frame and the pixels' digest (specanim.pictures).
Draw = Callable[[int], np.ndarray]
# Parts of a shot drawn ahead by the process that sends it to a worker: pixels by what they are
# of (a piece's Vega-Lite as text). Executors pass it on as it is.
Drawn: TypeAlias = "Mapping[str, np.ndarray]"


@runtime_checkable
class DrawsAhead(Protocol):
    """A Draw that can draw parts of a shot ahead, in the process that sends the shot to a
    worker: ``drawn = draw.ahead(shot)`` there, then ``draw(shot, drawn)`` in the worker, gives
    the pixels of ``draw(shot)``. The engine's draw does it for the vector marks that vl-convert
    draws quickly (a progress line), so that workers need not start vl-convert at all (its first
    call takes a process about 0.35 s). An executor may call ``draw(shot)`` alone."""

    def __call__(self, shot: int, drawn: Drawn | None = None) -> np.ndarray: ...

    def ahead(self, shot: int) -> Drawn | None:
        """What to pass to draw with shot; None: nothing to draw ahead."""


def ahead_of(draw: Draw) -> Callable[[int], Drawn | None]:
    """What draws the parts of a shot ahead, in the process that sends it (see DrawsAhead):
    draw's own ahead(), or for a plain Draw one that draws nothing."""
    return draw.ahead if isinstance(draw, DrawsAhead) else _nothing_ahead


def _nothing_ahead(shot: int) -> None:
    return None


def draw_with(draw: Draw, shot: int, drawn: Drawn | None) -> np.ndarray:
    """draw(shot), in a worker, given what ahead_of(draw)(shot) drew in the parent."""
    if drawn is None:
        return draw(shot)
    assert isinstance(draw, DrawsAhead)  # only its ahead() draws anything
    return draw(shot, drawn)


class Executor(Component[OptionsT]):
    """Runs a render's work: independent jobs (a fit, one spec of a sweep, a frame).

    An executor is a context manager: ``__enter__`` calls ``start()`` (start a pool of
    processes, connect to a cluster), ``__exit__`` calls ``close()``, which ends everything
    ``start()`` started, on errors and Ctrl-C too. One executor may serve several renders. The
    engine renders frames through ``share`` and ``submit``: it shares the scene once per
    render and submits one job per frame, in order, with a bounded number in flight.
    """

    kind: ClassVar[Kind] = "executor"

    def __init__(self, options: OptionsT) -> None:
        self.options = options

    @property
    @abstractmethod
    def slots(self) -> int:
        """How many jobs run at once."""

    def start(self) -> None:
        """Start what the jobs run on; called by ``__enter__``. It may return before the
        workers are ready (they get ready while the caller fits), but not before an address
        that does not answer is an error."""

    def close(self) -> None:
        """End everything ``start()`` started; called by ``__exit__``."""

    @abstractmethod
    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run fn(*args) (both picklable) as one job; its future has its result. A handle
        from ``share`` among args reaches fn as the value it stands for."""

    def share(self, value: Any) -> AbstractContextManager[Any]:
        """A context manager that yields a handle on value (picklable) to pass among submit's
        args: fn receives value itself. value goes to each worker once, not with every job,
        and is let go when the block ends. The default yields value: right for an executor
        whose jobs run in this process."""
        return nullcontext(value)

    @property
    def remote(self) -> bool:
        """Whether submit sends its jobs to other processes (so they must pickle)."""
        return True

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
