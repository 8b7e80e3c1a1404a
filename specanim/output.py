"""Writing an output so that it appears only when complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from specanim.errors import UserError


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside target (same ending) that replaces target when the block succeeds.

    On any error, or Ctrl-C, the temporary file or folder is removed and target is untouched.
    """
    folder = check_target(target)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".partial{target.suffix}", dir=folder
    )
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # the encoder creates it, as a file or as a folder of frames
    try:
        yield tmp
        _replace(tmp, target)
    finally:
        _remove(tmp)


def check_target(target: Path) -> Path:
    """The folder target goes into; UserError if it does not exist (checked before long work)."""
    folder = target.parent
    if not folder.is_dir():
        raise UserError(f"{target}: the folder '{folder}' does not exist")
    return folder


def _replace(tmp: Path, target: Path) -> None:
    if tmp.is_dir() and target.exists():
        # os.replace cannot put a folder over a non-empty one: swap through a third name.
        old = target.with_name(f".{target.name}.old")
        _remove(old)
        os.replace(target, old)
        os.replace(tmp, target)
        _remove(old)
    else:
        os.replace(tmp, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
