"""``umap``: UMAP (umap-learn 0.5) with the layout captured after every epoch."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from specanim.sdk import (
    Data,
    InputError,
    Options,
    Progress,
    Reducer,
    Step,
    Trajectory,
    hookimpl,
    installed,
)

from ._common import (
    METRIC_DESCRIPTION,
    MetricName,
    RandomState,
    Seeded,
    features,
    require_points,
    trajectory,
)


class UmapOptions(Options):
    """Options of the ``umap`` reducer: umap-learn's parameters that work with epoch snapshots."""

    epochs: int = Field(200, ge=1, le=10_000, description="Training epochs: one snapshot each.")
    random_state: RandomState = 42
    n_neighbors: int = Field(15, ge=2, description="Size of the local neighbourhood.")
    spread: float = Field(1.0, gt=0, description="The scale of the embedded points.")
    min_dist: float = Field(0.1, ge=0, description="How tightly points may pack; at most spread.")
    metric: Literal[MetricName, "correlation"] = Field("euclidean", description=METRIC_DESCRIPTION)
    init: Literal["spectral", "pca", "random", "tswspectral"] = Field(
        "spectral", description="How the starting layout is made (always scaled to [0, 10]^2)."
    )
    learning_rate: float = Field(1.0, gt=0, description="The initial step size.")
    negative_sample_rate: int = Field(
        5, ge=1, description="Negative samples per positive sample in each epoch."
    )
    set_op_mix_ratio: float = Field(
        1.0, ge=0, le=1, description="1: fuzzy union of neighbourhoods, 0: intersection."
    )
    local_connectivity: float = Field(
        1.0, ge=0, description="Nearest neighbours each point is assumed connected to."
    )
    repulsion_strength: float = Field(
        1.0, ge=0, description="Weight of negative samples in the layout."
    )
    densmap: bool = Field(False, description="Preserve local density too (densMAP).")
    dens_lambda: float = Field(2.0, ge=0, description="densMAP: weight of the density term.")
    dens_frac: float = Field(
        0.3, ge=0, le=1, description="densMAP: the final fraction of epochs that use it."
    )
    dens_var_shift: float = Field(0.1, ge=0, description="densMAP: variance regulariser.")
    target: Literal["labels"] | None = Field(
        None, description="labels: supervised UMAP, fitted to the data's class labels too."
    )
    target_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Supervised: 0 weighs only the features, 1 almost only the labels.",
    )

    @field_validator("min_dist")
    @classmethod
    def _at_most_spread(cls, value: float, info: ValidationInfo) -> float:
        spread = info.data.get("spread")  # absent when spread itself failed validation
        if spread is not None and value > spread:
            raise ValueError(f"must be at most spread ({spread})")
        return value


def cache_compiled() -> None:
    """Keep the machine code of umap-learn's numba functions on disk, as numba does for those
    marked ``cache=True`` (in ``$NUMBA_CACHE_DIR``, else beside their source or in the user's
    cache folder): a fit in a new process then loads it instead of compiling it again. Most of
    umap-learn's functions are not marked; with this, a later fit in a new process skips most
    of numba's compilation and is much quicker, with the same layouts."""
    import umap.distances
    import umap.layouts
    import umap.sparse
    import umap.spectral
    import umap.umap_
    import umap.utils
    from numba.core.dispatcher import Dispatcher

    modules = (umap.distances, umap.layouts, umap.sparse, umap.spectral, umap.umap_, umap.utils)
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                try:
                    value.enable_caching()  # what numba.njit(cache=True) calls
                except RuntimeError:  # numba found no folder it may write: compile as before
                    return


class EpochCounter:
    """A file for tqdm that turns its ``{n}/{total}`` lines into progress(done, total) calls.

    umap-learn reports its epochs only through a tqdm bar (``tqdm_kwds``); this reads that bar.
    """

    _COUNT = re.compile(r"(\d+)/(\d+)")

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.done = 0  # the fit reports 0 itself, before the neighbour search

    def tqdm_kwds(self) -> dict[str, object]:
        """tqdm options that write every epoch's count to this file and nothing else."""
        return {
            "disable": False,
            "file": self,
            "bar_format": "{n}/{total}",
            "mininterval": 0,
            "miniters": 1,
            "leave": False,
        }

    def write(self, text: str) -> int:
        for done, total in self._COUNT.findall(text):
            if int(done) > self.done:
                self.done = int(done)
                self.progress(self.done, int(total))
        return len(text)

    def flush(self) -> None:
        pass


class Umap(Seeded):
    """UMAP (umap-learn) with the layout captured after every training epoch."""

    name = "umap"
    Options = UmapOptions

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """One fit that keeps E snapshots: the [0, 10]^2 start (epoch 0), the layouts after epochs
        1..E-2, and the final layout, labelled epoch E."""
        opts: UmapOptions = self.options
        require_points(data, opts.n_neighbors + 1, "n_neighbors", f"n_neighbors {opts.n_neighbors}")
        if opts.target == "labels" and len(set(data.labels.tolist())) < 2:
            raise InputError("target: labels needs at least 2 classes in the data", key="target")
        import umap  # late: importing it compiles numba code, which is slow

        cache_compiled()
        total = opts.epochs
        counter = EpochCounter(progress)
        progress(0, total)
        model = umap.UMAP(
            n_epochs=list(range(total + 1)),
            random_state=opts.random_state,
            n_jobs=1 if opts.random_state is not None else -1,  # a seed makes umap serial anyway
            n_neighbors=opts.n_neighbors,
            min_dist=opts.min_dist,
            spread=opts.spread,
            metric=opts.metric,
            init=opts.init,
            learning_rate=opts.learning_rate,
            negative_sample_rate=opts.negative_sample_rate,
            set_op_mix_ratio=opts.set_op_mix_ratio,
            local_connectivity=opts.local_connectivity,
            repulsion_strength=opts.repulsion_strength,
            densmap=opts.densmap,
            dens_lambda=opts.dens_lambda,
            dens_frac=opts.dens_frac,
            dens_var_shift=opts.dens_var_shift,
            target_weight=opts.target_weight,
            tqdm_kwds=counter.tqdm_kwds(),
        )
        model.fit(features(data), data.labels if opts.target == "labels" else None)
        # embedding_list_ holds the layout after each pass n = 0..E-1 of umap's loop (pass 0
        # moves nothing: it is the start), then the final layout again: drop that copy.
        snapshots = model.embedding_list_[:-1]
        steps = [Step(epoch=i, iteration=i) for i in range(total - 1)]
        steps.append(Step(epoch=total, iteration=total))
        if counter.done < total:  # under Jupyter, tqdm.auto draws a widget and writes nothing
            progress(total, total)
        return trajectory(snapshots, steps, total)

    def versions(self) -> Mapping[str, str]:
        """umap-learn and the libraries its layout depends on."""
        return installed("umap-learn", "numba", "numpy", "scipy", "scikit-learn", "pynndescent")


@hookimpl
def register_reducers(register: Callable[[type[Reducer]], None]) -> None:
    """Register the umap reducer."""
    register(Umap)
