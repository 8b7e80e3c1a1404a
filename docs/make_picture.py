"""Make the README's picture, docs/assets/digits_umap.gif, from the shipped spec
specs/digits_umap.yaml: the same scene, smaller and at fewer frames, so it stays well under 1 MB.

``python docs/make_picture.py [OUT]`` writes it (default: the committed file). The same spec,
data and library versions give the same bytes, so tests/test_picture.py renders it again and
compares.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import specanim

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "digits_umap.yaml"
PICTURE = ROOT / "docs" / "assets" / "digits_umap.gif"

# The shipped scene at 480x350, every fourth epoch at 10 frames/s: about 5 s of animation.
OVERRIDES: dict[str, Any] = {
    "title": "UMAP learning the digits",  # the spec's own title is wider than 480 pixels
    "width": 480,
    "height": 350,
    "panels.scatter.point_size": 3,
    "timeline.fps": 10,
    "timeline.every": 4,
    "timeline.hold_end": 1.5,
}


def make(out: Path) -> Path:
    """Render the picture to out (a .gif), without its manifest, and return its path."""
    scene = specanim.load(SPEC, cache="off", **OVERRIDES)
    with tempfile.TemporaryDirectory() as folder:
        rendered = scene.render(Path(folder) / out.name, workers=1).path
        shutil.move(rendered, out)
    return out


if __name__ == "__main__":
    print(make(Path(sys.argv[1]) if len(sys.argv) > 1 else PICTURE))
