"""Preparing a scene: its data loaded, its trajectories fitted or reused from the cache, its
panels built and its first frame laid out, ready to draw any frame."""

from __future__ import annotations

import bisect
import dataclasses
import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specanim.components import Panel
from specanim.draw.compose import Composer, Piece
from specanim.draw.raster import paint
from specanim.draw.timeline import Shot, frame_count, make_frame, plan_shots, shot_starts
from specanim.draw.vlconvert import rasterize_remembered
from specanim.engine.progress import Quiet, Reporter
from specanim.errors import VegaLiteError
from specanim.spec import palette
from specanim.spec.validate import Plan
from specanim.store import trajectories
from specanim.store.trajectories import CacheMode
from specanim.values import Data, Frame, Scene, Trajectory


@dataclass
class Prepared:
    """A scene ready to render any of its frames."""

    plan: Plan
    data: Data
    trajectory: Trajectory  # the lead: frames are planned on it, the others keep in step
    composer: Composer
    shots: list[Shot]
    origins: dict[str, trajectories.Origin]  # by reducer name, as in plan.reducers
    fingerprint: str  # the data's, taken before the features were released
    frames: int = field(init=False)
    starts: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.frames = frame_count(self.shots)
        self.starts = shot_starts(self.shots)

    def frame(self, shot_index: int) -> Frame:
        """The frame that shot shot_index shows."""
        start, shot = self.starts[shot_index], self.shots[shot_index]
        return make_frame(self.trajectory, shot, start, self.frames, self.plan.spec.seed)

    def shot_of(self, frame: int) -> int:
        """The shot that frame number frame (negative: from the end) shows."""
        return bisect.bisect_right(self.starts, range(self.frames)[frame]) - 1

    def pixels(self, shot_index: int) -> np.ndarray:
        """The pixels of one shot, exactly the scene's size: those vl-convert draws from the
        frame's full Vega-Lite (``frame_spec``), made faster from the frame's pieces
        (``Composer.frame_pieces``): vl-convert draws the vector marks and specanim paints the
        raster layers where Vega put their boxes, so no raster layer is encoded as PNG."""
        frame = self.frame(shot_index)
        try:
            canvas = self.place(self.composer.frame_pieces(frame))
            if canvas is None:  # a box's marks went beyond it in this frame: Vega moved them
                canvas = self.place(self.composer.frame_pieces(frame, whole=True))
                assert canvas is not None  # the whole frame's piece fits whatever its size
        except VegaLiteError as exc:
            raise self.composer.culprit(frame, exc) from None
        return canvas

    def place(self, pieces: list[Piece]) -> np.ndarray | None:
        """The pieces drawn on the scene's background where Vega put them; None if a piece's
        vector marks do not fit its size."""
        spec = self.plan.spec
        canvas = blank(spec.width, spec.height, palette.rgb(spec.background)).copy()
        for piece in pieces:
            if piece.spec is None:
                assert piece.rgba is not None
                paint(canvas, piece.rgba, *self.composer.corners[piece.name])
                continue
            rgb = rasterize_remembered(piece.spec)
            if not piece.fits(rgb):
                return None
            paint(canvas, rgb, *self.composer.corners[piece.name])
        return canvas


@functools.lru_cache(maxsize=2)
def blank(width: int, height: int, background: tuple[int, int, int]) -> np.ndarray:
    """A read-only canvas of the background colour: copying a ready canvas is much cheaper
    than filling a new array with a colour."""
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = background
    canvas.flags.writeable = False
    return canvas


def prepare(
    plan: Plan,
    *,
    cache: CacheMode = "use",
    report: Reporter | None = None,
    obtained: Mapping[str, Trajectory] | None = None,
    loaded: tuple[Data, str] | None = None,
) -> Prepared:
    """Load the data, obtain the trajectory and build the panels of a plan; obtained holds
    trajectories already at hand, by reducer name (a batch fits them in parallel), and loaded
    the plan's data and its fingerprint if they are at hand (a preview keeps them)."""
    report = report or Quiet()
    spec = plan.spec
    data, fingerprint = loaded or load(plan, report)
    origins: dict[str, trajectories.Origin] = {}
    fitted: dict[str, Trajectory] = {}
    for name, resolved in plan.reducers.items():
        with resolved.blame("fit()"):
            reducer = resolved.cls(resolved.options, resolved.base_dir)
        origins[name] = trajectories.origin(reducer, fingerprint)
        if obtained is not None and name in obtained:
            fitted[name] = obtained[name]
        else:
            fitted[name] = fit(plan, name, data, fingerprint, cache, report)
    # The trajectory with the most snapshots leads, so that with `every: 1` each of its
    # snapshots is a frame; with one reducer that is the only one.
    trajectory = max(fitted.values(), key=len)
    # Panels draw labels and images; the features (70,000 x 784 floats for MNIST) would only
    # be copied into every render worker.
    data = dataclasses.replace(data, features=np.empty((len(data), 0), np.float32))
    scene = Scene(data, trajectory, colors(plan, data), spec.background, spec.foreground, spec.font)
    first = next(iter(fitted))
    panels: dict[str, Panel[Any]] = {}
    for key, entry in plan.panels.items():
        shown = fitted[spec.panel(key).trajectory or first]
        with entry.blame("__init__()"):
            panels[key] = entry.cls(entry.options, dataclasses.replace(scene, trajectory=shown))
    composer = Composer(spec, plan.layout, panels, scene, plan.panels, fitted)
    shots = plan_shots(spec.timeline, trajectory)
    prepared = Prepared(plan, data, trajectory, composer, shots, origins, fingerprint)
    composer.start(prepared.frame(0))
    for name in composer.cut_titles(prepared.frame(0)):
        warnings.warn(
            f"{plan.source.locate((name,))}: wider than the frame: drawn shortened, ending in "
            f"'…'; shorten it or lower {name}_size",
            UserWarning,
            stacklevel=2,
        )
    return prepared


def colors(plan: Plan, data: Data) -> tuple[str, ...]:
    """A colour for each class of data: the dataset's own, unless the spec chose a palette; a
    warning if classes share one of the palette's colours."""
    if data.colors is not None and "palette" not in plan.spec.model_fields_set:
        return data.colors
    try:
        chosen = palette.resolve(plan.spec.palette, len(data.classes))
    except ValueError as exc:
        raise plan.source.error(("palette",), str(exc)) from None
    shared = palette.repeated(plan.spec.palette, chosen)
    if shared is not None:
        warnings.warn(f"{plan.source.locate(('palette',))}: {shared}", UserWarning, stacklevel=2)
    return chosen


def check_data(plan: Plan, report: Reporter | None = None) -> Data:
    """The plan's data, loaded and checked against the spec as a render would before its fit
    (columns, labels, values, a colour for each class); SpecError where they disagree."""
    data, _ = load(plan, report or Quiet())
    colors(plan, data)
    return data


def load(plan: Plan, report: Reporter) -> tuple[Data, str]:
    """The plan's data and its fingerprint."""
    with plan.dataset.blame("load()"):
        with report.stage(f"loading {plan.dataset.cls.name}", None):
            data = plan.dataset.cls(plan.dataset.options, plan.dataset.base_dir).load()
    return data, data.fingerprint()


def fit(
    plan: Plan, name: str, data: Data, fingerprint: str, cache: CacheMode, report: Reporter
) -> Trajectory:
    """The trajectory of the plan's reducer called name on data (of that fingerprint), from the
    cache or fitted."""
    resolved = plan.reducers[name]
    options = plan.dataset.options.model_dump(mode="json", exclude_defaults=True)
    dataset = {"type": plan.dataset.cls.name, **options}  # for people listing the cache
    with resolved.blame("fit()"):
        reducer = resolved.cls(resolved.options, resolved.base_dir)
        if cache == "use" and trajectories.cached(reducer, fingerprint):
            stage, unit = f"reading the cached trajectory of {name}", ""  # no fit, no rate
        else:
            stage, unit = f"fitting {name}", "steps"
        with report.stage(stage, None, unit) as task:
            return trajectories.obtain(
                reducer, data, task, mode=cache, fingerprint=fingerprint, dataset=dataset
            )


def frame_spec(prepared: Prepared, frame: int) -> dict[str, Any]:
    """The complete Vega-Lite spec of frame number frame (negative counts from the end), raster
    layers embedded: vl-convert renders it to the pixels ``still`` paints."""
    return prepared.composer.frame_spec(prepared.frame(prepared.shot_of(frame)))


def still(prepared: Prepared, frame: int) -> np.ndarray:
    """The pixels of frame number frame (negative counts from the end)."""
    return prepared.pixels(prepared.shot_of(frame))
