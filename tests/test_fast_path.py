"""The fast path: raster layers painted into the frame where Vega put their boxes give the
pixels vl-convert draws from the frame's full Vega-Lite (raster layers embedded as PNG)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from specanim import engine
from specanim.draw.compose import TITLE, WHOLE
from specanim.draw.layout import leaves
from specanim.draw.vlconvert import fit_canvas, rasterize
from specanim.plugins import default_registry, load_registry
from specanim.sdk import Box, Frame, Panel, Scene, View, hookimpl
from specanim.spec import palette
from specanim.spec.validate import load_plan
from specanim_panels.scatter import Scatter, ScatterOptions

from .conftest import MNIST, Run

ROOT = Path(__file__).resolve().parents[1]
# Painting rounds as vl-convert does to within one level; compositing over an embedded image
# (a layer) may differ by one more.
MAX_DIFFERENCE = 2
MEAN_DIFFERENCE = 0.05
# Cheaper fits of the shipped scenes: the same panels and layout, fewer steps.
SHORT = {
    "umap": ["reducer.epochs=12"],
    "tsne": ["reducer.early_exaggeration_iter=12", "reducer.n_iter=12", "reducer.every=2"],
    "pacmap": ["reducer.num_iters=[8, 8, 16]", "reducer.every=4"],
    "compare": [
        "reducers.umap.epochs=12",
        "reducers.tsne.early_exaggeration_iter=12",
        "reducers.tsne.n_iter=12",
        "timeline.duration=1",
    ],
}
MNIST_DATA = [f"dataset.path={MNIST}", "dataset.split=test", "dataset.limit=1500"]


def shipped() -> list[Path]:
    return sorted((ROOT / "specs").glob("*.yaml"))


def overrides_for(spec: Path) -> list[str]:
    shorter = next((SHORT[k] for k in SHORT if k in spec.stem), [])
    return shorter + (MNIST_DATA if spec.stem.startswith("mnist") else [])


def full_pixels(prepared: engine.Prepared, frame: int) -> np.ndarray:
    spec = prepared.plan.spec
    rgb = rasterize(engine.frame_spec(prepared, frame))
    return fit_canvas(rgb, spec.width, spec.height, palette.rgb(spec.background))


@pytest.mark.parametrize("spec", shipped(), ids=lambda p: p.stem)
def test_every_shipped_spec_paints_what_its_full_vega_lite_draws(spec: Path) -> None:
    if spec.stem.startswith("mnist") and not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test files not found in {MNIST}")
    plan = load_plan(spec, default_registry(), overrides=overrides_for(spec))
    prepared = engine.prepare(plan, cache="off")
    assert prepared.composer.by_box  # every shipped scene is drawn box by box
    frames = range(0, prepared.frames, max(prepared.frames // 12, 1))
    for frame in [*frames, prepared.frames - 1]:
        fast = engine.still(prepared, frame)
        difference = np.abs(fast.astype(int) - full_pixels(prepared, frame))
        assert difference.max() <= MAX_DIFFERENCE, (spec.name, frame)
        assert difference.mean() <= MEAN_DIFFERENCE, (spec.name, frame)
        # Box by box gives the bytes of the frame's vector marks drawn at once.
        np.testing.assert_array_equal(fast, whole_frame_pixels(prepared, frame))


def whole_frame_pixels(prepared: engine.Prepared, frame: int) -> np.ndarray:
    """The frame's pixels with its vector marks drawn all at once, the raster layers painted."""
    pieces = prepared.composer.frame_pieces(prepared.frame(prepared.shot_of(frame)), whole=True)
    pixels = prepared.place(pieces)
    assert pixels is not None
    return pixels


def test_boxes_whose_marks_reach_beyond_them_are_drawn_with_the_whole_frame(
    write_spec: Callable[..., Path],
) -> None:
    spec = write_spec(
        """
        title: "Frame {frame}"
        width: 420
        height: 260
        dataset: {type: sklearn-digits, limit: 400}
        reducer: {type: tsne, n_iter: 10, early_exaggeration_iter: 10}
        panels:
          - type: scatter
            render: vector
            title: "{frame} of {frames}"
            vega_lite: {encoding: {x: {axis: {title: across}, scale: {}}}}
          - {type: progress-bar}
        layout: {column: [progress-bar, scatter], sizes: [1, 9]}
        """
    )
    prepared = engine.prepare(load_plan(spec, default_registry()), cache="off")
    assert not prepared.composer.by_box  # the axis lies below the scatter's box
    for frame in (0, prepared.frames - 1):
        drawn = engine.still(prepared, frame).astype(int)
        difference = np.abs(drawn - full_pixels(prepared, frame))
        assert difference.max() <= MAX_DIFFERENCE and difference.mean() <= MEAN_DIFFERENCE


def test_which_pieces_a_frame_is_drawn_from_depends_on_the_scene_alone(
    write_spec: Callable[..., Path],
) -> None:
    """Box by box: the title, the scatter's title line, each box's vector marks and the
    scatter's points; whole: the frame's vector marks and the points. Both give the pixels."""
    spec = write_spec(
        """
        title: "Frame {frame}"
        width: 420
        height: 260
        dataset: {type: sklearn-digits, limit: 600}
        reducer: {type: pca}
        panels:
          - {type: scatter, render: raster, title: "{frame} of {frames}"}
          - {type: progress-bar}
        layout: {column: [progress-bar, scatter], sizes: [1, 9], title: true}
        """
    )
    prepared = engine.prepare(load_plan(spec, default_registry()), cache="off")
    composer = prepared.composer
    assert composer.by_box
    box = {leaf.keys[0]: leaf.name for leaf in leaves(composer.tree)}
    last = prepared.frame(len(prepared.shots) - 1)
    pieces = composer.frame_pieces(last)
    assert [(p.name, p.spec is not None) for p in pieces] == [
        (TITLE, True),
        (box["progress-bar"], True),
        (f"{box['scatter']}_title", True),
        (box["scatter"], False),
    ]
    whole = composer.frame_pieces(last, whole=True)
    assert [(p.name, p.spec is not None) for p in whole] == [(WHOLE, True), (box["scatter"], False)]
    by_box = prepared.place(pieces)
    assert by_box is not None
    np.testing.assert_array_equal(by_box, prepared.place(whole))
    # The pieces are what the frame shows.
    inverted = [
        dataclasses.replace(p, rgba=255 - p.rgba) if p.rgba is not None else p for p in pieces
    ]
    assert not np.array_equal(prepared.place(inverted), by_box)


def test_painted_layers_are_never_encoded(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        """
        title: A fixed title
        width: 400
        height: 240
        dataset: {type: sklearn-digits, limit: 600}
        reducer: {type: pca}
        panels:
          - {type: scatter, render: raster}
          - {type: digit-grid}
          - {type: progress-bar}
        layout: {row: [{column: [progress-bar, scatter], sizes: [1, 9]}, digit-grid]}
        """
    )
    prepared = engine.prepare(load_plan(spec, default_registry()), cache="off")
    vector, *layers = prepared.composer.frame_pieces(prepared.frame(0), whole=True)
    assert "data:image/png" not in json.dumps(vector.spec)  # title, scatter and grid are painted
    assert len(layers) == 3
    assert "data:image/png" in json.dumps(engine.frame_spec(prepared, 0))


def test_a_raster_under_vector_marks_is_embedded_and_looks_the_same(
    write_spec: Callable[..., Path],
) -> None:
    spec = write_spec(
        """
        width: 300
        height: 200
        dataset: {type: sklearn-digits, limit: 600}
        reducer: {type: pca}
        panels:
          - {type: digit-grid, label: true, columns: 5, label_size: 20}
          - {id: fixed, type: digit-grid, resample: false}
          - {type: scatter, render: raster, point_size: 6}
        layout: {row: [digit-grid, {layer: [fixed, scatter]}]}
        """
    )
    prepared = engine.prepare(load_plan(spec, default_registry()), cache="off")
    vector, *layers = prepared.composer.frame_pieces(prepared.frame(0), whole=True)
    assert len(layers) == 2  # the grid and the scatter over it; not the grid under labels
    assert json.dumps(vector.spec).count("data:image/png") == 1
    difference = np.abs(engine.still(prepared, 0).astype(int) - full_pixels(prepared, 0))
    assert difference.max() <= MAX_DIFFERENCE and difference.mean() <= MEAN_DIFFERENCE


def test_still_writes_the_full_vega_lite_of_a_frame(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    spec = write_spec(
        """
        width: 300
        height: 200
        dataset: {type: sklearn-digits, limit: 300}
        reducer: {type: pca}
        panels: [{type: scatter}, {type: digit-grid}]
        """
    )
    for args in (["-o", "frame.png"], ["--vega-lite", "-o", "frame.json"]):
        result = specanim("still", spec, "--frame", "0", "-q", *args)
        assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "frame.json").read_text())
    assert document["hconcat"] and "data:image/png" in json.dumps(document)
    from PIL import Image

    painted = np.asarray(Image.open(tmp_path / "frame.png").convert("RGB")).astype(int)
    drawn = fit_canvas(rasterize(document), 300, 200, (0, 0, 0))
    assert np.abs(painted - drawn).max() <= MAX_DIFFERENCE


@pytest.mark.parametrize("at", [(0, 0), (37, -5), (-20, 60), (90, 70)])
def test_the_compiled_paint_gives_numpys_bytes(
    monkeypatch: pytest.MonkeyPatch, at: tuple[int, int]
) -> None:
    """Render workers paint with the compiled loop, a single process with numpy: the same
    bytes for transparent, partial and opaque pixels, also where a layer leaves the canvas."""
    from specanim.draw import raster

    rng = np.random.default_rng(7)
    canvas = rng.integers(0, 256, (100, 120, 3), dtype=np.uint8)
    layer = rng.integers(0, 256, (50, 70, 4), dtype=np.uint8)
    layer[..., 3] = rng.choice([0, 1, 128, 254, 255], size=(50, 70))
    monkeypatch.setattr(raster, "_compiled_paint", False)
    expected = canvas.copy()
    raster.paint(expected, layer, *at)
    raster.use_compiled_loops()
    painted = canvas.copy()
    raster.paint(painted, layer, *at)
    assert not np.array_equal(painted, canvas)
    np.testing.assert_array_equal(painted, expected)


class Counted(Panel):
    """A scatter that counts the views it is asked for, and says which were to lay out only."""

    name = "counted-scatter"
    Options = ScatterOptions
    views = 0
    layout_only: list[bool] = []

    def __init__(self, options: ScatterOptions, scene: Scene) -> None:
        super().__init__(options, scene)
        self.scatter = Scatter(options, scene)

    def view(self, frame: Frame, box: Box) -> View:
        Counted.views += 1
        Counted.layout_only.append(frame.layout_only)
        return self.scatter.view(frame, box)


def test_preparing_asks_each_panel_for_its_first_view_once(
    write_spec: Callable[..., Path],
) -> None:
    """A million points take a while to draw: the first frame's views are asked for once while
    the scene is prepared (checked, laid out, drawn box by box), not once for each step."""
    plugin = SimpleNamespace(register_panels=hookimpl(lambda register: register(Counted)))
    registry = load_registry([("counted", plugin)])
    spec = write_spec(
        """
        width: 300
        height: 200
        dataset: {type: sklearn-digits, limit: 300}
        reducer: {type: pca}
        panels: [{type: counted-scatter, render: raster}, {type: progress-bar}]
        layout: {column: [progress-bar, counted-scatter], sizes: [1, 9]}
        """
    )
    Counted.views, Counted.layout_only = 0, []
    prepared = engine.prepare(load_plan(spec, registry), cache="off")
    assert Counted.views == 1
    assert prepared.composer.by_box
    # Preparing lays the frame out: the scatter draws no points then (a million take 0.2 s in
    # this process), but its camera measures what it shows, here, once for all processes.
    assert Counted.layout_only == [True]
    assert "bounds" in vars(prepared.composer.boxes()["counted-scatter"].camera)
    engine.still(prepared, 0)
    assert Counted.views == 2  # drawing a frame asks again
    assert Counted.layout_only == [True, False]
