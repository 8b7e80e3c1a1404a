"""The fonts are specanim's, not the host's: a font of the same family installed on the host
changes no pixel.

vl-convert reads the host's fonts from the folders the fontconfig file ``FONTCONFIG_FILE``
names lists: each process here gets a home whose fontconfig file lists its ``~/.fonts`` alone,
so a "Liberation Sans" put there is the host's font, whatever fonts the machine has (Debian's
``fonts-liberation``, which Chromium brings, is a Liberation Sans too).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from specanim.fonts import FAMILY

SCENE = """
    version: 1
    title: "Epoch {epoch} of {epochs}"
    subtitle: "digits, PCA"
    width: 200
    height: 140
    dataset: {type: sklearn-digits, limit: 100}
    reducer: {type: pca}
    panels:
      - type: scatter
        point_size: 3
      - type: progress-bar
    timeline:
      fps: 5
      hold_end: 0
"""

# vl-convert alone, as any program would use it: it reads the host's fonts.
PLAIN = """
import hashlib, json, vl_convert
spec = {"mark": {"type": "text", "fontSize": 30, "font": "Liberation Sans"},
        "data": {"values": [{}]}, "encoding": {"text": {"value": "Epoch 12 of 200"}}}
print(hashlib.sha256(vl_convert.vegalite_to_png(json.dumps(spec))).hexdigest())
"""


def fake_font(path: Path) -> None:
    """A font of the family vl-convert carries whose letters are plain boxes."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    chars = [chr(c) for c in range(33, 127)]
    names = [".notdef", "space", *(f"g{ord(c)}" for c in chars)]
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        if name != "space":
            pen.moveTo((60, 0))
            pen.lineTo((60, 700))
            pen.lineTo((540, 700))
            pen.lineTo((540, 0))
            pen.closePath()
        glyphs[name] = pen.glyph()
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({32: "space", **{ord(c): f"g{ord(c)}" for c in chars}})
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (600, 60) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    names = {"familyName": FAMILY, "styleName": "Regular", "fullName": FAMILY}
    builder.setupNameTable({**names, "psName": FAMILY.replace(" ", "")})
    builder.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    path.parent.mkdir(parents=True)
    builder.save(str(path))


def run(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A process whose home is home, and whose fontconfig file lists home's fonts alone."""
    fonts = home / ".fonts"
    fonts.mkdir(parents=True, exist_ok=True)
    config = home / "fonts.conf"
    config.write_text(f"<?xml version='1.0'?><fontconfig><dir>{fonts}</dir></fontconfig>\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "FONTCONFIG_"))}
    env["FONTCONFIG_FILE"] = str(config)
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**env, "HOME": str(home)},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_a_host_font_of_the_same_family_changes_no_pixel(tmp_path: Path) -> None:
    pytest.importorskip("fontTools")
    spec = tmp_path / "scene.yaml"
    spec.write_text(textwrap.dedent(SCENE), encoding="utf-8")
    bare, fonted = tmp_path / "bare", tmp_path / "fonted"
    bare.mkdir()
    fake_font(fonted / ".fonts" / "FakeLiberationSans.ttf")
    # The test means something: this host's vl-convert, used plainly, draws with that font.
    plain = [run(home, "-c", PLAIN, cwd=tmp_path).stdout for home in (bare, fonted)]
    assert plain[0] != plain[1]

    drawn = []
    for home in (bare, fonted):
        out = tmp_path / f"frames-{home.name}"
        render = ("render", str(spec), "-o", str(out), "--workers", "2", "-q")
        run(home, "-m", "specanim", *render, cwd=tmp_path)
        still = tmp_path / f"still-{home.name}.png"
        run(home, "-m", "specanim", "still", str(spec), "-o", str(still), "-q", cwd=tmp_path)
        frames = json.loads((tmp_path / f"{out.name}.manifest.json").read_text())["frames"]
        drawn.append((frames["sha256"], hashlib.sha256(still.read_bytes()).hexdigest()))
    assert drawn[0] == drawn[1]


def validate(tmp_path: Path, font: str) -> subprocess.CompletedProcess[str]:
    """``specanim validate`` of the scene with that font."""
    spec = tmp_path / "scene.yaml"
    spec.write_text(textwrap.dedent(SCENE) + f"font: {json.dumps(font)}\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "specanim", "validate", "scene.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("font", ["DejaVu Sans", "liberation sans", "serif"])
def test_a_font_that_would_draw_no_text_is_refused(tmp_path: Path, font: str) -> None:
    result = validate(tmp_path, font)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"scene.yaml:16: font: '{font}' draws no text: specanim draws text only with "
        "vl-convert's own Liberation Sans (never the host's fonts, so that frames are the same "
        "on every machine); use 'Liberation Sans'"
    ]


@pytest.mark.parametrize("font", ["Liberation Sans", "sans-serif", "'Liberation Sans', serif"])
def test_the_fonts_that_draw_text_pass(tmp_path: Path, font: str) -> None:
    result = validate(tmp_path, font)
    assert result.returncode == 0, result.stderr
