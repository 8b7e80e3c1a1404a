"""Running the real ``specanim`` command, or a user's script, in a new process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

HANG = 300  # seconds: only a guard against a hang, never a speed requirement
SPECANIM = [sys.executable, "-m", "specanim"]


def run_specanim(
    folder: Path, *args: str | Path, timeout: float = HANG, **options: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``specanim ARGS`` in folder with no terminal and no input; its output captured."""
    return subprocess.run(
        [*SPECANIM, *map(str, args)],
        cwd=folder,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        **options,
    )


def run_script(folder: Path, name: str, given: str) -> subprocess.CompletedProcess[str]:
    """Run the script folder/name with Python, given ``"as a file"`` or ``"on standard input"``."""
    with (folder / name).open("rb") as script:
        return subprocess.run(
            [sys.executable, name if given == "as a file" else "-"],
            cwd=folder,
            stdin=script if given == "on standard input" else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=HANG,
        )
