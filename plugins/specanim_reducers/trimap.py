"""``trimap``: TriMap (trimap 1.2, its PyTorch implementation) with the layout it records every
10 iterations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from specanim.sdk import Data, Options, Progress, Reducer, Step, Trajectory, hookimpl, installed

from ._common import ApplyPca, SmallStart, features, optional_module, require_points, trajectory

EVERY = 10  # TriMap's return_seq records the start, then the layout after every 10th iteration
LOSS = "loss"  # the frame value: TriMap's mean triplet loss


class TrimapOptions(Options):
    """Options of the ``trimap`` reducer: TriMap's parameters (snapshots every 10 iterations)."""

    n_iters: int = Field(
        400, ge=EVERY, description=f"Iterations; a multiple of {EVERY}: one snapshot each {EVERY}."
    )
    random_state: int = Field(
        42,
        ge=0,
        description="Seed of the random number generator: the same seed gives the same "
        "frames (TriMap always seeds its generator).",
    )
    n_inliers: int = Field(12, ge=1, description="Near neighbours per point in each triplet set.")
    n_outliers: int = Field(4, ge=1, description="Far points sampled per inlier.")
    n_random: int = Field(3, ge=0, description="Random triplets per point.")
    metric: Literal["euclidean", "manhattan", "cosine", "hamming"] = Field(
        "euclidean", description="How distances between input points are measured."
    )
    learning_rate: float = Field(0.1, gt=0, description="The step size.")
    weight_temp: float = Field(
        0.5,
        ge=0,
        description="Temperature of the log applied to triplet weights; larger: "
        "more compact clusters; 0: weights as they are.",
    )
    init: SmallStart = "pca"
    apply_pca: ApplyPca = True
    opt_method: Literal["dbd", "momentum", "sd"] = Field(
        "dbd",
        description="Optimiser: delta-bar-delta (dbd), gradient descent with momentum, or "
        "steepest descent (sd).",
    )
    device: Literal["cpu", "cuda", "mps"] = Field(
        "cpu", description="Where PyTorch computes; frames are reproducible on one device."
    )

    @field_validator("n_iters")
    @classmethod
    def _whole_intervals(cls, value: int) -> int:
        if value % EVERY:
            raise ValueError(f"must be a multiple of {EVERY}, the interval of TriMap's snapshots")
        return value


class Trimap(Reducer[TrimapOptions]):
    """TriMap with the layout it records every 10 iterations (``return_seq``)."""

    name = "trimap"

    @classmethod
    def frame_values(cls, options: TrimapOptions) -> Mapping[str, str]:
        """``{loss}``: TriMap's loss history, which it keeps anyway."""
        return {
            LOSS: "the mean triplet loss of the iteration that made the layout (the start: "
            "of the first iteration)"
        }

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """Snapshots after 0, 10, ..., n_iters iterations (the last is the final layout)."""
        opts = self.options
        needed = max(opts.n_inliers + 2, opts.n_inliers + opts.n_outliers + 1)
        require_points(data, needed, "n_inliers", f"n_inliers {opts.n_inliers}")
        trimap = optional_module("trimap", self.name)
        progress(0, opts.n_iters)
        model = trimap.TorchTRIMAP(
            n_dims=2,
            n_inliers=opts.n_inliers,
            n_outliers=opts.n_outliers,
            n_random=opts.n_random,
            distance=opts.metric,
            lr=opts.learning_rate,
            n_iters=opts.n_iters,
            weight_temp=opts.weight_temp,
            apply_pca=opts.apply_pca,
            opt_method=opts.opt_method,
            init=opts.init,
            device=opts.device,
            random_state=opts.random_state,
            return_seq=True,
        ).fit(features(data))
        # embedding_ is (n, 2, snapshots) on the device.
        sequence = model.embedding_.detach().cpu().numpy().transpose(2, 0, 1)
        losses = model.loss_history_.detach().cpu().numpy().astype(np.float64)
        steps = [
            Step(k, k, "", {LOSS: float(losses[max(k - 1, 0)])})
            for k in range(0, opts.n_iters + 1, EVERY)
        ]
        progress(opts.n_iters, opts.n_iters)
        return trajectory(sequence, steps, opts.n_iters)

    def versions(self) -> Mapping[str, str]:
        """trimap and the libraries its layout depends on."""
        return installed("trimap", "torch", "numpy", "scikit-learn", "faiss-cpu")


@hookimpl
def register_reducers(register: Callable[[type[Reducer]], None]) -> None:
    """Register the trimap reducer."""
    register(Trimap)
