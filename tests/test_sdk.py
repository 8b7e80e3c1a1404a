"""The plugin SDK: typed components, what a panel may return, layers that share a camera,
trails, frame values a reducer declares, and the raster helpers, rendered for real."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from pydantic import Field

from specanim import engine
from specanim.errors import SpecErrors
from specanim.plugins import Registry, load_registry
from specanim.sdk import (
    Box,
    Frame,
    Options,
    Panel,
    PointRasterizer,
    RasterLayer,
    Reducer,
    View,
    bad_features,
    draw_polylines,
    hookimpl,
    over,
)
from specanim.spec.validate import load_plan
from specanim.testing import make_frames, make_scene, render_panel
from specanim_panels.scatter import Scatter

from .reducer_fixtures import Ramp

# --- a typed third-party panel ---------------------------------------------------------------


class MarkOptions(Options):
    """Where the mark goes."""

    size: float = Field(12, gt=0, description="side of the square, in pixels")
    at: tuple[float, float] = Field((0.0, 0.0), description="data coordinates of its centre")


class Mark(Panel[MarkOptions]):
    """A white square at a point of the data, placed through the box's camera."""

    name = "mark"

    def view(self, frame: Frame, box: Box) -> View:
        x, y = box.camera.to_pixels(np.array([self.options.at]), frame.position)[0]
        side = int(self.options.size)
        top, left = int(round(y - side / 2)), int(round(x - side / 2))
        rgba = np.zeros((box.height, box.width, 4), np.uint8)
        rgba[max(top, 0) : top + side, max(left, 0) : left + side] = 255
        return RasterLayer(rgba)


class Caption(Panel):
    """A line of text drawn with Altair, from a pandas DataFrame."""

    name = "caption"

    def view(self, frame: Frame, box: Box) -> View:
        import altair as alt
        import pandas as pd

        table = pd.DataFrame({"text": [f"frame {frame.values['frame']}"]})
        return (
            alt.Chart(table)
            .mark_text(fontSize=40, color="white", align="left", baseline="top")
            .encode(text="text:N", x=alt.value(0), y=alt.value(0))
        )


class Halves(Panel):
    """A list of two views: a red raster over the left half, then a Vega-Lite green rule."""

    name = "halves"

    def view(self, frame: Frame, box: Box) -> View:
        rgba = np.zeros((box.height, box.width, 4), np.uint8)
        rgba[:, : box.width // 2] = (255, 0, 0, 255)
        rule = {
            "data": {"values": [{}]},
            "mark": {"type": "rule", "color": "#00ff00", "strokeWidth": 4},
            "encoding": {
                "x": {"value": box.width * 0.75},
                "y": {"value": 4},  # a stroke beyond the box would grow the frame
                "y2": {"value": box.height - 4},
            },
        }
        return [RasterLayer(rgba), rule]


def texts_of(prepared: engine.Prepared, frame: int) -> list[str]:
    """The text values of a frame's Vega-Lite, in order."""
    found = re.findall(
        r'"text": \{"value": "([^"]*)"', json.dumps(engine.frame_spec(prepared, frame))
    )
    return list(found)


def extra(*classes: type) -> Registry:
    """The installed plugins plus one test plugin registering classes."""

    def panels(register: Callable[[type[Panel[Any]]], None]) -> None:
        for cls in classes:
            if issubclass(cls, Panel):
                register(cls)

    def reducers(register: Callable[[type[Reducer[Any]]], None]) -> None:
        for cls in classes:
            if issubclass(cls, Reducer):
                register(cls)

    plugin = SimpleNamespace(register_panels=hookimpl(panels), register_reducers=hookimpl(reducers))
    return load_registry([("test-sdk", plugin)])


def still(spec: Path, registry: Registry, frame: int = 0) -> np.ndarray:
    prepared = engine.prepare(load_plan(spec, registry), cache="off")
    return engine.still(prepared, frame)


SCENE = """
width: 300
height: 200
margin: 0
spacing: 0
background: black
palette: tableau10
dataset: {type: sklearn-digits, limit: 300}
reducer: {type: pca}
"""


def test_the_generic_argument_names_the_options_model() -> None:
    assert Mark.Options is MarkOptions
    assert Caption.Options is Options  # no argument: no options


def test_a_raster_layer_is_placed_in_its_box(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SCENE + "panels: [{type: halves}]\n")
    image = still(spec, extra(Halves))
    assert (image[:, :140] == (255, 0, 0)).all()  # the raster, exactly
    green = image[:, 150:].astype(int)[..., 1] > 200
    assert green[10:190, 70:80].all(axis=0).any() and not green[:, :60].any()  # the rule


def test_an_altair_chart_with_its_own_data_renders(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SCENE + "panels: [{type: caption}]\n")
    image = still(spec, extra(Caption))
    lit = image.max(axis=2) > 128
    assert lit[:45, :200].sum() > 100 and not lit[60:].any()  # "frame 1" at the top left


def test_a_layer_draws_panels_over_each_other_with_one_camera(
    write_spec: Callable[..., Path],
) -> None:
    body = """
    panels:
      - type: scatter
        point_size: 6
        view: {mode: fixed, limits: [-3, 3, -3, 3], margin: 0}
      - {type: mark, at: [1.5, 1.5]}
    layout: {layer: [scatter, mark]}
    """
    spec = write_spec(SCENE + body.replace("\n    ", "\n"))
    image = still(spec, extra(Mark))
    # aspect equal in 300x200: 3 data units = 100 pixels, centred at (150, 100)
    assert (image[45:55, 195:205] == 255).all()
    assert image[:, 90:140].max() > 0  # the scatter (PCA of the digits spans about +-2), under it


def test_panels_of_a_layer_cannot_each_set_a_camera(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        SCENE
        + """
panels:
  - type: scatter
    view: {mode: follow}
  - id: other
    type: scatter
    view: {mode: global}
layout: {layer: [scatter, other]}
"""
    )
    with pytest.raises(SpecErrors) as caught:
        load_plan(spec, extra())
    (line,) = caught.value.lines()
    assert f"{spec}:15: panels[1].view: panels 'scatter' and 'other' share one box" in line


def test_a_layer_view_sets_the_shared_camera(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        SCENE
        + """
panels: [{type: scatter}, {type: mark, at: [0, 0]}]
layout:
  layer: [scatter, mark]
  view: {mode: fixed, limits: [0, 20, 0, 20], margin: 0}
"""
    )
    image = still(spec, extra(Mark))
    # (0, 0) is the bottom-left corner of the square region centred in the box
    assert (image[195:200, 50:56] == 255).all()


def test_reducer_values_reach_templates_and_frames(write_spec: Callable[..., Path]) -> None:
    body = """
title: "size {size:.3f}"
reducer: {type: ramp, steps: 3}
panels: [{type: scatter}]
"""
    spec = write_spec(SCENE.replace("reducer: {type: pca}\n", "") + body)
    prepared = engine.prepare(load_plan(spec, extra(Ramp)), cache="off")
    sizes = [prepared.frame(i).values["size"] for i in range(3)]
    assert sizes == pytest.approx([0.1, 0.55, 1.0])
    assert texts_of(prepared, 1)[0] == "size 0.550"
    with pytest.raises(SpecErrors, match=r":\d+: title: unknown field '\{size\}'"):
        load_plan(spec, extra())  # without the reducer that declares it, pca has no size
    pca = write_spec(SCENE + 'title: "size {size}"\npanels: [{type: scatter}]\n', "pca.yaml")
    with pytest.raises(SpecErrors, match="known: epoch, epochs"):
        load_plan(pca, extra(Ramp))


def test_trails_follow_where_the_points_were() -> None:
    start = np.array([[-8.0, 0.0], [-8.0, 4.0]], np.float32)
    snapshots = [start + [2.0 * s, 0.0] for s in range(9)]  # moving right, 2 units a snapshot
    scene = make_scene(snapshots, [0, 1], palette=["#ff0000", "#00ff00"])
    options = {
        "render": "raster",
        "point_size": 4,
        "view": {"mode": "fixed", "limits": [-10, 10, -5, 5], "margin": 0},
    }
    frame = make_frames(scene)[-1]  # the points at x = 8
    plain = render_panel(Scatter, options, scene, frame, 200, 100)
    trailed = render_panel(Scatter, {**options, "trail": {"length": 4}}, scene, frame, 200, 100)
    # 10 pixels a unit: the trail reaches back 8 units, from x = 180 to x = 100, fading
    row = trailed[50, :, 0].astype(int)  # the red point's row
    assert plain[50, 100:170].max() == 0
    assert (row[105:170] > 0).all() and row[110] < row[160] < 255
    assert trailed[10, 105:170, 1].min() > 0 and trailed[10, 105:170, 0].max() == 0  # green


def test_each_point_may_have_its_own_colour_and_opacity() -> None:
    xy = np.array([[10.5, 10.5], [30.5, 10.5]], np.float32)
    rgba = PointRasterizer(np.array([[255, 0, 0], [0, 0, 255]]), 5, np.array([0.25, 1.0])).draw(
        xy, 40, 20
    )
    assert tuple(rgba[10, 10]) == (255, 0, 0, 64)
    assert tuple(rgba[10, 30, :3]) == (0, 0, 255) and rgba[10, 30, 3] >= 254


def test_polylines_are_continuous_and_fade_per_segment() -> None:
    path = np.array([[[10, 20], [50, 20], [90, 20]]], np.float32)
    rgba = draw_polylines(path, (255, 255, 255), 3, np.array([[0.3, 0.9]]), (100, 40))
    alpha = rgba[20, :, 3].astype(int)
    assert (alpha[12:88] > 0).all() and alpha[:7].max() == 0 and alpha[94:].max() == 0
    assert 0.25 * 255 < np.median(alpha[15:45]) < 0.35 * 255
    assert 0.85 * 255 < np.median(alpha[55:85]) < 0.95 * 255
    assert rgba[5:15].max() == 0  # the stroke is 3 pixels wide


def test_polylines_may_have_different_lengths() -> None:
    triangle = np.array([[10, 10], [40, 10], [25, 35], [10, 10]], np.float32)
    square = np.array([[60, 5], [90, 5], [90, 35], [60, 35], [60, 5]], np.float32)
    colors = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
    rgba = draw_polylines([triangle, square], colors, 2, 1.0, (100, 40))
    assert rgba.shape == (40, 100, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[10, 25]) == (255, 0, 0, 255)  # the triangle's top edge
    assert tuple(rgba[20, 90]) == (0, 0, 255, 255)  # the square's right edge
    assert rgba[20, 75, 3] == 0 and rgba[25, 25, 3] == 0  # inside each ring
    # Each line alone draws its own pixels; lines of one length draw as the array does.
    alone = draw_polylines([square], colors[1], 2, 1.0, (100, 40))
    np.testing.assert_array_equal(rgba[:, 50:], alone[:, 50:])
    rings = [triangle, square[:4]]
    np.testing.assert_array_equal(
        draw_polylines(rings, colors, 2, 0.5, (100, 40)),
        draw_polylines(np.stack(rings), colors, 2, 0.5, (100, 40)),
    )
    # Opacity per segment: a list of (k_i - 1,) arrays; the square's last side is faint.
    fading = [np.full(3, 1.0), np.array([1.0, 1.0, 1.0, 0.2])]
    faded = draw_polylines([triangle, square], colors, 2, fading, (100, 40))
    assert faded[20, 90, 3] == 255 and 0.15 * 255 < faded[20, 60, 3] < 0.25 * 255
    with pytest.raises(
        ValueError, match=r"arrays of \[2, 5\] values for lines of \[3, 4\] segments"
    ):
        draw_polylines([triangle, square], colors, 2, [np.ones(2), np.ones(5)], (100, 40))


def test_bad_features_are_judged_by_float32_alone() -> None:
    top = float(np.finfo(np.float32).max)
    # Just past float32's maximum, a value still rounds to it (a float32); 1e39 does not.
    values = np.array([[1.0, top * (1 + 2**-26)], [np.nan, 1.0], [1e39, -np.inf], [0, 0]])
    rows, problem = bad_features(values, ["a", "b"])
    assert rows.tolist() == [False, True, True, False]
    assert problem == (
        "empty, NaN, infinite or too large (beyond float32, ±3.4e38) values in feature columns "
        "'a' (2 rows), 'b' (1 row)"
    )
    rows, problem = bad_features(values[[0, 3]], ["a", "b"])
    assert rows.tolist() == [False, False] and problem == ""


def test_over_composites_straight_alpha() -> None:
    top = np.zeros((1, 2, 4), np.uint8)
    top[0, 0] = (255, 0, 0, 128)
    bottom = np.zeros((1, 2, 4), np.uint8)
    bottom[0] = (0, 0, 255, 255)
    out = over(top, bottom)
    assert tuple(out[0, 1]) == (0, 0, 255, 255)
    assert tuple(out[0, 0]) == (128, 0, 127, 255)


def test_make_frames_gives_the_frames_the_engine_draws(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        SCENE.replace("reducer: {type: pca}\n", "")
        + "reducer: {type: ramp, steps: 4}\npanels: [{type: scatter}]\n"
        + "timeline: {fps: 4, duration: 1, easing: ease-in, hold_start: 0.5, hold_end: 1}\n"
    )
    prepared = engine.prepare(load_plan(spec, extra(Ramp)), cache="off")
    scene = make_scene(prepared.trajectory.snapshots, steps=prepared.trajectory.steps)
    made = make_frames(scene, prepared.plan.spec.timeline, seed=prepared.plan.spec.seed)
    assert len(made) == prepared.frames == 4 + 2 + 4
    for number, frame in enumerate(made):
        drawn = prepared.frame(prepared.shot_of(number))
        assert (frame.index, frame.position, frame.seed) == (
            drawn.index,
            drawn.position,
            drawn.seed,
        )
        assert dict(frame.values) == dict(drawn.values)
        assert np.array_equal(frame.coords, drawn.coords)
