"""Installing packages as a user does, offline and without touching the test's environment:
into a folder of their own (``pip install --target``) or into a fresh virtualenv that sees the
test environment's packages (its dependencies) through a ``.pth`` file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

PIP = [sys.executable, "-m", "pip"]
# Offline, with the build backend (setuptools) the environment already has.
OFFLINE = ["--no-index", "--no-build-isolation", "--no-deps", "-q"]


def copy_source(source: Path, folder: Path) -> Path:
    """A copy of a package's source in folder: pip builds in it (build/, *.egg-info)."""
    copy = folder / source.name
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*")
    shutil.copytree(source, copy, ignore=ignore)
    return copy


def checkout_copy(folder: Path) -> Path:
    """A copy of this checkout's package (pyproject.toml, README.md, specanim/, plugins/) in
    folder: pip builds in the folder it installs from, and the checkout stays as it is."""
    root = Path(__file__).resolve().parents[1]
    folder.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, folder)
    for package in ("specanim", "plugins"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(root / package, folder / package, ignore=ignore)
    return folder


def install_target(source: Path, target: Path) -> dict[str, str]:
    """source installed by pip into target: the environment of a process that sees it."""
    pip(["install", *OFFLINE, "--target", str(target), str(source)])
    path = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def outside_env() -> dict[str, str]:
    """This environment without PYTHONPATH: a fresh virtualenv's processes see only what was
    installed into it (the tests put the checkout on PYTHONPATH)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def fresh_venv(folder: Path) -> Path:
    """A new virtualenv in folder whose site-packages sees this environment's (through a .pth
    file, whose lines Python appends to sys.path without running the .pth files they hold,
    so this environment's own editable installs stay out); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "_test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip(args: list[str]) -> None:
    """This environment's pip; its output in the AssertionError if it fails."""
    done = subprocess.run([*PIP, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def run_ok(
    command: list[str | Path], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A command that must succeed; its output in the AssertionError if not."""
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done
