"""The cache as users manage it: ``specanim cache list/clear/prune``, the size limit with
least-recently-used eviction, reducers without a fixed seed, which are never cached, and the
arrays of scenes made in Python, which are entries too."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

import specanim as api  # the fixture `specanim` runs the command
from specanim.components import Reducer
from specanim.engine import pickling
from specanim.store import cache, entries, trajectories
from specanim_reducers.pca import Pca

from .conftest import Run
from .reducer_fixtures import Calls, digits, make
from .test_trajectory_cache import FITS, Counting, fits

DAY = 86400


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache folder for this test, also for the specanim processes it starts."""
    monkeypatch.setenv("SPECANIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(cache.MAX_SIZE_ENV, raising=False)
    FITS.clear()
    return tmp_path / "cache" / "trajectories"


def store(reducer: Reducer, n: int, dataset: dict[str, object] | None = None) -> Path:
    """Fit reducer on the first n digits through the cache; the entry's path."""
    data = digits(n)
    trajectories.obtain(reducer, data, Calls(), dataset=dataset or {"type": "digits", "limit": n})
    key = trajectories.cache_key(reducer, data.fingerprint())
    return cache.folder() / f"{reducer.name}-{key}{entries.SUFFIX}"


def used(path: Path, days_ago: float) -> None:
    stamp = time.time() - days_ago * DAY
    os.utime(path, (stamp, stamp))


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.glob(f"*{entries.SUFFIX}")}


def test_cache_list_names_the_reducer_dataset_size_and_ages(folder: Path, specanim: Run) -> None:
    pca = store(make(Pca), 120, {"type": "sklearn-digits", "limit": 120})
    counting = store(make(Counting), 80)
    used(pca, 3)
    listed = specanim("cache", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    header = ["kind", "key", "reducer", "dataset", "size", "made", "last", "used"]
    assert lines[0].split() == header
    rows = [line.split() for line in lines[1:3]]
    assert [row[2] for row in rows] == ["counting", "pca"]  # the most recently used first
    pca_row = rows[1]
    assert pca_row[:2] == ["trajectory", pca.name.split("-")[1][:12]]
    assert pca_row[3:5] == ["sklearn-digits", "limit=120"]
    assert pca_row[-2:] == ["3d", "ago"]
    size = cache.size_text(pca.stat().st_size)
    assert size in pca_row
    assert lines[3].startswith("2 entries, ") and "(limit 5.0GB)" in lines[3]
    assert lines[3].endswith(f" in {folder.parent} (limit 5.0GB)")

    entries = json.loads(specanim("cache", "list", "--json").stdout)
    assert [e["reducer"] for e in entries] == ["counting", "pca"]
    assert [e["kind"] for e in entries] == ["trajectory", "trajectory"]
    assert entries[1]["dataset"] == {"type": "sklearn-digits", "limit": 120}
    assert entries[1]["options"] == {"random_state": 42, "whiten": False}
    assert entries[1]["size"] == pca.stat().st_size and entries[1]["file"] == str(pca)
    assert entries[0]["file"] == str(counting)


def test_an_empty_cache_says_so(folder: Path, specanim: Run) -> None:
    listed = specanim("cache", "list")
    assert listed.stdout == f"the cache is empty ({folder.parent})\n"
    assert json.loads(specanim("cache", "list", "--json").stdout) == []


def test_cache_clear_all_or_one_reducer(folder: Path, specanim: Run) -> None:
    pca = store(make(Pca), 120)
    store(make(Counting), 80)
    store(make(Counting), 90)
    cleared = specanim("cache", "clear", "--reducer", "counting")
    assert cleared.stdout.startswith("removed 2 entries, ")
    assert names(folder) == {pca.name}
    assert specanim("cache", "clear").stdout.startswith("removed 1 entries, ")
    assert names(folder) == set()


def test_prune_older_than_removes_entries_unused_for_that_long(folder: Path, specanim: Run) -> None:
    old, fresh = store(make(Counting), 80), store(make(Counting), 90)
    used(old, 31)
    used(fresh, 29)
    pruned = specanim("cache", "prune", "--older-than", "30d")
    assert pruned.returncode == 0 and pruned.stdout.startswith("removed 1 entries")
    assert names(folder) == {fresh.name}
    bad = specanim("cache", "prune", "--older-than", "a month")
    assert (bad.returncode, bad.stderr) == (
        2,
        "--older-than a month: not an age (e.g. 30d, 12h, 2w; units s m h d w)\n",
    )


def test_prune_max_size_removes_the_least_recently_used(folder: Path, specanim: Run) -> None:
    paths = [store(make(Counting), n) for n in (80, 90, 100)]
    for days, path in zip((1, 3, 2), paths, strict=True):
        used(path, days)
    keep = paths[0].stat().st_size + paths[2].stat().st_size
    pruned = specanim("cache", "prune", "--max-size", str(keep))
    assert pruned.returncode == 0, pruned.stderr
    assert names(folder) == {paths[0].name, paths[2].name}  # the one used 3 days ago went
    bad = specanim("cache", "prune", "--max-size", "big")
    assert bad.returncode == 2 and bad.stderr.startswith("--max-size big: not a size")


def test_the_size_limit_evicts_the_least_recently_used_and_a_use_refreshes(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = store(make(Counting), 80), store(make(Counting), 81)
    used(first, 2)
    used(second, 1)
    # Reusing the first entry makes it the most recently used.
    trajectories.obtain(make(Counting), digits(80), Calls())
    assert fits(Counting) == 2 and time.time() - first.stat().st_mtime < 60
    size = first.stat().st_size
    monkeypatch.setenv(cache.MAX_SIZE_ENV, str(2 * size + size // 2))  # room for two entries
    third = store(make(Counting), 82)
    assert names(folder) == {first.name, third.name}
    monkeypatch.setenv(cache.MAX_SIZE_ENV, "1")  # the entry just stored always stays
    fourth = store(make(Counting), 83)
    assert names(folder) == {fourth.name}
    monkeypatch.setenv(cache.MAX_SIZE_ENV, "none")
    store(make(Counting), 84)
    store(make(Counting), 85)
    assert len(names(folder)) == 3


def test_a_reducer_without_a_seed_is_never_read_or_written(folder: Path) -> None:
    seeded = make(Pca)
    store(seeded, 120)
    unseeded = make(Pca, random_state=None)
    assert (seeded.reproducible, unseeded.reproducible) == (True, False)

    class NoSeed(Counting):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            self.reproducible = False

    for _ in range(2):
        trajectories.obtain(make(NoSeed), digits(80), Calls())
        trajectories.obtain(make(Counting), digits(80), Calls())
    assert (fits(NoSeed), fits(Counting)) == (2, 1)
    assert len(names(folder)) == 2  # pca's and counting's, none for NoSeed


# --- the arrays of scenes made in Python ---------------------------------------------------


def arrays_rows(listed: str) -> list[list[str]]:
    return [line.split() for line in listed.splitlines()[1:] if line.startswith("arrays ")]


def test_the_arrays_of_an_animate_scene_are_listed_cleared_and_pruned(
    folder: Path, specanim: Run, tmp_path: Path
) -> None:
    """animate() stores its arrays as a cache entry: `specanim cache` lists, clears and prunes
    it like a trajectory, and the scene writes it again when it next needs it."""
    from sklearn.datasets import load_digits

    d = load_digits()
    scene = api.animate(d.data[:200], labels=d.target[:200], reducer="pca", width=160, height=100)
    (stored,) = scene.stored
    path = stored.path
    assert path.parent == folder.parent / "arrays" and path.is_file()
    rows = arrays_rows(specanim("cache", "list").stdout)
    assert rows == [["arrays", path.name[:12], "-", "data:", "X", "200x64,", "labels", "200",
                     cache.size_text(path.stat().st_size), "-", "0s", "ago"]]  # fmt: skip
    (listed,) = json.loads(specanim("cache", "list", "--json").stdout)
    assert (listed["kind"], listed["role"], listed["file"]) == ("arrays", "data", str(path))
    assert listed["arrays"] == {"X": [200, 64], "labels": [200]}

    cleared = specanim("cache", "clear", "--kind", "arrays")
    assert cleared.stdout.startswith("removed 1 entries, ") and not path.exists()
    first = np.asarray(scene.still(-1))  # its first load writes the arrays again
    assert path.is_file()
    assert {e.kind for e in cache.entries()} == {"arrays", "trajectory"}  # and pca's fit

    used(path, 31)
    pruned = specanim("cache", "prune", "--older-than", "30d")
    assert pruned.stdout.startswith("removed 1 entries, ") and not path.exists()
    assert [e.kind for e in cache.entries()] == ["trajectory"]
    scene.to_yaml(tmp_path / "scene.yaml")  # written again, and copied beside the spec
    assert (tmp_path / "scene.data.npz").read_bytes() == path.read_bytes()
    assert time.time() - path.stat().st_mtime < 60  # a use

    assert specanim("cache", "clear").stdout.startswith("removed 2 entries, ")
    assert specanim("cache", "list").stdout.startswith("the cache is empty")
    again = api.load(tmp_path / "scene.yaml")
    assert np.array_equal(np.asarray(again.still(-1)), first)


def test_a_from_snapshots_scene_renders_on_workers_after_its_arrays_were_cleared(
    folder: Path, specanim: Run, tmp_path: Path
) -> None:
    """Render workers map the snapshots from their file: a scene loaded before `specanim cache
    clear` writes it again (the same bytes, at the same path) before it renders."""
    rng = np.random.default_rng(0)
    snapshots = np.cumsum(rng.normal(size=(40, 4000, 2)), axis=0).astype(np.float32)
    assert snapshots.nbytes > pickling.SHARE_ABOVE  # mapped by the workers, not copied
    labels = rng.integers(0, 3, 4000)
    scene = api.from_snapshots(snapshots, labels=labels, width=96, height=64, margin=0)
    data, trajectory = scene.stored
    assert (data.role, trajectory.role) == ("data", "trajectory")
    content = trajectory.path.read_bytes()
    assert len(scene) > 3  # loaded: the snapshots are mapped from the file
    rows = arrays_rows(specanim("cache", "list").stdout)
    assert sorted(row[3:5] for row in rows) == [["data:", "X"], ["trajectory:", "snapshots"]]
    assert ["trajectory:", "snapshots", "40x4000x2"] in [row[3:6] for row in rows]

    assert specanim("cache", "clear").stdout.startswith("removed 2 entries, ")
    result = scene.render(tmp_path / "frames", frames=slice(0, 3), workers=2)
    assert result.frames == 3 and len(list((tmp_path / "frames").iterdir())) == 3
    assert trajectory.path.read_bytes() == content


def test_the_size_limit_counts_the_arrays_and_keeps_those_just_stored(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = store(make(Counting), 80)
    used(old, 1)
    X = np.random.default_rng(0).normal(size=(500, 20)).astype(np.float32)
    arrays_size = 500 * 20 * 4  # about: the .npz adds headers and the labels
    monkeypatch.setenv(cache.MAX_SIZE_ENV, str(arrays_size + old.stat().st_size // 2))
    scene = api.animate(X, reducer="pca")
    (stored,) = scene.stored
    assert stored.path.is_file() and not old.exists()  # the trajectory went, not the new arrays
    assert [e.kind for e in cache.entries()] == ["arrays"]


def test_the_core_imports_no_plugin_module() -> None:
    """specanim's own modules reach plugins only through the registry, never by import."""
    import ast

    core = Path(api.__file__).parent
    found = []
    for source in sorted(core.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{source.name}: {n}" for n in names if n.startswith("specanim_")]
    assert found == []
