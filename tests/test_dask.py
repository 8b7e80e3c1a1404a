"""The dask executor on real clusters on 127.0.0.1: the same bytes as the local pool, a worker
killed mid-render, a scheduler that does not answer, and a worker with another specanim."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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
from .test_faults import write_scene  # noqa: E402


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
    dask = specanim("render", "scene.yaml", "-o", "dask.mp4", "-q", "--executor", "dask", "-w", "2")
    assert dask.returncode == 0, dask.stderr
    assert dask.stderr == ""  # the cluster's own log lines stay out of the command's output
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
