"""Writing an output so that it appears only when complete."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from specanim.errors import RenderError, UserError


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside target (same ending) that replaces target when the block succeeds.

    On any error, or Ctrl-C, the temporary file or folder is removed and target is untouched.
    A full disk (or a file-size limit) met anywhere in the block is a RenderError that says so.
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
    except Exception as exc:
        reason = _no_space(exc, tmp)
        if reason is None:
            raise
        raise RenderError(f"no space left writing {target}: {reason}") from exc
    finally:
        _remove(tmp)


_FULL = {errno.ENOSPC, errno.EDQUOT}


def _no_space(exc: BaseException, tmp: Path) -> str | None:
    """Why exc, or an exception it came from, is a full disk or a file-size limit (naming the
    file when it is not the output's own temporary one); None if it is not."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in (*_FULL, errno.EFBIG):
            if cause.errno == errno.EFBIG:
                reason = "the file grew past this process's file-size limit (ulimit -f)"
            else:
                reason = os.strerror(cause.errno)
            name = str(cause.filename or "")
            return f"{reason} ({name})" if name and not name.startswith(str(tmp)) else reason
        cause = cause.__cause__ or cause.__context__
    return None


def check_target(target: Path) -> Path:
    """The folder target goes into; UserError if it does not exist or this process may not
    create files in it (checked before long work)."""
    folder = target.parent
    if not folder.is_dir():
        raise UserError(f"{target}: the folder '{folder}' does not exist")
    try:  # creating a file is the only test that sees read-only mounts, ACLs and quotas alike
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise UserError(
            f"{target}: cannot write into the folder '{folder}': {exc.strerror or exc}"
        ) from None
    os.close(fd)
    os.unlink(probe)
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
