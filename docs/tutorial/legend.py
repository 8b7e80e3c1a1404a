# docs/tutorial/legend.py: the tutorial's legend panel in docs/plugins.md, complete
"""A legend panel: each class's colour and name, with an optional heading and point counts."""

from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field

from specanim.sdk import Box, Frame, Options, Panel, Scene, Template, View, hookimpl


class LegendOptions(Options):
    """How the legend is laid out and what it says."""

    columns: int = Field(1, ge=1, le=20, description="classes per row")
    font_size: float = Field(14, gt=0, le=100, description="font size of the names, in pixels")
    counts: bool = Field(False, description="add each class's number of points to its name")
    heading: Template = Field(
        "", description="a line above the classes, such as 'epoch {epoch}'; empty: none"
    )


class Legend(Panel[LegendOptions]):
    """Each class's colour and name, in rows and columns."""

    name = "my-legend"

    def __init__(self, options: LegendOptions, scene: Scene) -> None:
        super().__init__(options, scene)
        # A heading without {fields} is the same in every frame: drawn once, reused as an image.
        self.dynamic = "{" in options.heading
        names = list(scene.data.classes)
        if options.counts:
            counts = np.bincount(scene.data.labels, minlength=len(names))
            names = [f"{name} ({count:,})" for name, count in zip(names, counts, strict=True)]
        self.names = names

    def view(self, frame: Frame, box: Box) -> View:
        size = self.options.font_size
        line = 1.6 * size  # pixels from one row to the next
        top = line if self.options.heading else 0.0
        width = box.width / self.options.columns
        rows = [
            {
                "x": (k % self.options.columns) * width,
                "y": top + (k // self.options.columns + 0.5) * line,
                "name": name,
                "color": self.scene.colors[k],
            }
            for k, name in enumerate(self.names)
        ]
        pixels = {"type": "quantitative", "scale": None, "axis": None}
        position = {"x": {"field": "x", **pixels}, "y": {"field": "y", **pixels}}
        layers: list[dict[str, Any]] = [
            {  # a disc in the class colour
                "mark": {"type": "circle", "size": size * size, "opacity": 1, "xOffset": size / 2},
                "encoding": {
                    **position,
                    "color": {"field": "color", "type": "nominal", "scale": None},
                },
            },
            {  # the name beside it
                "mark": self._text(size, xOffset=1.5 * size),
                "encoding": {**position, "text": {"field": "name", "type": "nominal"}},
            },
        ]
        if self.options.heading:
            layers.append(
                {
                    "data": {"values": [{}]},
                    "mark": self._text(size, fontWeight="bold"),
                    "encoding": {
                        "x": {"value": 0},
                        "y": {"value": line / 2},
                        "text": {"value": frame.format(self.options.heading)},
                    },
                }
            )
        return {"data": {"values": rows}, "layer": layers}

    def _text(self, size: float, **mark: Any) -> dict[str, Any]:
        """A text mark in the scene's font and foreground colour."""
        scene = self.scene
        return {
            "type": "text",
            "align": "left",
            "baseline": "middle",
            "fontSize": size,
            "font": scene.font,
            "color": scene.foreground,
            **mark,
        }


@hookimpl
def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
    register(Legend)
