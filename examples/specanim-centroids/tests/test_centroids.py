"""The centroids panel, tested with the helpers specanim ships for plugin tests: real frames
drawn by vl-convert, labels found in the pixels."""

from __future__ import annotations

import numpy as np
import pytest

from specanim.plugins import load_registry
from specanim.testing import check_pickles, make_box, make_frames, make_scene, render_panel
from specanim_centroids import Centroids, CentroidsOptions

RED, BLUE = "#ff0000", "#0000ff"
VIEW = {"mode": "fixed", "limits": [-10, 10, -5, 5], "margin": 0}  # 10 pixels a unit in 200x100


def clusters(shift: float = 0.0) -> np.ndarray:
    """Class 0 around (-5 + shift, 0) and class 1 around (5 + shift, 2): 50 points each."""
    rng = np.random.default_rng(1)
    left = rng.normal([-5.0 + shift, 0.0], 0.5, size=(50, 2))
    right = rng.normal([5.0 + shift, 2.0], 0.5, size=(50, 2))
    return np.concatenate([left, right]).astype(np.float32)


LABELS = [0] * 50 + [1] * 50


def lit_centre(pixels: np.ndarray, channel: int) -> tuple[float, float]:
    """The mean (x, y) of the pixels where one colour channel is bright and the others not."""
    others = [c for c in range(3) if c != channel]
    mask = (pixels[..., channel] > 150) & (pixels[..., others].max(axis=2) < 100)
    ys, xs = np.nonzero(mask)
    assert len(xs) > 10, "no label drawn"
    return float(xs.mean()), float(ys.mean())


def test_each_label_is_drawn_at_its_class_centre_in_its_colour() -> None:
    scene = make_scene(clusters(), LABELS, classes=["MM", "WW"], palette=[RED, BLUE])
    frame = make_frames(scene)[-1]
    box = make_box(scene, 200, 100, VIEW)
    pixels = render_panel(Centroids, {"halo": 0}, scene, frame, 200, 100, box)
    # (-5, 0) is pixel (50, 50); (5, 2) is pixel (150, 30)
    x, y = lit_centre(pixels, 0)
    assert abs(x - 50) < 4 and abs(y - 50) < 4
    x, y = lit_centre(pixels, 2)
    assert abs(x - 150) < 4 and abs(y - 30) < 4


def test_labels_follow_the_points_between_snapshots() -> None:
    scene = make_scene([clusters(), clusters(shift=4.0)], LABELS, palette=[RED, BLUE])
    frames = make_frames(scene, duration=0.3, fps=10)  # positions 0, 0.5, 1
    box = make_box(scene, 200, 100, VIEW)
    xs = [lit_centre(render_panel(Centroids, {}, scene, f, 200, 100, box), 0)[0] for f in frames]
    assert [round(x / 10) for x in xs] == [5, 7, 9]  # 40 pixels in two steps


def test_foreground_colour_min_points_and_halo() -> None:
    coords = clusters()
    scene = make_scene(coords, [0] * 50 + [1] * 49 + [2], palette=[RED, BLUE, RED])
    frame = make_frames(scene)[-1]
    box = make_box(scene, 200, 100, VIEW)
    options = {"color": "foreground", "min_points": 2, "halo": 0}
    pixels = render_panel(Centroids, options, scene, frame, 200, 100, box)
    white = pixels.min(axis=2) > 200
    assert white[:, :100].any() and white[:, 100:].any()
    red = (pixels[..., 0] > 150) & (pixels[..., 2] < 100)
    assert not red.any()  # all in the foreground, not in the class colour
    panel = Centroids(CentroidsOptions.model_validate({"min_points": 2}), scene)
    assert panel.shown == [0, 1]  # class 2 has one point
    # The halo is drawn in the background colour under the label: on a white background the
    # black-bordered label shows dark pixels that a label without a halo does not.
    on_white = make_scene(coords, LABELS, palette=[RED, BLUE], background="white")
    with_halo = render_panel(
        Centroids, {"halo": 3, "halo_color": "black"}, on_white, frame, 200, 100, box
    )
    without = render_panel(Centroids, {"halo": 0}, on_white, frame, 200, 100, box)
    assert (with_halo.max(axis=2) < 60).sum() > 4 * max((without.max(axis=2) < 60).sum(), 1)


def test_the_mean_and_the_median_differ_with_stray_points() -> None:
    coords = clusters()
    coords[:10] = [-9.0, 4.0]  # a fifth of class 0 far to the top left
    scene = make_scene(coords, LABELS, palette=[RED, BLUE])
    frame = make_frames(scene)[-1]
    box = make_box(scene, 200, 100, VIEW)
    mean = Centroids(CentroidsOptions(statistic="mean"), scene).centres(frame, box)
    median = Centroids(CentroidsOptions(statistic="median"), scene).centres(frame, box)
    assert median[0][0] == pytest.approx(50, abs=3) and mean[0][0] < 45


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="is not a colour"):
        CentroidsOptions.model_validate({"halo_color": "nope"})
    with pytest.raises(ValueError, match="extra"):
        CentroidsOptions.model_validate({"fontsize": 3})


def test_the_panel_pickles_and_the_plugin_registers() -> None:
    scene = make_scene(clusters(), LABELS)
    check_pickles(Centroids(CentroidsOptions(), scene))
    assert load_registry().panel("centroids") is Centroids  # through the entry point
