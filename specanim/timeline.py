"""From a trajectory's snapshots to the frames of the animation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from specanim.components import Frame, Trajectory
from specanim.spec.models import Timeline


@dataclass(frozen=True)
class Shot:
    """One distinct picture and how many frames in a row show it (a hold shows it many times)."""

    position: float  # snapshot index, fractional between snapshots
    repeat: int = 1


def plan_shots(timeline: Timeline, trajectory: Trajectory) -> list[Shot]:
    """The pictures of the animation in order, with holds on the first and last."""
    last = len(trajectory) - 1
    positions = list(range(0, last + 1, timeline.every))
    if positions[-1] != last:
        positions.append(last)
    shots = [Shot(float(p)) for p in positions]
    start = int(round(timeline.hold_start * timeline.fps))
    end = int(round(timeline.hold_end * timeline.fps))
    if len(shots) == 1:
        return [Shot(shots[0].position, 1 + start + end)]
    shots[0] = Shot(shots[0].position, 1 + start)
    shots[-1] = Shot(shots[-1].position, 1 + end)
    return shots


def frame_count(shots: list[Shot]) -> int:
    """The number of frames the shots make."""
    return sum(s.repeat for s in shots)


def make_frame(trajectory: Trajectory, shot: Shot, index: int, frames: int, seed: int) -> Frame:
    """The frame for one shot: interpolated coordinates and the values titles can show."""
    lo = int(np.floor(shot.position))
    t = shot.position - lo
    snaps = trajectory.snapshots
    if t == 0 or lo + 1 >= len(snaps):
        coords = np.asarray(snaps[lo])
    else:
        coords = (snaps[lo] * (1 - t) + snaps[lo + 1] * t).astype(np.float32)
    step = trajectory.steps[min(lo + (t >= 0.5), len(snaps) - 1)]
    progress = step.epoch / trajectory.total if trajectory.total else 1.0
    values: dict[str, Any] = {
        "epoch": step.epoch,
        "epochs": trajectory.total,
        "iteration": step.iteration,
        "phase": step.phase,
        "progress": min(max(progress, 0.0), 1.0),
        "frame": index + 1,
        "frames": frames,
    }
    frame_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
    return Frame(index=index, position=shot.position, coords=coords, values=values, seed=frame_seed)
