"""Watching a preview's files: the spec, what it extends and its local plugins; a change to any
of them reloads the session."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from specanim.preview.session import Session

# watchfiles yields once no further change came for STEP ms (editors write a file in several
# steps), and after DEBOUNCE ms of changes at most.
STEP, DEBOUNCE = 50, 400
_ORDINARY = watchfiles.DefaultFilter()


class Watcher(threading.Thread):
    """Loads the session, then reloads it whenever one of its files changes, until stopped;
    said(line) is told one line per reload."""

    def __init__(self, session: Session, said: Callable[[str], None]) -> None:
        super().__init__(name="specanim-preview-watch", daemon=True)
        self.session = session
        self.said = said
        self.stopping = threading.Event()

    def run(self) -> None:
        self.session.reload()
        while not self.stopping.is_set():
            # Folders, not files: an editor that saves by renaming a new file over the old one
            # replaces the file a watch on the file itself would follow.
            folders = _folders(self.session.watched)
            for changes in watchfiles.watch(
                *folders,
                watch_filter=self._relevant,
                step=STEP,
                debounce=DEBOUNCE,
                stop_event=self.stopping,
                raise_interrupt=False,
                # Into subfolders only for a plugin package: the spec's folder may be large.
                recursive=any(w.is_dir() for w in self.session.watched),
            ):
                names = sorted({Path(path).name for _, path in changes})
                errors = self.session.reload()
                outcome = f"{len(errors)} problem(s), shown in the page" if errors else "updated"
                self.said(f"{', '.join(names)} changed: {outcome}")
                if _folders(self.session.watched) != folders:
                    break  # watch the new set of folders

    def _relevant(self, change: watchfiles.Change, path: str) -> bool:
        if not _ORDINARY(change, path):  # Python's __pycache__, editors' swap files
            return False
        changed = Path(path)
        return any(changed == w or w in changed.parents for w in self.session.watched)


def _folders(watched: set[Path]) -> tuple[Path, ...]:
    """The folders that hold the watched files (a plugin folder is watched itself)."""
    return tuple(sorted({w if w.is_dir() else w.parent for w in watched}))
