"""Measuring: wall time and peak memory of a process tree, the machine, versions, video frames."""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np

from specanim.versions import installed

PAGE = os.sysconf("SC_PAGE_SIZE")
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


# --- memory of a process and all its descendants ----------------------------------------------


def descendants(pid: int) -> list[int]:
    """pid and every process below it, from /proc/*/stat parent links."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as file:
                stat = file.read()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat[stat.rindex(b")") + 2 :].split()[1])  # after "(comm) state"
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def pss_available() -> bool:
    """Whether this kernel reports proportional set sizes (/proc/PID/smaps_rollup)."""
    return Path(f"/proc/{os.getpid()}/smaps_rollup").is_file()


@dataclass(frozen=True)
class Usage:
    """The memory of one process: total (PSS or RSS), and for PSS its anonymous, file-backed
    and shared-memory parts."""

    pid: int
    role: str
    total: int
    anon: int = 0
    file: int = 0
    shmem: int = 0


def role(pid: int, root: int) -> str:
    """What a process of the tree is: the command itself, a pool worker, or its command name."""
    if pid == root:
        return "main"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
    # Workers first: specanim's -W options, which every child inherits, name the tracker.
    # Workers are forked from the worker server, so they run its command line too: it ends
    # with specanim-render-worker (before 2026-12-06, the server was multiprocessing's
    # forkserver).
    server = command.rstrip().endswith("specanim-render-worker")
    if server or "multiprocessing.forkserver" in command:
        return "worker server" if parent(pid) == root else "worker"
    if "resource_tracker" in command:
        return "resource tracker"
    return Path(command.split(" ", 1)[0]).name or "?"


def parent(pid: int) -> int:
    """The pid of a process's parent (0 if it has ended)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return 0


def process_memory(pid: int, pss: bool, root: int) -> Usage:
    """The memory of one process: its PSS (shared pages split among their users) or its RSS."""
    try:
        if pss:
            fields: dict[bytes, int] = {}
            with open(f"/proc/{pid}/smaps_rollup", "rb") as file:
                for line in file:
                    name, _, rest = line.partition(b":")
                    if name.startswith(b"Pss"):
                        fields[name] = int(rest.split()[0]) * 1024
            return Usage(
                pid, role(pid, root), fields.get(b"Pss", 0), fields.get(b"Pss_Anon", 0),
                fields.get(b"Pss_File", 0), fields.get(b"Pss_Shmem", 0),
            )  # fmt: skip
        with open(f"/proc/{pid}/statm", "rb") as file:
            return Usage(pid, role(pid, root), int(file.read().split()[1]) * PAGE)
    except (OSError, ValueError, IndexError):  # the process ended meanwhile
        return Usage(pid, "gone", 0)


@dataclass
class TreeSampler:
    """Samples the summed memory of a process tree every interval seconds, in a thread; keeps
    the peak, what each process held at the peak, and the whole trace."""

    pid: int
    interval: float = 0.2
    pss: bool = field(default_factory=pss_available)
    peak: int = 0
    at_peak: list[Usage] = field(default_factory=list)
    trace: list[tuple[float, int]] = field(default_factory=list)  # (seconds, bytes)
    _started: float = field(default_factory=time.perf_counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def kind(self) -> str:
        return "PSS" if self.pss else "RSS"

    @property
    def peak_processes(self) -> int:
        return len(self.at_peak)

    def sample(self) -> None:
        usages = [process_memory(p, self.pss, self.pid) for p in descendants(self.pid)]
        total = sum(u.total for u in usages)
        self.trace.append((time.perf_counter() - self._started, total))
        if total > self.peak:
            self.peak, self.at_peak = total, usages

    def breakdown(self) -> str:
        """What each process held at the peak, in MB (for PSS: anonymous + file-backed)."""
        parts = []
        for u in sorted(self.at_peak, key=lambda u: -u.total):
            if u.total < 1e6:
                continue
            split = f" = {u.anon / 1e6:,.0f} anon + {u.file / 1e6:,.0f} file" if self.pss else ""
            if self.pss and u.shmem >= 1e6:
                split += f" + {u.shmem / 1e6:,.0f} shmem"
            parts.append(f"{u.role} {u.total / 1e6:,.0f}{split}")
        return "; ".join(parts)

    def __enter__(self) -> Self:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self._started = time.perf_counter()
        self.sample()
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


# --- CPU time: ours and everybody else's ---------------------------------------------------------


def machine_cpu() -> tuple[float, float]:
    """(busy, steal): seconds of CPU time the whole machine has spent busy since boot, and the
    seconds the hypervisor gave its CPUs to others (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _, _, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def adopt_orphans() -> None:
    """Make this process the parent of its descendants' orphans (Linux's child subreaper): a
    process that outlives its parent, as the worker server outlives specanim's main process
    by a moment, is then waited for here, so its CPU time (and its own children's) counts as
    ours rather than as another process's."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans(timeout: float = 30.0) -> None:
    """Wait for the orphans adopted here, which end soon after the command's main process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # none left
            return
        if pid == 0:
            time.sleep(0.01)


def own_cpu() -> float:
    """CPU seconds of this process and of all its children that have ended and been waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass
class CpuWatch:
    """CPU used during a block: by us (this process and the children we waited for) and by
    every other process on the machine, which a shared machine makes worth knowing."""

    seconds: float = 0.0  # wall time
    ours: float = 0.0  # CPU seconds
    others: float = 0.0  # CPU seconds of everything else
    steal: float = 0.0  # CPU seconds the hypervisor took away
    _start: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    _stopped: float | None = None

    def __enter__(self) -> Self:
        self._start = (time.perf_counter(), own_cpu(), *machine_cpu())
        return self

    def stop_clock(self) -> None:
        """End the wall time here; CPU time still counts until the block ends."""
        self._stopped = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        wall, ours, busy, steal = (time.perf_counter(), own_cpu(), *machine_cpu())
        self.seconds = (self._stopped or wall) - self._start[0]
        self.ours = ours - self._start[1]
        self.others = max(busy - self._start[2] - self.ours, 0.0)
        self.steal = steal - self._start[3]

    @property
    def other_cores(self) -> float:
        """How many cores other processes kept busy, on average."""
        return self.others / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        text = f"used {self.ours:.1f} CPU-s in {self.seconds:.1f} s"
        text += f"; other processes {self.other_cores:.2f} cores on average"
        return text + (f", hypervisor steal {self.steal:.1f} s" if self.steal >= 0.5 else "")


@dataclass(frozen=True)
class Run:
    """A finished command: wall time, exit code, output and (if sampled) peak memory."""

    seconds: float
    returncode: int
    stderr: str
    cpu: CpuWatch
    peak_bytes: int = 0
    memory_kind: str = ""
    peak_processes: int = 0
    memory_breakdown: str = ""
    memory_trace: tuple[tuple[float, int], ...] = ()


def run(
    command: Sequence[str],
    *,
    sample_memory: bool = False,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Run:
    """Run command, timing it from start to exit; optionally sample its tree's memory."""
    adopt_orphans()
    with CpuWatch() as cpu:
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        sampler = TreeSampler(process.pid)
        if sample_memory:
            with sampler:
                _, stderr = process.communicate()
        else:
            _, stderr = process.communicate()
        cpu.stop_clock()
        reap_orphans()
    if not sample_memory:
        return Run(cpu.seconds, process.returncode, stderr, cpu)
    return Run(
        cpu.seconds,
        process.returncode,
        stderr,
        cpu,
        sampler.peak,
        sampler.kind,
        sampler.peak_processes,
        sampler.breakdown(),
        tuple(sampler.trace),
    )


# --- the machine and the libraries ------------------------------------------------------------


def machine() -> dict[str, str]:
    """Cores, CPU model and memory of this machine."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    ram = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kib / 2**20:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    return {
        "cores": f"{usable} usable of {os.cpu_count()}",
        "cpu": model,
        "ram": ram,
        "os": platform.platform(),
        "python": sys.version.split()[0],
    }


LIBRARIES = (
    "specanim",
    "numpy",
    "vl-convert-python",
    "av",
    "pillow",
    "altair",
    "umap-learn",
    "plotnine",
    "matplotlib",
    "pandas",
    "imageio-ffmpeg",
)


def versions() -> dict[str, str]:
    """Installed versions of the libraries the benchmark exercises."""
    return installed(*LIBRARIES, missing="-")


def ffmpeg_version(exe: str) -> str:
    """The first line of ``ffmpeg -version``, shortened."""
    try:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "-"
    return " ".join(out.splitlines()[0].split()[:3]) if out else "-"


# --- video frames -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Video:
    """What a decoded video holds."""

    width: int
    height: int
    frames: int
    codec: str
    picture: np.ndarray  # (height, width, 3) uint8: the frame asked for


def decode(path: Path, index: int) -> Video:
    """Decode path with PyAV: its size, frame count, codec and the RGB frame number index
    (negative counts from the end)."""
    import av

    pictures: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        width, height = stream.codec_context.width, stream.codec_context.height
        for frame in container.decode(stream):
            pictures.append(frame.to_ndarray(format="rgb24"))
    return Video(width, height, len(pictures), codec, pictures[index])


def side_by_side(
    left: np.ndarray, right: np.ndarray, captions: tuple[str, str], path: Path
) -> None:
    """Save two frames next to each other, each captioned under it, as one PNG."""
    from PIL import Image, ImageDraw

    gap, band = 16, 36
    height = max(left.shape[0], right.shape[0])
    canvas = Image.new("RGB", (left.shape[1] + gap + right.shape[1], height + band), "#404040")
    canvas.paste(Image.fromarray(left), (0, 0))
    canvas.paste(Image.fromarray(right), (left.shape[1] + gap, 0))
    draw = ImageDraw.Draw(canvas)
    for x, text in ((8, captions[0]), (left.shape[1] + gap + 8, captions[1])):
        draw.text((x, height + 10), text, fill="white")
    canvas.save(path)


def machine_cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def save_picture(picture: np.ndarray, path: Path) -> None:
    """Save an RGB frame as a PNG."""
    from PIL import Image

    Image.fromarray(picture).save(path)
