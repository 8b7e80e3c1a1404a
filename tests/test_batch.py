"""Many specs and sweeps in one render call: real fits, real videos decoded, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import pytest

import specanim
from specanim.api.sweeps import make_jobs, parse_sweep
from specanim.errors import UserError

from .conftest import Run

SCENE = """
width: 160
height: 120
margin: 4
dataset: {{type: sklearn-digits, limit: {points}}}
reducer: {reducer}
panels:
  - type: progress-bar
  - type: scatter
timeline: {{fps: 10}}
"""
TSNE = "{type: tsne, early_exaggeration_iter: 10, n_iter: 10, every: 5, perplexity: 10}"
PCA = "{type: pca}"


def scene(reducer: str = PCA, points: int = 200) -> str:
    return SCENE.format(reducer=reducer, points=points)


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def manifest_of(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".manifest.json").read_text())


def rows(stderr: str) -> list[str]:
    """The summary table's job rows (between its header and its total)."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("job "))
    return [line for line in lines[start + 1 : -1] if not line.startswith(" ")]


def test_a_2x2_umap_sweep_fits_each_pair_and_writes_four_videos(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    write_spec(scene("{type: umap, epochs: 20}", points=600), "digits.yaml")
    result = specanim(
        "render", "digits.yaml", "-w", "2",
        "--sweep", "reducer.n_neighbors=5,15", "--sweep", "reducer.min_dist=0.05,0.5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    keys = set()
    for n_neighbors in (5, 15):
        for min_dist in (0.05, 0.5):
            video = tmp_path / f"digits.n_neighbors={n_neighbors}.min_dist={min_dist}.mp4"
            recorded = manifest_of(video)
            umap = recorded["trajectories"]["umap"]
            assert (umap["reducer"]["n_neighbors"], umap["reducer"]["min_dist"]) == (
                n_neighbors,
                min_dist,
            )
            keys.add(umap["key"])
            assert frame_count(video) == recorded["frames"]["count"] == 20  # a frame per epoch
    assert len(keys) == 4
    table = rows(result.stderr)
    assert len(table) == 4 and all(row.endswith("written") for row in table)
    assert "digits.yaml n_neighbors=5 min_dist=0.05" in table[0]
    assert result.stderr.splitlines()[-1].startswith("4 of 4 written in ")


def test_three_specs_one_broken_two_videos_one_error_exit_2(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    write_spec(scene(TSNE), "a.yaml")
    write_spec(scene(PCA), "b.yaml")
    write_spec(scene(PCA).replace("type: scatter", "type: scatterr"), "broken.yaml")
    result = specanim("render", "a.yaml", "broken.yaml", "b.yaml", "-w", "2")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert frame_count(tmp_path / "a.mp4") == manifest_of(tmp_path / "a.mp4")["frames"]["count"]
    assert frame_count(tmp_path / "b.mp4") == 1
    assert not list(tmp_path.glob("broken*.mp4"))
    table = rows(result.stderr)
    assert [row.split()[0] for row in table] == ["a.yaml", "broken.yaml", "b.yaml"]
    errors = [line for line in result.stderr.splitlines() if "scatterr" in line]
    assert len(errors) == 1
    assert "bad input: broken.yaml:8: panels[1].type: unknown panel 'scatterr'" in errors[0]
    assert result.stderr.splitlines()[-1].startswith("2 of 3 written (1 bad input) in ")
    quiet = specanim("render", "a.yaml", "broken.yaml", "b.yaml", "-q")
    assert quiet.returncode == 2
    assert quiet.stderr.splitlines() == [errors[0].split("bad input: ")[1]]


PLUGIN = '''
from specanim.sdk import Panel, Reducer, hookimpl


class Diverging(Reducer):
    """A reducer whose fit always fails."""

    name = "diverging"

    def fit(self, data, progress):
        raise RuntimeError("diverged after 3 epochs")


class Boom(Panel):
    """A panel that fails once the animation is half done (in the render workers)."""

    name = "boom"

    def view(self, frame, box):
        if frame.values["progress"] > 0.5:
            raise ZeroDivisionError("a bar of no width")
        return {"width": box.width, "height": box.height, "mark": "rect", "data": {"values": [{}]}}


@hookimpl
def register_reducers(register):
    register(Diverging)


@hookimpl
def register_panels(register):
    register(Boom)
'''


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_failing_fit_or_panel_is_one_row_and_exit_1_the_others_render(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path, workers: str
) -> None:
    (tmp_path / "local.py").write_text(PLUGIN, encoding="utf-8")
    write_spec("plugins: [local.py]\n" + scene("{type: diverging}"), "fails.yaml")
    write_spec("plugins: [local.py]\n" + scene(TSNE).replace("progress-bar", "boom"), "boom.yaml")
    write_spec(scene(TSNE), "a.yaml")
    write_spec(scene(PCA).replace("scatter", "scatterr"), "broken.yaml")
    result = specanim("render", "fails.yaml", "boom.yaml", "a.yaml", "broken.yaml", "-w", workers)
    assert result.returncode == 1, result.stderr
    fails, boom, a, broken = rows(result.stderr)
    assert "failed: fails.yaml:7: reducer: reducer 'diverging' (plugin 'local.py')" in fails
    assert "failed in fit(): RuntimeError: diverged after 3 epochs" in fails
    assert "failed: boom.yaml:9: panels[0]: panel 'boom' (plugin 'local.py')" in boom
    assert "failed in view() of frame " in boom  # the first past half way
    assert ": ZeroDivisionError: a bar of no width" in boom
    assert a.split()[1] == "a.mp4" and a.endswith("written")
    assert "bad input: broken.yaml:" in broken
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == ["a.mp4"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_glob_renders_every_match_and_one_matching_nothing_is_one_line(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    (tmp_path / "specs").mkdir()
    write_spec(scene(PCA), "specs/one.yaml")
    write_spec(scene(PCA, points=100), "specs/two.yaml")
    result = specanim("render", "specs/*.yaml", "-o", "{spec}.gif")
    assert result.returncode == 0, result.stderr
    assert [row.split()[:2] for row in rows(result.stderr)] == [
        ["specs/one.yaml", "one.gif"],
        ["specs/two.yaml", "two.gif"],
    ]
    assert (tmp_path / "one.gif").exists() and (tmp_path / "two.gif").exists()
    nothing = specanim("render", "specs/*.yml")
    assert (nothing.returncode, nothing.stderr) == (
        2,
        "specs/*.yml: no spec file matches this pattern\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("a.yaml", "--sweep", "panels.scatter.point_size=2,3", "-o", "out/{spec}.mp4"),
            "out/a.mp4: two jobs would write it (a.yaml point_size=2; a.yaml point_size=3)",
        ),
        (
            ("a.yaml", "b.yaml"),
            "same.mp4: two jobs would write it (a.yaml; b.yaml)",
        ),
        (
            ("a.yaml", "b.yaml", "-o", "out/x.mp4"),
            "-o out/x.mp4: names one file for 2 renders",
        ),
        (
            ("a.yaml", "--sweep", "reducer.whiten=true,false", "-o", "out/{whitening}.mp4"),
            "-o out/{whitening}.mp4: unknown placeholder {whitening}: use {spec}, "
            "{reducer.whiten}, {whiten}",
        ),
        (
            ("a.yaml", "--sweep", "reducer.whiten"),
            "--sweep reducer.whiten: expected PATH=V1,V2,...",
        ),
        (
            ("a.yaml", "--sweep", "reducer.whiten=[true"),
            "--sweep reducer.whiten=[true: cannot read the values",
        ),
        (
            ("a.yaml", "--sweep", "reducer.whiten=true", "--sweep", "reducer.whiten=false"),
            "--sweep reducer.whiten: swept twice",
        ),
        (("a.yaml", "b.yaml", "--check"), "--check takes one spec"),
    ],
    ids=[
        "template-clash",
        "spec-clash",
        "one-name",
        "placeholder",
        "no-values",
        "yaml",
        "twice",
        "check",
    ],  # fmt: skip
)
def test_a_call_that_cannot_work_is_one_line_before_any_work(
    write_spec: Callable[..., Path],
    specanim: Run,
    tmp_path: Path,
    args: tuple[str, ...],
    message: str,
) -> None:
    (tmp_path / "out").mkdir()
    write_spec(scene(PCA) + "output: {path: same.mp4}\n", "a.yaml")
    write_spec(scene(PCA, points=100) + "output: {path: same.mp4}\n", "b.yaml")
    result = specanim("render", *args)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml", "out"]
    assert not list((tmp_path / "out").iterdir())


def test_a_bad_sweep_value_fails_its_jobs_only(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    write_spec(scene(PCA), "a.yaml")
    result = specanim("render", "a.yaml", "--sweep", "panels.scatter.point_size=3,-1")
    assert result.returncode == 2
    good, bad = rows(result.stderr)
    assert good.endswith("written") and (tmp_path / "a.point_size=3.mp4").exists()
    assert "bad input: --sweep panels.scatter.point_size=-1: panels[1].point_size:" in bad
    assert not (tmp_path / "a.point_size=-1.mp4").exists()


def test_jobs_that_share_a_fit_fit_it_once(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    write_spec(scene(TSNE), "a.yaml")
    for cache in ("refresh", "off"):
        result = specanim(
            "render", "a.yaml", "--sweep", "panels.scatter.point_size=2,3", "-v", "--cache", cache
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("fitted tsne") == (1 if cache == "refresh" else 0)
        assert "using the cached trajectory" not in result.stderr
    two = manifest_of(tmp_path / "a.point_size=2.mp4")
    three = manifest_of(tmp_path / "a.point_size=3.mp4")
    assert two["trajectories"] == three["trajectories"]
    assert two["frames"]["sha256"] != three["frames"]["sha256"]


RECORDING = '''
import os

import numpy as np

from specanim.sdk import Options, Reducer, Step, Trajectory, hookimpl


class RecordingOptions(Options):
    scale: float = 1.0


class Recording(Reducer[RecordingOptions]):
    """Points sliding outwards; each fit appends its process and parent to fits.txt."""

    name = "recording"

    def fit(self, data, progress):
        with open(os.environ["FITS_FILE"], "a") as log:
            log.write(f"{os.getpid()} {os.getppid()}\\n")
        base = np.stack([np.arange(len(data)), np.arange(len(data)) % 7], axis=1)
        steps = [base * (1 + k) * [self.options.scale, 1] for k in range(4)]
        return Trajectory(np.stack(steps).astype(np.float32), tuple(Step(k) for k in range(4)), 3)


@hookimpl
def register_reducers(register):
    register(Recording)
'''


@pytest.mark.parametrize("cache", ["use", "off"])
def test_distinct_fits_run_once_each_in_the_workers(
    write_spec: Callable[..., Path], tmp_path: Path, cache: str
) -> None:
    (tmp_path / "recording.py").write_text(RECORDING, encoding="utf-8")
    write_spec("plugins: [recording.py]\n" + scene("{type: recording}"), "a.yaml")
    fits = tmp_path / "fits.txt"
    result = subprocess.run(
        [sys.executable, "-m", "specanim", "render", "a.yaml", "-w", "2", "--cache", cache,
         "--sweep", "reducer.scale=1,-1", "--sweep", "panels.scatter.point_size=2,3"],
        cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
        env={**os.environ, "FITS_FILE": str(fits), "SPECANIM_CACHE_DIR": str(tmp_path / "c")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    made = [line.split() for line in fits.read_text().splitlines()]
    assert len(made) == 2  # two scales (x mirrored); each fit serves two point sizes
    cli = {parent for _, parent in made}
    assert len(cli) == 1 and int(cli.pop()) != os.getpid()  # made in workers of the CLI
    entries = list((tmp_path / "c").glob("trajectories/*.traj"))
    assert len(entries) == (2 if cache == "use" else 0)
    one = manifest_of(tmp_path / "a.scale=1.point_size=2.mp4")
    two = manifest_of(tmp_path / "a.scale=-1.point_size=2.mp4")
    scales = [m["trajectories"]["recording"]["reducer"]["scale"] for m in (one, two)]
    assert scales == [1, -1]
    assert one["frames"]["sha256"] != two["frames"]["sha256"]


def test_an_interrupted_batch_leaves_complete_outputs_only(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    write_spec(scene(TSNE), "a.yaml")
    process = subprocess.Popen(
        [sys.executable, "-m", "specanim", "render", "a.yaml", "-w", "2",
         "--sweep", "panels.scatter.point_size=1,2,3,4,5,6", "--frames", "0:3",
         "--set", "timeline.hold_end=20"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob("*.manifest.json")):  # the first job is written
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    (line,) = lines
    assert line.startswith("interrupted: ") and "outputs written: a.point_size=1.mp4" in line
    written = sorted(tmp_path.glob("*.mp4"))
    assert written and len(written) < 6
    for video in written:
        assert frame_count(video) == manifest_of(video)["frames"]["count"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_parse_sweep_keeps_each_value_as_written() -> None:
    sweep = parse_sweep("reducer=  {type: pca},{type: tsne, perplexity: 5}")
    assert sweep.texts == ("{type: pca}", "{type: tsne, perplexity: 5}")
    assert [o.value for o in sweep.overrides] == [
        {"type": "pca"},
        {"type": "tsne", "perplexity": 5},
    ]
    assert parse_sweep("title='a, b',c").texts == ("'a, b'", "c")
    assert [o.value for o in parse_sweep("title='a, b',c").overrides] == ["a, b", "c"]
    assert parse_sweep("reducer.min_dist=0.1, 0.5").texts == ("0.1", "0.5")
    with pytest.raises(UserError, match="no values"):
        parse_sweep("reducer.min_dist=")


def test_jobs_are_the_product_with_the_first_sweep_slowest() -> None:
    sweeps = [parse_sweep("reducer.a.epochs=1,2"), parse_sweep("reducers.b.epochs=3,4")]
    jobs = make_jobs([Path("s.yaml")], sweeps, ["seed=1"])
    assert [job.label for job in jobs] == [
        "s.yaml reducer.a.epochs=1 reducers.b.epochs=3",
        "s.yaml reducer.a.epochs=1 reducers.b.epochs=4",
        "s.yaml reducer.a.epochs=2 reducers.b.epochs=3",
        "s.yaml reducer.a.epochs=2 reducers.b.epochs=4",
    ]
    assert jobs[0].overrides[0] == "seed=1"


def test_render_many_from_python(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    spec = write_spec(scene(PCA), "a.yaml")
    batch = specanim.render_many(
        spec,
        sweep={"panels.scatter.point_size": [2, 3]},
        output=tmp_path / "{spec}-{point_size}.gif",
        quiet=True,
        timeline__fps=5,
    )
    assert batch.exit_code == 0
    assert [r.output for r in batch.results] == [tmp_path / "a-2.gif", tmp_path / "a-3.gif"]
    assert all(r.frames == 1 and r.status == "written" for r in batch.results)
    assert manifest_of(tmp_path / "a-2.gif")["frames"]["fps"] == 5


def test_a_sweep_on_dask_writes_the_same_bytes_as_on_local(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    write_spec(scene(TSNE), "a.yaml")
    (tmp_path / "local").mkdir()
    sweep = ("--sweep", "reducer.perplexity=5,10", "-w", "2")
    local = specanim("render", "a.yaml", *sweep, "-o", "local/{perplexity}.mp4")
    (tmp_path / "dask").mkdir()
    dask = specanim("render", "a.yaml", *sweep, "-o", "dask/{perplexity}.mp4", "--executor", "dask")
    assert local.returncode == 0 == dask.returncode, local.stderr + dask.stderr
    for value in (5, 10):
        video = f"{value}.mp4"
        assert (tmp_path / "dask" / video).read_bytes() == (tmp_path / "local" / video).read_bytes()
