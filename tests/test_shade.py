"""The scatter's ``shade: density``: points counted per pixel and class, each pixel coloured by
the mean colour of its points and as opaque as it is crowded."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from specanim import engine
from specanim.plugins import default_registry
from specanim.sdk import rgb
from specanim.spec.validate import load_plan
from specanim.testing import (
    check_pickles,
    make_box,
    make_frames,
    make_panel,
    make_scene,
    render_panel,
)
from specanim.values import RasterLayer, Scene
from specanim_panels.scatter import Scatter

from .conftest import Run
from .test_fast_path import MAX_DIFFERENCE, MEAN_DIFFERENCE, full_pixels

SIZE = 40
# Data units are pixels: x to the right, y up, [0, 40] both ways filling a 40 x 40 box.
FIXED = {"mode": "fixed", "limits": [0, SIZE, 0, SIZE], "margin": 0, "aspect": "fill"}


def pixel(x: float, y: float) -> tuple[int, int]:
    """The (row, column) of the pixel where data point (x, y) lands in the fixed view."""
    return SIZE - 1 - int(y), int(x)


# Three pixels: class 0 alone three times, class 1 alone once, and one class 0 point under three
# class 1 points.
LONE_0, LONE_1, MIXED = (5.5, 5.5), (20.5, 20.5), (30.5, 30.5)
POINTS = [LONE_0] * 3 + [LONE_1] + [MIXED] * 4
LABELS = [0, 0, 0, 1, 0, 1, 1, 1]


def scene_of(points: list[tuple[float, float]], labels: list[int]) -> Scene:
    return make_scene(np.array(points, np.float32), labels, palette="category10")


def shade(scene: Scene, **density: object) -> np.ndarray:
    """The density panel's RGBA pixels for the scene's one frame."""
    options = {"shade": "density", "view": FIXED, "density": density}
    panel = make_panel(Scatter, options, scene)
    check_pickles(panel)  # it goes to the render workers
    view = panel.view(make_frames(scene)[0], make_box(scene, SIZE, SIZE, FIXED))
    assert isinstance(view, RasterLayer)
    return view.rgba


def class_colors(scene: Scene) -> np.ndarray:
    return np.array([rgb(c) for c in scene.colors], float)


def test_a_pixel_of_one_class_has_its_colour_and_two_classes_mix_by_count() -> None:
    scene = scene_of(POINTS, LABELS)
    rgba = shade(scene)
    colors = class_colors(scene)
    assert tuple(rgba[pixel(*LONE_0)][:3]) == tuple(colors[0])
    assert tuple(rgba[pixel(*LONE_1)][:3]) == tuple(colors[1])
    mixed = np.rint((colors[0] + 3 * colors[1]) / 4)
    assert tuple(rgba[pixel(*MIXED)][:3]) == tuple(mixed)
    lit = rgba[..., 3] > 0
    assert lit.sum() == 3  # nothing else is drawn


@pytest.mark.parametrize("how", ["linear", "log", "eq_hist"])
def test_alpha_rises_with_the_count_from_min_alpha_to_opaque(how: str) -> None:
    rgba = shade(scene_of(POINTS, LABELS), how=how, min_alpha=0.2)
    one, three, four = (int(rgba[pixel(*p)][3]) for p in (LONE_1, LONE_0, MIXED))
    assert one == round(0.2 * 255) and four == 255
    assert one < three < four
    # From the least count (1) up: linear 2/3 of the way; log log(3)/log(4); eq_hist: two of the
    # three lit pixels are at or below 3 (the ramp runs from 1/3 to 1).
    share = {"linear": 2 / 3, "log": np.log(3) / np.log(4), "eq_hist": (2 / 3 - 1 / 3) / (2 / 3)}
    assert three == round((0.2 + 0.8 * share[how]) * 255)


def test_eq_hist_gives_rare_counts_their_share_of_the_ramp() -> None:
    # 50 pixels with 1 point, one pixel with 100: linearly the crowded pixel squeezes every other
    # to min_alpha; equalised, the crowded one is opaque and the rest share the lower part.
    points = [(x + 0.5, 2.5) for x in range(10)] * 1 + [(20.5, 20.5)] * 100
    points += [(x + 0.5, 4.5) for x in range(10)] * 2
    labels = [0] * len(points)
    linear = shade(scene_of(points, labels), how="linear", min_alpha=0.1)
    equalised = shade(scene_of(points, labels), how="eq_hist", min_alpha=0.1)
    twice = pixel(3.5, 4.5)
    assert linear[twice][3] < 0.12 * 255
    assert equalised[twice][3] > 0.5 * 255
    assert equalised[pixel(3.5, 2.5)][3] == round(0.1 * 255)


def test_spread_counts_each_point_in_a_disc_around_it() -> None:
    rgba = shade(scene_of([LONE_1], [1]), spread=2)
    lit = rgba[..., 3] > 0
    assert lit.sum() == 13  # the pixels within 2 of the centre: 1 + 4 + 4 + 4
    row, column = pixel(*LONE_1)
    assert lit[row, column - 2] and lit[row - 2, column] and not lit[row - 2, column - 1]


def test_colouring_by_a_value_takes_the_scheme_at_the_pixels_mean_value() -> None:
    scene = scene_of([LONE_0, LONE_0, LONE_1, MIXED], [0, 0, 0, 0])
    values = np.array([0.0, 10.0, 10.0, np.nan])
    scene = dataclasses.replace(scene, data=dataclasses.replace(scene.data, columns={"v": values}))
    options = {"shade": "density", "view": FIXED, "color": {"field": "v", "scheme": "viridis"}}
    panel = make_panel(Scatter, options, scene)
    rgba = panel.view(make_frames(scene)[0], make_box(scene, SIZE, SIZE, FIXED)).rgba
    samples = panel.palette  # the scheme's samples from 0 to 1, then the missing-value grey
    middle = samples[round((len(samples) - 2) * 0.5)]
    assert tuple(rgba[pixel(*LONE_0)][:3]) == rgb(middle)
    assert tuple(rgba[pixel(*LONE_1)][:3]) == rgb(samples[-2])
    assert tuple(rgba[pixel(*MIXED)][:3]) == rgb(samples[-1])


def test_points_shading_is_the_default_and_draws_discs() -> None:
    scene = scene_of(POINTS, LABELS)
    options = {"view": FIXED, "render": "raster", "point_size": 5}
    panel = make_panel(Scatter, options, scene)
    rgba = panel.view(make_frames(scene)[0], make_box(scene, SIZE, SIZE, FIXED)).rgba
    assert panel.options.shade == "points"
    assert (rgba[..., 3] > 0).sum() > 3 * 9  # discs of 5 px, not single pixels


def test_a_density_panel_draws_through_vl_convert() -> None:
    scene = scene_of(POINTS, LABELS)
    options = {"shade": "density", "view": FIXED}
    drawn = render_panel(Scatter, options, scene, make_frames(scene)[0], SIZE, SIZE)
    colors = class_colors(scene)
    # Over the black background: the colour times the alpha, which is 1 in the densest pixel.
    mixed = np.rint((colors[0] + 3 * colors[1]) / 4)
    assert np.abs(drawn[pixel(*MIXED)].astype(int) - mixed).max() <= 1
    assert drawn[pixel(*LONE_1)].max() < drawn[pixel(*LONE_0)].max()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{type: scatter, density: {how: log}}", "panels[0].density: density options apply to"),
        ("{type: scatter, shade: density, render: vector}", "panels[0].shade: shade: density"),
        ("{type: scatter, shade: density, density: {how: sqrt}}", "panels[0].density.how"),
        ("{type: scatter, shade: dense}", "panels[0].shade"),
    ],
)
def test_bad_shading_options_are_one_located_line(
    entry: str, message: str, write_spec: Callable[..., Path], specanim: Run
) -> None:
    spec = write_spec(
        f"""
        width: 200
        height: 120
        dataset: {{type: sklearn-digits, limit: 100}}
        reducer: {{type: pca}}
        panels:
          - {entry}
        """
    )
    result = specanim("still", spec, "-o", "out.png", "-q")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{spec}:6: {message}"), result.stderr
    assert not (spec.parent / "out.png").exists()


def test_the_painted_density_frame_is_what_its_full_vega_lite_draws(
    write_spec: Callable[..., Path],
) -> None:
    spec = write_spec(
        """
        title: Density
        width: 320
        height: 240
        dataset: {type: sklearn-digits}
        reducer: {type: pca}
        panels:
          - {type: progress-bar}
          - {type: scatter, shade: density, density: {how: log, spread: 1}}
        layout: {column: [progress-bar, scatter], sizes: [1, 9], title: true}
        """
    )
    prepared = engine.prepare(load_plan(spec, default_registry()), cache="off")
    fast = engine.still(prepared, 0).astype(int)
    difference = np.abs(fast - full_pixels(prepared, 0))
    assert difference.max() <= MAX_DIFFERENCE and difference.mean() <= MEAN_DIFFERENCE
    assert (fast.max(axis=2) > 60).sum() > 500  # the points show


def test_a_still_of_two_hundred_thousand_points_shows_each_cluster_in_its_colour(
    tmp_path: Path, write_spec: Callable[..., Path], specanim: Run
) -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    labels = rng.integers(0, 4, n)
    centres = np.array([[-6, -6], [6, -6], [-6, 6], [6, 6]], float)
    features = centres[labels] + rng.standard_normal((n, 2))
    np.savez(tmp_path / "points.npz", X=features.astype(np.float32), y=labels)
    spec = write_spec(
        """
        width: 400
        height: 400
        palette: [red, lime, blue, yellow]
        dataset: {type: file, path: points.npz}
        reducer: {type: pca}
        panels:
          - {type: scatter, shade: density, view: {aspect: equal}}
        """
    )
    result = specanim("still", spec, "-o", "dense.png", "-q")
    assert result.returncode == 0, result.stderr
    picture = np.asarray(Image.open(tmp_path / "dense.png").convert("RGB")).astype(int)
    lit = picture.max(axis=2) > 30
    assert lit.mean() > 0.1
    # Every pixel of a cluster is one class's colour, dimmed by its alpha: one channel or, for
    # yellow, two; all four appear.
    hues = (picture > 15).astype(int)
    assert {tuple(c) for c in hues[lit]} == {(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0)}
    # Where points crowd (a cluster's centre) the pixels are more opaque than at its edge.
    brightness = picture.max(axis=2)
    for hue in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0)):
        shown = brightness[lit & (hues == hue).all(axis=2)]
        assert np.percentile(shown, 95) > 2 * np.percentile(shown, 5)


def saturation_lost(frame: np.ndarray, path: Path, chroma: str) -> float:
    """How much saturation (max - min channel) the frame's lit pixels lose through the mp4
    encoder with this chroma and back (decoded as the stream is tagged: BT.709, limited)."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    from specanim_encoders.video import Mp4, Mp4Options

    height, width = frame.shape[:2]
    with Mp4(Mp4Options(chroma=chroma)).open(path, width, height, 10) as sink:
        sink.write(frame)
    with av.open(str(path)) as container:
        (picture,) = container.decode(container.streams.video[0])
    decoded = picture.reformat(
        format="rgb24", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG
    ).to_ndarray()
    lit = frame.max(axis=2) > 40
    a, b = frame[lit].astype(float), decoded[lit].astype(float)
    return float(((a.max(1) - a.min(1)) - (b.max(1) - b.min(1))).mean())


def test_weighted_chroma_keeps_small_dots_coloured_through_h264(
    tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    spec = write_spec(
        """
        width: 320
        height: 240
        palette: paired
        dataset: {type: sklearn-digits}
        reducer: {type: pca}
        panels: [{type: scatter, point_size: 3}]
        """
    )
    prepared = engine.prepare(load_plan(spec, default_registry()), cache="off")
    frame = engine.still(prepared, 0)
    even = saturation_lost(frame, tmp_path / "even.mp4", "even")
    weighted = saturation_lost(frame, tmp_path / "weighted.mp4", "weighted")
    assert even > 5  # 4:2:0 greys the dots out...
    assert weighted < 0.6 * even  # ...and weighting the colour by brightness keeps it


@pytest.mark.parametrize("n", [20_000, 500])  # spread over 2x2 and convolved; exact discs
@pytest.mark.parametrize("opacity", [0.8, "per point"])
def test_points_drawn_by_the_compiled_loop_have_numpys_bytes(
    monkeypatch: pytest.MonkeyPatch, opacity: float | str, n: int
) -> None:
    from specanim.draw import raster

    rng = np.random.default_rng(1)
    xy = (rng.standard_normal((n, 2)) * 40 + 100).astype(np.float32)
    xy[:3] = [[np.nan, 5], [-30, 5], [1e12, 5]]  # not finite, and off the image both ways
    colors = rng.integers(0, 256, (n, 3)).astype(np.uint8)
    alpha = rng.uniform(0.1, 1, n) if opacity == "per point" else opacity
    rasterizer = raster.PointRasterizer(colors, 2.5, alpha)
    spread = rasterizer.footprint(n, 200, 200) is rasterizer.spread
    assert spread == (n > 1000)
    monkeypatch.setattr(raster, "CHUNK", 4096)  # several chunks: their order counts too
    footprint = rasterizer.spread if spread else rasterizer.exact
    drawn, sums = [], []
    monkeypatch.setattr(raster, "_compiled_paint", False)  # put back after the test
    raster.use_compiled_loops()
    for loops in (False, True):
        monkeypatch.setattr(raster, "_compiled_paint", loops)
        drawn.append(rasterizer.draw(xy, 200, 200))
        sums.append(rasterizer.accumulate(footprint, xy, 200, 200)[0])
    assert (drawn[0][..., 3] > 0).sum() > (10_000 if spread else 1_000)
    # The same float32 additions in the same order: the same sums, the same bytes.
    np.testing.assert_array_equal(sums[1], sums[0])
    np.testing.assert_array_equal(drawn[1], drawn[0])


def test_render_workers_convert_colour_with_the_compiled_loop_to_numpys_bytes() -> None:
    """Render workers, which load the compiled loops, convert frames with the numba loop; a
    process without them with numpy: the planes must be the same, byte for byte, on dots, flat
    colour and noise."""
    from specanim_encoders.video import weighted_yuv420p

    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    dots = noise.copy()
    dots[rng.random((120, 160)) < 0.9] = 0
    flat = np.full((120, 160, 3), (250, 3, 128), np.uint8)
    for frame in (noise, dots, flat):
        by_numpy = weighted_yuv420p(frame, compiled=False)
        compiled = weighted_yuv420p(frame, compiled=True)
        assert by_numpy.shape == (180, 160)
        np.testing.assert_array_equal(compiled, by_numpy)
