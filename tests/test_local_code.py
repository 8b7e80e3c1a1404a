"""A local plugin's code is part of what decides the pixels: editing it makes ``--resume``
draw every frame anew, misses the trajectory cache, and ``--check`` names it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from specanim.errors import PluginError
from specanim.plugins import LocalPlugin, import_local

SCENE = """
    version: 1
    width: 160
    height: 100
    plugins: [scaled.py{more}]
    dataset: {{type: sklearn-digits, limit: 60}}
    reducer: {{type: scaled}}
    panels:
      - type: scatter
        point_size: 3
      - type: {panel}
    timeline:
      fps: 5
      duration: 2
"""

# A panel that writes a word in its box; it fails from frame fail_from on (never, if None).
PANEL = """
    from specanim.sdk import Panel, hookimpl

    WORD, FAIL_FROM = {word!r}, {fail_from!r}

    class Word(Panel):
        name = "word"

        def view(self, frame, box):
            if FAIL_FROM is not None and not frame.layout_only and frame.index >= FAIL_FROM:
                raise RuntimeError("a made-up fault")
            return {{
                "data": {{"values": [{{}}]}},
                "mark": {{"type": "text", "fontSize": 20, "color": self.scene.foreground}},
                "encoding": {{
                    "x": {{"value": box.width / 2}},
                    "y": {{"value": box.height / 2}},
                    "text": {{"value": WORD}},
                }},
            }}

    @hookimpl
    def register_panels(register):
        register(Word)
"""

# A reducer whose layout is the data's first two features times a factor, in three steps.
REDUCER = """
    import numpy as np
    from specanim.sdk import Options, Reducer, Step, Trajectory, hookimpl

    FACTOR = {factor!r}

    class Scaled(Reducer[Options]):
        name = "scaled"

        def fit(self, data, progress):
            base = data.features[:, :2] * FACTOR
            snapshots = np.stack([base * g for g in (0.2, 0.6, 1.0)]).astype(np.float32)
            progress(2, 2)
            return Trajectory(snapshots, tuple(Step(s) for s in range(3)), 2)

    @hookimpl
    def register_reducers(register):
        register(Scaled)
"""


def specanim(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "specanim", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def frames(folder: Path, output: str) -> list[str]:
    """The SHA-256 of every frame's pixels, from the output's manifest."""
    manifest = json.loads((folder / f"{output}.manifest.json").read_text(encoding="utf-8"))
    digests: list[str] = manifest["frames"]["sha256"]
    return digests


def test_resume_after_editing_a_local_panel_draws_every_frame_with_the_new_code(
    tmp_path: Path,
) -> None:
    write(tmp_path / "scene.yaml", SCENE.format(more=", word.py", panel="word"))
    write(tmp_path / "scaled.py", REDUCER.format(factor=1.0))
    write(tmp_path / "word.py", PANEL.format(word="old", fail_from=4))
    render = ("render", "scene.yaml", "-q", "-w", "1", "--resume")
    failed = specanim(tmp_path, *render, "-o", "out")
    assert failed.returncode != 0
    assert "4 of 10 frames kept; run again with --resume" in failed.stderr, failed.stderr

    write(tmp_path / "word.py", PANEL.format(word="new", fail_from=None))
    resumed = specanim(tmp_path, *render, "-o", "out")
    assert resumed.returncode == 0, resumed.stderr
    fresh = specanim(tmp_path, "render", "scene.yaml", "-q", "-o", "fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert frames(tmp_path, "out") == frames(tmp_path, "fresh")
    assert specanim(tmp_path, "verify", "out").returncode == 0

    # The manifest records the plugin by its path and its code's digest: --check names it.
    write(tmp_path / "word.py", PANEL.format(word="newer", fail_from=None))
    check = specanim(tmp_path, "render", "scene.yaml", "-o", "out", "--check")
    assert check.returncode == 1, check.stderr
    assert "versions differ: word.py local, sha256 " in check.stdout + check.stderr


def test_editing_a_local_reducer_misses_the_trajectory_cache(tmp_path: Path) -> None:
    write(tmp_path / "scene.yaml", SCENE.format(more="", panel="progress-bar"))
    still = ("still", "scene.yaml", "--frame", "-1", "-q")
    write(tmp_path / "scaled.py", REDUCER.format(factor=1.0))
    assert specanim(tmp_path, *still, "-o", "one.png").returncode == 0

    write(tmp_path / "scaled.py", REDUCER.format(factor=-1.0))  # the layout turned round
    cached = specanim(tmp_path, *still, "-o", "cached.png")
    assert cached.returncode == 0, cached.stderr
    fitted = specanim(tmp_path, *still, "-o", "fitted.png", "--cache", "off")
    assert fitted.returncode == 0, fitted.stderr
    one, cached_png, fitted_png = (tmp_path / f"{n}.png" for n in ("one", "cached", "fitted"))
    assert cached_png.read_bytes() == fitted_png.read_bytes()
    assert cached_png.read_bytes() != one.read_bytes()


def test_an_edited_plugin_is_imported_anew_and_one_edited_after_reading_is_refused(
    tmp_path: Path,
) -> None:
    write(tmp_path / "word.py", PANEL.format(word="old", fail_from=None))
    old = LocalPlugin.at("word.py", tmp_path)
    assert import_local(old).WORD == "old"

    write(tmp_path / "word.py", PANEL.format(word="new", fail_from=None))
    new = LocalPlugin.at("word.py", tmp_path)
    assert new.module != old.module and new.digest != old.digest
    assert import_local(new).WORD == "new"  # in the same process: not the old module

    # The file changed after the spec was read, before the plugin was imported (in a render
    # worker, say): refused.
    write(tmp_path / "word.py", PANEL.format(word="newer", fail_from=None))
    read = LocalPlugin.at("word.py", tmp_path)
    write(tmp_path / "word.py", PANEL.format(word="newest", fail_from=None))
    with pytest.raises(PluginError, match="plugin 'word.py' changed or went while specanim"):
        import_local(read)
