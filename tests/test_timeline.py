"""The timeline: which snapshots become frames, interpolation, easing, holds."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from specanim.draw.timeline import frame_count, make_frame, motion, plan_shots, positions
from specanim.spec.models import Timeline
from specanim.values import Step, Trajectory


def trajectory(steps: np.ndarray) -> Trajectory:
    """Points on a circle, displaced along x by steps[i] at snapshot i."""
    angle = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    base = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    snaps = np.stack([base + [s, 0.0] for s in steps]).astype(np.float32)
    return Trajectory(snaps, tuple(Step(i, i) for i in range(len(steps))), len(steps) - 1)


LINEAR = trajectory(np.arange(11, dtype=float))


def test_every_kth_snapshot_and_always_the_last() -> None:
    assert positions(Timeline(every=3), LINEAR).tolist() == [0, 3, 6, 9, 10]
    assert positions(Timeline(), LINEAR).tolist() == list(range(11))


def test_holds_repeat_the_first_and_last_picture() -> None:
    shots = plan_shots(Timeline(fps=10, hold_start=0.5, hold_end=1), LINEAR)
    assert len(shots) == 11
    assert (shots[0].repeat, shots[-1].repeat) == (6, 11)
    assert frame_count(shots) == 11 + 5 + 10


def test_duration_gives_fps_times_duration_frames_plus_holds() -> None:
    shots = plan_shots(Timeline(fps=24, duration=2.5, hold_end=0.5), LINEAR)
    assert frame_count(shots) == 60 + 12
    pos = [s.position for s in shots]
    assert pos[0] == 0 and pos[-1] == 10
    assert np.all(np.diff(pos) > 0)


def test_interpolated_frames_move_smoothly() -> None:
    shots = plan_shots(Timeline(fps=30, duration=3), LINEAR)
    frames = [make_frame(LINEAR, s, i, len(shots), 0) for i, s in enumerate(shots)]
    centres = np.array([f.coords[:, 0].mean() for f in frames])
    assert np.allclose(np.diff(centres), 10 / 89, atol=1e-4)  # equal steps, no jumps
    middle = make_frame(LINEAR, shots[1], 1, len(shots), 0)
    assert middle.coords[:, 0].mean() == pytest.approx(10 / 89, abs=1e-5)


def test_easing_slows_the_ends() -> None:
    pos = positions(Timeline(fps=10, duration=2, easing="ease-in-out"), LINEAR)
    steps = np.diff(pos)
    assert steps[0] < steps[len(steps) // 2] > steps[-1]
    assert pos[0] == 0 and pos[-1] == pytest.approx(10)


def test_even_motion_spends_frames_where_points_move() -> None:
    # Big moves in the first three snapshots, then almost none.
    moving = trajectory(np.array([0, 10, 20, 30, 30.1, 30.2, 30.3, 30.4, 30.5, 30.6]))
    pos = positions(Timeline(select="even-motion", fps=10, duration=3), moving)
    assert (pos < 3).sum() > 0.9 * len(pos)
    frames = [
        make_frame(moving, s, i, 30, 0)
        for i, s in enumerate(
            plan_shots(Timeline(select="even-motion", fps=10, duration=3), moving)
        )
    ]
    centres = np.array([f.coords[:, 0].mean() for f in frames])
    steps = np.abs(np.diff(centres))
    assert steps.max() < 1.5 * steps.mean()


def test_motion_ignores_growth() -> None:
    angle = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    base = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    growing = np.stack([base * s for s in (1e-4, 1, 100)]).astype(np.float32)
    t = Trajectory(growing, tuple(Step(i) for i in range(3)), 2)
    assert np.allclose(motion(t), 0, atol=1e-5)


def test_frame_values_tell_epoch_phase_and_progress() -> None:
    t = Trajectory(
        LINEAR.snapshots[:3],
        (Step(0, 0, "exaggeration"), Step(5, 5, "exaggeration"), Step(10, 2, "embedding")),
        10,
    )
    shots = plan_shots(Timeline(), t)
    frame = make_frame(t, shots[2], 2, 3, seed=1)
    assert dict(frame.values) == {
        "epoch": 10,
        "epochs": 10,
        "iteration": 2,
        "phase": "embedding",
        "progress": 1.0,
        "frame": 3,
        "frames": 3,
    }
    assert frame.format("{phase} {iteration} ({progress:.0%})") == "embedding 2 (100%)"


def test_the_same_frame_gets_the_same_seed() -> None:
    shot = plan_shots(Timeline(), LINEAR)[4]
    assert make_frame(LINEAR, shot, 4, 11, 7).seed == make_frame(LINEAR, shot, 4, 11, 7).seed
    assert make_frame(LINEAR, shot, 4, 11, 7).seed != make_frame(LINEAR, shot, 4, 11, 8).seed


def test_every_and_duration_do_not_go_together() -> None:
    with pytest.raises(ValidationError, match="'every' and 'duration' do not go together"):
        Timeline(every=2, duration=3)
