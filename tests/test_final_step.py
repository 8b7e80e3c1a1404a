"""The final step of a render: the output and its manifest are placed together (the manifest
first), so whatever stops the render (a full disk, a signal at any moment, SIGKILL) leaves the
old output with its manifest or the new output with its, ``verify`` works on what is there,
and the message says which.

Faults are real: a file-size limit, signals sent as the render creates its manifest (the test
watches the folder with inotify), SIGKILL; renders are real ``specanim`` processes.
"""

from __future__ import annotations

import ctypes
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .commands import HANG
from .commands import run_specanim as run
from .test_faults import Render, alive, file_size_limit, write_scene


def older_output(folder: Path, output: str) -> bytes:
    """Render the first frames of the scene to output, a previous output with its manifest;
    its bytes."""
    done = run(folder, "render", "scene.yaml", "-o", output, "--frames", "0:5", "-q", "-w", "2")
    assert done.returncode == 0, done.stderr
    return (folder / output).read_bytes() if (folder / output).is_file() else b""


def verified(folder: Path, output: str) -> str:
    """What ``specanim verify`` says of output, which must match its manifest."""
    done = run(folder, "verify", output)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "tmp")


def test_a_full_disk_writing_the_manifest_leaves_the_older_output_and_its_manifest(
    tmp_path: Path,
) -> None:
    # A folder of frames: each frame's file is small, the manifest (two hashes a frame) is not.
    write_scene(tmp_path, 300)
    older_output(tmp_path, "out")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    result = run(
        tmp_path,
        *["render", "scene.yaml", "-o", "out", "-w", "2", "--cache", "off"],
        # A frame's file is about 20 kB, the manifest of 303 frames about 70 kB.
        preexec_fn=file_size_limit(50_000),
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: no space left writing out: the file grew past this process's file-size limit "
        "(ulimit -f) (out.manifest.json)"
    ]
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    assert verified(tmp_path, "out") == "out: matches its manifest (5 frames)"
    assert visible(tmp_path) == ["out", "out.manifest.json", "scene.yaml", "traj.npz"]


HOLDING = """if True:
    import os, signal, sys
    from specanim.store.output import signals_held

    class Stopped(BaseException):
        pass

    def stop(signum, frame):
        raise Stopped(signum)

    signal.signal(signal.SIGTERM, stop)
    steps = []
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("after the signal, inside")
            signal.raise_signal(signal.SIGINT)
            steps.append("after a second signal, inside")
        steps.append("after the block")
    except Stopped as stopped:
        steps.append(f"stopped by {signal.Signals(stopped.args[0]).name}")
    print(steps)
    print(signal.getsignal(signal.SIGTERM) is stop, signal.getsignal(signal.SIGINT))
"""


def test_signals_held_take_effect_when_the_block_ends() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOLDING], capture_output=True, text=True, timeout=HANG
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['after the signal, inside', 'after a second signal, inside', 'stopped by SIGTERM']",
        "True <built-in function default_int_handler>",
    ]


IN_CLOSE_WRITE = 0x8
_EVENT = struct.Struct("iIII")


class Watch:
    """inotify on a folder: the names of the files closed after writing, as they come."""

    def __init__(self, folder: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        assert libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_CLOSE_WRITE) >= 0

    def names(self, timeout: float) -> list[str]:
        """The names of the next events (none if timeout seconds pass without one)."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        data, names, at = os.read(self.fd, 1 << 16), [], 0
        while at < len(data):
            _, _, _, length = _EVENT.unpack_from(data, at)
            raw = data[at + _EVENT.size : at + _EVENT.size + length]
            names.append(raw.rstrip(b"\0").decode())
            at += _EVENT.size + length
        return names

    def close(self) -> None:
        os.close(self.fd)


def encoded(folder: Path, name: str) -> bool:
    """Whether name, just closed after writing, is the render's finished output: its temporary
    file, not empty (the first close is that of the empty file that reserves the name)."""
    path = folder / name
    return bool(re.fullmatch(r"\.out\.mp4\.\w{8}\.partial\.mp4", name)) and (
        path.exists() and path.stat().st_size > 0
    )


def spin(seconds: float) -> None:
    """Wait that long without sleeping (a sleep may last far longer than asked)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.parametrize("delay", [0, 0.01, 0.02, 0.03, 0.05, 0.1])
def test_sigterm_during_the_final_step_leaves_one_output_with_its_manifest_and_says_which(
    tmp_path: Path, delay: float
) -> None:
    """SIGTERM sent as the encoder closes the new output, or a moment later: while the output
    is hashed, its manifest written, both placed, or just after: the old output and manifest or
    the new ones, never a mix, and a true message."""
    write_scene(tmp_path, 40)
    older = older_output(tmp_path, "out.mp4")
    watch = Watch(tmp_path)
    try:
        render = Render(tmp_path, "-o", "out.mp4", "-w", "2")
        deadline = time.monotonic() + HANG
        while not any(encoded(tmp_path, name) for name in watch.names(timeout=1)):
            assert render.process.poll() is None, render.process.communicate()[1]
            assert time.monotonic() < deadline, "the output was never finished"
        spin(delay)
        render.process.send_signal(signal.SIGTERM)
    finally:
        watch.close()
    code, lines = render.finish()
    placed = (tmp_path / "out.mp4").read_bytes() != older
    if not placed:
        assert (code, lines) == (143, ["interrupted: no output was written"])
        assert verified(tmp_path, "out.mp4") == "out.mp4: matches its manifest (5 frames)"
    else:
        assert code in (0, 143)  # 0: the render had ended when the signal came
        if code == 143:
            assert lines == ["interrupted: out.mp4 was written whole, with its manifest"]
        assert verified(tmp_path, "out.mp4") == "out.mp4: matches its manifest (43 frames)"
    assert visible(tmp_path) == ["out.mp4", "out.mp4.manifest.json", "scene.yaml", "traj.npz"]


def test_sigkill_mid_render_leaves_the_older_output_verifiable_and_the_next_render_tidies(
    tmp_path: Path,
) -> None:
    write_scene(tmp_path, 800)
    older = older_output(tmp_path, "out.mp4")
    render = Render(tmp_path, "-o", "out.mp4", "-w", "2")
    render.rendering()
    os.kill(render.process.pid, signal.SIGKILL)
    render.process.wait(HANG)
    deadline = time.monotonic() + HANG  # the workers see their parent gone and end
    while any(alive(pid) for pid in render.seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "out.mp4").read_bytes() == older
    assert verified(tmp_path, "out.mp4") == "out.mp4: matches its manifest (5 frames)"
    left = [name for name in visible(tmp_path) if name.startswith(".")]
    assert sorted(re.sub(r"\.\w{8}\.", ".*.", name) for name in left) == [
        ".out.mp4.*.partial.mp4",  # the killed render's unfinished output
        ".out.mp4.lock",
    ]
    older_output(tmp_path, "out.mp4")  # the next render of out.mp4 removes what it left
    assert visible(tmp_path) == ["out.mp4", "out.mp4.manifest.json", "scene.yaml", "traj.npz"]


def test_a_signal_after_the_command_has_finished_leaves_its_exit_code(tmp_path: Path) -> None:
    """Python restores the default handlers as it ends, so a SIGTERM then killed a process
    whose render was complete (exit -15, no line): the program ignores signals once done."""
    script = (
        "import os, signal, sys\n"
        "from specanim.cli import run\n"
        "sys.argv = ['specanim', 'validate', 'scene.yaml']\n"
        "try:\n"
        "    run()\n"
        "finally:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)  # as the interpreter ends\n"
        "    print('still here')\n"
    )
    write_scene(tmp_path, 5)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=HANG
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "scene.yaml: valid\nstill here\n", "")
