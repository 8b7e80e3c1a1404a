"""``specanim new-plugin``: the package it writes installs, passes its own tests and mypy
--strict as written, and its panel renders in its example spec; a wrong name or an existing
folder is one line, exit 2, and nothing written."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from .packages import install_target, run_ok
from .test_plugin_loading import run


def test_the_new_package_installs_passes_its_tests_and_mypy_strict_and_renders(
    tmp_path: Path,
) -> None:
    made = run("new-plugin", "my-halo", "--dir", tmp_path, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    package = tmp_path / "specanim-my-halo"
    assert made.stderr == f"wrote {package}: see its README.md\n"
    assert (package / "src" / "specanim_my_halo" / "py.typed").is_file()

    run_ok([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], package)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", tmp_path / "cache"]
    # The test environment's specanim is an editable install, which mypy cannot see (setuptools
    # puts an import hook in place of the files): the checkout on PYTHONPATH, which mypy reads
    # as it reads site-packages, shows the files as a specanim installed from a wheel would.
    typing = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run_ok([*mypy, "src", "tests"], package, typing)

    env = install_target(package, tmp_path / "site")
    listing = run_ok([sys.executable, "-m", "specanim", "plugins"], tmp_path, env)
    rows = [line.split(None, 3)[:3] for line in listing.stdout.splitlines()]
    assert ["panel", "my-halo", "specanim-my-halo"] in rows and listing.stderr == ""
    spec = package / "specs" / "my-halo.yaml"
    render = [sys.executable, "-m", "specanim", "render", spec, "-o", "frames"]
    run_ok(render, tmp_path, env)
    [png] = (tmp_path / "frames").glob("*.png")
    image = np.asarray(Image.open(png).convert("RGB"))
    # The panel's row, below the scene's title: its text, white, in the middle.
    band = image[90:160, image.shape[1] // 2 - 60 : image.shape[1] // 2 + 60]
    assert (band.min(axis=2) > 200).sum() > 30, "no text where the panel stands"


def test_a_wrong_name_or_an_existing_folder_is_one_line_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    (tmp_path / "specanim-halo").mkdir()
    (tmp_path / "specanim-halo" / "mine.txt").write_text("kept")
    cases = {
        ("Bad Name",): "plugin name 'Bad Name' is not a name: give lower-case letters and "
        "digits, words joined by '-' or '_', starting with a letter, at most 40 characters "
        "(e.g. my-halo)",
        ("specanim-halo",): "plugin name 'specanim-halo': give the panel's name alone, without "
        "'specanim-' (the package is named specanim-NAME): e.g. halo",
        ("scatter",): "plugin name 'scatter' is an installed panel's: choose another",
        ("halo",): "specanim-halo already exists: new-plugin writes a new folder, never into one",
        ("halo", "--dir", "nowhere"): "--dir nowhere: no such folder",
    }
    for args, line in cases.items():
        done = run("new-plugin", *args, cwd=tmp_path)
        assert (done.returncode, done.stderr) == (2, line + "\n"), args
    assert sorted(os.listdir(tmp_path)) == ["specanim-halo"]
    assert os.listdir(tmp_path / "specanim-halo") == ["mine.txt"]
