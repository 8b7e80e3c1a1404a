"""The centroids panel: each class's name at the centre of its points, following them."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from specanim.sdk import Box, Frame, Options, Panel, Scene, View, check_color


class CentroidsOptions(Options):
    """What the labels say, where they go and how they look."""

    statistic: Literal["mean", "median"] = Field(
        "median",
        description="where a class's label goes: the mean or the median of its points "
        "(the median ignores a class's stray points)",
    )
    min_points: int = Field(1, ge=1, description="classes with fewer points than this get no label")
    font_size: float = Field(18, gt=0, le=200, description="font size of the labels, in pixels")
    bold: bool = Field(True, description="draw the labels in bold")
    color: Literal["class", "foreground"] = Field(
        "class",
        description="class: each label in its class's colour; foreground: all in the scene's "
        "foreground colour",
    )
    halo: float = Field(
        3,
        ge=0,
        le=20,
        description="width in pixels of the outline drawn around each label, so it stays "
        "legible over the points; 0: none",
    )
    halo_color: str | None = Field(
        None, description="CSS colour of the outline (default: the scene's background)"
    )

    @field_validator("halo_color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        return None if value is None else check_color(value)


class Centroids(Panel[CentroidsOptions]):
    """Each class's name at the centre of its points, following them frame by frame."""

    name = "centroids"

    def __init__(self, options: CentroidsOptions, scene: Scene) -> None:
        super().__init__(options, scene)
        labels = scene.data.labels
        classes = len(scene.data.classes)
        # Computed once here, in the main process; arrays pickle into the render workers.
        self.members = [np.flatnonzero(labels == k) for k in range(classes)]
        self.shown = [k for k in range(classes) if len(self.members[k]) >= options.min_points]

    def centres(self, frame: Frame, box: Box) -> dict[int, tuple[float, float]]:
        """Each shown class's label position in box pixels, for classes whose centre is in
        the box."""
        xy = box.camera.to_pixels(frame.coords, frame.position)
        centres: dict[int, tuple[float, float]] = {}
        for k in self.shown:
            points = xy[self.members[k]]
            points = points[np.isfinite(points).all(axis=1)]
            if not len(points):
                continue
            if self.options.statistic == "mean":
                x, y = points.mean(axis=0, dtype=np.float64)
            else:
                x, y = np.median(points, axis=0)
            if 0 <= x <= box.width and 0 <= y <= box.height:
                centres[k] = (float(x), float(y))
        return centres

    def view(self, frame: Frame, box: Box) -> View:
        scene, options = self.scene, self.options
        rows = [
            {
                "x": round(x, 1),
                "y": round(y, 1),
                "text": scene.data.classes[k],
                "color": scene.colors[k] if options.color == "class" else scene.foreground,
            }
            for k, (x, y) in self.centres(frame, box).items()
        ]
        mark = {
            "type": "text",
            "align": "center",
            "baseline": "middle",
            "fontSize": options.font_size,
            "fontWeight": "bold" if options.bold else "normal",
            "font": scene.font,
        }
        encoding: dict[str, Any] = {
            "x": {"field": "x", "type": "quantitative", "scale": None, "axis": None},
            "y": {"field": "y", "type": "quantitative", "scale": None, "axis": None},
            "text": {"field": "text", "type": "nominal"},
        }
        layers: list[dict[str, Any]] = []
        if options.halo > 0:
            outline = options.halo_color or scene.background
            layers.append(
                {
                    "mark": {
                        **mark,
                        "color": outline,
                        "stroke": outline,
                        "strokeWidth": 2 * options.halo,  # half of a stroke lies inside
                        "strokeJoin": "round",
                    },
                    "encoding": encoding,
                }
            )
        color = {"field": "color", "type": "nominal", "scale": None, "legend": None}
        layers.append({"mark": mark, "encoding": {**encoding, "color": color}})
        return {"data": {"values": rows}, "layer": layers}
