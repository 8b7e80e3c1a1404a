"""Reproducible renders: the same bytes twice in every format, the manifest beside each output,
``render --check``, ``verify``, and renders that cannot be reproduced (``random_state: null``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from specanim.store import manifest

from .conftest import Run

SCENE = """
    version: 1
    title: "{{epoch}} of {{epochs}}"
    width: 160
    height: 120
    dataset: {dataset}
    reducer: {reducer}
    panels:
      - type: scatter
        point_size: 3
      - type: digit-grid
    timeline:
      fps: 10
      hold_end: 0.2
"""
DIGITS = "{type: sklearn-digits, limit: 200}"
PCA = "{type: pca}"
POINTS = 120


def scene(dataset: str = DIGITS, reducer: str = PCA) -> str:
    return textwrap.dedent(SCENE.format(dataset=dataset, reducer=reducer))


def write_points(folder: Path) -> Path:
    """A small .npz dataset of the file dataset: real digits' features and labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = folder / "points.npz"
    np.savez(path, X=digits.data[:POINTS].astype(np.float32), y=digits.target[:POINTS])
    return path


def write_walk(folder: Path, snapshots: int = 6) -> np.ndarray:
    """A precomputed trajectory of POINTS points (a random walk), saved as walk.npz."""
    walk = np.cumsum(np.random.default_rng(3).normal(size=(snapshots, POINTS, 2)), axis=0)
    np.savez(folder / "walk.npz", walk.astype(np.float32))
    return walk


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


# --- the same bytes --------------------------------------------------------------------------


FORMATS = ["a.mp4", "a.webm", "a.gif", "a.webp", "a.apng", "frames"]
RENDER_ALL = """
import dataclasses, sys
from pathlib import Path
from specanim import engine
from specanim.store import manifest
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

spec, folder = Path(sys.argv[1]), Path(sys.argv[2])
prepared = engine.prepare(load_plan(spec, default_registry()))
for name in sys.argv[3:]:
    plan = load_plan(spec, default_registry(), folder / name)  # its ending picks the encoder
    engine.render(dataclasses.replace(prepared, plan=plan))
"""


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scene rendered to every format twice, by two processes: folders one/ and two/."""
    folder = tmp_path_factory.mktemp("formats")
    spec = folder / "scene.yaml"
    spec.write_text(scene(), encoding="utf-8")
    for run in ("one", "two"):
        (folder / run).mkdir()
        # Another process, at another time: FFmpeg seeds what it randomises per process.
        subprocess.run(
            [sys.executable, "-c", RENDER_ALL, spec, folder / run, *FORMATS],
            check=True,
            timeout=600,
        )
    return folder


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_gives_the_same_bytes_twice(renders: Path, name: str) -> None:
    first, second = (manifest.digest(renders / run / name) for run in ("one", "two"))
    assert first == second
    recorded = json.loads(manifest.path_for(renders / "one" / name).read_text())
    assert recorded["encoder"]["type"] == (name.partition(".")[2] or "png")
    assert len(first.get("files", [1])) > 0
    texts = [manifest.path_for(renders / run / name).read_text() for run in ("one", "two")]
    assert texts[0] == texts[1]


def test_two_renders_give_identical_files_and_manifests_on_any_number_of_cores(
    specanim: Run, tmp_path: Path
) -> None:
    (tmp_path / "scene.yaml").write_text(scene(), encoding="utf-8")
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "a.mp4", "-q"))
    one_core = subprocess.run(
        [sys.executable, "-m", "specanim", "render", "-w", "1", "scene.yaml", "-o", "b.mp4", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        # x264 picks its thread count from the cores it may use, and writes it into the file.
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
        timeout=600,
    )
    ok(one_core)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    texts = [(tmp_path / f"{n}.mp4.manifest.json").read_text() for n in "ab"]
    assert texts[0] == texts[1]
    assert str(tmp_path) not in texts[0]  # no absolute paths: the same manifest anywhere
    recorded = json.loads(texts[0])
    frames = recorded["frames"]
    assert (frames["width"], frames["height"], frames["fps"]) == (160, 120, 10)
    assert frames["count"] == len(frames["sha256"]) == 3  # one snapshot + 0.2 s held
    assert recorded["output"]["sha256"] == manifest.digest(tmp_path / "a.mp4")["sha256"]
    assert recorded["spec"]["dataset"] == {"type": "sklearn-digits", "limit": 200}
    assert recorded["reproducible"] is True
    [trajectory] = recorded["trajectories"].values()
    assert trajectory["reducer"]["type"] == "pca" and len(trajectory["key"]) == 64
    assert recorded["encoder"]["type"] == "mp4"
    assert {"specanim", "vl-convert-python", "av", "scikit-learn"} <= {
        "specanim",
        *recorded["versions"]["libraries"],
    }


# --- render --check ---------------------------------------------------------------------------


def test_check_passes_then_names_the_frame_after_a_data_value_changed(
    specanim: Run, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    points = write_points(tmp_path)
    write_spec(scene(dataset="{type: file, path: points.npz, image_shape: [8, 8]}"))
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "out.gif", "-q"))
    passed = ok(specanim("render", "-w", "1", "scene.yaml", "-o", "out.gif", "--check"))
    assert "all 3 frames match" in passed.stdout and "byte-identical" in passed.stdout
    assert not list(tmp_path.glob(".out.gif*"))  # nothing written beside the output

    with np.load(points) as arrays:
        features, labels = arrays["X"].copy(), arrays["y"]
    features[7, 20] += 5
    np.savez(points, X=features, y=labels)
    before = (tmp_path / "out.gif").stat().st_mtime_ns
    failed = specanim("render", "-w", "1", "scene.yaml", "-o", "out.gif", "--check")
    assert failed.returncode == 1, failed.stderr
    assert "out.gif: frame 0 (at 0.00 s) is the first whose pixels differ" in failed.stderr
    assert "the data differ" in failed.stderr
    assert (tmp_path / "out.gif").stat().st_mtime_ns == before  # --check never writes


def test_check_names_the_first_frame_that_differs(
    specanim: Run, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    write_points(tmp_path)
    walk = write_walk(tmp_path)
    write_spec(
        scene(
            "{type: file, path: points.npz, image_shape: [8, 8]}",
            "{type: precomputed, path: walk.npz}",
        )
    )
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "frames", "-q"))
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "frames", "--check"))
    # Points 0 and 1 (digits 0 and 1, two colours) trade places in snapshots 4 and 5: the
    # trajectory's bounds, and so frames 0 to 3, stay the same.
    walk[4:, [0, 1]] = walk[4:, [1, 0]]
    np.savez(tmp_path / "walk.npz", walk.astype(np.float32))
    failed = specanim("render", "-w", "1", "scene.yaml", "-o", "frames", "--check")
    assert failed.returncode == 1, failed.stderr
    assert "frames: frame 4 (at 0.40 s) is the first whose pixels differ" in failed.stderr
    assert "4 of 8 frames matched before it" in failed.stderr


def test_check_of_a_slice_renders_the_same_slice(
    specanim: Run, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    write_points(tmp_path)
    write_walk(tmp_path)
    write_spec(
        scene(
            "{type: file, path: points.npz, image_shape: [8, 8]}",
            "{type: precomputed, path: walk.npz}",
        )
    )
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "part.webp", "--frames", "2:5", "-q"))
    recorded = json.loads((tmp_path / "part.webp.manifest.json").read_text())
    assert (recorded["frames"]["first"], recorded["frames"]["count"]) == (2, 3)
    check = ok(specanim("render", "-w", "1", "scene.yaml", "-o", "part.webp", "--check"))
    assert "all 3 frames match" in check.stdout


def test_check_without_a_manifest_is_one_line_exit_2(
    specanim: Run, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    write_spec(scene())
    result = specanim("render", "-w", "1", "scene.yaml", "-o", "out.mp4", "--check")
    assert result.returncode == 2
    assert result.stderr == (
        "out.mp4: no manifest beside it (out.mp4.manifest.json): render it first\n"
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "scene.yaml"]


# --- verify ----------------------------------------------------------------------------------


def test_verify_a_file_and_a_folder(
    specanim: Run, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    write_spec(scene())
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "out.webm", "-q"))
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "frames", "-q"))
    assert "out.webm: matches its manifest (3 frames)" in ok(specanim("verify", "out.webm")).stdout
    ok(specanim("verify", "frames.manifest.json"))  # naming the manifest works too

    data = bytearray((tmp_path / "out.webm").read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / "out.webm").write_bytes(bytes(data))
    failed = specanim("verify", "out.webm")
    assert failed.returncode == 1
    assert failed.stderr.startswith("out.webm: differs from its manifest:")

    (tmp_path / "frames" / "frame_00001.png").write_bytes(b"not a png")
    (tmp_path / "frames" / "frame_00002.png").unlink()
    failed = specanim("verify", "frames")
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        "frames/frame_00001.png: differs from the manifest",
        "frames/frame_00002.png: missing (the manifest lists it)",
    ]

    (tmp_path / "frames.manifest.json").unlink()
    missing = specanim("verify", "frames")
    assert (missing.returncode, missing.stderr.count("\n")) == (2, 1)
    assert "frames: no manifest beside it" in missing.stderr


def test_a_failed_render_keeps_the_old_manifest_with_the_old_output(
    specanim: Run, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    write_spec(scene())
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "out.gif", "-q"))
    old = (tmp_path / "out.gif.manifest.json").read_text()
    # GIF refuses more than 50 fps when it opens the output: after the render has started.
    write_spec(scene().replace("fps: 10", "fps: 60"))
    failed = specanim("render", "-w", "1", "scene.yaml", "-o", "out.gif", "-q")
    assert failed.returncode == 2, failed.stderr
    assert (tmp_path / "out.gif.manifest.json").read_text() == old
    ok(specanim("verify", "out.gif"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.gif",
        "out.gif.manifest.json",
        "scene.yaml",
    ]


# --- random_state: null ----------------------------------------------------------------------


def test_null_random_state_is_never_cached_and_cannot_be_checked(
    specanim: Run, write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPECANIM_CACHE_DIR", str(tmp_path / "cache"))
    write_spec(scene(reducer="{type: pca, random_state: null}"))
    for _ in range(2):
        result = ok(specanim("render", "-w", "1", "scene.yaml", "-o", "out.mp4", "-v"))
        said = "pca makes a new layout every run (no fixed seed): fitting it, neither reading"
        assert said in result.stderr
    assert not list((tmp_path / "cache").rglob("*.traj"))
    recorded = json.loads((tmp_path / "out.mp4.manifest.json").read_text())
    assert recorded["reproducible"] is False
    assert [t["key"] for t in recorded["trajectories"].values()] == [None]

    check = specanim("render", "-w", "1", "scene.yaml", "-o", "out.mp4", "--check")
    assert check.returncode == 2
    assert "cannot be reproduced" in check.stderr and check.stderr.count("\n") == 1

    write_spec(scene())  # a fixed seed now; the manifest still describes the unreproducible one
    ok(specanim("render", "-w", "1", "scene.yaml", "-o", "seeded.mp4", "-q"))
    write_spec(scene(reducer="{type: pca, random_state: null}"))
    check = specanim("render", "-w", "1", "scene.yaml", "-o", "seeded.mp4", "--check")
    assert check.returncode == 2
    assert check.stderr.startswith("scene.yaml:6: reducer: pca makes a new layout every run")
