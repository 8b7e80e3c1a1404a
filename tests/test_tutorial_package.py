"""The tutorial's step 4 followed word for word: its files taken from docs/plugins.md's
listings, packaged as it says, installed by pip, and its spec rendered by the real command
with the package's panel beside the built-in plugin of the name the tutorial first used."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import ROOT
from .packages import OFFLINE, checkout_copy, fresh_venv, outside_env, pip, run_ok
from .test_docs import LISTING


def listings() -> dict[str, str]:
    """Each listing of docs/plugins.md by the file its first line names: its text."""
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    return {
        Path(m.group(1)).name: m.group(0).split("\n", 1)[1].rsplit("```", 1)[0]
        for m in LISTING.finditer(text)
    }


def test_the_tutorial_packaged_as_step_4_says_installs_and_renders(tmp_path: Path) -> None:
    files = listings()
    package = tmp_path / "specanim-legend"
    module = package / "src" / "specanim_legend"
    module.mkdir(parents=True)
    (module / "__init__.py").write_text(files["legend.py"], encoding="utf-8")
    (module / "py.typed").write_text("")
    (package / "pyproject.toml").write_text(files["legend-pyproject.toml"], encoding="utf-8")
    # A fresh environment: specanim built from the checkout and the tutorial's package, both
    # installed by pip (their dependencies seen through the test environment's packages).
    python = fresh_venv(tmp_path / "venv")
    specanim = checkout_copy(tmp_path / "specanim")
    pip(["--python", str(python), "install", *OFFLINE, str(specanim), str(package)])
    [typed] = (tmp_path / "venv").glob("lib/*/site-packages/specanim_legend/py.typed")
    env = outside_env()
    listing = run_ok([python, "-m", "specanim", "plugins"], tmp_path, env)
    assert listing.stderr == ""
    rows = [line.split(None, 3) for line in listing.stdout.splitlines()]
    assert ["panel", "my-legend", "specanim-legend"] in [row[:3] for row in rows]

    spec = tmp_path / "legend.yaml"
    text = re.sub(r"^plugins: \[legend.py\]\n", "", files["legend.yaml"], flags=re.MULTILINE)
    spec.write_text(text, encoding="utf-8")
    run_ok([python, "-m", "specanim", "render", spec, "-o", "frames"], tmp_path, env)
    [png] = sorted((tmp_path / "frames").glob("*.png"))[-1:]
    image = np.asarray(Image.open(png).convert("RGB"))
    legend = image[:, image.shape[1] * 3 // 4 + 10 :]
    assert (legend.max(axis=2) > 150).sum() > 500, "nothing drawn where the legend stands"
