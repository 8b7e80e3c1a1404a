"""``pca``: a principal component projection, one still layout (a baseline, and fast for tests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import Field

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

from ._common import RandomState, Seeded, features, require_points, trajectory


class PcaOptions(Options):
    """Options of the ``pca`` reducer."""

    random_state: RandomState = 42
    whiten: bool = Field(False, description="Scale both components to unit variance.")


class Pca(Seeded):
    """The first two principal components (scikit-learn): one still layout, nothing learned."""

    name = "pca"
    Options = PcaOptions

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """One snapshot, Step(epoch=0), with total 0: titles show epoch 0 of 0 and a full
        progress bar (the timeline counts a trajectory of total 0 as complete)."""
        from sklearn.decomposition import PCA

        require_points(data, 2, None, "PCA")
        dims = data.features.shape[1]
        if dims < 2:
            raise InputError(f"PCA needs at least 2 features; the data has {dims}")
        progress(0, 1)
        opts: PcaOptions = self.options
        layout = PCA(n_components=2, whiten=opts.whiten, random_state=opts.random_state)
        snapshot = layout.fit_transform(features(data))
        progress(1, 1)
        return trajectory([snapshot], [Step(epoch=0)], total=0)

    def versions(self) -> Mapping[str, str]:
        """scikit-learn and the libraries its PCA depends on."""
        return installed("scikit-learn", "numpy", "scipy")


@hookimpl
def register_reducers(register: Callable[[type[Reducer]], None]) -> None:
    """Register the pca reducer."""
    register(Pca)
