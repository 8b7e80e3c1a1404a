"""Rendering a validated scene: load, fit (or reuse), compose every frame, encode."""

from __future__ import annotations

import bisect
import collections
import dataclasses
import functools
import hashlib
from collections.abc import Callable, Generator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specanim import frames_loop, palette, pictures, trajectories, versions
from specanim.components import Data, Drawn, Executor, Frame, Panel, Scene, Trajectory
from specanim.compose import Composer, Piece
from specanim.errors import UserError
from specanim.output import atomic_path
from specanim.pickling import pickle_problem
from specanim.progress import Quiet, Reporter
from specanim.raster import paint, use_compiled_loops_for
from specanim.render import draw_ahead, fit_canvas, rasterize, rasterize_remembered
from specanim.spec.validate import Plan
from specanim.timeline import Shot, frame_count, make_frame, plan_shots, shot_starts
from specanim.trajectories import CacheMode
from specanim.workdir import FrameStore, Keeping


@dataclass(frozen=True)
class Result:
    """What a render wrote."""

    path: Path
    frames: int
    width: int
    height: int
    fps: float

    def _repr_html_(self) -> str:
        from specanim.display import result_html

        return result_html(self)


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

    def pixels(self, shot_index: int, drawn: Drawn | None = None) -> np.ndarray:
        """The pixels of one shot, exactly the scene's size, as vl-convert draws the frame's
        full Vega-Lite (``frame_spec``) but faster: vl-convert draws the vector marks and
        specanim paints the raster layers where Vega put their boxes, so no raster layer is
        encoded as PNG or decoded again. Box by box where the scene allows (see
        ``Composer.frame_pieces``), else the whole frame's vector marks at once. drawn: what
        ``ahead(shot_index)`` drew in another process."""
        frame = self.frame(shot_index)
        spec = self.plan.spec
        background = palette.rgb(spec.background)
        if self.composer.by_box:
            canvas = blank(spec.width, spec.height, background).copy()
            if self._place(canvas, self.composer.frame_pieces(frame), drawn):
                return canvas
        frame_spec, layers = self.composer.frame_layers(frame)
        canvas = fit_canvas(rasterize(frame_spec), spec.width, spec.height, background)
        canvas = canvas if canvas.flags.writeable else canvas.copy()
        for name, rgba in layers:
            paint(canvas, rgba, *self.composer.origins[name])
        return canvas

    def ahead(self, shot_index: int) -> Drawn | None:
        """The vector pieces of a shot that draw quickly (``Composer.pieces_ahead``), drawn
        here for a render worker, which then need not start vl-convert; to pass to pixels().
        None when they draw too slowly to be drawn here, or the shot has none."""
        if not self.composer.draws_ahead:
            return None
        pieces = self.composer.pieces_ahead(self.frame(shot_index))
        return draw_ahead(p.spec for p in pieces if p.spec is not None) or None

    def _place(self, canvas: np.ndarray, pieces: list[Piece], drawn: Drawn | None) -> bool:
        """Draw the pieces of a frame into canvas where Vega put them (those in drawn as they
        are there); False, with canvas half drawn, if a piece's vector marks do not fit its
        size in this frame."""
        for piece in pieces:
            if piece.spec is None:
                assert piece.rgba is not None
                paint(canvas, piece.rgba, *self.composer.origins[piece.name])
                continue
            rgb = rasterize_remembered(piece.spec, drawn)
            if not piece.fits(rgb):
                return False
            paint(canvas, rgb, *self.composer.origins[piece.name])
        return True


@dataclass(frozen=True)
class Pixels:
    """A prepared scene's ``pixels``, with the parts a render worker's caller draws ahead: the
    Draw (a DrawsAhead) that executors run."""

    prepared: Prepared

    def __call__(self, shot: int, drawn: Drawn | None = None) -> np.ndarray:
        return self.prepared.pixels(shot, drawn)

    def ahead(self, shot: int) -> Drawn | None:
        return self.prepared.ahead(shot)


@functools.lru_cache(maxsize=2)
def blank(width: int, height: int, background: tuple[int, int, int]) -> np.ndarray:
    """A read-only canvas of the background colour: copying it is fifty times faster than
    filling a new array with a colour."""
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
) -> Prepared:
    """Load the data, obtain the trajectory and build the panels of a plan; obtained holds
    trajectories already at hand, by reducer name (a batch fits them in parallel)."""
    report = report or Quiet()
    spec = plan.spec
    data, fingerprint = load(plan, report)
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
    if data.colors is not None and "palette" not in spec.model_fields_set:
        colors = data.colors  # the dataset's own class colours, unless the spec chose others
    else:
        try:
            colors = palette.resolve(spec.palette, len(data.classes))
        except ValueError as exc:
            raise plan.source.error(("palette",), str(exc)) from None
    scene = Scene(data, trajectory, colors, spec.background, spec.foreground, spec.font)
    first = next(iter(fitted))
    panels: dict[str, Panel[Any]] = {}
    for key, entry in plan.panels.items():
        drawn = fitted[spec.panel(key).trajectory or first]
        with entry.blame("__init__()"):
            panels[key] = entry.cls(entry.options, dataclasses.replace(scene, trajectory=drawn))
    composer = Composer(spec, plan.layout, panels, scene, plan.panels, fitted)
    shots = plan_shots(spec.timeline, trajectory)
    prepared = Prepared(plan, data, trajectory, composer, shots, origins, fingerprint)
    composer.start(prepared.frame(0))
    return prepared


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
        with report.stage(f"fitting {name}", None, "steps") as task:
            return trajectories.obtain(
                reducer, data, task, mode=cache, fingerprint=fingerprint, dataset=dataset
            )


def select(prepared: Prepared, frames: slice | None) -> list[tuple[int, int]]:
    """(shot index, repeat) pairs for the frames a slice of the animation asks for."""
    wanted = range(prepared.frames)[frames or slice(None)]
    counts = collections.Counter(prepared.shot_of(f) for f in wanted)
    return sorted(counts.items())


def render(
    prepared: Prepared,
    *,
    frames: slice | None = None,
    executor: Executor[Any] | None = None,
    report: Reporter | None = None,
    resume: bool = False,
    on_frame: Callable[[int, str], None] | None = None,
) -> Result:
    """Render the frames (all, or a slice) on executor (an entered one; None: in this process)
    and encode them to the plan's output as they arrive; on_frame(i, digest) gets the SHA-256
    of the i-th frame's RGB pixels (``pictures.digest``) as it is written, once per frame (a
    held frame once per repeat), before the output is complete.

    With resume, every picture is kept in a work folder beside the output (see workdir) and
    read from there when an earlier, interrupted render made it; the folder goes when the
    output is complete, and stays when the render fails or is interrupted with frames in it (a
    note on the exception says how many).
    """
    report = report or Quiet()
    plan, spec = prepared.plan, prepared.plan.spec
    target = plan.output
    chosen = select(prepared, frames)
    total = sum(n for _, n in chosen)
    if total == 0:
        raise UserError(f"--frames selects no frame: the animation has {prepared.frames}")
    if executor is not None and executor.remote and len(chosen) > 1:
        check_picklable(prepared)
    encoder_entry = plan.encoder
    with encoder_entry.blame("__init__()"):
        encoder = encoder_entry.cls(encoder_entry.options)
    with encoder_entry.blame("converter()"):
        convert = encoder.converter()
    store = FrameStore.open(target, fingerprint(prepared)) if resume else None
    pixels = Pixels(prepared) if store is None else Keeping(Pixels(prepared), store)
    draw: Callable[[int], np.ndarray] = pixels
    if convert is not None:  # the workers convert each frame and hash its pixels
        draw = pictures.Converting(pixels, convert)
    done = 0
    try:
        with atomic_path(target) as tmp, report.stage("rendering", total, "frames") as task:
            with encoder_entry.blame("open()"):
                sink = encoder.open(tmp, spec.width, spec.height, spec.timeline.fps)
            shots = [i for i, _ in chosen]
            if executor is None or len(shots) <= 1:  # one picture: not worth sending the scene
                use_compiled_loops_for(len(shots))
                drawn: Generator[np.ndarray, None, None] = (draw(i) for i in shots)
            else:
                drawn = frames_loop.frames(
                    executor, draw, shots, lambda i: f"frame {prepared.starts[i]}", plan.plugins
                )
            # closing: an error in the encoder cancels the frames not started yet now, not at
            # garbage collection.
            with closing(drawn):
                try:
                    for (_, repeat), picture in zip(chosen, drawn, strict=True):
                        if convert is not None:
                            frame, digest = pictures.unpack(picture)
                        else:
                            frame = picture
                            digest = pictures.digest(picture) if on_frame is not None else ""
                        for k in range(repeat):
                            with encoder_entry.blame("write()"):
                                if convert is not None:
                                    sink.write_converted(frame)
                                else:
                                    sink.write(frame)
                            if on_frame is not None:
                                on_frame(done + k, digest)
                        done += repeat
                        task(done)
                finally:
                    with encoder_entry.blame("close()"):
                        sink.close()
    except BaseException as exc:
        if store is not None:
            have = store.kept(i for i, _ in chosen)
            kept = sum(n for i, n in chosen if i in have)
            if kept:
                exc.add_note(f"{kept} of {total} frames kept; run again with --resume")
            else:  # nothing worth keeping: leave nothing
                store.remove()
        raise
    if store is not None:
        store.remove()
    return Result(target, total, spec.width, spec.height, spec.timeline.fps)


def fingerprint(prepared: Prepared) -> str:
    """A SHA-256 of everything that decides a scene's pixels: the spec (its output and executor
    aside), the data drawn, the trajectories and the versions of the libraries that draw."""
    h = hashlib.sha256()
    # The output's path and the executor decide where the frames go and run, not their pixels.
    h.update(prepared.plan.spec.model_dump_json(exclude={"output", "executor"}).encode())
    data, fitted = prepared.data, prepared.composer.trajectories.values()
    h.update(repr((data.classes, [(t.steps, t.total) for t in fitted])).encode())
    for array in (data.labels, data.images, *(t.snapshots for t in fitted)):
        if array is not None:
            array = np.ascontiguousarray(array)
            h.update(f"{array.dtype.str}{array.shape}".encode())
            h.update(array.data.cast("B"))
    h.update(repr(versions.installed("vl-convert-python", "numpy", "pillow")).encode())
    return h.hexdigest()


def check_picklable(prepared: Prepared) -> None:
    """The process contract: every panel must pickle, as render workers receive it pickled.
    A panel that does not is a ComponentError naming its entry, before any frame is drawn."""
    for key, panel in prepared.composer.panels.items():
        problem = pickle_problem(panel)
        if problem is not None:
            raise prepared.plan.panels[key].fault(
                f"cannot be sent to the render worker processes: {problem}; keep only "
                "picklable state in a panel (module-level functions and classes; no lambdas, "
                "open files or locks) or render with --workers 1"
            )


def frame_spec(prepared: Prepared, frame: int) -> dict[str, Any]:
    """The complete Vega-Lite spec of frame number frame (negative counts from the end), raster
    layers embedded: vl-convert renders it to the pixels ``still`` paints."""
    return prepared.composer.frame_spec(prepared.frame(prepared.shot_of(frame)))


def still(prepared: Prepared, frame: int) -> np.ndarray:
    """The pixels of frame number frame (negative counts from the end)."""
    return prepared.pixels(prepared.shot_of(frame))
