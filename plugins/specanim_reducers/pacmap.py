"""``pacmap``: PaCMAP (pacmap 0.8-0.9) with the layout captured every few iterations of its three
phases, through its own intermediate snapshots."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import Field, field_validator

from specanim.sdk import Data, Options, Progress, Reducer, Step, Trajectory, hookimpl, installed

from ._common import (
    ApplyPca,
    RandomState,
    SmallStart,
    features,
    optional_module,
    require_points,
    trajectory,
)

# PaCMAP's three phases (its paper, section 5): the weight of mid-near pairs falls from 1000 to 3
# to fix the global layout, stays at 3 while near pairs weigh more, then is 0 to refine locally.
PHASES = ("global", "balanced", "local")
MID_NEAR_WEIGHT = "mid_near_weight"  # the frame value: the weight of mid-near pairs
MID_NEAR_START = 1000.0  # pacmap's fixed initial mid-near weight (its w_MN_init)


class PacmapOptions(Options):
    """Options of the ``pacmap`` reducer: the three phases' lengths, the snapshot interval and
    PaCMAP's parameters."""

    num_iters: tuple[int, int, int] = Field(
        (100, 100, 250),
        description="Iterations of the three phases: global (the mid-near weight falls from "
        "1000 to 3), balanced, local (mid-near pairs ignored).",
    )
    every: int = Field(
        10,
        ge=1,
        description="Take a snapshot every this many iterations, and of the start and the end.",
    )
    random_state: RandomState = 42
    n_neighbors: int = Field(10, ge=1, description="Near pairs per point (local structure).")
    mn_ratio: float = Field(
        0.5, ge=0, description="Mid-near pairs per near pair (global structure)."
    )
    fp_ratio: float = Field(
        2.0, gt=0, description="Further pairs per near pair (pushes clusters apart)."
    )
    metric: Literal["euclidean", "manhattan", "angular", "hamming"] = Field(
        "euclidean", description="How distances between input points are measured."
    )
    learning_rate: float = Field(1.0, gt=0, description="The step size of PaCMAP's Adam optimiser.")
    init: SmallStart = "pca"
    apply_pca: ApplyPca = True

    @field_validator("num_iters")
    @classmethod
    def _some_iterations(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        if min(value) < 0 or sum(value) < 1:
            raise ValueError("must be three iteration counts, none negative, not all 0")
        return value


def phase_at(done: int, num_iters: tuple[int, int, int]) -> tuple[str, int]:
    """The phase of the update that made the layout after done iterations (the start: the first
    phase), and the iterations done within it."""
    update = max(done - 1, 0)
    start = 0
    for name, length in zip(PHASES, num_iters, strict=True):
        if update < start + length or name == PHASES[-1]:
            return name, done - start
        start += length
    raise AssertionError("unreachable")


class Pacmap(Reducer[PacmapOptions]):
    """PaCMAP with the layout captured every few iterations of its three phases."""

    name = "pacmap"

    @classmethod
    def frame_values(cls, options: PacmapOptions) -> Mapping[str, str]:
        """``{mid_near_weight}``: the phase schedule's weight of mid-near pairs."""
        return {MID_NEAR_WEIGHT: "the weight of mid-near pairs in the update that made the layout"}

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """Snapshots after 0, every, 2 every, ... iterations and after the last; a step's epoch
        counts the iterations over all phases, its iteration those within its phase."""
        opts = self.options
        require_points(data, opts.n_neighbors + 2, "n_neighbors", f"n_neighbors {opts.n_neighbors}")
        pacmap = optional_module("pacmap", self.name)
        from pacmap.pacmap import find_weight

        total = sum(opts.num_iters)
        # pacmap writes its snapshot at index i when the iteration count equals the i-th entry:
        # the list must start at 0, rise and end at the total, or its loop overruns the list.
        done = [*range(0, total, opts.every), total]
        progress(0, total)
        pacmap_log = logging.getLogger("pacmap")
        level = pacmap_log.level
        pacmap_log.setLevel(logging.ERROR)  # it warns on every fit that a seed is set
        try:
            model = pacmap.PaCMAP(
                n_components=2,
                n_neighbors=opts.n_neighbors,
                MN_ratio=opts.mn_ratio,
                FP_ratio=opts.fp_ratio,
                distance=opts.metric,
                lr=opts.learning_rate,
                num_iters=opts.num_iters,
                apply_pca=opts.apply_pca,
                intermediate=True,
                intermediate_snapshots=done,
                random_state=opts.random_state,
            )
            snapshots = model.fit_transform(features(data), init=opts.init)
        finally:
            pacmap_log.setLevel(level)
        steps = []
        for k in done:
            phase, iteration = phase_at(k, opts.num_iters)
            weight, _, _ = find_weight(MID_NEAR_START, max(k - 1, 0), num_iters=opts.num_iters)
            steps.append(Step(k, iteration, phase, {MID_NEAR_WEIGHT: float(weight)}))
        progress(total, total)
        return trajectory(snapshots, steps, total)

    def versions(self) -> Mapping[str, str]:
        """pacmap and the libraries its layout depends on."""
        return installed("pacmap", "numba", "numpy", "scikit-learn", "faiss-cpu")


@hookimpl
def register_reducers(register: Callable[[type[Reducer]], None]) -> None:
    """Register the pacmap reducer."""
    register(Pacmap)
