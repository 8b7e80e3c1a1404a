"""An output path replaces only a previous output of the same kind: a folder of other files, the
current folder, the spec itself, a pipe and a folder where a file was meant are refused before
any work, in one line (exit 2), and nothing is written or removed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import Run

SCENE = """
width: 64
height: 64
dataset: {type: sklearn-digits, limit: 60}
reducer: {type: pca}
panels: [{type: scatter}]
timeline: {fps: 4, hold_end: 0}
"""


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path below folder, with a file's bytes (None for a folder)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def refused(specanim: Run, folder: Path, *args: str | Path, cwd: Path | None = None) -> str:
    """The one line specanim render ARGS says, having changed nothing in folder."""
    before = tree(folder)
    done = specanim("render", *args, "-q", "-w", "1", cwd=cwd)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert tree(folder) == before
    return done.stderr.strip()


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    spec = tmp_path / "scene.yaml"
    spec.write_text(SCENE, encoding="utf-8")
    return spec


def test_a_folder_of_other_files_is_never_replaced(
    specanim: Run, tmp_path: Path, scene: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work", encoding="utf-8")
    line = refused(specanim, tmp_path, "scene.yaml", "-o", "mine")
    assert "mine: a folder that holds other files (thesis.tex)" in line


@pytest.mark.parametrize("output", [".", "{here}/", "..", "{here}"])
def test_the_current_folder_and_those_it_lies_in_are_never_an_output(
    specanim: Run, tmp_path: Path, scene: Path, output: str
) -> None:
    line = refused(specanim, tmp_path, "scene.yaml", "-o", output.format(here=tmp_path))
    assert "the current folder (or one it lies in) cannot be an output" in line


def test_the_spec_itself_is_never_an_output(specanim: Run, tmp_path: Path) -> None:
    (tmp_path / "scene").write_text(SCENE, encoding="utf-8")  # a folder of frames is asked for
    assert "scene: is the spec itself" in refused(specanim, tmp_path, "scene", "-o", "scene")
    (tmp_path / "clip.mp4").write_text(SCENE, encoding="utf-8")  # its default output is itself
    assert "clip.mp4: is the spec itself" in refused(specanim, tmp_path, "clip.mp4")


def test_a_pipe_and_a_folder_named_like_a_file_are_refused(
    specanim: Run, tmp_path: Path, scene: Path
) -> None:
    os.mkfifo(tmp_path / "pipe.mp4")
    assert "pipe.mp4: is not a file or a folder" in refused(
        specanim, tmp_path, "scene.yaml", "-o", "pipe.mp4"
    )
    (tmp_path / "x.mp4").mkdir()
    assert "x.mp4: is a folder, and this output is a file" in refused(
        specanim, tmp_path, "scene.yaml", "-o", "x.mp4"
    )


def test_a_previous_output_or_an_empty_folder_is_replaced(
    specanim: Run, tmp_path: Path, scene: Path
) -> None:
    (tmp_path / "frames").mkdir()  # empty
    for _ in range(2):  # then a previous output, with its manifest beside it
        done = specanim("render", "scene.yaml", "-o", "frames", "-q", "-w", "1")
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "frames.manifest.json").is_file()
        assert (tmp_path / "frames" / "frame_00000.png").is_file()
    for _ in range(2):  # a file replaces the previous file
        done = specanim("render", "scene.yaml", "-o", "out.mp4", "-q", "-w", "1")
        assert done.returncode == 0, done.stderr


def test_from_python_a_bad_output_is_refused_before_the_fit(
    tmp_path: Path, scene: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import specanim
    from specanim.errors import UserError
    from specanim.store import cache

    monkeypatch.setenv("SPECANIM_CACHE_DIR", str(tmp_path / "cache"))  # a fit would land here
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError, match="a folder that holds other files"):
        specanim.load(scene).render(mine, workers=1)
    assert tree(mine) == {"notes.txt": b"mine"}
    assert cache.entries() == []  # nothing was fitted


PLUGIN = """
from specanim.sdk import hookimpl


@hookimpl
def register_panels(register):
    pass
"""


def test_the_data_a_local_plugin_and_the_cache_are_never_an_output(
    specanim: Run, tmp_path: Path
) -> None:
    import numpy as np

    np.savez(tmp_path / "walk.npz", np.zeros((3, 60, 2), np.float32))
    (tmp_path / "mine").mkdir()  # a local plugin: a package
    (tmp_path / "mine" / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    spec = SCENE.replace("{type: pca}", "{type: precomputed, path: walk.npz}")
    (tmp_path / "scene.yaml").write_text(spec + "plugins: [mine]\n", encoding="utf-8")
    line = refused(specanim, tmp_path, "scene.yaml", "-o", "mine")
    assert "mine: is the local plugin 'mine'" in line
    before = tree(tmp_path)  # specanim still: any ending, with --vega-lite
    done = specanim("still", "scene.yaml", "-o", "walk.npz", "--vega-lite", "-q")
    assert done.returncode == 2, done.stderr
    assert "walk.npz: is the reducer path 'walk.npz'" in done.stderr
    assert tree(tmp_path) == before
    cache = Path(os.environ["SPECANIM_CACHE_DIR"])
    (cache / "trajectories").mkdir(parents=True, exist_ok=True)
    for inside in (cache, cache / "trajectories" / "x.mp4"):
        line = refused(specanim, tmp_path, "scene.yaml", "-o", str(inside))
        assert "lies in specanim's cache folder" in line
