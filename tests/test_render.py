"""End to end: specs rendered through the real plugins, vl-convert and encoders, then decoded."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from specanim_executors.local import Local, LocalOptions

from specanim import engine
from specanim.plugins import default_registry
from specanim.spec.palette import resolve, rgb
from specanim.spec.validate import load_plan

from .conftest import Run

SCENE = """
title: "Digits, epoch {{epoch}} of {{epochs}}"
subtitle: Each point is a handwritten digit
width: 320
height: 200
margin: 8
palette: paired
dataset: {{type: sklearn-digits, limit: {points}}}
reducer: {reducer}
panels:
  - type: progress-bar
  - type: scatter
  - type: digit-grid
layout:
  row:
    - column: [progress-bar, scatter]
      sizes: [1, 12]
      title: true
    - digit-grid
  sizes: [3, 1]
timeline: {{fps: 10, hold_end: 0.3}}
"""
UMAP = "{type: umap, epochs: 12, random_state: 7}"
PCA = "{type: pca}"


def scene(reducer: str = UMAP, points: int = 300) -> str:
    return SCENE.format(reducer=reducer, points=points)


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def png_folder(path: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(path.glob("*.png"))]


@pytest.fixture(scope="module")
def umap_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, engine.Prepared]:
    """The small UMAP scene rendered once to mp4, with two workers."""
    folder = tmp_path_factory.mktemp("umap")
    spec = folder / "scene.yaml"
    spec.write_text(scene(), encoding="utf-8")
    prepared = engine.prepare(load_plan(spec, default_registry(), folder / "out.mp4"))
    with Local(LocalOptions(workers=2)) as executor:
        result = engine.render(prepared, executor=executor)
    return result.path, prepared


def test_a_video_has_one_frame_per_epoch_plus_holds(
    umap_video: tuple[Path, engine.Prepared],
) -> None:
    path, prepared = umap_video
    frames = decode(path)
    assert len(prepared.trajectory) == 12
    assert len(frames) == 12 + 3  # 0.3 s hold at 10 fps
    assert {f.shape for f in frames} == {(200, 320, 3)}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.average_rate == 10
    moving = [
        np.abs(a.astype(int) - b).mean() for a, b in zip(frames[:11], frames[1:12], strict=True)
    ]
    assert min(moving) > 0.05  # the embedding moves in every epoch
    assert np.abs(frames[-1].astype(int) - frames[-2]).mean() < 0.5  # the hold repeats the last


def test_the_last_frame_shows_every_class_colour(umap_video: tuple[Path, engine.Prepared]) -> None:
    path, _ = umap_video
    last = decode(path)[-1].astype(int)
    scatter = last[40:, :230]  # below the title, left of the digit grid
    for color in resolve("paired", 10):
        distance = np.abs(scatter - rgb(color)).sum(axis=2)
        assert (distance < 60).sum() >= 3, f"no point of colour {color}"


def test_still_matches_the_frame_in_the_video(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    spec = write_spec(scene(PCA))
    assert specanim("render", spec, "-o", "frames", "-q").returncode == 0
    result = specanim("still", spec, "--frame", "-1", "-o", "last.png", "-q")
    assert result.returncode == 0, result.stderr
    frames = png_folder(tmp_path / "frames")
    assert len(frames) == 1 + 3
    assert np.array_equal(np.asarray(Image.open(tmp_path / "last.png").convert("RGB")), frames[-1])


def test_the_same_spec_gives_the_same_frames_with_any_number_of_workers(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    text = scene("{type: precomputed, path: traj.npz}", points=200)
    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.normal(size=(6, 200, 2)), axis=0).astype(np.float32)
    np.savez(tmp_path / "traj.npz", walk)
    spec = write_spec(text)
    outputs = []
    for workers in (1, 2, 2):
        out = tmp_path / f"w{workers}-{len(outputs)}"
        plan = load_plan(spec, default_registry(), out)
        with Local(LocalOptions(workers=workers)) as executor:
            engine.render(engine.prepare(plan, cache="off"), executor=executor)
        outputs.append(png_folder(out))
    assert len(outputs[0]) == 6 + 3
    for other in outputs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(outputs[0], other, strict=True))
    assert not np.array_equal(outputs[0][0], outputs[0][5])


def test_frames_selects_a_slice(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    spec = write_spec(scene(PCA).replace("hold_end: 0.3", "hold_end: 2"))
    result = specanim("render", spec, "-o", "part.gif", "--frames", "5:12", "-q")
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "part.gif") as gif:
        assert gif.n_frames == 7


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("type: scatter", "type: scater"),
            ":11: panels[1].type: unknown panel 'scater' (did you mean 'scatter'?)",
        ),
        (("margin: 8", "margin: eight"), ":5: margin: input should be a valid integer"),
        (
            ("type: progress-bar", "type: progress-bar\n    colour: red"),
            ":11: panels[0].colour: unknown key 'colour' (did you mean 'color'?)",
        ),
        (
            ("{type: sklearn-digits, limit: 300}", "{type: file, path: nowhere.npz}"),
            ":7: dataset.path: file not found",
        ),
    ],
    ids=["unknown-panel", "wrong-type", "misspelled-key", "missing-data-file"],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    write_spec: Callable[..., Path],
    specanim: Run,
    tmp_path: Path,
    change: tuple[str, str],
    message: str,
) -> None:
    spec = write_spec(scene(PCA).replace(*change))
    (tmp_path / "out.mp4").write_bytes(b"an older render")
    result = specanim("render", spec, "-o", "out.mp4")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(str(spec)) and message in lines[0]
    assert (tmp_path / "out.mp4").read_bytes() == b"an older render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "scene.yaml"]


def test_the_readme_test_command_is_what_ci_runs() -> None:
    """CI runs the README's test command as it is written, which installs no PyTorch, then the
    tests of the reducers on PyTorch (marked torch) after installing it."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    command = readme.split("# 2. ", 1)[1].splitlines()[1]
    assert command.endswith(".venv/bin/pytest -q") and "torch" not in command
    assert "methods" not in command  # the extra that brings trimap, pymde and so PyTorch
    ci = (root / ".ci" / "run").read_text().splitlines()
    assert command in ci
    assert any("pytest -q -m torch" in line for line in ci[ci.index(command) :])
    assert os.access(root / ".ci" / "run", os.X_OK)


TSNE = "{type: tsne, early_exaggeration_iter: 30, n_iter: 40, every: 5, perplexity: 10}"


def test_a_trajectory_is_fitted_once_and_refitted_when_it_must_be(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    spec = write_spec(scene(TSNE, points=150))

    def render(*flags: str) -> str:
        result = specanim(
            "render", spec, "-o", "out.gif", "-q", "-v", "-w", "1", "--frames", ":2", *flags
        )
        assert result.returncode == 0, result.stderr
        return result.stderr

    assert "fitted tsne" in render()
    assert "using the cached trajectory" in render()
    assert "fitted tsne" in render("--cache", "refresh")
    assert "using the cached trajectory" not in render("--cache", "off")
    spec.write_text(scene(TSNE.replace("}", ", random_state: 3}"), points=150))
    assert "fitted tsne" in render()
    cache = Path(os.environ["SPECANIM_CACHE_DIR"]) / "trajectories"
    (entry,) = [
        p
        for p in cache.iterdir()
        if p.stat().st_mtime == max(q.stat().st_mtime for q in cache.iterdir())
    ]
    entry.write_bytes(entry.read_bytes()[:-100])  # a damaged entry
    log = render()
    assert "damaged trajectory cache entry" in log and "fitted tsne" in log


def texts(view: object) -> list[str]:
    """Every text value in a Vega-Lite spec."""
    if isinstance(view, dict):
        own = [view["text"]["value"]] if isinstance(view.get("text"), dict) else []
        return own + [t for v in view.values() for t in texts(v)]
    return [t for v in view for t in texts(v)] if isinstance(view, list) else []


def test_tsne_frames_show_both_phases(write_spec: Callable[..., Path]) -> None:
    text = scene(TSNE, points=150).replace(
        "Digits, epoch {epoch} of {epochs}", "{phase} {iteration}"
    )
    prepared = engine.prepare(load_plan(write_spec(text), default_registry()))
    frames = [prepared.frame(i) for i in range(len(prepared.shots))]
    phases = [f.values["phase"] for f in frames]
    assert phases[0] == "exaggeration" and phases[-1] == "embedding"
    assert frames[-1].values["progress"] == 1.0
    middle = phases.index("embedding")
    title = texts(prepared.composer.frame_spec(frames[middle]))[0]
    assert title == f"embedding {frames[middle].values['iteration']}"


def test_an_exported_long_table_renders_the_same_frames_as_the_cache(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    from specanim_reducers.precomputed import write_long_table

    fitted = load_plan(
        write_spec(scene(TSNE, points=150), "fit.yaml"), default_registry(), tmp_path / "a"
    )
    prepared = engine.prepare(fitted)
    write_long_table(prepared.trajectory, prepared.data, tmp_path / "epochs.parquet")
    text = scene("{type: precomputed, path: epochs.parquet}", points=150)
    table = load_plan(write_spec(text, "table.yaml"), default_registry(), tmp_path / "b")
    engine.render(prepared)
    engine.render(engine.prepare(table))
    a, b = png_folder(tmp_path / "a"), png_folder(tmp_path / "b")
    assert len(a) == len(b) == len(prepared.trajectory) + 3
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
