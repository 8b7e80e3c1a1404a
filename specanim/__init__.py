"""specanim: animate how a dimensionality reduction learns its layout, from a YAML scene spec.

From Python: ``specanim.load(spec)``, ``specanim.animate(X, labels)`` and
``specanim.from_snapshots(snapshots)`` make an ``Animation``; ``specanim.capture.opentsne()``
collects openTSNE's layouts. Plugins import from ``specanim.sdk``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specanim.hookspecs import hookimpl
from specanim.versions import __version__

if TYPE_CHECKING:
    from specanim.api import capture
    from specanim.api.animation import Animation, animate, from_snapshots, load
    from specanim.api.batch import render_many

__all__ = [
    "Animation",
    "__version__",
    "animate",
    "capture",
    "from_snapshots",
    "hookimpl",
    "load",
    "render_many",
]

_LAZY = {"Animation", "animate", "from_snapshots", "load"}


def __getattr__(name: str) -> Any:
    # The Python API imports the engine; the command line should not pay for it on every run.
    if name in _LAZY:
        from specanim.api import animation

        return getattr(animation, name)
    if name == "render_many":
        from specanim.api.batch import render_many

        return render_many
    if name == "capture":
        import importlib

        return importlib.import_module("specanim.api.capture")
    raise AttributeError(f"module 'specanim' has no attribute {name!r}")
