# docs/tutorial/test_legend.py: the tutorial's tests in docs/plugins.md
"""Tests of the tutorial's legend: real frames, drawn by vl-convert, checked in their pixels."""

import legend
import legend_step1
import numpy as np

from specanim.sdk import Scene
from specanim.testing import check_pickles, make_frames, make_panel, make_scene, render_panel

COLORS = ["#ff0000", "#00ff00", "#0000ff"]


def scene_of_three_classes(epochs: int = 1) -> Scene:
    """30 points in three classes (10 each) that spread out over epochs + 1 snapshots."""
    start = np.random.default_rng(0).normal(size=(30, 2))
    snapshots = [start * (1 + e) for e in range(epochs + 1)]
    return make_scene(snapshots, [0, 1, 2] * 10, classes=["zero", "one", "two"], palette=COLORS)


def rows_of(pixels: np.ndarray, channel: int) -> np.ndarray:
    """The rows where a pure colour is drawn."""
    others = [c for c in range(3) if c != channel]
    pure = (pixels[..., channel] > 200) & (pixels[..., others].max(axis=2) < 60)
    return np.flatnonzero(pure.any(axis=1))


def test_step_one_writes_a_line_per_class() -> None:
    scene = scene_of_three_classes()
    pixels = render_panel(legend_step1.Legend, {}, scene, make_frames(scene)[-1], 200, 80)
    lit_rows = np.flatnonzero((pixels.min(axis=2) > 128).any(axis=1))
    assert lit_rows.min() < 20 and 40 < lit_rows.max() < 60  # three lines of 20 pixels


def test_a_disc_in_each_class_colour_in_order() -> None:
    scene = scene_of_three_classes()
    pixels = render_panel(legend.Legend, {}, scene, make_frames(scene)[-1], 200, 100)
    red, green, blue = (rows_of(pixels, c) for c in range(3))
    assert len(red) and len(green) and len(blue)
    assert red.max() < green.min() and green.max() < blue.min()  # one class per row, in order
    assert (pixels[:, 40:].min(axis=2) > 128).any()  # the names, in white, beside the discs


def test_columns_put_classes_side_by_side() -> None:
    scene = scene_of_three_classes()
    frame = make_frames(scene)[-1]
    pixels = render_panel(legend.Legend, {"columns": 3}, scene, frame, 300, 60)
    red, green, blue = (rows_of(pixels, c) for c in range(3))
    assert set(red) == set(green) == set(blue)  # all on one row


def test_a_heading_with_fields_changes_from_frame_to_frame() -> None:
    scene = scene_of_three_classes(epochs=4)
    frames = make_frames(scene)
    options = {"heading": "epoch {epoch} of {epochs}"}
    assert make_panel(legend.Legend, options, scene).dynamic
    assert not make_panel(legend.Legend, {"heading": "digits"}, scene).dynamic
    first, last = (render_panel(legend.Legend, options, scene, f, 200, 100) for f in frames[::4])
    assert (first[:20] != last[:20]).any()  # "epoch 0 of 4", "epoch 4 of 4"
    assert (first[25:] == last[25:]).all()  # the classes stay


def test_counts_lengthen_the_names() -> None:
    scene = scene_of_three_classes()
    frame = make_frames(scene)[-1]
    plain, counted = (
        render_panel(legend.Legend, {"counts": counts}, scene, frame, 200, 100)
        for counts in (False, True)
    )
    assert (counted.min(axis=2) > 128).sum() > (plain.min(axis=2) > 128).sum()


def test_the_legend_pickles() -> None:
    check_pickles(make_panel(legend.Legend, {"counts": True}, scene_of_three_classes()))
