"""specanim.camera: which part of the plane a panel shows, and how coordinates become pixels."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from specanim.camera import Camera, ViewOptions

from .panel_fixtures import trajectory

W, H = 400, 300


def rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, s], [-s, c]])


def layout(n: int = 300, seed: int = 3) -> np.ndarray:
    """A lopsided cloud (wider than tall, off the origin): any rotation of it shows."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)) * [4.0, 1.0] + [2.0, -1.0]).astype(np.float32)


def growing(count: int = 10) -> list[np.ndarray]:
    """One layout scaled up by 30 % per snapshot and drifting right."""
    base = layout()
    return [base * 1.3**s + [s, 0.0] for s in range(count)]


def test_global_region_is_the_same_at_every_position_and_holds_every_point() -> None:
    snapshots = growing()
    camera = Camera(ViewOptions(clip_quantile=0), trajectory(snapshots), W, H)
    regions = [camera.region(p) for p in np.linspace(0, len(snapshots) - 1, 23)]
    assert np.allclose(regions, regions[0])
    for s, snapshot in enumerate(snapshots):
        px = camera.to_pixels(snapshot, s)
        assert px.min() >= 0 and px[:, 0].max() <= W and px[:, 1].max() <= H


def test_follow_fits_each_snapshot_exactly_without_smoothing() -> None:
    snapshots = growing()
    camera = Camera(
        ViewOptions(mode="follow", clip_quantile=0, smoothing=0, margin=0),
        trajectory(snapshots),
        W,
        H,
    )
    for s, snapshot in enumerate(snapshots):
        assert np.allclose(
            camera.region(s),
            [
                snapshot[:, 0].min(),
                snapshot[:, 0].max(),
                snapshot[:, 1].min(),
                snapshot[:, 1].max(),
            ],
            rtol=1e-5,
        )
        px = camera.to_pixels(snapshot, s)
        # aspect equal: the wider axis spans the panel's width exactly
        assert px[:, 0].min() == pytest.approx(0, abs=1e-2) and px[:, 0].max() == pytest.approx(
            W, abs=1e-2
        )


def test_follow_smoothing_keeps_the_trend_and_removes_shake() -> None:
    # Steady growth with every other snapshot twice as large: a camera that follows it raw shakes.
    base = layout()
    snapshots = [base * 1.1**s * (2.0 if s % 2 else 1.0) for s in range(30)]
    raw = Camera(ViewOptions(mode="follow", smoothing=0), trajectory(snapshots), W, H)
    smooth = Camera(ViewOptions(mode="follow", smoothing=4), trajectory(snapshots), W, H)

    def log_widths(camera: Camera) -> np.ndarray:
        return np.log([camera.region(s)[1] - camera.region(s)[0] for s in range(len(snapshots))])

    shake_raw = np.abs(np.diff(log_widths(raw), 2)).max()
    shake_smooth = np.abs(np.diff(log_widths(smooth), 2)).max()
    assert shake_smooth < shake_raw / 10
    assert not np.allclose(smooth.region(0), smooth.region(29))  # it still follows the growth
    assert log_widths(smooth)[-1] > log_widths(smooth)[0] + 2


def test_fixed_limits_map_to_the_panel_less_its_margin() -> None:
    camera = Camera(
        ViewOptions(mode="fixed", limits=(0, 10, 0, 5), aspect="fill", margin=0.1),
        trajectory(growing(3)),
        W,
        H,
    )
    corners = np.array([[0, 0], [10, 5], [5, 2.5]], np.float32)
    for p in (0, 1.5, 2):
        px = camera.to_pixels(corners, p)
        assert np.allclose(px, [[0.1 * W, 0.9 * H], [0.9 * W, 0.1 * H], [W / 2, H / 2]], atol=1e-3)


def test_y_up_in_the_data_is_up_on_the_screen() -> None:
    camera = Camera(ViewOptions(mode="fixed", limits=(-1, 1, -1, 1)), trajectory(growing(2)), W, H)
    low, high = camera.to_pixels(np.array([[0, -1], [0, 1]], np.float32), 0)
    assert high[1] < low[1]


@pytest.mark.parametrize("aspect", ["equal", "fill"])
def test_aspect_equal_keeps_a_square_square_and_centred(aspect: str) -> None:
    square = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
    camera = Camera(ViewOptions(clip_quantile=0, aspect=aspect), trajectory([square]), W, H)
    px = camera.to_pixels(square, 0)
    width, height = np.ptp(px[:, 0]), np.ptp(px[:, 1])
    if aspect == "equal":
        assert width == pytest.approx(height) == pytest.approx(0.9 * H)
        assert px.mean(axis=0) == pytest.approx([W / 2, H / 2])
    else:
        assert (width, height) == (pytest.approx(0.9 * W), pytest.approx(0.9 * H))


def test_clip_quantile_ignores_a_stray_point() -> None:
    cloud = layout(1000)
    with_stray = np.concatenate([cloud, [[500.0, 500.0]]]).astype(np.float32)
    all_points = Camera(ViewOptions(clip_quantile=0), trajectory([with_stray]), W, H)
    clipped = Camera(ViewOptions(clip_quantile=0.01), trajectory([with_stray]), W, H)
    spread_all = np.ptp(all_points.to_pixels(cloud, 0)[:, 0])
    spread_clipped = np.ptp(clipped.to_pixels(cloud, 0)[:, 0])
    assert spread_clipped > 10 * spread_all
    stray = clipped.to_pixels(with_stray[-1:], 0)[0]
    assert stray[0] > W  # beyond the panel: not drawn


def test_degenerate_layouts_still_map_inside_the_panel() -> None:
    point = np.zeros((5, 2), np.float32)
    line = np.stack([np.arange(5), np.zeros(5)], axis=1).astype(np.float32)
    for data in (point, line):
        for aspect in ("equal", "fill"):
            px = Camera(ViewOptions(aspect=aspect), trajectory([data]), W, H).to_pixels(data, 0)
            assert (
                np.isfinite(px).all()
                and (px >= 0).all()
                and (px[:, 0] <= W).all()
                and (px[:, 1] <= H).all()
            )


def test_positions_beyond_the_ends_clamp() -> None:
    camera = Camera(ViewOptions(mode="follow", smoothing=0), trajectory(growing(4)), W, H)
    assert np.allclose(camera.region(-2), camera.region(0))
    assert np.allclose(camera.region(9), camera.region(3))


def spinning(count: int = 12, flip_at: int = 7) -> list[np.ndarray]:
    """One layout turned 0.4 rad further each snapshot, mirrored from flip_at on, and moving."""
    base = layout()
    out = []
    for s in range(count):
        turned = base @ rotation(0.4 * s)
        if s >= flip_at:
            turned = turned * [1.0, -1.0]
        out.append((turned + [3.0 * s, -2.0 * s]).astype(np.float32))
    return out


def test_procrustes_holds_a_spinning_flipping_layout_still() -> None:
    snapshots = spinning()
    aligned = Camera(ViewOptions(align="procrustes"), trajectory(snapshots), W, H)
    plain = Camera(ViewOptions(), trajectory(snapshots), W, H)
    first = aligned.to_pixels(snapshots[0], 0)
    for s, snapshot in enumerate(snapshots):
        assert np.abs(aligned.to_pixels(snapshot, s) - first).max() < 0.05
    assert np.abs(plain.to_pixels(snapshots[5], 5) - plain.to_pixels(snapshots[0], 0)).max() > 20


def test_procrustes_interpolates_the_rotation_between_snapshots() -> None:
    base = layout()
    snapshots = [base @ rotation(0.1 * s) for s in range(4)]
    camera = Camera(ViewOptions(align="procrustes"), trajectory(snapshots), W, H)
    first = camera.to_pixels(base, 0)
    for position in (0.25, 1.5, 2.75):
        i, f = int(position), position - int(position)
        between = ((1 - f) * snapshots[i] + f * snapshots[i + 1]).astype(
            np.float32
        )  # as frames are
        assert np.abs(camera.to_pixels(between, position) - first).max() < 0.5
        # held at the snapshot's own rotation instead, the layout would visibly turn
        assert np.abs(camera.to_pixels(between, i) - first).max() > 3


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "fixed"},
        {"mode": "global", "limits": [0, 1, 0, 1]},
        {"mode": "fixed", "limits": [1, 0, 0, 1]},
        {"mode": "fixed", "limits": [0, 1, 0]},
        {"margin": 0.5},
        {"clip_quantile": -0.1},
        {"align": "rotate"},
        {"zoom": 2},
    ],
)
def test_bad_view_options_are_rejected(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ViewOptions.model_validate(options)


def test_follow_keeps_a_tiny_first_layout_in_frame_as_later_ones_grow() -> None:
    # t-SNE from a random start: a layout 1e-4 across that grows to a few units and settles,
    # its centre drifting by 0.003: nothing next to the later sizes, thirty times the first.
    rng = np.random.default_rng(3)
    base = rng.normal(size=(400, 2)).astype(np.float32)
    snapshots = [base * 1e-4 * 3.0 ** min(s, 9) + 0.003 * min(s, 1) for s in range(20)]
    camera = Camera(ViewOptions(mode="follow", smoothing=5), trajectory(snapshots), W, H)
    for s, snapshot in enumerate(snapshots[:5]):  # the tiny ones: all of them were off-screen
        px = camera.to_pixels(snapshot, s)
        inside = (px[:, 0] >= 0) & (px[:, 0] <= W) & (px[:, 1] >= 0) & (px[:, 1] <= H)
        assert inside.mean() > 0.95, s
