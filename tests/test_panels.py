"""The built-in panels, rendered for real through vl-convert."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from specanim.components import Panel
from specanim.draw.compose import to_vega_lite
from specanim.errors import InputError
from specanim.plugins import default_registry
from specanim.testing import make_box, make_panel
from specanim.values import RasterLayer, Scene
from specanim_panels.digit_grid import DigitGrid, DigitGridOptions
from specanim_panels.progress_bar import ProgressBar, ProgressBarOptions
from specanim_panels.scatter import Scatter, ScatterOptions

from .panel_fixtures import digit_images, frame, render, scene, two_clusters

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def share(rgb: np.ndarray, color: tuple[int, int, int]) -> float:
    """The fraction of lit pixels whose hue is color's (channels on where color's are)."""
    lit = rgb.max(axis=2) > 40
    on = np.array(color) > 0
    match = ((rgb > 20) == on).all(axis=2) & lit
    return float(match.sum() / max(lit.sum(), 1))


def grid_scene(classes: int = 4, per_class: int = 20) -> Scene:
    labels = np.repeat(np.arange(classes), per_class)
    coords = np.random.default_rng(0).normal(size=(len(labels), 2)).astype(np.float32)
    return scene(coords, labels, images=digit_images(labels), classes=classes)


# --- every panel: a plain view of exactly the size asked ----------------------------------


PANELS: list[tuple[type[Panel], dict[str, Any]]] = [
    (Scatter, {"render": "vector"}),
    (Scatter, {"render": "raster"}),
    (Scatter, {"render": "raster", "point_size": 9, "view": {"mode": "follow"}}),
    (
        Scatter,
        {"render": "vector", "point_size": 9, "view": {"mode": "fixed", "limits": [-1, 1, -1, 1]}},
    ),
    (DigitGrid, {}),
    (DigitGrid, {"columns": 3, "label": True}),
    (DigitGrid, {"columns": 1, "label": True, "label_size": 40, "resample": False}),
    (ProgressBar, {}),
    (ProgressBar, {"style": "bar", "label": "epoch {epoch}/{epochs}", "align": "bottom"}),
    (
        ProgressBar,
        {
            "label": "{phase} {iteration} and a label far too long to fit",
            "label_side": "left",
            "thickness": 50,
            "align": "top",
            "label_size": 80,
        },
    ),
]


@pytest.mark.parametrize(("cls", "options"), PANELS, ids=lambda v: getattr(v, "name", str(v)))
@pytest.mark.parametrize(("width", "height"), [(157, 91), (64, 240)])
def test_view_fills_exactly_the_size_asked(
    cls: type[Panel], options: dict[str, Any], width: int, height: int
) -> None:
    sc = grid_scene()
    panel = make_panel(cls, options, sc)
    box = make_box(sc, width, height)
    view = to_vega_lite(panel.view(frame(sc), box), width, height, {})
    assert not {"$schema", "config", "background", "padding", "autosize"} & set(view)
    assert render(panel, frame(sc), width, height).shape == (height, width, 3)


def test_panels_are_registered_through_the_entry_points() -> None:
    registry = default_registry()
    assert registry.panel("scatter") is Scatter
    assert registry.panel("digit-grid") is DigitGrid
    assert registry.panel("progress-bar") is ProgressBar


# --- scatter -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["vector", "raster"])
def test_scatter_draws_each_class_in_its_colour_where_its_points_are(mode: str) -> None:
    sc = scene()  # class 0 (red) around x = -5, class 1 (green) around x = +5
    image = render(Scatter(ScatterOptions(render=mode, point_size=4), sc), frame(sc), 200, 120)
    left, right = image[:, :100], image[:, 100:]
    assert share(left, RED) > 0.95 and share(right, GREEN) > 0.95
    assert (left.max(axis=2) > 40).sum() > 50 and (right.max(axis=2) > 40).sum() > 50


def test_scatter_vector_and_raster_forms_look_alike() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 2000)
    centres = np.array([[-3, -3], [3, -3], [-3, 3], [3, 3]], np.float32)
    coords = (centres[labels] + rng.normal(size=(2000, 2)) * 1.2).astype(np.float32)
    sc = scene(coords, labels, classes=4)
    images = {
        mode: render(Scatter(ScatterOptions(render=mode), sc), frame(sc), 240, 200).astype(float)
        for mode in ("vector", "raster")
    }
    vector, raster = images["vector"], images["raster"]
    assert np.abs(vector - raster).mean() < 3
    assert abs(vector.mean() - raster.mean()) < 0.1 * vector.mean()
    for quadrant, color in (
        ((slice(100, 200), slice(0, 120)), RED),
        ((slice(0, 100), slice(120, 240)), YELLOW),
    ):
        assert share(vector[quadrant], color) > 0.8 and share(raster[quadrant], color) > 0.8


def test_scatter_render_auto_switches_to_an_image_above_the_threshold() -> None:
    sc = scene()  # 400 points
    box = make_box(sc, 100, 100)
    few = Scatter(ScatterOptions(raster_above=400), sc).view(frame(sc), box)
    many = Scatter(ScatterOptions(raster_above=399), sc).view(frame(sc), box)
    assert isinstance(few, dict) and few["mark"]["type"] == "circle"
    assert isinstance(many, RasterLayer) and many.rgba.shape == (100, 100, 4)


def test_scatter_shuffles_the_draw_order_the_same_way_every_time() -> None:
    sc = scene()
    box = make_box(sc, 100, 100)
    views = [
        Scatter(ScatterOptions(render="vector", shuffle=shuffle), sc).view(frame(sc), box)
        for shuffle in (True, True, False)
    ]
    rows = [v["data"]["values"] for v in views if isinstance(v, dict)]
    classes = [[line.rsplit(",", 1)[1] for line in r.splitlines()[1:]] for r in rows]
    assert rows[0] == rows[1]
    # The data's own order: strictly alternating class colours
    assert classes[2] == [sc.colors[0], sc.colors[1]] * 200
    assert classes[0] != classes[2] and sorted(classes[0]) == sorted(classes[2])


@pytest.mark.parametrize("mode", ["vector", "raster"])
def test_scatter_is_deterministic_and_follows_the_frame(mode: str) -> None:
    coords, labels = two_clusters()
    moved = coords + [0.0, 3.0]
    sc = scene(coords, labels, snapshots=[coords, moved])
    panel = Scatter(
        ScatterOptions(render=mode, view={"mode": "fixed", "limits": [-8, 8, -6, 6]}), sc
    )
    first, again, later = (render(panel, frame(sc, p), 160, 120) for p in (0, 0, 1))
    assert np.array_equal(first, again)
    rows = np.flatnonzero(first.max(axis=(1, 2)) > 40), np.flatnonzero(later.max(axis=(1, 2)) > 40)
    assert rows[1].mean() < rows[0].mean() - 15  # moved up on screen


def test_scatter_options_are_checked() -> None:
    for bad in (
        {"point_size": 0},
        {"opacity": 1.5},
        {"render": "svg"},
        {"view": {"mode": "fixed"}},
    ):
        with pytest.raises(ValidationError):
            ScatterOptions.model_validate(bad)


# --- digit grid ----------------------------------------------------------------------------


def test_digit_grid_shows_each_class_in_its_colour_in_its_cell() -> None:
    sc = grid_scene()
    panel = DigitGrid(DigitGridOptions(columns=2), sc)
    image = render(panel, frame(sc, seed=5), 200, 300)
    cells = {
        0: (slice(0, 150), slice(0, 100)),
        1: (slice(0, 150), slice(100, 200)),
        2: (slice(150, 300), slice(0, 100)),
        3: (slice(150, 300), slice(100, 200)),
    }
    for k, color in enumerate((RED, GREEN, BLUE, YELLOW)):
        cell = image[cells[k]]
        assert share(cell, color) == 1.0
        assert (cell.max(axis=2) > 200).sum() > 100  # the image's bar, scaled up


def test_digit_grid_pixels_are_crisp_and_alpha_is_intensity() -> None:
    sc = grid_scene(classes=1)
    image = render(DigitGrid(DigitGridOptions(columns=1), sc), frame(sc), 90, 90)
    # red at full and half intensity and black: nearest neighbour blends no pixel
    assert set(np.unique(image[..., 0])) == {0, 128, 255}
    assert image[..., 1:].max() == 0


def test_digit_grid_resamples_per_frame_seed_and_is_fixed_otherwise() -> None:
    sc = grid_scene()
    moving = DigitGrid(DigitGridOptions(resample=True), sc)
    fixed = DigitGrid(DigitGridOptions(resample=False, seed=3), sc)
    assert moving.dynamic and not fixed.dynamic
    shots = {seed: render(moving, frame(sc, seed=seed), 120, 160) for seed in (1, 2, 1)}
    assert np.array_equal(render(moving, frame(sc, seed=1), 120, 160), shots[1])
    assert not np.array_equal(shots[1], shots[2])
    held = [render(fixed, frame(sc, seed=seed), 120, 160) for seed in (1, 2)]
    assert np.array_equal(held[0], held[1])


def test_digit_grid_labels_print_under_the_images() -> None:
    sc = grid_scene(classes=2)
    plain = render(DigitGrid(DigitGridOptions(columns=2), sc), frame(sc), 200, 120)
    labelled = render(DigitGrid(DigitGridOptions(columns=2, label=True), sc), frame(sc), 200, 120)
    strip = slice(120 - 14, 120)
    assert plain[strip].max() < 40 and (labelled[strip].min(axis=2) > 150).sum() > 10  # white text


def test_digit_grid_needs_images() -> None:
    sc = scene()
    with pytest.raises(InputError, match="needs image data"):
        DigitGrid(DigitGridOptions(), sc)


# --- progress bar --------------------------------------------------------------------------


def lit_length(image: np.ndarray) -> int:
    return int((image.max(axis=(0, 2)) > 128).sum())


def test_progress_line_grows_with_progress() -> None:
    sc = scene(epochs=100)
    panel = ProgressBar(ProgressBarOptions(), sc)
    lengths = [lit_length(render(panel, frame(sc, p), 300, 20)) for p in (0, 25, 50, 100)]
    assert lengths[0] == 0
    assert lengths[1:] == [pytest.approx(75, abs=2), pytest.approx(150, abs=2), 300]


def test_progress_bar_has_a_faint_track_and_room_for_its_label() -> None:
    sc = scene(epochs=10)
    panel = ProgressBar(
        ProgressBarOptions(style="bar", label="{epoch} of {epochs}", label_width=100), sc
    )
    image = render(panel, frame(sc, 5), 300, 20)
    row = image[10, :, 0]
    assert (row[5:95] > 200).all()  # lit: half of the 200 pixels left of the label
    assert (np.abs(row[110:195].astype(int) - 64) < 12).all()  # the track: a quarter as bright
    assert image[:, 205:].max() > 200  # the label
    line = ProgressBar(ProgressBarOptions(style="line"), sc)
    assert render(line, frame(sc, 5), 300, 20)[:, 160:].max() == 0  # no track by default


@pytest.mark.parametrize(
    ("align", "rows"), [("top", (0, 1)), ("middle", (9, 10)), ("bottom", (18, 19))]
)
def test_progress_line_align(align: str, rows: tuple[int, int]) -> None:
    sc = scene(epochs=1)
    image = render(ProgressBar(ProgressBarOptions(align=align), sc), frame(sc, 1), 50, 20)
    assert tuple(int(r) for r in np.flatnonzero(image.max(axis=(1, 2)) > 128)) == rows


def test_progress_label_fields_are_checked() -> None:
    with pytest.raises(ValidationError, match="did you mean 'epochs'") as caught:
        ProgressBarOptions(label="{epoch}/{epoks}")
    assert caught.value.errors()[0]["loc"] == ("label",)
    with pytest.raises(ValidationError):
        ProgressBarOptions(color="not-a-colour")


def test_progress_colour_defaults_to_the_foreground() -> None:
    sc = dataclasses.replace(scene(epochs=1), foreground="#00ff00")
    image = render(ProgressBar(ProgressBarOptions(), sc), frame(sc, 1), 40, 10)
    assert share(image, GREEN) == 1.0
    red = render(ProgressBar(ProgressBarOptions(color="red"), sc), frame(sc, 1), 40, 10)
    assert share(red, RED) == 1.0
