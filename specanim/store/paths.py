"""Where specanim keeps files between runs."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

CACHE_ENV = "SPECANIM_CACHE_DIR"


def cache_dir(*parts: str) -> Path:
    """The user's specanim cache folder (``$SPECANIM_CACHE_DIR`` moves it), or a part of it."""
    root = os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("specanim")
    return Path(root).expanduser().joinpath(*parts)
