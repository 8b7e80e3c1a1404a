# docs/tutorial/legend_step1.py: step 1 of the tutorial in docs/plugins.md
"""A legend panel, first step: the names of the classes, one per line."""

from collections.abc import Callable
from typing import Any

from specanim.sdk import Box, Frame, Panel, View, hookimpl


class Legend(Panel):
    """The names of the classes, one per line."""

    name = "my-legend"  # the spec's `type: my-legend`

    def view(self, frame: Frame, box: Box) -> View:
        rows = [{"name": name, "y": 20 * k + 10} for k, name in enumerate(self.scene.data.classes)]
        return {
            "data": {"values": rows},
            "mark": {
                "type": "text",
                "align": "left",
                "baseline": "middle",
                "fontSize": 14,
                "color": self.scene.foreground,
            },
            "encoding": {
                "x": {"value": 0},  # pixels from the box's left edge
                "y": {"field": "y", "type": "quantitative", "scale": None},  # pixels, no scale
                "text": {"field": "name", "type": "nominal"},
            },
        }


@hookimpl
def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
    register(Legend)
