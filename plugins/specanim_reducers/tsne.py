"""``tsne``: t-SNE (openTSNE 1.0) with the layout captured every few iterations of both phases."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field, PositiveFloat, field_validator

from specanim.sdk import Data, Options, Progress, Reducer, Step, Trajectory, hookimpl, installed

from ._common import Metric, RandomState, Seeded, features, require_points

EXAGGERATION, EMBEDDING = "exaggeration", "embedding"
ERROR = "kl_divergence"  # the frame value of a recorded error
AUTO_FFT_FROM = 10_000  # openTSNE's "auto" picks FFT from this many points on, else Barnes-Hut

Auto = Literal["auto"]


class TsneOptions(Options):
    """Options of the ``tsne`` reducer: the length of both phases, the snapshot interval and
    openTSNE's parameters."""

    early_exaggeration_iter: int = Field(
        250, ge=0, description="Iterations of the first phase, with exaggerated attraction."
    )
    n_iter: int = Field(500, ge=1, description="Iterations of the second, normal phase.")
    every: int = Field(1, ge=1, description="Take a snapshot every this many iterations.")
    random_state: RandomState = 42
    n_jobs: int = Field(
        1,
        ge=-1,
        description="Threads; -1: all cores. Results are bit-identical only for the same "
        "random_state and n_jobs.",
    )
    perplexity: float = Field(30.0, gt=0, description="The effective number of neighbours.")
    metric: Metric = "euclidean"
    init: Literal["pca", "spectral", "random"] = Field(
        "pca", description="How the (tiny) starting layout is made."
    )
    negative_gradient_method: Literal["auto", "fft", "bh"] = Field(
        "auto",
        description=f"Repulsion approximation: Barnes-Hut (bh) or interpolation (fft); "
        f"auto: bh below {AUTO_FFT_FROM:,} points.",
    )
    learning_rate: Auto | PositiveFloat = Field(
        "auto", description="Step size; auto: points / the phase's exaggeration."
    )
    early_exaggeration: Auto | PositiveFloat = Field(
        "auto", description="Attraction factor of the first phase; auto: 12."
    )
    exaggeration: PositiveFloat | None = Field(
        None, description="Attraction factor of the second phase; null: 1."
    )
    dof: PositiveFloat = Field(
        1.0, description="Degrees of freedom of the t-distribution; below 1: heavier tails."
    )
    theta: float = Field(0.5, ge=0, description="bh: accuracy trade-off; 0 is exact.")
    record_error: bool = Field(
        False,
        description="Record the KL divergence at every snapshot, shown in titles as "
        "{kl_divergence}; openTSNE then computes it at every snapshot, which costs time.",
    )
    n_interpolation_points: int = Field(
        3, ge=1, description="fft: interpolation points per grid cell."
    )

    @field_validator("n_jobs")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must be a number of threads, or -1 for all cores")
        return value


def _without_error(objective: Callable[..., Any]) -> Callable[..., Any]:
    """objective (a gradient function of openTSNE) that never evaluates the KL divergence.

    openTSNE computes the error in every iteration that calls a callback, which snapshots do not
    need; it accepts any callable as ``negative_gradient_method``.
    """

    def gradient(*args: Any, should_eval_error: bool = False, **kwargs: Any) -> Any:
        return objective(*args, should_eval_error=False, **kwargs)

    return gradient


class Recorder:
    """An openTSNE callback that copies every layout it is shown into one preallocated array."""

    def __init__(self, opts: TsneOptions, n: int, progress: Progress) -> None:
        self.record_error = opts.record_error
        self.early = opts.early_exaggeration_iter
        self.total = self.early + opts.n_iter
        self.progress = progress
        count = self.early // opts.every + opts.n_iter // opts.every + 1  # + the final layout
        self.snapshots = np.empty((count, n, 2), np.float32)
        self.steps: list[Step] = []
        self.phases = 0

    def optimization_about_to_start(self) -> None:
        self.phases += 1

    def __call__(self, iteration: int, error: float, embedding: np.ndarray) -> bool:
        # openTSNE calls back before the update of its 1-based iteration: iteration - 1 are done.
        self.add(embedding, iteration - 1, error)
        return False

    def add(self, embedding: np.ndarray, done: int, error: float) -> None:
        """Copy one layout, done iterations into the current phase, with its KL divergence."""
        first_phase = self.phases == 1
        epoch = done if first_phase else self.early + done
        self.snapshots[len(self.steps)] = embedding  # a copy: openTSNE reuses the array
        values = {ERROR: float(error)} if self.record_error else {}
        phase = EXAGGERATION if first_phase else EMBEDDING
        self.steps.append(Step(epoch, done, phase, values))
        self.progress(epoch, self.total)


class Tsne(Seeded[TsneOptions]):
    """t-SNE (openTSNE) with the layout captured every few iterations of both phases."""

    name = "tsne"

    @classmethod
    def frame_values(cls, options: TsneOptions) -> Mapping[str, str]:
        """``{kl_divergence}`` when the options record it."""
        if options.record_error:
            return {ERROR: "the KL divergence of the layout (record_error: true)"}
        return {}

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """Snapshots before iteration 1, 1+every, ... of each phase, then the final layout.

        A snapshot's epoch counts the iterations done over both phases, its iteration those done
        in its phase; with every=1 that is 0, 1, ..., early + n_iter.
        """
        from openTSNE import TSNE
        from openTSNE.tsne import kl_divergence_bh, kl_divergence_fft

        opts = self.options
        perplexity_points = int(3 * opts.perplexity) + 1
        require_points(data, perplexity_points, "perplexity", f"perplexity {opts.perplexity:g}")
        method = opts.negative_gradient_method
        if method == "auto":
            method = "bh" if len(data) < AUTO_FFT_FROM else "fft"
        recorder = Recorder(opts, len(data), progress)
        gradient = kl_divergence_bh if method == "bh" else kl_divergence_fft
        progress(0, recorder.total)
        final = TSNE(
            early_exaggeration_iter=opts.early_exaggeration_iter,
            n_iter=opts.n_iter,
            callbacks=recorder,
            callbacks_every_iters=opts.every,
            random_state=opts.random_state,
            n_jobs=opts.n_jobs,
            perplexity=opts.perplexity,
            metric=opts.metric,
            initialization=opts.init,
            negative_gradient_method=gradient if opts.record_error else _without_error(gradient),
            learning_rate=opts.learning_rate,
            early_exaggeration=opts.early_exaggeration,
            exaggeration=opts.exaggeration,
            dof=opts.dof,
            theta=opts.theta,
            n_interpolation_points=opts.n_interpolation_points,
        ).fit(features(data))
        if recorder.phases != 2:
            raise RuntimeError(f"openTSNE ran {recorder.phases} optimisation phases, not 2")
        # The final layout reaches no callback; openTSNE keeps its error on the embedding.
        recorder.add(np.asarray(final), opts.n_iter, getattr(final, "kl_divergence", np.nan))
        return Trajectory(recorder.snapshots, tuple(recorder.steps), recorder.total)

    def versions(self) -> Mapping[str, str]:
        """openTSNE and the libraries its layout depends on."""
        return installed("openTSNE", "numpy", "scipy", "scikit-learn", "pynndescent")


@hookimpl
def register_reducers(register: Callable[[type[Reducer]], None]) -> None:
    """Register the tsne reducer."""
    register(Tsne)
