"""The optional reducers (pacmap, trimap, pymde) on small real data: their own snapshots, steps,
frame values, determinism, cache keys, a rendered still each, and a missing package.

The tests that run trimap or pymde are marked ``torch``: without PyTorch they are skipped
(tests/conftest.py), and .ci/run runs them in a second step that installs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from specanim import engine
from specanim.components import Reducer
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan
from specanim.store.trajectories import cache_key
from specanim.values import Data, Trajectory
from specanim_reducers.pacmap import Pacmap
from specanim_reducers.pymde import Pymde
from specanim_reducers.trimap import Trimap

from .conftest import Run
from .reducer_fixtures import Calls, digits, make
from .test_render import scene, texts

PACMAP: dict[str, Any] = {"num_iters": [20, 20, 40], "every": 10, "random_state": 3}
TRIMAP: dict[str, Any] = {"n_iters": 50, "random_state": 3}
PYMDE: dict[str, Any] = {"max_iter": 30, "every": 5, "eps": 0, "random_state": 3}
OPTIONS: dict[type[Reducer], dict[str, Any]] = {Pacmap: PACMAP, Trimap: TRIMAP, Pymde: PYMDE}
TORCH = pytest.mark.torch  # trimap and pymde run on PyTorch
# Each reducer as a test parameter, those on PyTorch marked.
REDUCERS = [
    pytest.param(cls, id=cls.name, marks=[TORCH] if cls in (Trimap, Pymde) else [])
    for cls in OPTIONS
]


@pytest.fixture(scope="module")
def data() -> Data:
    return digits(300)


class Fits(dict[type[Reducer], tuple[Trajectory, Calls]]):
    """One fit of each reducer on the data, with its progress calls, made when first asked for
    (a test of one reducer needs only that reducer's package)."""

    def __init__(self, data: Data) -> None:
        super().__init__()
        self.data = data

    def __missing__(self, cls: type[Reducer]) -> tuple[Trajectory, Calls]:
        calls = Calls()
        self[cls] = make(cls, **OPTIONS[cls]).fit(self.data, calls), calls
        return self[cls]


@pytest.fixture(scope="module")
def fits(data: Data) -> Fits:
    """One fit of each reducer on 300 digits, with its progress calls."""
    return Fits(data)


def test_the_reducers_are_registered() -> None:
    registry = default_registry()
    for cls in OPTIONS:
        assert registry.reducer(cls.name) is cls


@pytest.mark.parametrize("cls", REDUCERS)
def test_snapshots_are_one_float32_array_with_declared_values(
    cls: type[Reducer], fits: Fits, data: Data
) -> None:
    trajectory, calls = fits[cls]
    assert trajectory.snapshots.dtype == np.float32
    assert trajectory.snapshots.shape[1:] == (len(data), 2)
    assert np.isfinite(trajectory.snapshots).all()
    for before, after in zip(trajectory.snapshots, trajectory.snapshots[1:], strict=False):
        assert not np.array_equal(before, after)
    declared = set(cls.frame_values(cls.Options.model_validate(OPTIONS[cls])))
    assert declared and all(set(s.values) == declared for s in trajectory.steps)
    assert calls[0] == (0, trajectory.total) and calls[-1] == (trajectory.total,) * 2


@pytest.mark.parametrize("cls", REDUCERS)
def test_same_seed_same_snapshots(cls: type[Reducer], fits: Fits, data: Data) -> None:
    again = make(cls, **OPTIONS[cls]).fit(data, Calls())
    assert np.array_equal(again.snapshots, fits[cls][0].snapshots)
    assert again.steps == fits[cls][0].steps


@pytest.mark.parametrize(
    ("cls", "change"),
    [
        (Pacmap, {"every": 5}),
        (Pacmap, {"mn_ratio": 1.0}),
        pytest.param(Trimap, {"n_iters": 60}, marks=TORCH),
        pytest.param(Trimap, {"weight_temp": 0.0}, marks=TORCH),
        pytest.param(Pymde, {"recipe": "distances"}, marks=TORCH),
        pytest.param(Pymde, {"random_state": 4}, marks=TORCH),
    ],
)
def test_the_cache_key_follows_the_options(
    cls: type[Reducer], change: dict[str, Any], data: Data
) -> None:
    same = cache_key(make(cls, **OPTIONS[cls]), data.fingerprint())
    assert cache_key(make(cls, **OPTIONS[cls]), data.fingerprint()) == same
    assert cache_key(make(cls, **{**OPTIONS[cls], **change}), data.fingerprint()) != same
    assert cls.name in make(cls).versions()  # the library's version is part of the key


# --- pacmap -------------------------------------------------------------------------------


def test_pacmap_snapshots_its_three_phases(fits: Fits, data: Data) -> None:
    trajectory = fits[Pacmap][0]
    assert [s.epoch for s in trajectory.steps] == list(range(0, 81, 10))
    assert [s.phase for s in trajectory.steps] == ["global"] * 3 + ["balanced"] * 2 + ["local"] * 4
    assert [s.iteration for s in trajectory.steps] == [0, 10, 20, 10, 20, 10, 20, 30, 40]
    weights = [s.values["mid_near_weight"] for s in trajectory.steps]
    assert weights[0] == 1000 and 3 < weights[2] < weights[1] < 1000
    assert weights[3:5] == [3, 3] and weights[5:] == [0] * 4
    assert trajectory.total == 80


def test_pacmap_final_snapshot_is_pacmaps_result(fits: Fits, data: Data) -> None:
    """Taking snapshots does not change the layout PaCMAP computes."""
    import pacmap

    plain = pacmap.PaCMAP(num_iters=(20, 20, 40), random_state=3)
    expected = plain.fit_transform(data.features.astype(np.float32))
    assert np.array_equal(fits[Pacmap][0].snapshots[-1], expected)


def test_pacmap_uneven_interval_still_ends_with_the_final_layout(data: Data) -> None:
    trajectory = make(Pacmap, num_iters=[3, 0, 4], every=3).fit(data, Calls())
    assert [(s.epoch, s.iteration, s.phase) for s in trajectory.steps] == [
        (0, 0, "global"),
        (3, 3, "global"),
        (6, 3, "local"),
        (7, 4, "local"),
    ]


# --- trimap -------------------------------------------------------------------------------


@TORCH
def test_trimap_records_every_tenth_iteration(fits: Fits, data: Data) -> None:
    import trimap

    trajectory = fits[Trimap][0]
    assert [s.epoch for s in trajectory.steps] == [0, 10, 20, 30, 40, 50]
    assert all(s.iteration == s.epoch and s.phase == "" for s in trajectory.steps)
    losses = [s.values["loss"] for s in trajectory.steps]
    assert losses[-1] < losses[1] < losses[0]
    plain = trimap.TorchTRIMAP(n_iters=50, random_state=3, device="cpu")
    expected = plain.fit_transform(data.features.astype(np.float32)).numpy()
    assert np.array_equal(trajectory.snapshots[-1], expected)


# --- pymde --------------------------------------------------------------------------------


@TORCH
def test_pymde_snapshots_every_few_iterations_and_the_end(fits: Fits, data: Data) -> None:
    import pymde

    trajectory = fits[Pymde][0]
    assert [s.epoch for s in trajectory.steps] == [0, 5, 10, 15, 20, 25, 30]
    assert trajectory.total == 30
    distortions = [s.values["distortion"] for s in trajectory.steps]
    assert distortions == sorted(distortions, reverse=True)
    pymde.seed(3)
    mde = pymde.preserve_neighbors(data.features.astype(np.float32), init="random")
    expected = mde.embed(max_iter=30, eps=0).numpy()
    assert np.array_equal(trajectory.snapshots[-1], expected)
    assert np.isclose(distortions[-1], mde.average_distortion(mde.X).item())


@TORCH
def test_pymde_stops_early_at_eps(data: Data) -> None:
    trajectory = make(Pymde, max_iter=200, every=50, eps=1e-2).fit(data, Calls())
    assert trajectory.total < 200
    assert trajectory.steps[-1].epoch == trajectory.total
    assert trajectory.steps[-2].epoch < trajectory.total


# --- options, rendering, a missing package --------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "options", "field"),
    [
        (Pacmap, {"num_iters": [10, -1, 10]}, "num_iters"),
        (Pacmap, {"num_iters": [0, 0, 0]}, "num_iters"),
        (Pacmap, {"metric": "cosine"}, "metric"),
        (Trimap, {"n_iters": 45}, "n_iters"),
        (Trimap, {"device": "tpu"}, "device"),
        (Pymde, {"every": 0}, "every"),
        (Pymde, {"recipe": "umap"}, "recipe"),
    ],
)
def test_bad_options_are_rejected(cls: type[Reducer], options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as e:
        cls.Options.model_validate(options)
    assert e.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize(
    ("reducer", "title", "expected"),
    [
        (
            "{type: pacmap, num_iters: [10, 10, 20], every: 5}",
            "{phase} {mid_near_weight:g}",
            "local 0",
        ),
        pytest.param("{type: trimap, n_iters: 30}", "loss {loss:.2f}", "loss ", marks=TORCH),
        pytest.param(
            "{type: pymde, max_iter: 20, every: 4}",
            "distortion {distortion:.3f}",
            "distortion 0.",
            marks=TORCH,
        ),
    ],
)
def test_a_still_renders_with_the_reducers_values(
    write_spec: Callable[..., Path], reducer: str, title: str, expected: str
) -> None:
    text = scene(reducer, points=200).replace("Digits, epoch {epoch} of {epochs}", title)
    prepared = engine.prepare(load_plan(write_spec(text), default_registry()))
    pixels = engine.still(prepared, -1)
    assert pixels.shape == (200, 320, 3) and pixels.dtype == np.uint8
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # points in many colours, text
    last = prepared.frame(len(prepared.shots) - 1)
    assert texts(prepared.composer.frame_spec(last))[0].startswith(expected)


@pytest.mark.parametrize(
    ("reducer", "hidden", "message"),
    [
        ("pacmap", "pacmap", "needs the optional package pacmap: pip install 'specanim[pacmap]'"),
        ("trimap", "trimap", "needs the optional package trimap: pip install 'specanim[trimap]'"),
        ("pymde", "pymde", "needs the optional package pymde: pip install 'specanim[pymde]'"),
        # pymde installed, but not the torchvision it imports
        pytest.param(
            "pymde", "torchvision", "cannot import pymde (import of torchvision halted", marks=TORCH
        ),
    ],
)
def test_a_missing_package_is_one_line_at_the_reducer_type(
    write_spec: Callable[..., Path],
    specanim: Run,
    tmp_path: Path,
    reducer: str,
    hidden: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real import machinery, with the package hidden from the process as if not installed:
    a None entry in sys.modules makes ``import name`` raise ModuleNotFoundError."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(f"import sys\nsys.modules[{hidden!r}] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    spec = write_spec(scene(f"{{type: {reducer}}}", points=100))
    result = specanim("still", spec, "--frame", "-1", "-o", "still.png")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"{spec}:") and "reducer.type:" in lines[0]
    assert f"reducer '{reducer}' {message}" in lines[0]
    assert not (tmp_path / "still.png").exists()
