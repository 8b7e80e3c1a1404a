"""Fixtures shared by the whole suite: paths, spec files and the real CLI."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.commands import run_specanim

pytest_plugins = ["tests.browser"]  # the `browser` and `visit` fixtures for pages

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"

# The reducers built on PyTorch (trimap, pymde): their tests are marked ``torch``. The README's
# test command installs neither PyTorch nor them, so there those tests are skipped, with one
# line saying why; .ci/run's second step installs them and runs ``pytest -m torch`` with
# SPECANIM_REQUIRE_TORCH=1, where a missing package stops the run instead of skipping.
TORCH_PACKAGES = ("torch", "torchvision", "trimap", "pymde")
REQUIRE_TORCH = "SPECANIM_REQUIRE_TORCH"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked ``torch`` where PyTorch or its reducers' packages are missing."""
    if not any(item.get_closest_marker("torch") for item in items):
        return
    missing = [name for name in TORCH_PACKAGES if importlib.util.find_spec(name) is None]
    if not missing:
        return
    if os.environ.get(REQUIRE_TORCH) == "1":
        raise pytest.UsageError(f"{REQUIRE_TORCH}=1, but {', '.join(missing)} not installed")
    skip = pytest.mark.skip(
        reason=f"needs {', '.join(missing)}: pip install -e '.[methods]' (.ci/run does)"
    )
    for item in items:
        if item.get_closest_marker("torch"):
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _pinned_fonts() -> None:
    """Start vl-convert with specanim's fonts alone before any test can use it directly.

    vl-convert builds its font database once per process, at its first use; a test that used
    it plainly first would leave the host's fonts in it for every later test of the session.
    """
    from specanim.fonts import vl_convert

    vl_convert()


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the suite's trajectory and download caches out of the user's cache folder."""
    os.environ["SPECANIM_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def mnist_dir() -> Path:
    """The real MNIST test split beside the checkout."""
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test files not found in {MNIST}")
    return MNIST


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec file (dedented YAML) into the test's folder and return its path."""

    def write(text: str, name: str = "scene.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def specanim(tmp_path: Path) -> Run:
    """Run the real ``specanim`` command in a new process, in the test's folder, no terminal."""

    def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_specanim(cwd or tmp_path, *args)

    return run
