"""The trajectory cache: reuse, keys, damaged entries, modes and the cache folder."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from specanim.components import Reducer
from specanim.options import Options
from specanim.store import entries as entry_files
from specanim.store import trajectories
from specanim.store.paths import CACHE_ENV
from specanim.values import Data, Progress, Step, Trajectory
from specanim_reducers.pca import Pca

from .reducer_fixtures import Calls, digits, make

FITS: list[str] = []  # the class name of every reducer fitted, in order


def fits(cls: type[Reducer]) -> int:
    return FITS.count(cls.__name__)


class CountingOptions(Options):
    scale: float = 1.0


class Counting(Reducer):
    """A real, cheap reducer that counts its fits: three snapshots scaled from the features."""

    name = "counting"
    Options = CountingOptions
    version = "1"

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        FITS.append(type(self).__name__)
        start = data.features[:, :2] * self.options.scale
        snapshots = np.stack([start * k for k in (0.5, 1.0, 2.0)])  # float64: obtain converts
        progress(2, 2)
        return Trajectory(snapshots, (Step(0), Step(1), Step(2, 1, "late")), 2)

    def versions(self) -> Mapping[str, str]:
        return {"counting": self.version}


class Uncacheable(Counting):
    name = "uncacheable"
    cacheable = False


@pytest.fixture(autouse=True)
def _reset_counts() -> None:
    FITS.clear()


@pytest.fixture
def data() -> Data:
    return digits(50)


def obtain(
    reducer: Reducer, data: Data, cache: Path, mode: trajectories.CacheMode = "use"
) -> Trajectory:
    return trajectories.obtain(reducer, data, Calls(), mode=mode, cache=cache)


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"*{entry_files.SUFFIX}")) if cache.exists() else []


def mapped(a: np.ndarray) -> bool:
    """Whether a is a view of a memory-mapped file."""
    return isinstance(a.base, np.memmap)


def in_memory(t: Trajectory) -> Trajectory:
    """A copy that does not map the entry file (which the damage tests rewrite in place)."""
    return Trajectory(np.array(t.snapshots), t.steps, t.total)


def assert_same(a: Trajectory, b: Trajectory) -> None:
    assert np.array_equal(a.snapshots, b.snapshots) and a.snapshots.dtype == b.snapshots.dtype
    assert a.steps == b.steps and a.total == b.total


def test_second_obtain_reuses_the_entry(tmp_path: Path, data: Data) -> None:
    first = obtain(make(Counting), data, tmp_path)
    calls = Calls()
    second = trajectories.obtain(make(Counting), data, calls, cache=tmp_path)
    assert fits(Counting) == 1
    assert_same(first, second)
    assert first.snapshots.dtype == np.float32
    assert mapped(second.snapshots)
    assert calls == [(2, 2)]
    key = trajectories.cache_key(make(Counting), data.fingerprint())
    assert [p.name for p in entries(tmp_path)] == [f"counting-{key}.traj"]


def test_real_pca_from_the_cache(tmp_path: Path, data: Data) -> None:
    fitted = make(Pca).fit(data, Calls())
    first = obtain(make(Pca), data, tmp_path)
    second = obtain(make(Pca), data, tmp_path)
    assert mapped(second.snapshots) and mapped(first.snapshots)  # a fit returns its stored copy
    assert_same(first, fitted)
    assert_same(second, fitted)


def test_snapshots_are_read_only(tmp_path: Path, data: Data) -> None:
    for _ in range(2):  # fitted, then from the cache
        trajectory = obtain(make(Counting), data, tmp_path)
        with pytest.raises(ValueError, match="read-only"):
            trajectory.snapshots[0, 0, 0] = 1


def test_options_data_and_versions_make_new_keys(tmp_path: Path, data: Data) -> None:
    obtain(make(Counting), data, tmp_path)
    doubled = obtain(make(Counting, scale=2.0), data, tmp_path)
    assert np.array_equal(doubled.snapshots[1], data.features[:, :2] * 2)
    obtain(make(Counting), digits(51), tmp_path)

    class Newer(Counting):
        version = "2"

    obtain(make(Newer), data, tmp_path)
    assert (fits(Counting), fits(Newer)) == (3, 1)
    assert len(entries(tmp_path)) == 4
    keys = {trajectories.cache_key(make(Counting, scale=s), data.fingerprint()) for s in (1, 2)}
    assert len(keys) == 2


def test_equal_options_give_equal_keys(data: Data) -> None:
    assert trajectories.cache_key(make(Counting), data.fingerprint()) == trajectories.cache_key(
        make(Counting, scale=1), digits(50).fingerprint()
    )


def damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


def damage_snapshot_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x10
    path.write_bytes(bytes(raw))


def damage_header_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[60] ^= 0x01
    path.write_bytes(bytes(raw))


def damage_garbage(path: Path) -> None:
    path.write_bytes(b"\x00" * 10)


def damage_empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize(
    "damage",
    [damage_truncate, damage_snapshot_byte, damage_header_byte, damage_garbage, damage_empty],
)
def test_damaged_entry_is_fitted_again(
    tmp_path: Path, data: Data, damage: Callable[[Path], None], caplog: pytest.LogCaptureFixture
) -> None:
    good = in_memory(obtain(make(Counting), data, tmp_path))
    (entry,) = entries(tmp_path)
    damage(entry)
    with caplog.at_level(logging.WARNING, logger="specanim.store.trajectories"):
        again = obtain(make(Counting), data, tmp_path)
    assert fits(Counting) == 2
    assert_same(again, good)
    assert "damaged trajectory cache entry" in caplog.text
    assert_same(entry_files.read_entry(entry), good)  # and the entry is sound again


def test_refresh_fits_and_overwrites(tmp_path: Path, data: Data) -> None:
    obtain(make(Counting), data, tmp_path)
    (entry,) = entries(tmp_path)
    entry.write_bytes(b"stale")
    refreshed = obtain(make(Counting), data, tmp_path, mode="refresh")
    assert fits(Counting) == 2
    assert_same(entry_files.read_entry(entry), refreshed)
    obtain(make(Counting), data, tmp_path, mode="refresh")
    assert fits(Counting) == 3


def test_off_neither_reads_nor_writes(tmp_path: Path, data: Data) -> None:
    obtain(make(Counting), data, tmp_path / "none", mode="off")
    assert not (tmp_path / "none").exists()
    obtain(make(Counting), data, tmp_path)
    before = entries(tmp_path)[0].read_bytes()
    off = obtain(make(Counting), data, tmp_path, mode="off")
    assert fits(Counting) == 3
    assert not mapped(off.snapshots)
    assert entries(tmp_path)[0].read_bytes() == before


def test_uncacheable_reducer_is_always_fitted(tmp_path: Path, data: Data) -> None:
    for _ in range(2):
        obtain(make(Uncacheable), data, tmp_path)
    assert fits(Uncacheable) == 2
    assert entries(tmp_path) == []


def test_cache_dir_env_is_honoured(
    tmp_path: Path, data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "moved"))
    trajectories.obtain(make(Counting), data, Calls())
    trajectories.obtain(make(Counting), data, Calls())
    assert fits(Counting) == 1
    assert len(entries(tmp_path / "moved" / "trajectories")) == 1


def test_unwritable_cache_still_returns_the_fit(
    tmp_path: Path, data: Data, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="specanim.store.trajectories"):
        trajectory = obtain(make(Counting), data, blocked)
    assert len(trajectory) == 3
    assert "cannot write the trajectory cache entry" in caplog.text
    assert not list(tmp_path.glob("**/.*.tmp"))


def test_entry_of_another_key_is_damaged(tmp_path: Path, data: Data) -> None:
    obtain(make(Counting), data, tmp_path)
    (entry,) = entries(tmp_path)
    with pytest.raises(entry_files.DamagedEntry, match="another key"):
        entry_files.read_entry(entry, key="0" * 64)


def test_snapshot_bytes_start_aligned(tmp_path: Path, data: Data) -> None:
    trajectory = obtain(make(Counting), data, tmp_path)
    (entry,) = entries(tmp_path)
    offset = entry.stat().st_size - trajectory.snapshots.nbytes
    assert offset % 64 == 0
    raw = np.fromfile(entry, np.float32, offset=offset).reshape(trajectory.snapshots.shape)
    assert np.array_equal(raw, trajectory.snapshots)


def test_unknown_mode_is_an_error(tmp_path: Path, data: Data) -> None:
    with pytest.raises(ValueError, match="unknown cache mode"):
        mode: Any = "sometimes"
        trajectories.obtain(make(Counting), data, Calls(), mode=mode, cache=tmp_path)
