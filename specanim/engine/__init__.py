"""The engine: a validated plan becomes a prepared scene (data loaded, trajectories fitted or
reused, panels built), then frames drawn on an executor and streamed to the encoder."""

from specanim.engine.check import check
from specanim.engine.render import (
    Prepared,
    Result,
    fingerprint,
    fit,
    frame_spec,
    load,
    prepare,
    render,
    still,
)

__all__ = [
    "Prepared",
    "Result",
    "check",
    "fingerprint",
    "fit",
    "frame_spec",
    "load",
    "prepare",
    "render",
    "still",
]
