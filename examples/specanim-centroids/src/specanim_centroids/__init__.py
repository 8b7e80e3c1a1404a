"""specanim-centroids: a specanim panel that labels each class at the centre of its points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from specanim.sdk import Panel, hookimpl
from specanim_centroids.panel import Centroids, CentroidsOptions

__all__ = ["Centroids", "CentroidsOptions", "register_panels"]


@hookimpl
def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
    """Register the ``centroids`` panel."""
    register(Centroids)
