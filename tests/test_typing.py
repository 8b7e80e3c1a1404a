"""Plugins are typed: mypy with the pydantic plugin passes on the example package and the
tutorial, and it catches a misspelt option in a plugin (``self.options`` is the plugin's own
model, not ``Any``; ``make_panel`` returns the class it is given)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

TYPO = """
import legend
import numpy as np
from specanim.sdk import Box, Frame, View
from specanim.testing import make_panel, make_scene


class Typo(legend.Legend):
    def view(self, frame: Frame, box: Box) -> View:
        return {"columns": self.options.colums}


built: legend.Legend = make_panel(legend.Legend, {}, make_scene(np.zeros((1, 2))))
"""


def test_mypy_passes_on_plugins_and_catches_a_misspelt_option(tmp_path: Path) -> None:
    typo = tmp_path / "typo.py"
    typo.write_text(TYPO, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            ROOT / "pyproject.toml",
            "--cache-dir",
            tmp_path / "cache",
            "--follow-imports",
            "silent",  # the plugins' errors, not the core's
            "--exclude",
            "/build/",
            ROOT / "examples" / "specanim-centroids",
            ROOT / "docs" / "tutorial",
            typo,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stdout + done.stderr
    assert 'typo.py:10: error: "LegendOptions" has no attribute "colums"' in errors[0]
