"""Writing an output so that it appears only when complete, in one step with its manifest, and
never over what is not a previous output of the same kind; and one render of an output at a
time (its lock), which tidies what killed renders of it left."""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from specanim.errors import RenderError, UserError
from specanim.store.locks import held, holder, locked
from specanim.store.paths import cache_dir

MANIFEST_SUFFIX = ".manifest.json"  # a manifest stands beside its output: OUTPUT.manifest.json


@contextmanager
def atomic_path(
    target: Path, beside: Callable[[Path], Mapping[Path, str]] | None = None
) -> Iterator[Path]:
    """A temporary path beside target (same ending) that replaces target when the block succeeds;
    whether target may be replaced is the caller's to check first (``check_target``).

    beside, given the finished temporary path, names files (path: text) placed in the same step
    (a manifest): each is written whole and synced, then moved into place, then target, with
    SIGINT and SIGTERM held back meanwhile (``signals_held``), so whatever stops the process
    leaves all of them old or all new (only SIGKILL or a power cut, in the moment between two
    renames, can leave the files placed before target new and target old).

    On any error, or Ctrl-C, the temporary files or folder are removed and target is untouched.
    A full disk (or a file-size limit) met anywhere in the block is a RenderError that says so.
    """
    where = _writable(target, target.parent)
    tmp = _temporary(target, where)
    tmp.unlink()  # the encoder creates it, as a file or as a folder of frames
    staged: dict[Path, Path] = {}
    try:
        yield tmp
        files = beside(tmp) if beside is not None else {}
        _sync(tmp)
        with signals_held():
            for path, text in files.items():
                staged[path] = _stage(path, text)
            for path, temp in staged.items():
                os.replace(temp, path)
            _replace(tmp, target)
    except Exception as exc:
        reason = _no_space(exc, tmp)
        if reason is None:
            raise
        raise RenderError(f"no space left writing {target}: {reason}") from exc
    finally:
        for path in (tmp, *staged.values()):
            _remove(path)


def _temporary(target: Path, folder: Path) -> Path:
    """A new empty file in folder, named after target, with target's ending (``_leftover``
    knows these names)."""
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".partial{target.suffix}", dir=folder
    )
    os.close(fd)
    return Path(name)


def _stage(path: Path, text: str) -> Path:
    """A temporary file beside path holding text, synced to the disk; a failed write names
    path."""
    temp = _temporary(path, path.parent)
    temp.unlink()  # made again below with the usual permissions (mkstemp's are 0600)
    try:
        with open(temp, "x", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    return temp


def _sync(path: Path) -> None:
    """Write a file's data to the disk before it is renamed into place (a folder's files are
    left to the system)."""
    if path.is_file():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM arriving meanwhile take effect when the block ends, not inside it.

    Python runs a signal's handler in the main thread between two bytecodes, whichever thread
    the system delivered it to (so masking it in this thread alone is not enough): the
    handlers are replaced by ones that note the signal, and the first noted is raised again once
    the old handlers are back. Outside the main thread (where handlers cannot be set) nothing
    is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    old: dict[int, Any] = {}
    signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
    for signum in signums:
        handler = signal.getsignal(signum)
        if handler is not None:  # None: set outside Python, and it cannot be set back
            old[signum] = signal.signal(signum, lambda number, _: noted.append(number))
    try:
        yield
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
        if noted:
            signal.raise_signal(noted[0])


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
    it). Never the current folder or one it lies in, specanim's cache folder or a path in it, a
    device, pipe or socket, or a path of keep (the spec, say: path -> what it is)."""
    here = Path.cwd().resolve()
    whole = Path(os.path.abspath(target))
    if whole.resolve() == here or whole.resolve() in here.parents:
        raise UserError(
            f"{target}: the current folder (or one it lies in) cannot be an output: name a "
            "file or a new folder"
        )
    cache = cache_dir().resolve()
    if whole.resolve() == cache or cache in whole.resolve().parents:
        raise UserError(
            f"{target}: lies in specanim's cache folder ({cache}), which specanim manages: "
            "choose an output elsewhere"
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
    """Put tmp at target; a folder over a folder is swapped in one step where the system can
    (tmp then holds the old one, for the caller to remove)."""
    if tmp.is_dir() and target.exists():
        if _exchange(tmp, target):
            return
        # os.replace cannot put a folder over a non-empty one: swap through a third name.
        old = target.with_name(f".{target.name}.old")
        _remove(old)
        os.replace(target, old)
        os.replace(tmp, target)
        _remove(old)
    else:
        os.replace(tmp, target)


_RENAME_EXCHANGE = 2  # renameat2's flag (Linux 3.15+, glibc 2.28+): swap two names atomically
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names a and b in one step; False where the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return done == 0


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


# --- while an output is written ---------------------------------------------------------------


def lock_path(target: Path) -> Path:
    """The lock file of target's render: ``.NAME.lock`` beside it."""
    return target.with_name(f".{target.name}.lock")


@contextmanager
def output_lock(target: Path) -> Iterator[None]:
    """Hold target for this process while it is rendered: a second render of it meanwhile is
    refused (UserError naming this process). What renders of target killed earlier left beside
    it (temporary files and folders) is removed first."""

    def busy(fd: int) -> None:
        raise _busy(target, holder(fd))

    with locked(lock_path(target), busy):
        for path in target.parent.iterdir():
            if _leftover(path.name, target.name, target.suffix) or _leftover(
                path.name, target.name + MANIFEST_SUFFIX, ".json"
            ):
                _remove(path)
        yield


def _leftover(name: str, target: str, suffix: str) -> bool:
    """Whether name is a temporary name of atomic_path's for target (mkstemp adds 8 characters
    of [a-z0-9_])."""
    return (
        re.fullmatch(rf"\.{re.escape(target)}\.\w{{8}}\.partial{re.escape(suffix)}", name)
        is not None
    )


def check_free(target: Path) -> None:
    """UserError if another process renders target now (see ``output_lock``)."""
    pid = held(lock_path(target))
    if pid is not None:
        raise _busy(target, pid)


def _busy(target: Path, pid: int | None) -> UserError:
    who = f"process {pid}" if pid else "another process"
    return UserError(
        f"{target}: {who} is rendering it now: wait for it to end, or choose another output"
    )


@contextmanager
def noting_replaced(target: Path) -> Iterator[Callable[[], bool]]:
    """A function telling whether target has been replaced since the block began; an exception
    (a signal's, say) that ends the block after target was replaced gets a note saying so, for
    a message about it must not say that nothing was written."""
    before = _identity(target)

    def replaced() -> bool:
        return _identity(target) != before

    try:
        yield replaced
    except BaseException as exc:
        note = f"{target} was written whole, with its manifest"
        if replaced() and note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)
        raise


def _identity(path: Path) -> tuple[int, ...] | None:
    """What changes when path is replaced."""
    try:
        found = os.lstat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino, found.st_mtime_ns)
