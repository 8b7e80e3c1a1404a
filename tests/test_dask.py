"""The dask executor on real clusters on 127.0.0.1: the same bytes as the local pool, a worker
killed mid-render, every worker killed and Ctrl-C mid-render, a scheduler that does not answer
or is not one, and a worker with another specanim."""

from __future__ import annotations

import http.server
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from specanim_executors.dask import Dask, DaskOptions  # noqa: E402
from specanim_executors.local import Local, LocalOptions  # noqa: E402

from specanim import engine  # noqa: E402
from specanim.components import Executor  # noqa: E402
from specanim.errors import UserError  # noqa: E402
from specanim.plugins import default_registry  # noqa: E402
from specanim.spec.validate import load_plan  # noqa: E402
from specanim.store import manifest  # noqa: E402

from .conftest import Run  # noqa: E402
from .test_faults import HANG, OLDER, Render, descendants, write_scene  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[Dask]:
    """A local cluster of two worker processes, one thread each, for the whole module."""
    with Dask(DaskOptions(workers=2)) as executor:
        yield executor


def render(spec: Path, out: Path, executor: Executor | None, **kwargs: object) -> bytes:
    plan = load_plan(spec, default_registry(), out)
    engine.render(engine.prepare(plan), executor=executor, **kwargs)  # type: ignore[arg-type]
    return out.read_bytes()


def test_the_command_renders_on_a_local_cluster_the_same_bytes(
    tmp_path: Path, specanim: Run
) -> None:
    write_scene(tmp_path, 12)
    local = specanim("render", "scene.yaml", "-o", "local.mp4", "-q", "-w", "2")
    assert local.returncode == 0, local.stderr
    dask = Render(tmp_path, "-o", "dask.mp4", "-q", "--executor", "dask", "-w", "2")
    # No line from the cluster's logs, and nothing left in the temporary folder (the cluster's
    # scratch folders).
    assert dask.finish() == (0, [])
    assert list(dask.tmp.iterdir()) == []
    assert (tmp_path / "dask.mp4").read_bytes() == (tmp_path / "local.mp4").read_bytes()
    assert (tmp_path / "dask.mp4.manifest.json").read_bytes() == (
        tmp_path / "local.mp4.manifest.json"
    ).read_bytes().replace(b"local.mp4", b"dask.mp4")


def test_a_worker_killed_mid_render_has_its_frames_computed_again(
    tmp_path: Path, cluster: Dask
) -> None:
    spec = write_scene(tmp_path, 60)
    with Local(LocalOptions(workers=2)) as local:
        expected = render(spec, tmp_path / "local.mp4", local)
    assert cluster.client is not None
    pids = cluster.client.run(os.getpid)
    assert len(pids) == 2
    killed: list[int] = []

    class KillingOnce(manifest.Writer):
        """Records the manifest, and kills a worker as frame 10 is written."""

        def frame(self, index: int, digest: str) -> None:
            super().frame(index, digest)
            if index == 10 and not killed:
                victim = min(pids.values())
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

    out = tmp_path / "dask.mp4"
    prepared = engine.prepare(load_plan(spec, default_registry(), out))
    engine.render(prepared, executor=cluster, recorder=KillingOnce(prepared, 0))
    assert out.read_bytes() == expected
    assert killed
    deadline = time.monotonic() + 60  # the nanny starts a worker in the killed one's place
    while len(cluster.client.run(os.getpid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    after = set(cluster.client.run(os.getpid).values())
    assert killed[0] not in after


def dask_workers(pids: set[int]) -> list[int]:
    """The worker processes of a local Dask cluster among pids: a nanny spawns each."""
    found = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # it has ended
            continue
        if b"multiprocessing.spawn" in command and b"--multiprocessing-fork" in command:
            found.append(pid)
    return found


def rendering_on_dask(folder: Path) -> Render:
    """A render of scene_folder's scene on a local cluster of two workers, once both work and
    frames reach the partial output."""
    render = Render(folder, "-o", "out.mp4", "--executor", "dask", "-w", "2")

    def ready() -> bool:
        partial = [p for p in folder.iterdir() if ".partial" in p.name]
        return (
            len(dask_workers(render.seen)) == 2
            and bool(partial)
            and partial[0].stat().st_size > 1000
        )

    render.wait_until(ready)
    return render


def every_worker_killed(render: Render) -> None:
    for pid in dask_workers(render.seen):
        os.kill(pid, signal.SIGKILL)


def ctrl_c(render: Render) -> None:
    os.killpg(render.process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole group


@pytest.mark.parametrize(
    ("fault", "code", "line"),
    [
        (
            every_worker_killed,
            1,
            r"error: a render worker died \(the last Dask worker of the local cluster that held "
            r"the scene\) while rendering frame \d+(, frame \d+)*",
        ),
        (ctrl_c, 130, "interrupted: no output was written"),
    ],
    ids=["every-worker-killed", "ctrl-c"],
)
def test_a_fault_mid_render_on_a_local_cluster_is_one_line_leaving_nothing(
    tmp_path: Path, fault: Callable[[Render], None], code: int, line: str
) -> None:
    write_scene(tmp_path, 200)  # long enough to be mid-render when the fault comes
    (tmp_path / "out.mp4").write_bytes(OLDER)
    render = rendering_on_dask(tmp_path)
    fault(render)
    while render.process.poll() is None:  # the workers nannies start meanwhile count too
        render.seen |= descendants(render.process.pid)
        time.sleep(0.05)
    returncode, lines = render.finish()  # no process left, no traceback, no warning
    assert returncode == code
    assert len(lines) == 1 and re.fullmatch(line, lines[0]), lines
    assert (tmp_path / "out.mp4").read_bytes() == OLDER
    assert render.left() == ["out.mp4", "scene.yaml", "traj.npz"]  # tmp/ is empty


class _Serving(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a connection its handler holds ends with the test


class _AnswersAtOnce(socketserver.BaseRequestHandler):
    """Answers whatever it reads with an HTTP error at once, as many web servers do with a
    request line that is not text."""

    def handle(self) -> None:
        self.request.recv(1024)
        self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        time.sleep(HANG)


class _Silent(socketserver.BaseRequestHandler):
    """Accepts a connection, and never answers."""

    def handle(self) -> None:
        time.sleep(HANG)


@pytest.mark.parametrize(
    ("handler", "problem"),
    [
        (
            http.server.SimpleHTTPRequestHandler,  # it waits for the line a request starts with
            "no Dask scheduler answered within 1 s (no answer to its handshake)",
        ),
        (
            _AnswersAtOnce,
            "does not answer as a Dask scheduler (its answer is not in Dask's protocol)",
        ),
        (_Silent, "no Dask scheduler answered within 1 s (no answer to its handshake)"),
    ],
    ids=["http-server", "http-answer-at-once", "silent"],
)
def test_a_scheduler_address_where_something_else_answers_is_one_line(
    tmp_path: Path, specanim: Run, handler: type[socketserver.BaseRequestHandler], problem: str
) -> None:
    spec = write_scene(tmp_path, 3)
    spec.write_text(spec.read_text() + "executor: {type: dask, timeout: 1}\n", encoding="utf-8")
    with _Serving(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        address = f"tcp://127.0.0.1:{server.server_address[1]}"
        result = specanim("render", spec, "-o", "out.mp4", "--scheduler", address)
        server.shutdown()
    assert (result.returncode, result.stderr) == (
        2,
        f"--scheduler {address}: {problem}; a Dask scheduler listens on port 8786 unless told "
        "otherwise, its dashboard (HTTP) on 8787\n",
    )
    assert not (tmp_path / "out.mp4").exists()


def test_a_scheduler_that_does_not_answer_is_one_line(tmp_path: Path, specanim: Run) -> None:
    spec = write_scene(tmp_path, 3)
    spec.write_text(spec.read_text() + "executor: {type: dask, timeout: 1}\n", encoding="utf-8")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    result = specanim("render", spec, "-o", "out.mp4", "--scheduler", address)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"--scheduler {address}: no Dask scheduler answered within 1 s (")
    assert not (tmp_path / "out.mp4").exists()
    result = specanim("render", spec, "-o", "out.mp4", "--scheduler", "127.0.0.1")
    assert (result.returncode, result.stderr) == (
        2,
        "--scheduler 127.0.0.1: not a Dask scheduler address (missing port number in address "
        "'127.0.0.1')\n",
    )


def test_a_worker_with_another_specanim_is_one_line_before_any_work(tmp_path: Path) -> None:
    # A worker whose Python finds another specanim's metadata first on its path, as a worker
    # with another release installed does.
    other = tmp_path / "other"
    (other / "specanim-0.0.1.dist-info").mkdir(parents=True)
    (other / "specanim-0.0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: specanim\nVersion: 0.0.1\n", encoding="utf-8"
    )
    with distributed.LocalCluster(
        n_workers=0,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as scheduler:
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", scheduler.scheduler_address]
            + ["--nthreads", "1", "--no-dashboard"],
            env={**os.environ, "PYTHONPATH": str(other)},
            cwd=tmp_path,  # not the checkout, whose specanim.egg-info would come first
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with distributed.Client(scheduler, set_as_default=False) as client:
                client.wait_for_workers(1, timeout=120)
            options = DaskOptions(scheduler=scheduler.scheduler_address)
            with pytest.raises(UserError) as caught, Dask(options):
                pass
        finally:
            worker.terminate()
            worker.wait(60)
    (line,) = caught.value.lines()
    assert line.startswith("dask worker tcp://127.0.0.1:")
    assert line.endswith(
        ": specanim 0.1.0 is needed (as here), the worker has 0.0.1: install the same versions "
        "on every worker"
    )
