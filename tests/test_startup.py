"""Start-up: what the command line imports before it needs it.

Every command loads every plugin's entry point; a plugin module that imports its library at the
top makes every command pay for it (PyAV about 50 ms, scikit-learn over a second, umap-learn
and numba several).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Libraries that only some commands, datasets, reducers or encoders need.
HEAVY = (
    "altair",
    "anndata",
    "av",
    "jsonschema",
    "matplotlib",
    "numba",
    "openTSNE",
    "pandas",
    "pooch",
    "pyarrow",
    "pynndescent",
    "scipy",
    "sklearn",
    "umap",
    "vl_convert",
)


def imported_by(*argv: str) -> set[str]:
    """The HEAVY libraries that ``specanim ARGV`` has imported when it is done."""
    code = (
        "import sys\n"
        "from specanim.cli import cli\n"
        f"cli.main({list(argv)!r}, standalone_mode=False)\n"
        f"print('imported:', *(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.splitlines()[-1].split()[1:])


def test_help_and_validate_import_no_plugin_library() -> None:
    assert imported_by("--help") == set()
    specs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.yaml"))
    assert imported_by("validate", *specs) == set()


def test_one_frame_is_drawn_without_numba_and_many_in_one_process_with_it(tmp_path: Path) -> None:
    """numba's import and the compiled loops' loading take about 0.5 s: a still, or preparing a
    render, draws with numpy (the same bytes); a process that draws many frames loads them."""
    import numpy as np

    walk = np.random.default_rng(0).standard_normal((12, 300, 2)).cumsum(axis=0)
    np.savez(tmp_path / "walk.npz", walk.astype(np.float32))
    spec = tmp_path / "scene.yaml"
    spec.write_text(
        "width: 200\nheight: 120\ndataset: {type: sklearn-digits, limit: 300}\n"
        "reducer: {type: precomputed, path: walk.npz}\n"
        "panels: [{type: scatter, render: raster}]\n"
    )
    still = ["still", str(spec), "-o", str(tmp_path / "frame.png"), "-q", "--cache", "off"]
    assert "numba" not in imported_by(*still)
    render = ["render", str(spec), "-o", str(tmp_path / "out.gif"), "-q", "--cache", "off"]
    assert "numba" in imported_by(*render, "--workers", "1")  # 12 snapshots in this process
