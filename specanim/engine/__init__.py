"""The engine: a validated plan becomes a prepared scene (data loaded, trajectories fitted or
reused, panels built), then frames drawn on an executor, in order, and streamed to the encoder;
a recorder keeps the manifest.

``from specanim import engine`` gives ``prepare``, ``render``, ``check``, ``still``,
``frame_spec`` and their values; importing a module of the engine (the worker pool, say) loads
only what that module needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specanim.engine.checking import check
    from specanim.engine.prepared import (
        Prepared,
        check_data,
        fit,
        frame_spec,
        load,
        prepare,
        still,
    )
    from specanim.engine.rendering import Recorder, Result, fingerprint, render

_WHERE = {
    "check": "checking",
    "Prepared": "prepared",
    "check_data": "prepared",
    "fit": "prepared",
    "frame_spec": "prepared",
    "load": "prepared",
    "prepare": "prepared",
    "still": "prepared",
    "Recorder": "rendering",
    "Result": "rendering",
    "fingerprint": "rendering",
    "render": "rendering",
}
__all__ = [
    "Prepared",
    "Recorder",
    "Result",
    "check",
    "check_data",
    "fingerprint",
    "fit",
    "frame_spec",
    "load",
    "prepare",
    "render",
    "still",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"specanim.engine.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'specanim.engine' has no attribute {name!r}")
