"""Writing an output so that it appears only when complete, and never over what is not a
previous output of the same kind."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from specanim.errors import RenderError, UserError

MANIFEST_SUFFIX = ".manifest.json"  # a manifest stands beside its output: OUTPUT.manifest.json


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside target (same ending) that replaces target when the block succeeds;
    whether target may be replaced is the caller's to check first (``check_target``).

    On any error, or Ctrl-C, the temporary file or folder is removed and target is untouched.
    A full disk (or a file-size limit) met anywhere in the block is a RenderError that says so.
    """
    where = _writable(target, target.parent)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".partial{target.suffix}", dir=where
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


def check_target(
    target: Path, folder: bool = False, keep: Mapping[Path, str] | None = None
) -> Path:
    """The folder target goes into; UserError (checked before long work) if it does not exist,
    this process may not create files in it, or writing target could destroy what is not a
    previous output of the same kind (see ``replaceable``)."""
    replaceable(target, folder, keep or {})
    return _writable(target, target.parent)


def replaceable(target: Path, folder: bool, keep: Mapping[Path, str]) -> None:
    """UserError unless target may be written: a new path; a file, if the output is a file (a
    symbolic link is replaced itself, its target untouched); a folder, if the output is a
    folder of frames and the folder is empty or a previous output (its manifest stands beside
    it). Never the current folder or one it lies in, a device, pipe or socket, or a path of
    keep (the spec, say: path -> what it is)."""
    here = Path.cwd().resolve()
    whole = Path(os.path.abspath(target))
    if whole.resolve() == here or whole.resolve() in here.parents:
        raise UserError(
            f"{target}: the current folder (or one it lies in) cannot be an output: name a "
            "file or a new folder"
        )
    try:
        mode = os.lstat(whole).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"{target}: cannot be an output: {exc.strerror or exc}") from None
    for path, what in keep.items():
        if os.path.exists(path) and not stat.S_ISLNK(mode) and os.path.samefile(whole, path):
            raise UserError(f"{target}: is {what}: choose another output")
    if stat.S_ISLNK(mode) or (stat.S_ISREG(mode) and not folder):
        return
    if stat.S_ISDIR(mode) and not folder:
        raise UserError(
            f"{target}: is a folder, and this output is a file: name a file (an ending such as "
            ".mp4 picks the format; a path without one writes a folder of frames)"
        )
    if stat.S_ISREG(mode):
        raise UserError(
            f"{target}: is a file, and this output is a folder of frames: name a new folder"
        )
    if not stat.S_ISDIR(mode):
        raise UserError(f"{target}: is not a file or a folder (a device, pipe or socket)")
    if whole.with_name(whole.name + MANIFEST_SUFFIX).is_file():
        return  # a previous output, described by its manifest
    others = sorted(p.name for p in whole.iterdir())
    if others:
        more = f" and {len(others) - 1} more" if len(others) > 1 else ""
        raise UserError(
            f"{target}: a folder that holds other files ({others[0]}{more}) and is no previous "
            "output (no manifest beside it): name a new or empty folder"
        )


def _writable(target: Path, folder: Path) -> Path:
    """folder, where target goes; UserError if it does not exist or cannot take new files."""
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
