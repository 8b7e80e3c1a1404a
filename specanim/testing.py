"""Helpers for testing specanim plugins, built on the code the engine itself runs.

A panel's test builds a Scene from arrays, the Frames the engine would make for a timeline
(same 1-based ``{frame}`` numbers, same progress values), a Box with its camera, and renders
the panel alone through vl-convert::

    from specanim.testing import make_scene, make_frames, render_panel

    scene = make_scene(snapshots, labels)
    frames = make_frames(scene, fps=10)
    pixels = render_panel(Legend, {"columns": 2}, scene, frames[-1], 200, 100)
    assert pixels.shape == (100, 200, 3)

``fit_reducer`` fits a reducer as the engine does and returns its checked trajectory;
``check_pickles`` checks that a component can go to the render worker processes.
"""

from __future__ import annotations

import io
import pickle
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from specanim.camera import Box, Camera, ViewOptions
from specanim.components import Panel, Reducer
from specanim.draw.compose import to_vega_lite
from specanim.draw.timeline import frame_count, make_frame, plan_shots, shot_starts
from specanim.draw.vlconvert import rasterize, standalone
from specanim.options import Options
from specanim.spec.models import Timeline
from specanim.spec.palette import resolve
from specanim.spec.validate import component_options
from specanim.store.trajectories import obtain
from specanim.values import Data, Frame, Scene, Step, Trajectory

__all__ = [
    "check_pickles",
    "fit_reducer",
    "make_box",
    "make_frames",
    "make_panel",
    "make_scene",
    "panel_spec",
    "render_panel",
]


def make_scene(
    snapshots: np.ndarray | Sequence[np.ndarray],
    labels: np.ndarray | Sequence[int] | None = None,
    *,
    classes: Sequence[str] | None = None,
    images: np.ndarray | None = None,
    palette: str | list[str] = "tableau10",
    steps: Sequence[Step] | None = None,
    total: int | None = None,
    background: str = "black",
    foreground: str = "white",
    font: str = "Liberation Sans",
) -> Scene:
    """A Scene of a trajectory given as its snapshots: one (n, 2) layout or several.

    labels default to one class; classes to ``"0", "1", ...``; steps to one epoch per snapshot
    with ``total`` (default: the last epoch) as the optimisation's length.
    """
    stack = np.asarray(snapshots, np.float32)
    if stack.ndim == 2:
        stack = stack[None]
    n = stack.shape[1]
    label_array = np.zeros(n, np.int64) if labels is None else np.asarray(labels, np.int64)
    names = (
        tuple(classes)
        if classes is not None
        else tuple(str(k) for k in range(int(label_array.max(initial=0)) + 1))
    )
    steps = tuple(steps) if steps is not None else tuple(Step(i, i) for i in range(len(stack)))
    trajectory = Trajectory(stack, steps, total if total is not None else steps[-1].epoch)
    data = Data(np.empty((n, 0), np.float32), label_array, names, images)
    colors = resolve(palette, len(names))
    return Scene(data, trajectory, colors, background, foreground, font)


def make_frames(
    scene: Scene,
    timeline: Timeline | Mapping[str, Any] | None = None,
    seed: int = 0,
    **options: Any,
) -> list[Frame]:
    """Every frame the engine makes of the scene's trajectory with a timeline (a model, a
    mapping, or its options as keywords: ``make_frames(scene, fps=10, hold_end=1)``), in order.
    A held picture is drawn once, as the first frame that shows it, and shown again: it appears
    once per frame it is shown, the same Frame each time."""
    if not isinstance(timeline, Timeline):
        timeline = Timeline.model_validate({**(timeline or {}), **options})
    shots = plan_shots(timeline, scene.trajectory)
    frames = frame_count(shots)
    drawn = [
        make_frame(scene.trajectory, shot, start, frames, seed)
        for shot, start in zip(shots, shot_starts(shots), strict=True)
    ]
    return [frame for frame, shot in zip(drawn, shots, strict=True) for _ in range(shot.repeat)]


def make_box(
    scene: Scene, width: int, height: int, view: ViewOptions | Mapping[str, Any] | None = None
) -> Box:
    """A width x height box with the camera a spec's ``view:`` options would give it."""
    options = view if isinstance(view, ViewOptions) else ViewOptions.model_validate(view or {})
    return Box(width, height, Camera(options, scene.trajectory, width, height))


PanelT = TypeVar("PanelT", bound=Panel[Any])
ReducerT = TypeVar("ReducerT", bound=Reducer[Any])


def make_panel(cls: type[PanelT], options: Options | Mapping[str, Any], scene: Scene) -> PanelT:
    """A panel built as the engine builds it: its options validated by its own model (wrong
    ones raise SpecErrors, one line each, as ``specanim validate`` words them)."""
    if not isinstance(options, Options):
        options = component_options(cls, options, f"{cls.__name__} options")
    return cls(options, scene)


def fit_reducer(
    cls: type[ReducerT],
    data: Data | np.ndarray,
    base_dir: Path | None = None,
    **options: Any,
) -> Trajectory:
    """The trajectory cls fits on data (a Data, or an (n, d) array of features in one class)
    with options validated by its own model, checked as the engine checks a fit (finite
    coordinates, snapshots of shape (S, n, 2), one step per snapshot), read-only. Nothing is
    cached; base_dir (default: the current folder) is what the reducer's relative paths
    are relative to."""
    if not isinstance(data, Data):
        features = np.asarray(data, np.float32)
        data = Data(features, np.zeros(len(features), np.int64), ("0",), None)
    valid = component_options(cls, options, f"{cls.__name__} options")
    reducer = cls(valid, base_dir or Path.cwd())
    return obtain(reducer, data, lambda done, total: None, mode="off")


def panel_spec(panel: Panel[Any], frame: Frame, box: Box) -> dict[str, Any]:
    """The complete Vega-Lite spec of one panel's view alone, as the frame would embed it."""
    datasets: dict[str, Any] = {}
    view = to_vega_lite(panel.view(frame, box), box.width, box.height, datasets)
    spec = standalone(view, panel.scene.background, panel.scene.font)
    return {**spec, "datasets": datasets} if datasets else spec


def render_panel(
    panel: Panel[Any] | type[Panel[Any]],
    options: Options | Mapping[str, Any] | None,
    scene: Scene,
    frame: Frame,
    width: int,
    height: int,
    box: Box | None = None,
) -> np.ndarray:
    """One panel alone, drawn by vl-convert into width x height: (height, width, 3) uint8.

    panel is an instance (options: None) or a class built with options; box defaults to
    ``make_box(scene, width, height)`` (give one to share a camera or set its view)."""
    if isinstance(panel, type):
        panel = make_panel(panel, options or {}, scene)
    box = box or make_box(scene, width, height, getattr(panel.options, "view", None))
    return rasterize(panel_spec(panel, frame, box))


def check_pickles(component: object) -> None:
    """Raise AssertionError, saying what could not be pickled, unless component survives the
    trip to a render worker process (panels are pickled into every worker)."""
    from specanim.engine.pickling import MappingPickler

    with tempfile.TemporaryDirectory() as folder:
        buffer = io.BytesIO()
        try:
            MappingPickler(buffer, Path(folder)).dump(component)
            pickle.loads(buffer.getvalue())
        except Exception as exc:  # what pickling raises varies with what failed
            raise AssertionError(
                f"{type(component).__name__} cannot be sent to render workers: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
