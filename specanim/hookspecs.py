"""The hooks a specanim plugin implements.

Each hook hands the plugin a ``register`` callback; the plugin calls it once per component class
it provides. A plugin module looks like this::

    from specanim.sdk import Panel, hookimpl

    class Heatmap(Panel):
        name = "heatmap"
        ...

    @hookimpl
    def register_panels(register):
        register(Heatmap)

and is found through the ``specanim`` entry-point group of its package.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from specanim.components import Dataset, Encoder, Executor, Panel, Reducer

hookspec = pluggy.HookspecMarker("specanim")
hookimpl = pluggy.HookimplMarker("specanim")


@hookspec
def register_datasets(register: Callable[[type[Dataset]], None]) -> None:
    """Register Dataset classes: each loads points, labels and images for ``dataset.type``."""


@hookspec
def register_reducers(register: Callable[[type[Reducer]], None]) -> None:
    """Register Reducer classes: each fits an embedding and returns its trajectory."""


@hookspec
def register_panels(register: Callable[[type[Panel]], None]) -> None:
    """Register Panel classes: each draws a part of every frame as a Vega-Lite view."""


@hookspec
def register_encoders(register: Callable[[type[Encoder]], None]) -> None:
    """Register Encoder classes: each writes the frames to one output format."""


@hookspec
def register_executors(register: Callable[[type[Executor]], None]) -> None:
    """Register Executor classes: each runs fits and frames somewhere (``executor.type``)."""
