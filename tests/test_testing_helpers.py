"""specanim.testing as a plugin's tests use it: make_panel's wrong options are the lines
``specanim validate`` prints, and fit_reducer fits a real reducer and checks its trajectory as
the engine does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from specanim.errors import InputError, SpecErrors
from specanim.sdk import Data, Reducer, Step, Trajectory
from specanim.testing import fit_reducer, make_panel, make_scene
from specanim_panels.legend import Legend
from specanim_reducers.pca import Pca

from .reducer_fixtures import Ramp


def test_make_panel_words_wrong_options_as_validate_does() -> None:
    with pytest.raises(SpecErrors) as info:
        make_panel(Legend, {"columns": 0, "colums": 2}, make_scene([[0.0, 0.0]]))
    assert info.value.lines() == [
        "Legend options: columns: input should be greater than or equal to 1, got 0",
        "Legend options: colums: unknown key 'colums' (did you mean 'columns'?)",
    ]


def test_fit_reducer_fits_a_real_reducer_with_its_options() -> None:
    features = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    trajectory = fit_reducer(Pca, features)
    assert trajectory.snapshots.shape == (1, 60, 2)
    assert not trajectory.snapshots.flags.writeable  # as a cached trajectory's
    labels = np.arange(60) % 3
    data = Data(features, labels, ("a", "b", "c"), None)
    again = fit_reducer(Pca, data)
    assert np.array_equal(again.snapshots, trajectory.snapshots)
    with pytest.raises(
        SpecErrors, match=r"^Pca options: whitn: unknown key .whitn. \(did you mean .whiten.\?\)$"
    ):
        fit_reducer(Pca, features, whitn=True)


class Diverging(Reducer):
    """A fit that overflows: one snapshot of infinities."""

    name = "diverging"

    def fit(self, data: Data, progress: Any) -> Trajectory:
        snapshots = np.full((1, len(data), 2), np.inf, np.float32)
        return Trajectory(snapshots, (Step(0),), 0)


def test_fit_reducer_checks_the_trajectory_as_the_engine_does(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="diverging gave NaN or infinite coordinates"):
        fit_reducer(Diverging, np.ones((4, 2)))
    assert fit_reducer(Ramp, np.ones((4, 2)), tmp_path).snapshots.shape[1] == 4
