"""The example plugin package, examples/specanim-centroids, installed as a user installs it and
used from a spec by the real ``specanim`` command, its panel pickled into render workers; and
its own tests, run against that installation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from specanim import engine
from specanim.draw.layout import title_height
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

from .conftest import ROOT
from .packages import copy_source, install_target, run_ok

PACKAGE = ROOT / "examples" / "specanim-centroids"
SPEC = PACKAGE / "specs" / "digits_centroids.yaml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The package installed into a folder of its own (the venv is left alone): the
    environment of a process that sees it, as if pip had installed it there."""
    source = copy_source(PACKAGE, tmp_path_factory.mktemp("source"))
    return install_target(source, tmp_path_factory.mktemp("site"))


def run(args: list[str | Path], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_ok([sys.executable, *args], cwd, env)


def without_centroids(spec: dict[str, Any], folder: Path) -> Path:
    """The same scene with the scatter alone in the layer: the reference the labels are
    found against."""
    plain = {**spec, "panels": [p for p in spec["panels"] if p["type"] != "centroids"]}
    plain["layout"] = {**spec["layout"], "layer": ["scatter"]}
    path = folder / "plain.yaml"
    path.write_text(yaml.safe_dump(plain), encoding="utf-8")
    return path


def expected_labels(plain: Path, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """The frame's pixels without labels, and where each class's median lands in them."""
    prepared = engine.prepare(load_plan(plain, default_registry()), cache="off")
    spec, composer = prepared.plan.spec, prepared.composer
    shot = prepared.shot_of(frame)
    camera = composer.boxes()["scatter"].camera
    position = prepared.frame(shot).position
    xy = camera.to_pixels(prepared.frame(shot).coords, position)
    labels = prepared.data.labels
    centres = np.array([np.median(xy[labels == k], axis=0) for k in range(labels.max() + 1)])
    top_left = np.array([spec.margin, spec.margin + title_height(spec)])
    return engine.still(prepared, frame), centres + top_left


def assert_labels_at_centres(image: np.ndarray, plain: Path, frame: int) -> None:
    """What the labels add to the frame lies at the classes' centres, one label at each."""
    reference, centres = expected_labels(plain, frame)
    changed = np.abs(image.astype(int) - reference.astype(int)).max(axis=2) > 60
    ys, xs = np.nonzero(changed)
    assert len(xs) > 200, "no labels drawn"
    distance = np.hypot(xs[:, None] - centres[:, 0], ys[:, None] - centres[:, 1])
    nearest = distance.min(axis=1)
    assert np.mean(nearest < 25) > 0.95, "labels drawn away from the centres"
    # every class's label: changed pixels close to its own centre
    assert ((distance < 12).sum(axis=0) > 5).all(), (distance < 12).sum(axis=0)


def test_the_example_spec_renders_with_labels_at_the_centroids(
    installed: dict[str, str], tmp_path: Path
) -> None:
    run(["-m", "specanim", "render", SPEC, "-o", "frames"], installed, tmp_path)
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert len(pngs) == 11  # one PCA layout held for a second at 10 fps
    image = np.asarray(Image.open(pngs[-1]).convert("RGB"))
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    assert_labels_at_centres(image, without_centroids(spec, tmp_path), -1)


def test_labels_follow_the_points_in_render_workers(
    installed: dict[str, str], tmp_path: Path
) -> None:
    """Three snapshots rendered by two worker processes: the panel is pickled into them."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(1797, 2))
    snapshots = np.stack([start * (1 + s) + [3 * s, 0] for s in range(3)]).astype(np.float32)
    np.savez(tmp_path / "moves.npz", snapshots=snapshots)
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    spec = {**spec, "reducer": {"type": "precomputed", "path": "moves.npz"}}
    spec["timeline"] = {"fps": 10}
    spec["panels"] = [
        {**p, "point_size": 2} if p["type"] == "scatter" else p for p in spec["panels"]
    ]
    moving = tmp_path / "moving.yaml"
    moving.write_text(yaml.safe_dump(spec), encoding="utf-8")
    run(["-m", "specanim", "render", moving, "-o", "frames", "--workers", "2"], installed, tmp_path)
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert len(pngs) == 3
    plain = without_centroids(spec, tmp_path)
    for frame, png in enumerate(pngs):
        assert_labels_at_centres(np.asarray(Image.open(png).convert("RGB")), plain, frame)


def test_the_example_package_passes_its_own_tests(
    installed: dict[str, str], tmp_path: Path
) -> None:
    run(["-m", "pytest", "-q", "-p", "no:cacheprovider", PACKAGE / "tests"], installed, tmp_path)
