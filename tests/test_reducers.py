"""The built-in reducers on small real data: snapshots, steps, progress, determinism, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from specanim.components import Reducer
from specanim.errors import InputError
from specanim.plugins import default_registry
from specanim.store import trajectories
from specanim.values import Data, Step, Trajectory
from specanim_reducers.pca import Pca
from specanim_reducers.precomputed import Precomputed, write_long_table
from specanim_reducers.tsne import Tsne
from specanim_reducers.umap import Umap

from .reducer_fixtures import Calls, digits, make

UMAP_EPOCHS = 20
EARLY, NORMAL, EVERY = 50, 100, 5
TSNE_OPTIONS = {"early_exaggeration_iter": EARLY, "n_iter": NORMAL, "every": EVERY}


@pytest.fixture(scope="session")
def data() -> Data:
    return digits(300)


@pytest.fixture(scope="session")
def umap_fit(data: Data) -> tuple[Trajectory, Calls]:
    """The one cold UMAP fit of the session (it pays numba's compilation)."""
    calls = Calls()
    return make(Umap, epochs=UMAP_EPOCHS).fit(data, calls), calls


@pytest.fixture(scope="session")
def tsne_fit(data: Data) -> tuple[Trajectory, Calls]:
    calls = Calls()
    return make(Tsne, **TSNE_OPTIONS).fit(data, calls), calls


def test_builtin_reducers_are_registered() -> None:
    registry = default_registry()
    for cls in (Umap, Tsne, Pca, Precomputed):
        assert registry.reducer(cls.name) is cls


# --- umap ---------------------------------------------------------------------------------


def test_umap_keeps_one_snapshot_per_epoch(umap_fit: tuple[Trajectory, Calls], data: Data) -> None:
    trajectory, _ = umap_fit
    assert trajectory.snapshots.shape == (UMAP_EPOCHS, len(data), 2)
    assert trajectory.snapshots.dtype == np.float32
    assert [s.epoch for s in trajectory.steps] == [*range(UMAP_EPOCHS - 1), UMAP_EPOCHS]
    assert all(s.iteration == s.epoch and s.phase == "" for s in trajectory.steps)
    assert trajectory.total == UMAP_EPOCHS


def test_umap_starts_in_the_unit_box_and_moves(umap_fit: tuple[Trajectory, Calls]) -> None:
    snapshots = umap_fit[0].snapshots
    assert snapshots[0].min() >= 0 and snapshots[0].max() <= 10
    for before, after in zip(snapshots[1:], snapshots[2:], strict=False):
        assert not np.array_equal(before, after)
    assert np.isfinite(snapshots).all()


def test_umap_reports_every_epoch(umap_fit: tuple[Trajectory, Calls]) -> None:
    calls = umap_fit[1]
    assert calls[0] == (0, UMAP_EPOCHS) and calls[-1] == (UMAP_EPOCHS, UMAP_EPOCHS)
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert set(range(UMAP_EPOCHS + 1)) <= set(done)


def test_umap_same_seed_same_snapshots(umap_fit: tuple[Trajectory, Calls], data: Data) -> None:
    again = make(Umap, epochs=UMAP_EPOCHS).fit(data, Calls())
    assert np.array_equal(again.snapshots, umap_fit[0].snapshots)


def test_umap_densmap_changes_only_its_final_epochs(
    umap_fit: tuple[Trajectory, Calls], data: Data
) -> None:
    """densMAP adds its density term in the last dens_frac of the epochs, from the same start."""
    dense = make(Umap, epochs=UMAP_EPOCHS, densmap=True, dens_frac=0.5).fit(data, Calls())
    plain = umap_fit[0].snapshots
    assert dense.snapshots.shape == plain.shape
    assert np.array_equal(dense.snapshots[0], plain[0])
    assert not np.array_equal(dense.snapshots[-1], plain[-1])


def test_umap_supervised_by_the_labels(umap_fit: tuple[Trajectory, Calls], data: Data) -> None:
    from sklearn.metrics import silhouette_score

    supervised = make(Umap, epochs=UMAP_EPOCHS, target="labels", target_weight=0.9)
    layout = supervised.fit(data, Calls()).snapshots[-1]
    unsupervised = umap_fit[0].snapshots[-1]
    assert silhouette_score(layout, data.labels) > silhouette_score(unsupervised, data.labels)


def test_umap_supervised_needs_two_classes() -> None:
    one = digits(60)
    one = Data(one.features, np.zeros(60, np.int64), ("all",))
    with pytest.raises(InputError, match="needs at least 2 classes") as e:
        make(Umap, target="labels").fit(one, Calls())
    assert e.value.key == "target"


@pytest.mark.parametrize(
    ("cls", "points", "message", "key"),
    [
        (Umap, 10, "n_neighbors 15 needs at least 16 points; the data has 10", "n_neighbors"),
        (Tsne, 50, "perplexity 30 needs at least 91 points; the data has 50", "perplexity"),
        (Pca, 1, "PCA needs at least 2 points; the data has 1", None),
    ],
)
def test_reducer_needs_enough_points(
    cls: type[Reducer], points: int, message: str, key: str | None
) -> None:
    with pytest.raises(InputError, match=message) as e:
        make(cls).fit(digits(points), Calls())
    assert e.value.key == key


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"min_dist": 2.0, "spread": 1.5}, "min_dist"),
        ({"epochs": 0}, "epochs"),
        ({"metric": "hellinger"}, "metric"),
        ({"set_op_mix_ratio": 1.5}, "set_op_mix_ratio"),
        ({"n_epochs": 10}, "n_epochs"),
        ({"target": "species"}, "target"),
        ({"target_weight": 1.5}, "target_weight"),
    ],
)
def test_umap_rejects_bad_options(options: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as e:
        Umap.Options.model_validate(options)
    assert e.value.errors()[0]["loc"][0] == field


# --- tsne ---------------------------------------------------------------------------------


def test_tsne_snapshots_both_phases(tsne_fit: tuple[Trajectory, Calls], data: Data) -> None:
    trajectory, _ = tsne_fit
    count = EARLY // EVERY + NORMAL // EVERY + 1
    assert trajectory.snapshots.shape == (count, len(data), 2)
    assert trajectory.total == EARLY + NORMAL
    phases = [s.phase for s in trajectory.steps]
    assert phases == ["exaggeration"] * (EARLY // EVERY) + ["embedding"] * (NORMAL // EVERY + 1)
    # openTSNE calls back before each 5th update: 4, 9, ... iterations are done.
    assert trajectory.steps[0] == Step(epoch=EVERY - 1, iteration=EVERY - 1, phase="exaggeration")
    assert trajectory.steps[EARLY // EVERY] == Step(EARLY + EVERY - 1, EVERY - 1, "embedding")
    assert trajectory.steps[-1] == Step(EARLY + NORMAL, NORMAL, "embedding")
    epochs = [s.epoch for s in trajectory.steps]
    assert epochs == sorted(set(epochs))


def test_tsne_copies_each_layout(tsne_fit: tuple[Trajectory, Calls]) -> None:
    snapshots = tsne_fit[0].snapshots
    assert snapshots.dtype == np.float32
    assert snapshots[0].std() < snapshots[-1].std()  # the layout grows from a tiny start
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        assert not np.array_equal(before, after)


def test_tsne_final_snapshot_is_opentsnes_result(
    tsne_fit: tuple[Trajectory, Calls], data: Data
) -> None:
    """Neither the snapshots nor skipping the KL error change what openTSNE computes."""
    from openTSNE import TSNE

    plain = TSNE(early_exaggeration_iter=EARLY, n_iter=NORMAL, random_state=42, n_jobs=1)
    expected = np.asarray(plain.fit(data.features.astype(np.float32)), dtype=np.float32)
    assert np.array_equal(tsne_fit[0].snapshots[-1], expected)


def test_tsne_same_seed_same_snapshots(tsne_fit: tuple[Trajectory, Calls], data: Data) -> None:
    again = make(Tsne, **TSNE_OPTIONS).fit(data, Calls())
    assert np.array_equal(again.snapshots, tsne_fit[0].snapshots)
    assert again.steps == tsne_fit[0].steps


def test_tsne_reports_progress(tsne_fit: tuple[Trajectory, Calls]) -> None:
    calls = tsne_fit[1]
    total = EARLY + NORMAL
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert len(calls) == len(tsne_fit[0]) + 1


def test_tsne_every_iteration_covers_every_step(data: Data) -> None:
    trajectory = make(Tsne, early_exaggeration_iter=3, n_iter=4, every=1).fit(data, Calls())
    assert [s.epoch for s in trajectory.steps] == list(range(8))
    assert [s.iteration for s in trajectory.steps] == [0, 1, 2, 0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "options",
    [{"n_jobs": 0}, {"every": 0}, {"learning_rate": "fast"}, {"init": "umap"}, {"perplexity": -1}],
)
def test_tsne_rejects_bad_options(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Tsne.Options.model_validate(options)


# --- pca ----------------------------------------------------------------------------------


def test_pca_is_one_still_layout(data: Data) -> None:
    calls = Calls()
    trajectory = make(Pca).fit(data, calls)
    assert trajectory.snapshots.shape == (1, len(data), 2)
    assert trajectory.snapshots.dtype == np.float32
    assert trajectory.steps == (Step(epoch=0),) and trajectory.total == 0
    assert calls[-1] == (1, 1)
    coords = trajectory.snapshots[0]
    assert np.allclose(coords.mean(axis=0), 0, atol=1e-4)
    assert coords[:, 0].var() > coords[:, 1].var()  # the first component explains the most


def test_pca_whiten_gives_unit_variance(data: Data) -> None:
    coords = make(Pca, whiten=True).fit(data, Calls()).snapshots[0]
    assert np.allclose(coords.var(axis=0, ddof=1), 1, atol=1e-3)


def test_pca_needs_two_features() -> None:
    one = Data(np.arange(5, dtype=np.float32)[:, None], np.zeros(5, np.int64), ("a",))
    with pytest.raises(InputError, match="at least 2 features"):
        make(Pca).fit(one, Calls())


# --- precomputed ---------------------------------------------------------------------------


def synthetic(data: Data, phases: bool) -> Trajectory:
    """A trajectory with awkward float32 values, and t-SNE-like phases if phases."""
    rng = np.random.default_rng(7)
    snapshots = (rng.standard_normal((4, len(data), 2)) * [1e-6, 3e4]).astype(np.float32)
    if phases:
        phase = ("exaggeration", "exaggeration", "embedding", "embedding")
        steps = tuple(
            Step(e, i, p) for e, i, p in zip((0, 1, 2, 5), (0, 1, 0, 3), phase, strict=True)
        )
    else:
        steps = tuple(Step(e, e) for e in (0, 1, 2, 5))
    return Trajectory(snapshots, steps, 5)


def read(tmp_path: Path, data: Data, path: str, **options: object) -> Trajectory:
    return make(Precomputed, tmp_path, path=path, **options).fit(data, Calls())


def assert_same(a: Trajectory, b: Trajectory) -> None:
    assert np.array_equal(a.snapshots, b.snapshots)
    assert a.snapshots.dtype == b.snapshots.dtype == np.float32
    assert a.steps == b.steps and a.total == b.total


@pytest.mark.parametrize("name", ["epochs.parquet", "epochs.csv"])
@pytest.mark.parametrize("phases", [False, True])
def test_long_table_round_trip(tmp_path: Path, data: Data, name: str, phases: bool) -> None:
    trajectory = synthetic(data, phases)
    write_long_table(trajectory, data, tmp_path / name)
    assert_same(read(tmp_path, data, name), trajectory)


def test_long_table_has_the_notebook_layout(tmp_path: Path, data: Data) -> None:
    write_long_table(synthetic(data, False), data, tmp_path / "epochs.parquet")
    table = pd.read_parquet(tmp_path / "epochs.parquet")
    assert list(table.columns) == ["index", "x", "y", "digit", "epoch"]
    assert table["digit"].dtype.kind == "i"
    assert list(table["digit"][:5]) == list(data.labels[:5])


def test_umap_trajectory_round_trips(
    tmp_path: Path, umap_fit: tuple[Trajectory, Calls], data: Data
) -> None:
    write_long_table(umap_fit[0], data, tmp_path / "umap.parquet")
    assert_same(read(tmp_path, data, "umap.parquet"), umap_fit[0])


def test_rows_in_any_order_and_renamed_columns(tmp_path: Path, data: Data) -> None:
    trajectory = synthetic(data, False)
    write_long_table(trajectory, data, tmp_path / "t.parquet")
    table = pd.read_parquet(tmp_path / "t.parquet").sample(frac=1.0, random_state=3)
    table = table.rename(columns={"index": "i", "epoch": "step", "digit": "class"})
    table.to_csv(tmp_path / "shuffled.csv", index=False, float_format="%.9g")
    columns = {"index": "i", "epoch": "step", "label": "class"}
    assert_same(read(tmp_path, data, "shuffled.csv", columns=columns), trajectory)


def table_file(tmp_path: Path, data: Data) -> tuple[pd.DataFrame, Path]:
    write_long_table(synthetic(data, False), data, tmp_path / "t.parquet")
    return pd.read_parquet(tmp_path / "t.parquet"), tmp_path / "bad.parquet"


def test_point_count_must_match(tmp_path: Path, data: Data) -> None:
    write_long_table(synthetic(data, False), data, tmp_path / "t.parquet")
    with pytest.raises(InputError, match="has 300 points, but the dataset has 299") as e:
        read(tmp_path, digits(299), "t.parquet")
    assert e.value.key == "path"


def test_labels_must_match(tmp_path: Path, data: Data) -> None:
    table, bad = table_file(tmp_path, data)
    table.loc[(table["index"] == 7) & (table["epoch"] == 2), "digit"] = (data.labels[7] + 1) % 10
    table.loc[(table["index"] == 9) & (table["epoch"] == 5), "digit"] = (data.labels[9] + 1) % 10
    table.to_parquet(bad)
    wrong, right = (data.labels[7] + 1) % 10, data.labels[7]
    expected = f"the label of index 7 is '{wrong}', but the dataset's is '{right}'"
    with pytest.raises(InputError, match=expected):
        read(tmp_path, data, bad.name)
    assert read(tmp_path, data, bad.name, columns={"label": None}).snapshots.shape == (4, 300, 2)


def test_missing_and_duplicate_rows(tmp_path: Path, data: Data) -> None:
    table, bad = table_file(tmp_path, data)
    gap = (table["index"] == 11) & (table["epoch"] == 5)
    table[~gap].to_parquet(bad)
    with pytest.raises(InputError, match="has no row for epoch 5, index 11"):
        read(tmp_path, data, bad.name)
    twice = table.copy()
    twice.loc[gap, "index"] = 12
    twice.to_parquet(bad)
    with pytest.raises(InputError, match="has two rows for epoch 5, index 12"):
        read(tmp_path, data, bad.name)


def test_missing_column_is_named(tmp_path: Path, data: Data) -> None:
    table, bad = table_file(tmp_path, data)
    table.drop(columns="epoch").to_parquet(bad)
    with pytest.raises(InputError, match="has no column 'epoch'") as e:
        read(tmp_path, data, bad.name)
    assert e.value.key == "columns"
    table.drop(columns="digit").to_parquet(bad)  # an absent default label column is not checked
    assert len(read(tmp_path, data, bad.name)) == 4
    with pytest.raises(InputError, match="has no column 'digit'"):
        read(tmp_path, data, bad.name, columns={"label": "digit"})


def test_npz_archive(tmp_path: Path, data: Data) -> None:
    trajectory = synthetic(data, False)
    epochs = np.array([s.epoch for s in trajectory.steps])
    np.savez(tmp_path / "t.npz", layouts=trajectory.snapshots, epochs=epochs)
    assert_same(read(tmp_path, data, "t.npz"), trajectory)
    assert_same(read(tmp_path, data, "t.npz", key="layouts"), trajectory)
    np.savez(tmp_path / "plain.npz", trajectory.snapshots.astype(np.float64))
    plain = read(tmp_path, data, "plain.npz")
    assert [s.epoch for s in plain.steps] == [0, 1, 2, 3] and plain.total == 3
    assert np.array_equal(plain.snapshots, trajectory.snapshots)


def test_npz_snapshots_are_mapped_from_the_file_not_copied(tmp_path: Path, data: Data) -> None:
    trajectory = synthetic(data, False)
    np.savez(tmp_path / "t.npz", trajectory.snapshots)  # stored: mapped where it lies
    mapped = read(tmp_path, data, "t.npz")
    assert isinstance(mapped.snapshots.base, np.memmap)
    assert Path(mapped.snapshots.base.filename or "") == tmp_path / "t.npz"
    assert np.array_equal(mapped.snapshots, trajectory.snapshots)
    np.savez_compressed(tmp_path / "z.npz", trajectory.snapshots)  # compressed: read
    packed = read(tmp_path, data, "z.npz")
    assert not isinstance(packed.snapshots.base, np.memmap)
    assert np.array_equal(packed.snapshots, trajectory.snapshots)


def mapped_kb(path: Path) -> int:
    """Kilobytes of path's mappings resident in this process (/proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[0] in "0123456789abcdef" and "-" in line.split()[0]:  # a mapping's first line
            inside = line.endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").is_file(), reason="needs Linux's /proc")
def test_mapped_snapshots_are_let_go_once_read(tmp_path: Path, data: Data) -> None:
    snapshots = np.random.default_rng(0).standard_normal((40, 300, 2)).astype(np.float32)
    np.savez(tmp_path / "t.npz", snapshots)  # 96 kB of snapshots: 24 pages
    reducer = make(Precomputed, tmp_path, path="t.npz")
    trajectory = trajectories.obtain(reducer, data, Calls(), mode="off")
    assert mapped_kb(tmp_path / "t.npz") < 8  # the NaN checks read every page, then let go
    assert float(trajectory.snapshots.sum()) != 0  # read every page again
    assert mapped_kb(tmp_path / "t.npz") >= 90
    coords = trajectory.at(7.5)  # a frame's coordinates: copied, then the pages let go
    assert mapped_kb(tmp_path / "t.npz") < 8
    np.testing.assert_allclose(coords, (snapshots[7] + snapshots[8]) / 2, rtol=1e-6)
    np.testing.assert_array_equal(trajectory.at(3), snapshots[3])


def test_npz_errors(tmp_path: Path, data: Data) -> None:
    np.savez(tmp_path / "t.npz", layouts=np.zeros((2, 300, 3)))
    with pytest.raises(InputError, match="did you mean 'layouts'") as e:
        read(tmp_path, data, "t.npz", key="layout")
    assert e.value.key == "key"
    with pytest.raises(InputError, match=r"shape \(snapshots, points, 2\), got \(2, 300, 3\)"):
        read(tmp_path, data, "t.npz")
    np.savez(tmp_path / "few.npz", np.zeros((2, 30, 2)))
    with pytest.raises(InputError, match="has 30 points, but the dataset has 300"):
        read(tmp_path, data, "few.npz")
    with pytest.raises(InputError, match="columns apply to a table"):
        read(tmp_path, data, "few.npz", columns={"x": "u"})


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("none.parquet", None, "file not found"),
        ("t.json", b"{}", "expected a .parquet, .pq, .csv or .npz file"),
        ("t.parquet", b"not parquet", "cannot read"),
        ("t.npz", b"not a zip", "cannot read"),
    ],
)
def test_unreadable_files(
    tmp_path: Path, data: Data, name: str, content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=message) as e:
        read(tmp_path, data, name)
    assert e.value.key == "path"


def test_non_finite_coordinates(tmp_path: Path, data: Data) -> None:
    snapshots = np.zeros((1, 300, 2))
    snapshots[0, 4, 1] = np.nan
    np.savez(tmp_path / "t.npz", snapshots)
    with pytest.raises(InputError, match="NaN or infinite"):
        read(tmp_path, data, "t.npz")


def test_precomputed_is_not_cached() -> None:
    assert Precomputed.cacheable is False
