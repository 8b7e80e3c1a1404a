"""Faults: dead and failing workers, signals, resuming, full disks and unwritable folders.

Renders run as real ``specanim`` processes in their own session (a background process of a
non-interactive shell ignores SIGINT otherwise), with a private TMPDIR so the temporary folder
of mapped arrays can be checked; their worker processes are recorded while they run.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from specanim_executors.local import Local, LocalOptions

from specanim import engine
from specanim.engine.frames import in_order
from specanim.engine.pool import WORKER_NAME
from specanim.errors import Location, RenderError, SpecError, UserError
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan
from specanim.store.workdir import FrameStore

from .commands import HANG

SCENE = """
title: "Digits, epoch {epoch} of {epochs}"
width: 320
height: 200
palette: paired
dataset: {type: sklearn-digits}
reducer: {type: precomputed, path: traj.npz}
panels:
  - type: progress-bar
  - type: scatter
  - type: digit-grid
timeline: {fps: 10, hold_end: HOLD}
"""
OLDER = b"an older render"


def write_scene(folder: Path, snapshots: int, hold_end: float = 0.3) -> Path:
    """A scene of the 1,797 digits walking randomly over snapshots snapshots."""
    walk = np.cumsum(np.random.default_rng(1).normal(size=(snapshots, 1797, 2)), axis=0)
    np.savez(folder / "traj.npz", walk.astype(np.float32))
    spec = folder / "scene.yaml"
    spec.write_text(SCENE.replace("HOLD", str(hold_end)), encoding="utf-8")
    return spec


def descendants(pid: int) -> set[int]:
    """Every process below pid (Linux: /proc/PID/task/TID/children)."""
    found: set[int] = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for child in map(int, children.read_text().split()):
                found |= {child} | descendants(child)
        except (OSError, ValueError):  # the process or thread just ended
            pass
    return found


def alive(pid: int) -> bool:
    """Whether pid runs (a zombie has ended; it only waits to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def is_worker(pid: int) -> bool:
    """A render worker: forked from the pool's server, it runs the server's command, which
    ends with the name the pool gives its processes, and the server is its parent."""
    try:
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        commands = [Path(f"/proc/{p}/cmdline").read_bytes() for p in (pid, parent)]
    except (OSError, ValueError):  # the process just ended
        return False
    return all(command.endswith(WORKER_NAME.encode() + b"\0") for command in commands)


class Render:
    """A ``specanim render`` running in its own session, its processes recorded."""

    def __init__(self, folder: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.tmp = folder / "tmp"
        self.tmp.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "specanim", "render", "scene.yaml", *args],
            cwd=folder,
            env={**os.environ, "TMPDIR": str(self.tmp), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.seen: set[int] = set()

    def wait_until(self, ready: Callable[[], bool]) -> None:
        """Record the render's processes until ready() holds (the render must still run)."""
        deadline = time.monotonic() + HANG
        while True:
            self.seen |= descendants(self.process.pid)
            if ready():
                return
            assert self.process.poll() is None, self.process.communicate()[1]
            assert time.monotonic() < deadline, "the render never got there"
            time.sleep(0.05)

    def rendering(self) -> None:
        """Wait until two workers render and the partial output has frames in it."""

        def ready() -> bool:
            partial = [p for p in self.folder.iterdir() if ".partial" in p.name]
            workers = [pid for pid in self.seen if is_worker(pid)]
            return len(workers) == 2 and bool(partial) and partial[0].stat().st_size > 1000

        self.wait_until(ready)

    def finish(self) -> tuple[int, list[str]]:
        """Exit code and stderr lines; afterwards no process of the render may be left."""
        _, stderr = self.process.communicate(timeout=HANG)
        deadline = time.monotonic() + 10  # orphans of a dead parent are reaped by init
        while any(alive(pid) for pid in self.seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in self.seen if alive(pid)], "processes outlived the render"
        assert "Traceback" not in stderr and "warning" not in stderr.lower(), stderr
        return self.process.returncode, stderr.splitlines()

    def left(self) -> list[str]:
        """What is in the render's folder, and anything in its temporary folder."""
        return sorted(p.name for p in self.folder.iterdir() if p != self.tmp) + [
            f"tmp/{p.name}" for p in self.tmp.iterdir()
        ]


@pytest.fixture
def scene_folder(tmp_path: Path) -> Path:
    # Long enough that a worker killed once frames reach the output still has work to do:
    # painted frames render fast.
    write_scene(tmp_path, 800)
    (tmp_path / "out.mp4").write_bytes(OLDER)
    return tmp_path


def test_a_killed_worker_fails_the_render_at_once_naming_its_frame(scene_folder: Path) -> None:
    render = Render(scene_folder, "-o", "out.mp4", "-w", "2")
    render.rendering()
    victim = min(pid for pid in render.seen if is_worker(pid))
    os.kill(victim, signal.SIGKILL)
    code, lines = render.finish()
    assert code == 1
    assert len(lines) == 1
    assert re.fullmatch(
        r"error: a render worker died \(killed by SIGKILL, as the system does when memory runs "
        r"out\) while rendering frame \d+",
        lines[0],
    ), lines
    assert (scene_folder / "out.mp4").read_bytes() == OLDER
    assert render.left() == ["out.mp4", "scene.yaml", "traj.npz"]


def is_server(pid: int, parent: int) -> bool:
    """The server render workers are forked from: it runs the command the pool gives its
    processes, and the render's process started it."""
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):  # the process just ended
        return False
    return ppid == parent and command.endswith(WORKER_NAME.encode() + b"\0")


def test_a_killed_server_is_named_when_a_worker_then_dies(scene_folder: Path) -> None:
    """Killed, the server's workers render on (they talk to the render, not to it); a worker
    that dies then cannot be heard of (the server was its parent): the line says what died."""
    render = Render(scene_folder, "-o", "out.mp4", "-w", "2")
    render.rendering()
    (server,) = [pid for pid in render.seen if is_server(pid, render.process.pid)]
    workers = [pid for pid in render.seen if is_worker(pid)]
    os.kill(server, signal.SIGKILL)
    render.wait_until(lambda: not alive(server))
    os.kill(min(workers), signal.SIGKILL)
    code, lines = render.finish()
    assert code == 1
    assert len(lines) == 1
    assert re.fullmatch(
        r"error: a render worker died \(its server, the process it was forked from, was killed "
        r"by SIGKILL before it\) while rendering frame \d+",
        lines[0],
    ), lines
    assert (scene_folder / "out.mp4").read_bytes() == OLDER


@pytest.mark.parametrize(
    ("signum", "group", "code"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143), (signal.SIGTERM, True, 143)],
    ids=["ctrl-c-to-the-group", "kill-term", "term-to-the-group"],
)
def test_a_signal_stops_the_render_leaving_nothing(
    scene_folder: Path, signum: int, group: bool, code: int
) -> None:
    render = Render(scene_folder, "-o", "out.mp4", "-w", "2")
    render.rendering()
    if group:  # as a terminal's Ctrl-C, or a service manager stopping the whole group
        os.killpg(render.process.pid, signum)
    else:
        render.process.send_signal(signum)
    assert render.finish() == (code, ["interrupted: no output was written"])
    assert (scene_folder / "out.mp4").read_bytes() == OLDER
    assert render.left() == ["out.mp4", "scene.yaml", "traj.npz"]


def test_workers_that_die_at_their_start_are_one_line(tmp_path: Path) -> None:
    """The server render workers are forked from ends before it forks any (here at once, by
    a sitecustomize that only it runs): the render ends with one line, and writes nothing."""
    write_scene(tmp_path, 4)
    (tmp_path / "sitecustomize.py").write_text(
        "import os\nfrom pathlib import Path\n\n"
        f"if Path('/proc/self/cmdline').read_bytes().endswith(b'{WORKER_NAME}\\0'):\n"
        "    os._exit(3)\n",
        encoding="utf-8",
    )
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "specanim", "render", "scene.yaml", "-o", "out.mp4", "-w", "2"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert (done.returncode, done.stderr) == (
        1,
        "error: render workers cannot start: the process they are forked from ended with exit "
        "code 3\n",
    )
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("out")]


@pytest.mark.parametrize(
    "when", ["killed", "killed while a worker works", "gone while its workers start"]
)
def test_workers_end_when_the_process_that_started_them_has_ended(when: str) -> None:
    """However that process ends, its workers go with it: else the workers wait for work
    forever (or finish a long job first), holding the standard streams, and a pipe reading
    those (here capture_output) waits on them."""
    script = f"""if True:
        import os, signal, time
        from specanim_executors.local import Local, LocalOptions
        pool = Local(LocalOptions(workers=2))
        pool.start()
        if {when!r} != "gone while its workers start":
            print(pool.submit(os.getpid).result(), flush=True)
            if {when!r} == "killed while a worker works":
                pool.submit(time.sleep, 3600)
                pool.submit(time.sleep, 3600)
                time.sleep(1)  # both workers have their job
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.3)  # the workers are starting
        os._exit(0)
    """
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG
    )
    killed = when != "gone while its workers start"
    assert done.returncode == (-signal.SIGKILL if killed else 0), done.stderr
    if killed:  # the worker goes (or stays a zombie its ended parent leaves to be reaped)
        assert ended(int(done.stdout), within=10)


def ended(pid: int, within: float) -> bool:
    """Whether process pid has ended (gone, or a zombie) or does within that many seconds: its
    end is noticed in it, a moment after the process that started it has gone."""
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + within
    while True:
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_resume_renders_what_is_missing_and_gives_the_same_bytes(tmp_path: Path) -> None:
    write_scene(tmp_path, 50)
    specanim = [sys.executable, "-m", "specanim", "render", "scene.yaml", "-q", "-w", "2"]
    plain = subprocess.run([*specanim, "-o", "plain.mp4"], cwd=tmp_path, timeout=HANG)
    assert plain.returncode == 0

    render = Render(tmp_path, "-o", "out.mp4", "-w", "2", "--resume")
    work = tmp_path / ".out.mp4.work"
    render.wait_until(lambda: len(list(work.glob("shot_*.png"))) >= 5)
    os.killpg(render.process.pid, signal.SIGINT)
    code, lines = render.finish()
    assert code == 130 and len(lines) == 1
    match = re.fullmatch(r"interrupted: (\d+) of 53 frames kept; run again with --resume", lines[0])
    assert match and 5 <= int(match[1]) < 53, lines
    assert render.left() == [
        ".out.mp4.work",
        "plain.mp4",
        "plain.mp4.manifest.json",
        "scene.yaml",
        "traj.npz",
    ]
    kept = tmp_path / "kept"
    shutil.copytree(work, kept)

    resumed = subprocess.run([*specanim, "-o", "out.mp4", "--resume"], cwd=tmp_path, timeout=HANG)
    assert resumed.returncode == 0
    assert (tmp_path / "out.mp4").read_bytes() == (tmp_path / "plain.mp4").read_bytes()
    assert not work.exists()

    # The kept pictures are used, not rendered again: one made white shows in the video.
    shutil.copytree(kept, work)
    Image.new("RGB", (320, 200), "white").save(work / "shot_000002.png")
    resumed = subprocess.run([*specanim, "-o", "out.mp4", "--resume"], cwd=tmp_path, timeout=HANG)
    assert resumed.returncode == 0
    frames, plain_frames = decode(tmp_path / "out.mp4"), decode(tmp_path / "plain.mp4")
    assert frames[2].mean() > 250 and plain_frames[2].mean() < 100
    assert np.abs(frames[-1].astype(int) - plain_frames[-1]).mean() < 2  # lossy, else equal


def test_a_stale_work_folder_is_never_reused(tmp_path: Path) -> None:
    spec = write_scene(tmp_path, 3)
    prepared = engine.prepare(load_plan(spec, default_registry(), tmp_path / "out.gif"))
    store = FrameStore.open(tmp_path / "out.gif", engine.fingerprint(prepared))
    store.save(0, np.zeros((200, 320, 3), np.uint8))
    assert FrameStore.open(tmp_path / "out.gif", engine.fingerprint(prepared)).kept([0]) == {0}

    spec.write_text(spec.read_text().replace("Digits", "Numbers"), encoding="utf-8")
    changed = engine.prepare(load_plan(spec, default_registry(), tmp_path / "out.gif"))
    assert engine.fingerprint(changed) != engine.fingerprint(prepared)
    assert FrameStore.open(tmp_path / "out.gif", engine.fingerprint(changed)).kept([0]) == set()


def file_size_limit(limit: int) -> Callable[[], None]:
    """For preexec_fn: writes past limit bytes fail with EFBIG (Python ignores SIGXFSZ)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("extra", [[], ["--resume"]], ids=["plain", "resume"])
def test_a_full_disk_is_one_line_and_leaves_the_older_output(
    tmp_path: Path, extra: list[str]
) -> None:
    write_scene(tmp_path, 60, hold_end=3)
    (tmp_path / "out.apng").write_bytes(OLDER)
    (tmp_path / "tmp").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "specanim", "render", "scene.yaml", "-o", "out.apng", "-w", "2"]
        + ["--cache", "off", *extra],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
        capture_output=True,
        text=True,
        # The animation needs about 700 kB; a frame handed back by a worker, 190 kB.
        preexec_fn=file_size_limit(400_000),
        timeout=HANG,
    )
    assert result.returncode == 1
    message = re.escape(
        "error: no space left writing out.apng: "
        "the file grew past this process's file-size limit (ulimit -f)"
    )
    if extra:
        message += r"; \d+ of 90 frames kept; run again with --resume"
    (line,) = result.stderr.splitlines()
    assert re.fullmatch(message, line), line
    assert (tmp_path / "out.apng").read_bytes() == OLDER
    left = sorted(p.name for p in tmp_path.iterdir())
    kept = [".out.apng.work"] if extra else []
    assert left == [*kept, "out.apng", "scene.yaml", "tmp", "traj.npz"]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_an_unwritable_folder_is_one_line_before_any_work(tmp_path: Path) -> None:
    write_scene(tmp_path, 3)
    if os.geteuid() == 0:  # root may write into any folder: /proc takes no new files
        folder = Path("/proc")
    else:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o555)
    result = subprocess.run(
        [sys.executable, "-m", "specanim", "render", "scene.yaml", "-v"]
        + ["-o", str(folder / "out.mp4")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()  # -v: loading or fitting would have said so
    assert line.startswith(f"{folder / 'out.mp4'}: cannot write into the folder '{folder}': ")


# --- errors raised in workers ------------------------------------------------------------------


class Unpicklable(Exception):
    """An exception whose constructor takes two arguments: a pickle round trip fails."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


def fail_at_3(shot: int) -> np.ndarray:
    if shot == 3:
        raise SpecError(Location("scene.yaml", 7, "panels[0].size"), "too big for the frame")
    return np.zeros((2, 2, 3), np.uint8)


def fail_unpicklable_at_3(shot: int) -> np.ndarray:
    if shot == 3:
        raise Unpicklable("frame 3", "no luck")
    return np.zeros((2, 2, 3), np.uint8)


def die_at_3(shot: int) -> np.ndarray:
    if shot == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)  # the other worker is busy with another shot meanwhile
    return np.zeros((2, 2, 3), np.uint8)


def error_of(render: Callable[[int], np.ndarray], workers: int) -> BaseException:
    with pytest.raises(BaseException) as caught, Local(LocalOptions(workers=workers)) as pool:
        for _ in in_order(pool, render, range(8), lambda shot: f"frame {shot * 10}"):
            pass
    return caught.value


def test_an_error_in_a_worker_is_the_same_line_as_in_process() -> None:
    here, there = error_of(fail_at_3, 1), error_of(fail_at_3, 2)
    assert isinstance(here, UserError) and isinstance(there, UserError)
    assert there.lines() == here.lines() == ["scene.yaml:7: panels[0].size: too big for the frame"]


def test_an_unpicklable_error_in_a_worker_keeps_its_type_name_and_message() -> None:
    there = error_of(fail_unpicklable_at_3, 2)
    assert str(there) == f"{__name__}.Unpicklable: frame 3: no luck"


def test_a_dead_worker_names_the_frame_it_was_rendering() -> None:
    there = error_of(die_at_3, 2)
    assert isinstance(there, RenderError)
    assert str(there).endswith("while rendering frame 30")
