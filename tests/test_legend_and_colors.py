"""Colouring points by a value, and the legend panel: rendered for real through vl-convert."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from specanim import engine
from specanim.errors import InputError, SpecErrors
from specanim.plugins import default_registry
from specanim.spec.palette import ramp, rgb
from specanim.spec.validate import load_plan
from specanim.testing import (
    check_pickles,
    make_box,
    make_frames,
    make_panel,
    make_scene,
    panel_spec,
    render_panel,
)
from specanim.values import Data, Scene
from specanim_panels.legend import Legend, nice_ticks
from specanim_panels.scatter import Scatter

from .conftest import Run

RED, BLUE = (255, 0, 0), (0, 0, 255)


def with_columns(scene: Scene, **columns: np.ndarray) -> Scene:
    return dataclasses.replace(scene, data=dataclasses.replace(scene.data, columns=columns))


def near(pixels: np.ndarray, color: tuple[int, int, int], tolerance: int = 12) -> int:
    """How many pixels are within tolerance of color in every channel."""
    return int((np.abs(pixels.astype(int) - color) <= tolerance).all(axis=2).sum())


def value_scene() -> Scene:
    """Two clusters: 100 points of low age on the left, 100 of high age on the right."""
    rng = np.random.default_rng(1)
    left = rng.normal([-5, 0], 0.3, size=(100, 2))
    right = rng.normal([5, 0], 0.3, size=(100, 2))
    age = np.r_[np.full(100, 10.0), np.full(100, 50.0)]
    return with_columns(make_scene(np.r_[left, right]), age=age)


@pytest.mark.parametrize("form", ["vector", "raster"])
def test_scatter_colours_by_a_value_through_the_scheme(form: str) -> None:
    scene = value_scene()
    options = {"render": form, "point_size": 8, "opacity": 1, "color": {"field": "age"}}
    pixels = render_panel(Scatter, options, scene, make_frames(scene)[0], 200, 100)
    low, high = rgb(ramp("viridis")[0]), rgb(ramp("viridis")[-1])
    left, right = pixels[:, :100], pixels[:, 100:]
    assert near(left, low) > 100 and near(right, low) == 0
    assert near(right, high) > 100 and near(left, high) == 0
    # A domain wider than the data puts both ends inside the scheme; reverse swaps them.
    options["color"] = {"field": "age", "scheme": "viridis", "reverse": True}
    pixels = render_panel(Scatter, options, scene, make_frames(scene)[0], 200, 100)
    assert near(pixels[:, :100], high) > 100 and near(pixels[:, 100:], low) > 100
    options["color"] = {"field": "age", "domain": [0, 100]}
    pixels = render_panel(Scatter, options, scene, make_frames(scene)[0], 200, 100)
    assert near(pixels, low) == 0 and near(pixels, high) == 0


def test_raster_and_vector_scatter_colour_each_point_alike() -> None:
    scene = value_scene()
    vector = make_panel(Scatter, {"render": "vector", "color": {"field": "age"}}, scene)
    raster = make_panel(Scatter, {"render": "raster", "color": {"field": "age"}}, scene)
    np.testing.assert_array_equal(vector.colors, raster.colors)
    check_pickles(vector)


def test_colour_by_an_unknown_column_names_the_known_ones() -> None:
    scene = value_scene()
    with pytest.raises(InputError) as caught:
        make_panel(Scatter, {"color": {"field": "aeg"}}, scene)
    assert caught.value.key == "color"
    assert caught.value.message == (
        "no column 'aeg' to colour by (did you mean 'age'?): the data's numeric columns are 'age'"
    )
    with pytest.raises(SpecErrors, match="categorical scheme"):
        make_panel(Scatter, {"color": {"field": "age", "scheme": "paired"}}, scene)
    with pytest.raises(SpecErrors, match="low < high"):
        make_panel(Scatter, {"color": {"field": "age", "domain": [5, 5]}}, scene)


def test_missing_values_are_grey() -> None:
    scene = with_columns(make_scene(np.zeros((4, 2))), v=np.array([0.0, np.nan, 1.0, 2.0]))
    panel = make_panel(Scatter, {"color": {"field": "v"}}, scene)
    assert tuple(panel.colors[1]) == (128, 128, 128)


# --- the legend ---------------------------------------------------------------------------------


def class_scene(classes: int = 3) -> Scene:
    names = ["setosa", "versicolor", "virginica", "other"][:classes]
    palette = ["#ff0000", "#0000ff", "#00ff00", "#ffff00"][:classes]
    return make_scene(np.zeros((classes, 2)), range(classes), classes=names, palette=palette)


def test_legend_is_registered() -> None:
    assert default_registry().get("panel", "legend") is Legend


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({}, (160, 120)),
        ({"direction": "rows", "swatch": "square"}, (400, 40)),
        ({"columns": 2, "font_size": 30}, (200, 60)),  # shrinks to fit
    ],
)
def test_legend_shows_each_class_colour_and_name(options: dict, size: tuple[int, int]) -> None:
    scene = class_scene()
    pixels = render_panel(Legend, options, scene, make_frames(scene)[0], *size)
    assert pixels.shape == (size[1], size[0], 3)
    for color in (RED, BLUE, (0, 255, 0)):
        assert near(pixels, color, 40) > 15, color
    text = (pixels.min(axis=2) > 200).sum()  # white text on black
    assert text > 100
    # The names stand to the right of the first swatch.
    red = np.argwhere(near_mask(pixels, RED))
    white = np.argwhere(pixels.min(axis=2) > 200)
    assert white[:, 1].max() > red[:, 1].max()


def near_mask(pixels: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return (np.abs(pixels.astype(int) - color) <= 40).all(axis=2)


def test_legend_direction_orders_the_entries() -> None:
    scene = class_scene(4)
    frame = make_frames(scene)[0]
    rows = render_panel(Legend, {"columns": 2, "direction": "rows"}, scene, frame, 300, 80)
    columns = render_panel(Legend, {"columns": 2, "direction": "columns"}, scene, frame, 300, 80)

    def centre(pixels: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
        return np.argwhere(near_mask(pixels, color)).mean(axis=0)

    # Rows: the second class beside the first; columns: under it.
    first, second = centre(rows, RED), centre(rows, BLUE)
    assert abs(first[0] - second[0]) < 3 and second[1] > first[1] + 50
    first, second = centre(columns, RED), centre(columns, BLUE)
    assert abs(first[1] - second[1]) < 3 and second[0] > first[0] + 5


def test_legend_of_data_without_labels_has_one_entry() -> None:
    scene = make_scene(np.zeros((5, 2)), classes=["all"], palette=["#ff0000"])
    pixels = render_panel(Legend, {}, scene, make_frames(scene)[0], 120, 40)
    assert near(pixels, RED, 40) > 15 and (pixels.min(axis=2) > 200).sum() > 20


@pytest.mark.parametrize(("size", "vertical"), [((90, 240), True), ((300, 70), False)])
def test_legend_colour_bar_runs_through_the_scheme(size: tuple[int, int], vertical: bool) -> None:
    scene = value_scene()
    options = {"color": {"field": "age", "scheme": "blues"}}
    pixels = render_panel(Legend, options, scene, make_frames(scene)[0], *size)
    low, high = rgb(ramp("blues")[0]), rgb(ramp("blues")[-1])
    at_low, at_high = np.argwhere(near_mask(pixels, low)), np.argwhere(near_mask(pixels, high))
    assert len(at_low) > 20 and len(at_high) > 20
    if vertical:  # high values at the top
        assert at_high[:, 0].mean() < at_low[:, 0].mean() - 100
    else:
        assert at_high[:, 1].mean() > at_low[:, 1].mean() + 100
    assert (pixels.min(axis=2) > 200).sum() > 50  # the title and tick labels


def test_legend_of_an_unknown_column_is_located() -> None:
    with pytest.raises(InputError) as caught:
        make_panel(Legend, {"color": {"field": "weight"}}, value_scene())
    assert caught.value.key == "color" and "'age'" in caught.value.message


def test_nice_ticks() -> None:
    assert nice_ticks(10, 50, 5) == [10, 20, 30, 40, 50]
    assert nice_ticks(-2.7, 2.4, 5) == [-2, -1, 0, 1, 2]
    assert nice_ticks(0, 0.9, 4) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])


# --- in a whole frame: the sklearn tables, two scatters coloured differently -------------------


def test_sklearn_tables_offline() -> None:
    from specanim_datasets.sklearn_tables import SklearnTable

    def load(**options: object) -> Data:
        return SklearnTable(SklearnTable.Options.model_validate(options), Path(".")).load()

    wine = load(name="wine")
    assert wine.features.shape == (178, 13) and wine.classes == ("class_0", "class_1", "class_2")
    np.testing.assert_allclose(wine.features.std(axis=0), 1, rtol=1e-4)  # standardized
    assert wine.columns["alcohol"][0] == pytest.approx(14.23)  # in its own units
    iris = load(name="iris", features=["petal_length_cm", "petal_width_cm"], standardize=False)
    assert iris.features[0].tolist() == pytest.approx([1.4, 0.2])
    with pytest.raises(InputError, match="did you mean 'petal_length_cm'"):
        load(name="iris", features=["petal_length"])


def test_two_scatters_of_one_frame_keep_their_own_colours(
    write_spec: Callable[..., Path],
) -> None:
    spec = write_spec(
        """
        version: 1
        width: 400
        height: 200
        palette: ["#ff0000", "#0000ff", "#00ff00"]
        dataset: {type: sklearn, name: iris}
        reducer: {type: pca}
        panels:
          - {id: a, type: scatter, render: vector, point_size: 6, opacity: 1}
          - {id: b, type: scatter, render: vector, point_size: 6, opacity: 1,
             color: {field: petal_length_cm, scheme: greys}}
        layout: {row: [a, b]}
        timeline: {fps: 1, hold_end: 0}
        """
    )
    pixels = engine.still(engine.prepare(load_plan(spec, default_registry()), cache="off"), -1)
    left, right = pixels[:, :200], pixels[:, 200:]
    assert near(left, RED, 40) > 100 and near(left, BLUE, 40) > 100
    assert near(right, RED, 40) == 0 and near(right, BLUE, 40) == 0
    grey = (np.ptp(right.astype(int), axis=2) < 8) & (right.min(axis=2) < 200)
    assert grey.sum() > 200  # a grey scheme's points on the white page


def test_a_palette_short_of_colours_is_an_error_for_a_list_and_a_warning_for_a_scheme(
    tmp_path: Path, specanim: Run
) -> None:
    rows = [f"{i % 12},{i},{i * i % 7}" for i in range(48)]
    (tmp_path / "t.csv").write_text("label,a,b\n" + "\n".join(rows) + "\n", encoding="utf-8")
    spec = tmp_path / "s.yaml"
    body = "dataset: {type: file, path: t.csv}\nreducer: {type: pca}\npanels: [{type: scatter}]\n"
    spec.write_text("width: 64\nheight: 64\npalette: ['#ff0000', '#0000ff']\n" + body)
    done = specanim("still", spec, "-o", tmp_path / "s.png", "-q")
    assert done.returncode == 2 and not (tmp_path / "s.png").exists()
    assert done.stderr.strip().splitlines() == [
        f"{spec}:3: palette: the list has 2 colours for 12 classes: list 12 colours, or name a "
        "Vega scheme"
    ]
    spec.write_text("width: 64\nheight: 64\npalette: category10\n" + body)
    done = specanim("still", spec, "-o", tmp_path / "s.png", "-q")
    assert done.returncode == 0 and (tmp_path / "s.png").exists()
    assert done.stderr.strip().splitlines() == [
        f"warning: {spec}:3: palette: the scheme 'category10' has 10 colours for 12 classes, so "
        "classes share a colour: name a scheme with enough (category20, tableau20) or a "
        "continuous one (viridis, turbo), or list a colour for each class"
    ]
    spec.write_text("width: 64\nheight: 64\npalette: category20\n" + body)
    done = specanim("still", spec, "-o", tmp_path / "s.png", "-q")
    assert (done.returncode, done.stderr) == (0, "")


def test_a_colour_bar_title_too_long_for_its_box_is_set_smaller_and_shown_whole() -> None:
    from specanim.draw.vlconvert import rasterize

    scene = with_columns(value_scene(), temperature=value_scene().data.columns["age"])
    options = {"color": {"field": "temperature"}, "orientation": "vertical"}
    frame = make_frames(scene)[0]
    pixels = render_panel(Legend, options, scene, frame, 70, 240)
    panel = make_panel(Legend, options, scene)
    view = panel_spec(panel, frame, make_box(scene, 70, 240))
    title = next(layer for layer in view["layer"] if layer.get("mark", {}).get("text"))
    size = title["mark"]["fontSize"]
    assert size < panel.options.font_size  # set smaller to fit
    alone = {  # the same word at that size with room to spare: its ink, whole
        "width": 300,
        "height": 40,
        "data": {"values": [{}]},
        "mark": {**title["mark"], "limit": 0, "x": 0, "y": 0},
        "config": {"background": scene.background},
    }
    whole = rasterize(alone)

    def ink_width(rgb_pixels: np.ndarray, rows: int) -> int:
        columns = np.flatnonzero((rgb_pixels[:rows].min(axis=2) > 128).any(axis=0))
        return int(columns[-1] - columns[0] + 1)

    rows = int(6 + size * 1.6)  # the title's line at the top of the legend
    assert abs(ink_width(pixels, rows) - ink_width(whole, 40)) <= 2  # no ellipsis
