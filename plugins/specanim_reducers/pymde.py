"""``pymde``: minimum-distortion embedding (PyMDE 0.2-0.3) with the layout it snapshots every few
L-BFGS iterations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field

from specanim.sdk import Data, Options, Progress, Reducer, Step, Trajectory, hookimpl, installed

from ._common import features, optional_module, require_points, trajectory

DISTORTION = "distortion"  # frame values: the objective, and the norm of its projected gradient
RESIDUAL = "residual_norm"


class PymdeOptions(Options):
    """Options of the ``pymde`` reducer: the recipe, its parameters and the solver's."""

    recipe: Literal["neighbors", "distances"] = Field(
        "neighbors",
        description="preserve_neighbors (local structure, like UMAP) or preserve_distances.",
    )
    max_iter: int = Field(300, ge=1, description="L-BFGS iterations at most.")
    every: int = Field(
        1, ge=1, description="Take a snapshot every this many iterations, and of the end."
    )
    eps: float = Field(
        1e-5, ge=0, description="Stop early once the residual norm is below this; 0: never."
    )
    random_state: int = Field(
        42, ge=0, description="Seed of PyTorch's and NumPy's generators (pymde.seed)."
    )
    constraint: Literal["centered", "standardized"] = Field(
        "centered",
        description="centered: mean zero (neighbors: with repulsion); standardized: also unit "
        "covariance.",
    )
    n_neighbors: int | None = Field(
        None, ge=1, description="neighbors: neighbours per point; null: PyMDE's choice (5-15)."
    )
    repulsive_fraction: float | None = Field(
        None, gt=0, description="neighbors: repulsive edges per neighbour edge; null: PyMDE's."
    )
    init: Literal["random", "quadratic"] = Field(
        "random",
        description="neighbors: the starting layout. quadratic is PyMDE's spectral start, but "
        "ARPACK draws its start vector unseeded, so its frames differ from run to run.",
    )
    memory_size: int = Field(10, ge=1, description="The L-BFGS memory.")


class Pymde(Reducer[PymdeOptions]):
    """PyMDE with the layout snapshotted every few iterations of its L-BFGS solve."""

    name = "pymde"

    @classmethod
    def frame_values(cls, options: PymdeOptions) -> Mapping[str, str]:
        """``{distortion}`` and ``{residual_norm}``, which PyMDE records every iteration."""
        return {
            DISTORTION: "the average distortion (the objective) of the layout",
            RESIDUAL: "the norm of the objective's gradient, projected onto the constraint",
        }

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """Snapshots before iteration 0, every, 2 every, ... (after that many iterations), then
        the final layout; the solve may stop early (eps), so the total is the iterations run."""
        opts = self.options
        require_points(data, 10, None, "PyMDE")
        pymde = optional_module("pymde", self.name)
        import torch

        progress(0, opts.max_iter)
        pymde.seed(opts.random_state)
        constraint = pymde.Standardized() if opts.constraint == "standardized" else None
        x = features(data)
        if opts.recipe == "neighbors":
            mde = pymde.preserve_neighbors(
                x,
                constraint=constraint,
                n_neighbors=opts.n_neighbors,
                repulsive_fraction=opts.repulsive_fraction,
                init=opts.init,
            )
        else:
            mde = pymde.preserve_distances(x, constraint=constraint)
        final = mde.embed(
            eps=opts.eps,
            max_iter=opts.max_iter,
            memory_size=opts.memory_size,
            snapshot_every=opts.every,
        )
        stats = mde.solve_stats
        distortions, residuals = stats.average_distortions, stats.residual_norms
        # A snapshot is taken before an iteration: the one at k sees the layout after k
        # iterations, and PyMDE's records of iteration k were computed on that layout.
        steps = [
            Step(k, k, "", {DISTORTION: distortions[k], RESIDUAL: residuals[k]})
            for k in range(0, stats.iterations, opts.every)
        ]
        snapshots = [s.numpy() for s in stats.snapshots]
        distortion, residual = _evaluate(mde, final.detach(), torch)
        steps.append(
            Step(
                stats.iterations, stats.iterations, "", {DISTORTION: distortion, RESIDUAL: residual}
            )
        )
        snapshots.append(final.detach().cpu().numpy())
        progress(stats.iterations, stats.iterations)
        return trajectory(snapshots, steps, stats.iterations)

    def versions(self) -> Mapping[str, str]:
        """pymde and the libraries its layout depends on."""
        return installed("pymde", "torch", "numpy", "scipy", "scikit-learn", "pynndescent")


def _evaluate(mde: Any, layout: Any, torch: Any) -> tuple[float, float]:
    """The average distortion of layout and its residual norm, as PyMDE's solver computes them:
    the gradient projected onto the constraint's tangent space, its Frobenius norm."""
    x = layout.clone().requires_grad_(True)
    distortion = mde.average_distortion(x)
    distortion.backward()
    with torch.no_grad():
        mde.constraint.project_onto_tangent_space(x, x.grad, inplace=True)
    return float(distortion.item()), float(x.grad.norm(p="fro").item())


@hookimpl
def register_reducers(register: Callable[[type[Reducer]], None]) -> None:
    """Register the pymde reducer."""
    register(Pymde)
