"""Cache files in use: read only when they are regular files, and kept from cache commands
while a render's workers map them.

Opening a FIFO for reading waits for a writer, maybe forever: a cache file is opened without
waiting and refused (NotRegular) unless it is a regular file. Render workers map a mapped
array's file by its path (``engine.pickling``), so while a render shares it the render holds a
shared ``flock`` on it (``hold``); ``remove`` takes an exclusive one without waiting, so it
leaves a file that a render holds. A file removed or replaced before the render holds it is
not the mapped one any more: the render then sends the workers a copy.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO

import numpy as np


class NotRegular(OSError):
    """A cache file that is not a regular file (a pipe, device, socket or folder)."""

    def __init__(self, path: Path) -> None:
        super().__init__(errno.EINVAL, "not a regular file (a pipe, device or folder)", str(path))


def open_regular(path: Path) -> BinaryIO:
    """path opened for reading, never waiting; NotRegular unless it is a regular file,
    FileNotFoundError if there is none."""
    file = open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK))
    if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
        file.close()
        raise NotRegular(path)
    return file


def map_file(file: BinaryIO, dtype: np.dtype, offset: int, shape: tuple[int, ...]) -> np.ndarray:
    """The array of that dtype and shape at offset of file (from open_regular), mapped
    read-only; its base (the np.memmap) records which file it is (``identity``)."""
    mapped = np.memmap(file, dtype, "r", offset=offset, shape=shape)
    stat = os.fstat(file.fileno())
    setattr(mapped, "identity", (stat.st_dev, stat.st_ino))  # noqa: B010  (numpy's stubs lack it)
    # A plain ndarray over the map: numpy's subclass paths (np.memmap) make ufunc.at far slower.
    return mapped.view(np.ndarray)


def hold(path: str, identity: tuple[int, int]) -> int | None:
    """An open descriptor with a shared lock on the file at path, if it is still the file of
    that identity (close it to let go); None if that file was removed or replaced."""
    try:
        file = open_regular(Path(path))
    except OSError:
        return None
    with file:
        fd = os.dup(file.fileno())
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a remove() decides
        now, held = os.stat(path), os.fstat(fd)
        if (held.st_dev, held.st_ino) == identity == (now.st_dev, now.st_ino):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def remove(path: Path) -> bool:
    """Delete the file at path unless a process maps it (False: it stays). FileNotFoundError
    if it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except PermissionError:  # unreadable: nobody maps it through this cache
        path.unlink()
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError:  # a file that cannot be locked cannot be mapped under a lock either
            pass
        if os.stat(path).st_ino != os.fstat(fd).st_ino:  # the file we locked was replaced
            raise FileNotFoundError(errno.ENOENT, "replaced meanwhile", str(path))
        path.unlink()
        return True
    finally:
        os.close(fd)
