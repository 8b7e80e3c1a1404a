"""From a trajectory's snapshots to the frames of the animation."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from specanim.errors import UserError
from specanim.spec.limits import MAX_FRAMES
from specanim.spec.models import Timeline
from specanim.values import Frame, Trajectory


@dataclass(frozen=True)
class Shot:
    """One distinct picture and how many frames in a row show it (a hold shows it many times)."""

    position: float  # snapshot index, fractional between snapshots
    repeat: int = 1


EASINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda u: u,
    "ease-in": lambda u: u * u,
    "ease-out": lambda u: 1 - (1 - u) ** 2,
    "ease-in-out": lambda u: u * u * (3 - 2 * u),
}
MOTION_SAMPLE = 4096  # points used to measure motion; enough for a stable average


def plan_shots(timeline: Timeline, trajectory: Trajectory) -> list[Shot]:
    """The pictures of the animation in order, with holds on the first and last."""
    places = positions(timeline, trajectory)
    start = timeline.frames(timeline.hold_start)
    end = timeline.frames(timeline.hold_end)
    if len(places) + start + end > MAX_FRAMES:  # snapshots without a duration: known only now
        raise UserError(
            f"timeline: {len(places):,} snapshots and the holds make "
            f"{len(places) + start + end:,} frames: an animation has at most {MAX_FRAMES:,} "
            "(raise timeline.every, or set timeline.duration)"
        )
    shots = [Shot(float(p)) for p in places]
    if len(shots) == 1:
        return [Shot(shots[0].position, 1 + start + end)]
    shots[0] = Shot(shots[0].position, 1 + start)
    shots[-1] = Shot(shots[-1].position, 1 + end)
    return shots


def positions(timeline: Timeline, trajectory: Trajectory) -> np.ndarray:
    """Where in the trajectory each frame stands (fractional: between two snapshots)."""
    last = len(trajectory) - 1
    if timeline.duration is None:
        steps = np.arange(0, last + 1, timeline.every, dtype=float)
        steps = steps if steps[-1] == last else np.append(steps, last)
        if timeline.select == "all" and timeline.easing == "linear":
            return steps
        count = len(steps)
    else:
        count = max(timeline.frames(timeline.duration), 1)
    if count == 1 or last == 0:
        return np.full(count, float(last))
    eased = EASINGS[timeline.easing](np.linspace(0.0, 1.0, count))
    if timeline.select == "all":
        return eased * last
    travelled = np.concatenate([[0.0], np.cumsum(motion(trajectory))])
    if travelled[-1] <= 0:
        return eased * last
    # Invert the travelled-distance curve: equal motion between consecutive frames.
    return np.interp(eased * travelled[-1], travelled, np.arange(last + 1, dtype=float))


def motion(trajectory: Trajectory) -> np.ndarray:
    """How far the points move between consecutive snapshots, in units of the layout's spread,
    so a layout that grows (t-SNE) does not count its growth as motion."""
    snaps = trajectory.snapshots
    n = snaps.shape[1]
    pick = (
        np.random.default_rng(0).choice(n, MOTION_SAMPLE, replace=False)
        if n > MOTION_SAMPLE
        else slice(None)
    )
    sample = np.asarray(snaps[:, pick], dtype=np.float64)
    centre = sample.mean(axis=1, keepdims=True)
    sample -= centre
    spread = np.sqrt((sample**2).sum(axis=2).mean(axis=1))
    spread = np.where(spread > 0, spread, 1.0)
    shape = np.linalg.norm(np.diff(sample / spread[:, None, None], axis=0), axis=2).mean(axis=1)
    shift = np.linalg.norm(np.diff(centre[:, 0], axis=0), axis=1) / ((spread[1:] + spread[:-1]) / 2)
    return shape + shift


def frame_count(shots: list[Shot]) -> int:
    """The number of frames the shots make."""
    return sum(s.repeat for s in shots)


def shot_starts(shots: list[Shot]) -> list[int]:
    """The number of the first frame each shot shows (a held shot shows several)."""
    return list(itertools.accumulate((s.repeat for s in shots[:-1]), initial=0))


def in_step(position: float, lead: Trajectory, other: Trajectory) -> float:
    """The position in other that has come as far through its optimisation (0 to 1 of its
    own length) as lead has at position: methods with different snapshot counts keep in step."""
    if len(other) == 1:
        return 0.0
    done = np.interp(position, np.arange(len(lead)), progresses(lead))
    return float(np.interp(done, progresses(other), np.arange(len(other))))


def progresses(trajectory: Trajectory) -> np.ndarray:
    """How far each snapshot is through the optimisation, 0 to 1 (never decreasing)."""
    epochs = np.array([s.epoch for s in trajectory.steps], np.float64)
    done = epochs / trajectory.total if trajectory.total else np.ones_like(epochs)
    return np.maximum.accumulate(np.clip(done, 0.0, 1.0))


def make_frame(trajectory: Trajectory, shot: Shot, index: int, frames: int, seed: int) -> Frame:
    """The frame for one shot: interpolated coordinates and the values titles can show."""
    coords = trajectory.at(shot.position)
    snaps = trajectory.snapshots
    lo = int(np.floor(shot.position))
    t = shot.position - lo
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
        **step.values,
    }
    frame_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
    return Frame(index=index, position=shot.position, coords=coords, values=values, seed=frame_seed)


def frame_of(other: Trajectory, frame: Frame, lead: Trajectory) -> Frame:
    """The same frame of the animation in another trajectory of the scene: at the position in
    step with frame's, with that trajectory's values, the same number, seed and purpose."""
    shot = Shot(in_step(frame.position, lead, other))
    made = make_frame(other, shot, frame.index, int(frame.values.get("frames", 1)), 0)
    return dataclasses.replace(made, seed=frame.seed, layout_only=frame.layout_only)
