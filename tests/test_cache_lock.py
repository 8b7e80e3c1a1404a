"""Concurrent renders of one scene: one fit, one valid cache entry, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from specanim.components import Reducer
from specanim.store import entries, trajectories
from specanim.values import Data, Progress, Step, Trajectory

from .reducer_fixtures import Calls, digits, make


class Gated(Reducer):
    """A real reducer whose fit waits for the test's go-ahead, so fits can be made to overlap."""

    name = "gated"
    started = threading.Event()
    go = threading.Event()
    fits = 0

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        type(self).fits += 1
        type(self).started.set()
        assert type(self).go.wait(60)
        snapshots = np.stack([data.features[:, :2] * k for k in (1.0, 2.0)])
        return Trajectory(snapshots, (Step(0), Step(1)), 1)

    def versions(self) -> Mapping[str, str]:
        return {"gated": "1"}


def test_a_second_obtain_waits_for_the_first_fit_and_reuses_it(tmp_path: Path) -> None:
    Gated.started.clear()
    Gated.go.clear()
    Gated.fits = 0
    data = digits(50)
    results: dict[str, Trajectory] = {}

    def obtain(name: str) -> Callable[[], None]:
        def run() -> None:
            results[name] = trajectories.obtain(make(Gated), data, Calls(), cache=tmp_path)

        return run

    first = threading.Thread(target=obtain("first"))
    first.start()
    assert Gated.started.wait(60)
    second = threading.Thread(target=obtain("second"))
    second.start()
    second.join(1.0)  # time to reach the lock (without one: to start a second fit)
    assert second.is_alive()  # waiting for the first, not finished on its own
    Gated.go.set()
    first.join(60)
    second.join(60)
    assert Gated.fits == 1
    assert np.array_equal(results["first"].snapshots, results["second"].snapshots)
    assert [p.name for p in tmp_path.iterdir()] == [
        f"gated-{trajectories.cache_key(make(Gated), data.fingerprint())}.traj"
    ]


def test_the_lock_file_is_removed_and_a_waiter_relocks_the_new_one(tmp_path: Path) -> None:
    entry = tmp_path / "x.traj"
    order: list[str] = []
    with entries.entry_lock(entry):
        assert (tmp_path / "x.traj.lock").exists()

        def waiter() -> None:
            with entries.entry_lock(entry):
                order.append("waiter")
                assert (tmp_path / "x.traj.lock").exists()  # its own, new lock file

        thread = threading.Thread(target=waiter)
        thread.start()
        thread.join(0.5)
        order.append("holder")
    thread.join(60)
    assert order == ["holder", "waiter"]
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_cache_folder_takes_no_lock(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with entries.entry_lock(blocked / "x.traj"):
        pass


SPEC = """
width: 160
height: 120
dataset: {type: sklearn-digits, limit: 300}
reducer: {type: pca}
panels:
  - type: scatter
timeline: {fps: 10, hold_end: 0.2}
"""


def test_two_renders_started_together_on_a_cold_cache(tmp_path: Path) -> None:
    spec = tmp_path / "scene.yaml"
    spec.write_text(SPEC)
    cache = tmp_path / "cache"
    env = {**os.environ, "SPECANIM_CACHE_DIR": str(cache)}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "specanim",
                "render",
                spec,
                "-o",
                f"out{i}.gif",
                "-v",
                "-w",
                "1",
            ],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    logs = [p.communicate(timeout=600)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], logs
    assert sum("info: fitted pca" in log for log in logs) == 1, logs
    assert sum("info: using the cached trajectory" in log for log in logs) == 1, logs
    assert (tmp_path / "out0.gif").read_bytes() == (tmp_path / "out1.gif").read_bytes()
    (entry,) = (cache / "trajectories").iterdir()  # no temporary file, no lock file
    assert entry.suffix == ".traj"
    entries.read_entry(entry)  # sound: the checksum of every byte holds
