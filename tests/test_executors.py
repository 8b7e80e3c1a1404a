"""Executors: the local pool that outlives a render and warms up before it, jobs submitted to it,
renders interleaved on it, and how a render's executor is chosen (never changing its output)."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from specanim_executors.local import Local, LocalOptions

import specanim
from specanim import engine
from specanim.engine.executors import choose
from specanim.engine.frames import in_order
from specanim.engine.pool import WORKER_ENVIRONMENT
from specanim.errors import RenderError, SpecErrors, UserError
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan
from specanim.store import manifest

from .commands import run_script
from .conftest import Run
from .test_faults import decode, descendants, is_worker, write_scene


def warmed_up() -> tuple[int, bool]:
    """In a worker: its pid, and whether vl-convert is imported there already."""
    return os.getpid(), "vl_convert" in sys.modules


def square(x: int) -> int:
    return x * x


def fail(message: str) -> None:
    raise UserError(message)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def gray(shot: int) -> np.ndarray:
    return np.full((4, 6, 3), shot, np.uint8)


def vl_convert_started() -> tuple[int, bool]:
    """In a worker: its pid, and whether vl-convert's runtime has started there (waiting for
    the worker's own start of it, which runs beside its jobs, for a while)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(t.name == "vl-convert-start" for t in threading.enumerate()):
            time.sleep(0.05)
            continue
        return os.getpid(), "vl_convert" in sys.modules
    return os.getpid(), False


def test_workers_start_vl_convert_before_their_first_frame() -> None:
    """Its first call in a process takes a while: every worker makes it as it starts, beside
    its first jobs, not in its first frame with vector marks."""
    with Local(LocalOptions(workers=2)) as pool:
        results = [pool.submit(vl_convert_started) for _ in range(2)]
        pids = {future.result()[0] for future in results}
        assert all(future.result()[1] for future in results)
        assert os.getpid() not in pids


# A scene on the points write_points writes; each scene below adds its panels.
ON_POINTS = """
width: 320
height: 200
dataset: {type: file, path: points.npz}
reducer: {type: precomputed, path: traj.npz}
timeline: {fps: 4, hold_end: 0}
"""
QUICK_MARKS = """
title: Points
panels:
  - type: progress-bar
  - {type: scatter, render: raster}
layout: {column: [progress-bar, scatter], sizes: [1, 6], title: true}
"""
# The scatter as vector marks, with an axis beyond its box: frames are drawn whole.
WHOLE_FRAMES = """
panels:
  - type: scatter
    render: vector
    vega_lite: {encoding: {x: {axis: {title: across}, scale: {}}}}
  - type: progress-bar
layout: {column: [progress-bar, scatter], sizes: [1, 6]}
"""


def write_points(folder: Path, n: int, panels: str) -> Path:
    """n random points in 10 classes that walk 3 snapshots, and a scene on them (ON_POINTS
    with panels); the scene's path."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    np.savez(folder / "points.npz", X=rng.normal(size=(n, 2)).astype(np.float32), y=labels)
    walk = np.cumsum(rng.normal(size=(3, n, 2)), axis=0).astype(np.float32)
    np.savez(folder / "traj.npz", snapshots=walk, epochs=np.arange(3))
    (folder / "scene.yaml").write_text(ON_POINTS + panels, encoding="utf-8")
    return folder / "scene.yaml"


def render_with_workers(folder: Path, panels: str) -> tuple[bool, bytes, bytes]:
    """Render a scene on 300 points with two workers and in this process: whether its frames
    are drawn box by box, and the two videos' bytes."""
    scene = write_points(folder, 300, panels)
    outputs = [folder / "workers.mp4", folder / "alone.mp4"]
    plans = [load_plan(scene, default_registry(), out) for out in outputs]
    with Local(LocalOptions(workers=2)) as pool:
        prepared = engine.prepare(plans[0])
        engine.render(prepared, executor=pool)
    engine.render(engine.prepare(plans[1]))
    bytes_with_workers, bytes_alone = (out.read_bytes() for out in outputs)
    return prepared.composer.by_box, bytes_with_workers, bytes_alone


@pytest.mark.parametrize(("panels", "by_box"), [(QUICK_MARKS, True), (WHOLE_FRAMES, False)])
def test_workers_draw_the_bytes_this_process_draws(
    tmp_path: Path, panels: str, by_box: bool
) -> None:
    drawn_by_box, with_workers, alone = render_with_workers(tmp_path, panels)
    assert drawn_by_box == by_box
    assert with_workers == alone


# A plain script: no `if __name__ == "__main__":` guard.
SCRIPT = """\
import specanim

print("the script ran", flush=True)
specanim.load("scene.yaml").render("out.mp4", workers=2)
"""


@pytest.mark.parametrize("given", ["as a file", "on standard input"])
def test_a_plain_script_renders_with_several_workers(tmp_path: Path, given: str) -> None:
    """Workers never run the main module: neither a script without a guard (it would start
    workers from its workers) nor one read from standard input (there is no file to run)
    stops them."""
    write_scene(tmp_path, 12)
    (tmp_path / "render.py").write_text(SCRIPT, encoding="utf-8")
    done = run_script(tmp_path, "render.py", given)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "the script ran\n"
    assert len(decode(tmp_path / "out.mp4")) == 15  # 12 snapshots, the last held 0.3 s


def loops_loaded() -> dict[str, int]:
    """In a worker: how many forms (argument types) of each compiled loop it has."""
    from numba.core.registry import CPUDispatcher

    from specanim.draw import compiled

    loops = {name: f for name, f in vars(compiled).items() if isinstance(f, CPUDispatcher)}
    return {name: len(loop.signatures) for name, loop in loops.items()}


MANY_POINTS = """
panels:
  - type: progress-bar
  - {type: scatter, trail: {length: 1, segments: 2}}
"""


def test_workers_find_every_compiled_loop_their_frames_use_loaded_as_they_warm_up(
    tmp_path: Path,
) -> None:
    """A loop's first call with a new kind of argument (a read-only array, another layout)
    loads that form from numba's cache in the middle of a frame, or after an install compiles
    it (a second or so): each worker does it as it warms up, before its first frame."""
    # 100,000 points: their colours, over 1 MiB, reach the workers as read-only mapped files.
    scene = write_points(tmp_path, 100_000, MANY_POINTS)
    plan = load_plan(scene, default_registry(), tmp_path / "out.mp4")
    with Local(LocalOptions(workers=2)) as pool:
        before = [pool.submit(loops_loaded).result() for _ in range(4)]
        engine.render(engine.prepare(plan), executor=pool)
        after = [pool.submit(loops_loaded).result() for _ in range(4)]
    assert all(count > 0 for count in before[0].values())
    assert before == after == [before[0]] * 4


def test_small_arrays_reach_workers_as_writeable_as_they_left() -> None:
    """(Large ones arrive as read-only mapped files.) The compiled loops tell the two apart."""
    from specanim.draw.raster import read_only
    from specanim.engine.pickling import dumps

    frozen, loose = read_only(np.arange(10.0)), np.arange(10.0)
    back = pickle.loads(dumps([frozen, loose]))
    assert [array.flags.writeable for array in back] == [False, True]
    np.testing.assert_array_equal(back[0], frozen)


def test_workers_get_their_environment_unless_the_user_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One OpenBLAS thread each, and glibc keeping freed memory for the next frame."""
    names = list(WORKER_ENVIRONMENT)
    assert names == ["OPENBLAS_NUM_THREADS", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
    assert WORKER_ENVIRONMENT["OPENBLAS_NUM_THREADS"] == "1"
    for name in names:
        monkeypatch.delenv(name, raising=False)
    # In a fresh process each time: the worker server, which passes its environment on to the
    # workers, runs as long as the process that started it.
    assert environments() == [WORKER_ENVIRONMENT] * 4
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert environments() == [{**WORKER_ENVIRONMENT, "OPENBLAS_NUM_THREADS": "3"}] * 4


def test_workers_ignore_ctrl_c_and_run_in_another_session() -> None:
    """A terminal's Ctrl-C goes to its foreground process group: never to a worker, which is
    in another session from its first moment (its server's), and ignores SIGINT anyway."""
    with Local(LocalOptions(workers=2)) as pool:
        seen = {pool.submit(signal_and_session).result() for _ in range(4)}
        workers = worker_pids()
    assert len(workers) == 2
    assert {pid for pid, _, _ in seen} <= set(workers)
    ((handler, session),) = {(handler, session) for _, handler, session in seen}
    assert handler == signal.SIG_IGN and session != os.getsid(0)


def signal_and_session() -> tuple[int, object, int]:
    """In a worker: its pid, its SIGINT handler, and the id of its session."""
    return os.getpid(), signal.getsignal(signal.SIGINT), os.getsid(0)


def environments() -> list[dict[str, str | None]]:
    """WORKER_ENVIRONMENT's variables as four jobs see them in a pool of a new process, which
    checks that its own environment is left as it was."""
    script = """if True:
        import json, os
        from specanim_executors.local import Local, LocalOptions
        from specanim.engine.pool import WORKER_ENVIRONMENT
        before = dict(os.environ)
        with Local(LocalOptions(workers=2)) as pool:
            seen = [
                {name: pool.submit(os.getenv, name).result() for name in WORKER_ENVIRONMENT}
                for _ in range(4)
            ]
        assert dict(os.environ) == before
        print(json.dumps(seen))
    """
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    seen: list[dict[str, str | None]] = json.loads(done.stdout)
    return seen


def test_submitted_jobs_return_results_and_errors_as_one_line() -> None:
    with Local(LocalOptions(workers=2)) as pool:
        assert [pool.submit(square, x).result() for x in range(5)] == [0, 1, 4, 9, 16]
        with pytest.raises(UserError, match="^bad sweep value$"):
            pool.submit(fail, "bad sweep value").result()
        with pytest.raises(RenderError) as lost:
            pool.submit(die).result()
        assert str(lost.value) == (
            "a worker died (killed by SIGKILL, as the system does when memory runs out) while "
            "running die"
        )
        assert pool.submit(square, 7).result() == 49  # a new pool took the broken one's place
    with Local(LocalOptions(workers=1)) as alone:  # one worker: in this process
        assert alone.submit(os.getpid).result() == os.getpid()


def worker_pids() -> list[int]:
    """The render workers this process has started."""
    return sorted(pid for pid in descendants(os.getpid()) if is_worker(pid))


def slow_gray(shot: int) -> np.ndarray:
    time.sleep(0.05)
    return gray(shot)


def test_a_worker_killed_while_frames_are_still_being_sent_is_one_line() -> None:
    """The frames already made still arrive; the frame the killed worker was drawing ends the
    render with one line naming it."""
    with Local(LocalOptions(workers=2)) as local:
        frames = in_order(local, slow_gray, range(60), lambda shot: f"shot {shot}")
        assert int(next(frames)[0, 0, 0]) == 0
        os.kill(worker_pids()[0], signal.SIGKILL)
        with pytest.raises(RenderError) as lost:
            list(frames)
        assert re.fullmatch(
            r"a render worker died \(killed by SIGKILL, as the system does when memory runs out\) "
            r"while rendering shot \d+",
            str(lost.value),
        ), lost.value
        assert local.submit(square, 7).result() == 49  # a new worker took the dead one's place


def test_renders_interleaved_on_one_pool_each_get_their_own_frames() -> None:
    def black(shot: int) -> np.ndarray:
        return np.zeros((2, 2, 3), np.uint8)

    with Local(LocalOptions(workers=2)) as pool:
        first = in_order(pool, gray, range(10), str)
        second = in_order(pool, black, range(7), str)
        a = [next(first) for _ in range(3)]
        b = list(second)
        a += list(first)
    assert [int(x[0, 0, 0]) for x in a] == list(range(10))
    assert [x.shape for x in b] == [(2, 2, 3)] * 7 and not any(x.any() for x in b)


def test_one_pool_renders_scenes_one_after_another_the_same_as_fresh_pools(
    tmp_path: Path,
) -> None:
    spec = write_scene(tmp_path, 8)
    registry = default_registry()
    with Local(LocalOptions(workers=2)) as executor:
        before = {executor.submit(warmed_up).result()[0] for _ in range(4)}
        for name in ("a.gif", "b.gif"):
            plan = load_plan(spec, registry, tmp_path / name)
            engine.render(engine.prepare(plan), executor=executor)
        after = {executor.submit(warmed_up).result()[0] for _ in range(4)}
    assert len(before | after) <= 2  # the same two workers, never a new pool
    with Local(LocalOptions(workers=2)) as fresh:
        plan = load_plan(spec, registry, tmp_path / "c.gif")
        engine.render(engine.prepare(plan), executor=fresh)
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.gif", "b.gif", "c.gif"))
    assert a == b == c


# --- choosing the executor ----------------------------------------------------------------------


def plan_with(tmp_path: Path, executor: str) -> Path:
    spec = write_scene(tmp_path, 4)
    spec.write_text(spec.read_text() + executor, encoding="utf-8")
    return spec


def test_the_command_line_wins_over_the_spec(tmp_path: Path) -> None:
    registry = default_registry()
    plan = load_plan(plan_with(tmp_path, "executor: {type: local, workers: 3}\n"), registry)
    assert choose(plan, registry).slots == 3
    assert choose(plan, registry, options={"workers": 2}).slots == 2
    assert choose(plan, registry, "local", {"workers": None}).slots == 3
    dask = choose(plan, registry, "dask", {"workers": 2, "scheduler": None})
    assert dask.name == "dask" and dask.options.model_dump() == {
        "scheduler": None,
        "workers": 2,
        "timeout": 10,
    }
    with pytest.raises(UserError, match="^--scheduler: executor 'local' takes no scheduler$"):
        choose(plan, registry, "local", {"scheduler": "tcp://127.0.0.1:8786"})
    with pytest.raises(UserError, match=r"^--executor dusk: unknown executor 'dusk' \(did you"):
        choose(plan, registry, "dusk")
    with pytest.raises(UserError, match=r"^--workers: input should be .* to 1, got 0 \(executor"):
        choose(plan, registry, "local", {"workers": 0})


def test_a_bad_executor_entry_is_located_in_the_spec(tmp_path: Path) -> None:
    spec = plan_with(tmp_path, "executor: {type: local, workers: 0, threads: 2}\n")
    with pytest.raises(SpecErrors) as caught:
        load_plan(spec, default_registry())
    assert caught.value.lines() == [
        f"{spec}:13: executor.threads: unknown key 'threads'",
        f"{spec}:13: executor.workers: input should be greater than or equal to 1, got 0",
    ]


def test_the_executor_changes_neither_the_fingerprint_nor_the_manifest(
    tmp_path: Path, specanim: Run
) -> None:
    spec = write_scene(tmp_path, 4)
    plain = spec.read_text()
    registry = default_registry()
    prints = []
    for name, executor in (("a", ""), ("b", "executor: {type: local, workers: 1}\n")):
        spec.write_text(plain + executor, encoding="utf-8")
        prints.append(engine.fingerprint(engine.prepare(load_plan(spec, registry))))
        assert specanim("render", spec, "-o", f"{name}.gif", "-q").returncode == 0
    assert prints[0] == prints[1]
    a, b = (manifest.path_for(tmp_path / f"{n}.gif").read_bytes() for n in "ab")
    assert a.replace(b"a.gif", b"b.gif") == b
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()


def test_the_python_api_renders_on_an_executor_it_is_given_or_names(tmp_path: Path) -> None:
    scene = specanim.load(write_scene(tmp_path, 6))
    with Local(LocalOptions(workers=2)) as executor:
        workers = {executor.submit(warmed_up).result()[0] for _ in range(4)}
        scene.render(tmp_path / "a.gif", executor=executor)
        scene.render(tmp_path / "b.gif", executor=executor)
        workers |= {executor.submit(warmed_up).result()[0] for _ in range(4)}
    assert len(workers) <= 2  # both renders ran on the executor's two workers
    scene.render(tmp_path / "c.gif", executor="local", workers=2)
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.gif", "b.gif", "c.gif"))
    assert a == b == c
    with pytest.raises(UserError, match="^--executor ray: unknown executor 'ray'"):
        scene.render(tmp_path / "d.gif", executor="ray")


def test_a_connection_reset_in_the_handshake_leaves_the_pool_able_to_close() -> None:
    """A process that connects and resets before the handshake ends (as a worker killed while
    it connects does) is not a worker; the pool serves on and closes without waiting forever."""
    import socket
    import struct

    with Local(LocalOptions(workers=2)) as local:
        assert local.submit(square, 3).result() == 9
        crew = local.pool._crew
        assert crew is not None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as rude:
            rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            rude.connect(crew.address)
            time.sleep(0.2)  # the listener sends its challenge; the close below resets
        time.sleep(0.2)
        assert local.submit(square, 4).result() == 16
        closing = threading.Thread(target=local.close, daemon=True)
        closing.start()
        closing.join(60)  # only a guard against a hang
        assert not closing.is_alive(), "the pool did not close"
