"""How a scene travels to worker processes: pickled, with its large arrays as files the
workers map (so a million-point trajectory is in memory once however many workers there are),
with every array's dtype canonical, and with the classes and functions of ``__main__`` (a
notebook's cells, a script) by value, as cloudpickle sends them; and the process contract:
what in a panel cannot make that trip, and why."""

from __future__ import annotations

import io
import pickle
import tempfile
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np

from specanim.errors import describe_exception
from specanim.store.inuse import hold

SHARE_ABOVE = 1 << 20  # arrays larger than this many bytes are mapped, not copied


def dumps(obj: object, folder: Path | None = None, held: list[int] | None = None) -> bytes:
    """obj pickled for workers: every array with a canonical dtype; with a folder, large
    arrays as files there (or the files they already are) that the workers map, for workers on
    this machine. A file mapped already (a cache entry) is referred to while it is still there,
    and then held (``inuse.hold``: cache commands leave it) until the descriptors added to
    held are closed."""
    buf = io.BytesIO()
    MappingPickler(buf, folder, held).dump(obj)
    return buf.getvalue()


def _load_mapped(path: str) -> np.ndarray:
    return np.load(path, mmap_mode="r").view(np.ndarray)


def _map_raw(path: str, offset: int, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.memmap(path, np.dtype(dtype), "r", offset=offset, shape=shape).view(np.ndarray)


def _rebuild(data: bytes, dtype: str, shape: tuple[int, ...], writeable: bool) -> np.ndarray:
    array = np.frombuffer(data, np.dtype(dtype)).reshape(shape).copy()
    array.flags.writeable = writeable  # as it was: compiled loops tell the two apart
    return array


class MappingPickler(cloudpickle.Pickler):
    """Pickles large arrays as references to files that every worker maps (given a folder),
    and every array with a canonical dtype: numpy's own pickling gives unpickled arrays a dtype
    object that took ufunc.at off its fast path (far slower rasterising in the workers).

    Classes and functions defined in ``__main__`` (a notebook's cells, a script) travel by
    value, as cloudpickle does: a worker cannot import its parent's ``__main__``."""

    def __init__(
        self, file: io.BytesIO, folder: Path | None, held: list[int] | None = None
    ) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.folder = folder
        self.held = held
        self.saved: dict[int, str] = {}

    def reducer_override(self, obj: object) -> Any:
        if type(obj) is not np.ndarray or obj.dtype.hasobject:
            return super().reducer_override(obj)
        if self.folder is None or obj.nbytes <= SHARE_ABOVE:
            data = np.ascontiguousarray(obj).tobytes()
            return _rebuild, (data, obj.dtype.str, obj.shape, bool(obj.flags.writeable))
        mapped = _whole_file_map(obj)
        if mapped is not None and self._held(mapped):  # already a file (a cache entry) that
            # is still there: the workers map the same one
            return _map_raw, (str(mapped.filename), mapped.offset, obj.dtype.str, obj.shape)
        path = self.saved.get(id(obj))
        if path is None:
            path = str(self.folder / f"array{len(self.saved)}.npy")
            save(path, np.ascontiguousarray(obj))
            self.saved[id(obj)] = path
        return _load_mapped, (path,)

    def _held(self, mapped: np.memmap) -> bool:
        """Whether the file mapped is still at its path, now held for the workers."""
        identity = getattr(mapped, "identity", None)
        if identity is None or self.held is None:  # not a cache file, or not to be held
            return True
        fd = hold(str(mapped.filename), identity)
        if fd is None:
            return False
        self.held.append(fd)
        return True


def save(path: str, array: np.ndarray) -> None:
    """np.save, through Python's own writes: numpy's tofile reports a full disk as a short
    write with no errno, which nothing downstream could tell from any other failure."""
    try:
        with open(path, "wb") as file:
            header = np.lib.format.header_data_from_array_1_0(array)
            np.lib.format.write_array_header_1_0(file, header)
            file.write(array.data.cast("B"))
    except OSError as exc:  # a failed write names no file
        raise OSError(exc.errno, exc.strerror, path) from None


def _whole_file_map(obj: np.ndarray) -> np.memmap | None:
    """The memmap obj is a plain view of, if it covers all of it in order."""
    base = obj.base
    if (
        isinstance(base, np.memmap)
        and base.filename
        and obj.shape == base.shape
        and obj.strides == base.strides
        and obj.__array_interface__["data"][0] == base.__array_interface__["data"][0]
    ):
        return base
    return None


# --- the process contract ---------------------------------------------------------------------


def pickle_problem(obj: object) -> str | None:
    """Why obj cannot be sent to a worker (naming the attribute at fault), or None if it can.

    It pickles obj with the workers' pickler, except that arrays (which always pickle) are
    not copied, so checking a scene with large arrays costs nearly nothing.
    """
    error = _pickle_error(obj)
    if error is None:
        return None
    for name, value in vars(obj).items() if hasattr(obj, "__dict__") else ():
        inner = _pickle_error(value)
        if inner is not None:
            return f"its attribute '{name}' ({type(value).__name__}) cannot be pickled ({inner})"
    return f"it cannot be pickled ({error})"


def _pickle_error(obj: object) -> str | None:
    try:
        _CheckingPickler(_Discard(), Path(tempfile.gettempdir())).dump(obj)
    except Exception as exc:  # pickling runs arbitrary __reduce__ code: any error means no
        return describe_exception(exc)
    return None


class _Discard(io.BytesIO):
    """A file that forgets what is written to it."""

    def write(self, data: Any) -> int:
        return len(memoryview(data))


class _CheckingPickler(MappingPickler):
    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
            return np.empty, (0,)  # any such array pickles; its bytes need not be read
        return super().reducer_override(obj)
