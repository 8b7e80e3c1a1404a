"""Cache files in use: read only when they are regular files, mapped under a lock that keeps
cache commands from removing them meanwhile.

Opening a FIFO for reading waits for a writer, maybe forever: a cache file is opened without
waiting and refused (NotRegular) unless it is a regular file. A process that maps a cache
file holds a shared ``flock`` on it while the map lives (``mmap`` keeps a duplicate of the
file's descriptor, and flock locks belong to the open file, not the descriptor); ``remove``
takes an exclusive one without waiting, so it leaves a file that any process maps. Render
workers map a cache file by its path, so it must stay while the render that mapped it runs.
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


def map_locked(
    path: Path, file: BinaryIO, dtype: np.dtype, offset: int, shape: tuple[int, ...]
) -> np.ndarray:
    """The array of that dtype and shape at offset of file (open_regular(path)), mapped
    read-only, with a shared lock on the file for as long as the map lives. FileNotFoundError
    if path was removed, or replaced, before the lock was taken."""
    fcntl.flock(file.fileno(), fcntl.LOCK_SH)  # waits only while a remove() decides
    try:
        same = os.stat(path).st_ino == os.fstat(file.fileno()).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        raise FileNotFoundError(errno.ENOENT, "removed while being opened", str(path))
    # A plain ndarray over the map: numpy's subclass paths (np.memmap) make ufunc.at far slower.
    return np.memmap(file, dtype, "r", offset=offset, shape=shape).view(np.ndarray)


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
