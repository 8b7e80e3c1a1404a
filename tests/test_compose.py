"""Composing frames: the layout's boxes, the exact frame size, parts rendered once."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from specanim import engine
from specanim.draw.layout import split_sizes
from specanim.draw.vlconvert import rasterize
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

SPEC = """
title: A fixed title
subtitle: and its subtitle
width: 400
height: 260
margin: 10
spacing: 6
dataset: {type: sklearn-digits, limit: 200}
reducer: {type: pca}
panels:
  - type: progress-bar
  - type: scatter
  - type: digit-grid
    resample: false
layout: LAYOUT
"""


@pytest.mark.parametrize(
    ("total", "weights", "spacing"),
    [(100, [1, 1, 1], 5), (801, [3, 1], 16), (50, [1, 28], 0), (7, [1, 1, 1, 1], 1)],
)
def test_split_sizes_fill_the_room_in_proportion(
    total: int, weights: list[float], spacing: int
) -> None:
    sizes = split_sizes(total, weights, spacing)
    assert sum(sizes) + spacing * (len(weights) - 1) == total
    ideal = np.array(weights) / sum(weights) * (total - spacing * (len(weights) - 1))
    assert np.all(np.abs(np.array(sizes) - ideal) <= 1)


@pytest.mark.parametrize(
    "layout",
    [
        "{row: [{column: [progress-bar, scatter], sizes: [1, 9], title: true}, digit-grid], "
        "sizes: [3, 1]}",
        "{column: [progress-bar, {row: [scatter, digit-grid]}], sizes: [1, 6]}",
        "{row: [scatter, {column: [digit-grid, progress-bar], title: true}]}",
    ],
    ids=["seed", "stacked", "title-right"],
)
def test_every_layout_renders_at_exactly_the_frame_size(
    write_spec: Callable[..., Path], layout: str
) -> None:
    prepared = engine.prepare(
        load_plan(write_spec(SPEC.replace("LAYOUT", layout)), default_registry())
    )
    raw = rasterize(prepared.composer.frame_spec(prepared.frame(0)))
    assert raw.shape == (260, 400, 3)  # vl-convert itself, before any padding or cropping


def test_parts_that_never_change_are_rendered_once_and_look_the_same(
    write_spec: Callable[..., Path],
) -> None:
    layout = "{row: [{column: [progress-bar, scatter], title: true}, digit-grid]}"
    prepared = engine.prepare(
        load_plan(write_spec(SPEC.replace("LAYOUT", layout)), default_registry())
    )
    frame = prepared.frame(0)
    spec = prepared.composer.frame_spec(frame)
    marks = [v.get("mark", {}).get("type") for v in _units(spec)]
    assert marks.count("image") >= 2  # the fixed digit grid and the title, as pictures
    assert "text" not in marks
    live = type(prepared.composer)(
        prepared.plan.spec, prepared.plan.layout, prepared.composer.panels, prepared.composer.scene
    )
    live_spec = live.frame_spec(frame)
    assert "text" in [v.get("mark", {}).get("type") for v in _units(live_spec)]
    difference = np.abs(rasterize(spec).astype(int) - rasterize(live_spec)).mean()
    assert difference < 0.5


def _units(view: dict) -> list[dict]:
    """The unit and layer views of a composed spec."""
    parts = view.get("hconcat") or view.get("vconcat")
    if parts:
        return [u for p in parts for u in _units(p)]
    return [view, *view.get("layer", [])]


@pytest.mark.parametrize("title", ["A title", "A title with {epoch} of {epochs} epochs"])
def test_a_title_wider_than_the_frame_is_shortened_with_a_warning_and_its_vega_lite_renders(
    write_spec: Callable[..., Path], title: str
) -> None:
    long = title + " that runs far beyond the right edge of a frame 400 pixels wide"
    layout = "{row: [{column: [progress-bar, scatter], title: true}, digit-grid]}"
    spec = SPEC.replace("LAYOUT", layout).replace("A fixed title", long)
    with pytest.warns(UserWarning, match=r"scene.yaml:1: title: wider than the frame") as seen:
        prepared = engine.prepare(load_plan(write_spec(spec), default_registry()))
    assert len(seen) == 1  # the subtitle fits
    frame = prepared.frame(0)
    whole = rasterize(prepared.composer.frame_spec(frame))  # the frame's full Vega-Lite
    assert whole.shape == (260, 400, 3)
    assert np.array_equal(whole, engine.still(prepared, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a title that fits says nothing
        engine.prepare(load_plan(write_spec(SPEC.replace("LAYOUT", layout)), default_registry()))
