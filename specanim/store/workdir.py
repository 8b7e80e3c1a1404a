"""The finished frames of a resumable render, kept in a work folder beside its output.

``render --resume`` keeps every distinct picture (shot) it renders as a lossless PNG in
``.OUT.work/``, stamped with a fingerprint of everything that decides the pixels. Run again
after an interruption, it reads the pictures it has and renders only the missing ones; the
encoder then gets exactly the pixels an uninterrupted render would give it, so the file is the
same bytes. A folder whose stamp differs (another spec, other data, other library versions) is
never reused: it is emptied and started again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from specanim.errors import RenderError

FORMAT = 1  # of the work folder's layout; a folder of another format is started again
_STAMP = "work.json"
_TEMPORARY = ".tmp"  # the ending of a file being written

log = logging.getLogger(__name__)


def work_folder(target: Path) -> Path:
    """Where the work of a resumable render of target is kept: ``.NAME.work`` beside it."""
    return target.with_name(f".{target.name}.work")


@dataclass(frozen=True)
class FrameStore:
    """One lossless PNG per shot, written whole (a new file is renamed into place)."""

    folder: Path

    @classmethod
    def open(cls, target: Path, fingerprint: str) -> FrameStore:
        """The store for target's work with this fingerprint; a stale one is started again. The
        caller holds target's lock (``output.output_lock``): no other process writes there, so
        the temporary files of workers killed earlier are removed."""
        folder = work_folder(target)
        stamp = {"format": FORMAT, "fingerprint": fingerprint}
        try:
            same = json.loads((folder / _STAMP).read_text(encoding="utf-8")) == stamp
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            _write_whole(folder / _STAMP, lambda p: p.write_text(json.dumps(stamp), "utf-8"))
        for leftover in folder.glob(f".*{_TEMPORARY}"):
            leftover.unlink(missing_ok=True)
        return cls(folder)

    def tell_reused(self, chosen: Sequence[tuple[int, int]]) -> None:
        """Log how many of the frames of chosen ((shot, repeat) pairs) are kept already."""
        total = sum(n for _, n in chosen)
        kept = self.frames_kept(chosen)
        log.info("resume: reusing %d of %d frames kept in %s", kept, total, self.folder)

    def frames_kept(self, chosen: Sequence[tuple[int, int]]) -> int:
        """How many of the frames of chosen ((shot, repeat) pairs) are kept."""
        have = self.kept(shot for shot, _ in chosen)
        return sum(n for shot, n in chosen if shot in have)

    def path(self, shot: int) -> Path:
        """The file of one shot's pixels."""
        return self.folder / f"shot_{shot:06d}.png"

    def load(self, shot: int) -> np.ndarray | None:
        """The kept pixels of shot, or None if they are not kept (or not readable)."""
        try:
            with Image.open(self.path(shot)) as image:
                return np.asarray(image.convert("RGB"))
        except (OSError, ValueError):
            return None

    def save(self, shot: int, rgb: np.ndarray) -> None:
        """Keep the pixels of shot; RenderError if the work folder has gone."""
        image = Image.fromarray(rgb)
        try:
            # Level 1: a fraction of a render's time; the pixels are exact at any level.
            _write_whole(self.path(shot), lambda p: image.save(p, format="PNG", compress_level=1))
        except FileNotFoundError:
            raise RenderError(
                f"the work folder {self.folder} was removed while rendering"
            ) from None

    def kept(self, shots: Iterable[int]) -> set[int]:
        """Those of shots whose pixels are kept."""
        return {shot for shot in shots if self.path(shot).is_file()}

    def remove(self) -> None:
        """Delete the work folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_whole(path: Path, write: Callable[[Path], object]) -> None:
    """Write path through a temporary name, so it exists only complete."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{_TEMPORARY}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Keeping:
    """A render function that keeps what it renders in a store and reads what is kept.

    Runs in the render workers, so reading and writing the PNGs is spread over them too.
    """

    render: Callable[[int], np.ndarray]
    store: FrameStore

    def __call__(self, shot: int) -> np.ndarray:
        rgb = self.store.load(shot)
        if rgb is None:
            rgb = self.render(shot)
            self.store.save(shot, rgb)
        return rgb
