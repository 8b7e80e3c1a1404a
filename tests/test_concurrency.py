"""Concurrent use: two renders of one output, a work folder removed under a render, the cache
pruned while a render maps an entry, a cache entry that is a FIFO. Each ends in one line or
waits, never in a traceback or a hang. Real processes, real files, a real FIFO.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from .commands import run_specanim as run
from .test_faults import OLDER, Render, write_scene


@pytest.fixture
def scene_folder(tmp_path: Path) -> Path:
    write_scene(tmp_path, 800)  # long enough to act while it renders
    (tmp_path / "out.mp4").write_bytes(OLDER)
    return tmp_path


def test_a_second_render_of_an_output_being_rendered_says_which_process_has_it(
    scene_folder: Path,
) -> None:
    first = Render(scene_folder, "-o", "out.mp4", "-w", "2", "--resume")
    work = scene_folder / ".out.mp4.work"
    first.wait_until(lambda: len(list(work.glob("shot_*.png"))) >= 5)
    for extra in (["--resume"], []):
        second = run(scene_folder, "render", "scene.yaml", "-o", "out.mp4", "-w", "2", *extra)
        assert (second.returncode, second.stderr) == (
            2,
            f"out.mp4: process {first.process.pid} is rendering it now: wait for it to end, or "
            "choose another output\n",
        )
    assert first.process.poll() is None  # untouched by the second
    os.killpg(first.process.pid, signal.SIGINT)
    code, lines = first.finish()
    match = re.fullmatch(
        r"interrupted: (\d+) of 803 frames kept; run again with --resume", lines[0]
    )
    assert code == 130 and len(lines) == 1 and match, lines
    kept = int(match[1])
    # What a worker killed while it wrote a picture leaves: gone as the next resume starts.
    leftover = work / ".shot_000799.png.99999.tmp"
    leftover.write_bytes(b"half a picture")
    # Once the first has ended, the output is free: a resume reuses what it kept, and says so.
    shots = len(list(work.glob("shot_*.png")))  # (more than kept: workers ending finish some)
    resumed = Render(scene_folder, "-o", "out.mp4", "-w", "2", "--resume", "-v")
    resumed.wait_until(lambda: len(list(work.glob("shot_*.png"))) > shots)  # it renders
    assert not leftover.exists()
    code, lines = resumed.finish()
    assert code == 0, lines
    # One frame a shot but the last (held): the pictures there when it started are reused.
    assert f"info: resume: reusing {shots} of 803 frames kept in .out.mp4.work" in lines
    assert shots >= kept
    assert lines[-1].startswith("wrote out.mp4: 803 frames")


def test_a_work_folder_removed_mid_render_is_one_line(scene_folder: Path) -> None:
    render = Render(scene_folder, "-o", "out.mp4", "-w", "2", "--resume")
    work = scene_folder / ".out.mp4.work"
    render.wait_until(lambda: len(list(work.glob("shot_*.png"))) >= 5)
    while work.exists():  # a worker may add a file while it goes
        shutil.rmtree(work, ignore_errors=True)
    code, lines = render.finish()
    assert (code, lines) == (
        1,
        ["error: the work folder .out.mp4.work was removed while rendering"],
    )
    assert (scene_folder / "out.mp4").read_bytes() == OLDER
    assert render.left() == ["out.mp4", "scene.yaml", "traj.npz"]


# --- the cache ------------------------------------------------------------------------------

PLUGIN = '''
import os
import time
from pathlib import Path

import numpy as np

from specanim.sdk import Panel, Reducer, Step, Trajectory, hookimpl


class Walk(Reducer):
    """Points walking randomly: many snapshots at once (more than a megabyte: render workers
    map them from the cache entry), cached like any fit."""

    name = "walk"

    def fit(self, data, progress):
        walk = np.cumsum(np.random.default_rng(1).normal(size=(800, len(data), 2)), axis=0)
        return Trajectory(walk.astype(np.float32), tuple(Step(k) for k in range(800)), 799)

    def versions(self):
        return {"walk": "1"}


class Gate(Panel):
    """Draws nothing. Built (after the fit, before any frame), it makes the file $GATE.ready
    and waits for $GATE.go."""

    name = "gate"
    dynamic = False

    def __init__(self, options, scene):
        super().__init__(options, scene)
        gate = os.environ.get("GATE")
        if gate:
            Path(gate + ".ready").touch()
            deadline = time.monotonic() + 300
            while not Path(gate + ".go").exists() and time.monotonic() < deadline:
                time.sleep(0.02)

    def view(self, frame, box):
        return {"mark": "point", "data": {"values": []}}


@hookimpl
def register_reducers(register):
    register(Walk)


@hookimpl
def register_panels(register):
    register(Gate)
'''

WALK = """
plugins: [walk.py]
width: 320
height: 200
dataset: {type: sklearn-digits}
reducer: {type: walk}
panels:
  - type: progress-bar
  - type: scatter
  - type: digit-grid
  - type: gate
timeline: {fps: 10}
"""


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scene whose trajectory is in a private cache (rendered once); the entry's path."""
    monkeypatch.setenv("SPECANIM_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "walk.py").write_text(PLUGIN, encoding="utf-8")
    (tmp_path / "scene.yaml").write_text(WALK, encoding="utf-8")
    done = run(tmp_path, "render", "scene.yaml", "-o", "first.mp4", "-q")
    assert done.returncode == 0, done.stderr
    (entry,) = (tmp_path / "cache" / "trajectories").glob("walk-*.traj")
    return entry


def test_pruning_the_cache_while_a_render_uses_an_entry(tmp_path: Path, cached: Path) -> None:
    # While its workers draw frames from the entry, the render holds it: prune and clear keep it.
    render = Render(tmp_path, "-o", "out.mp4", "-w", "2")
    render.rendering()
    for command in (["prune", "--older-than", "0s"], ["clear"]):
        pruned = run(tmp_path, "cache", *command)
        assert pruned.returncode == 0, pruned.stderr
        assert pruned.stderr == f"warning: kept {cached.name}: a running render uses it\n"
        assert pruned.stdout == "removed 0 entries, 0B\n"
    code, lines = render.finish()
    assert code == 0 and len(lines) == 1 and lines[0].startswith("wrote out.mp4: 800 frames")
    assert (tmp_path / "out.mp4").read_bytes() == (tmp_path / "first.mp4").read_bytes()

    # Removed after the render read it but before its workers start, the entry is not needed:
    # the workers get a copy of the snapshots the render has.
    gate = tmp_path / "gate"
    render = Render(tmp_path, "-o", "again.mp4", "-w", "2", env={"GATE": str(gate)})
    render.wait_until(lambda: Path(f"{gate}.ready").exists())  # fitted: the entry is read
    pruned = run(tmp_path, "cache", "prune", "--older-than", "0s")
    assert pruned.returncode == 0 and pruned.stdout.startswith("removed 1 entries"), pruned
    assert not cached.exists()
    Path(f"{gate}.go").touch()
    code, lines = render.finish()
    assert code == 0 and len(lines) == 1 and lines[0].startswith("wrote again.mp4: 800 frames")
    assert (tmp_path / "again.mp4").read_bytes() == (tmp_path / "first.mp4").read_bytes()


def test_a_cache_entry_that_is_a_fifo_is_damaged_not_a_hang(tmp_path: Path, cached: Path) -> None:
    cached.unlink()
    os.mkfifo(cached)
    listed = run(tmp_path, "cache", "list", "--json", timeout=120)  # the guard: a hang fails
    assert listed.returncode == 0, listed.stderr
    assert "not a regular file" in listed.stdout
    done = run(tmp_path, "render", "scene.yaml", "-o", "out.mp4", "-q", timeout=120)
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        f"warning: damaged trajectory cache entry {cached} (not a regular file (a pipe, device "
        "or folder)): fitting again"
    ]
    assert cached.is_file()  # fitted again and stored in its place
    assert (tmp_path / "out.mp4").read_bytes() == (tmp_path / "first.mp4").read_bytes()
