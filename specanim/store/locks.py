"""Exclusive locks between processes: ``flock`` on a lock file that the holder removes when it
is done (so none is left behind) and that names the holder's process id.

flock locks belong to an open file and end with it, so a process that dies, even by SIGKILL,
holds nothing. A process that waited for a lock the holder then removed holds a lock on a
removed file: it sees that and locks the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def locked(lock: Path, busy: Callable[[int], None]) -> Iterator[None]:
    """Hold an exclusive lock on the file lock meanwhile. When another process holds it,
    busy(fd) is called with the lock file open: it waits (``flock(fd, LOCK_EX)``) or raises.
    Where no lock file can be made (a read-only folder), nothing is locked."""
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                busy(fd)
            try:
                current = os.stat(lock)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == os.fstat(fd).st_ino:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, str(os.getpid()).encode(), 0)
                try:
                    yield
                finally:
                    with contextlib.suppress(OSError):
                        lock.unlink()
                return
        finally:
            os.close(fd)  # also releases the lock


def holder(fd: int) -> int | None:
    """The process id written in an open lock file by its holder; None if not (yet) written."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def held(lock: Path) -> int | None:
    """The process id of the holder of the lock file lock (0 if it has not written it yet), or
    None if no process holds it."""
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return holder(fd) or 0
    except OSError:
        return None
    finally:
        os.close(fd)
    return None
