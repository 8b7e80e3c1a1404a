"""The scatter panel: every point of the embedding, coloured by its class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field

from specanim import hookimpl
from specanim.components import Frame, Options, Panel, Scene
from specanim.palette import to_rgb
from specanim.raster import PointRasterizer, png_data_url
from specanim.render import image_view
from specanim.view import Camera, ViewOptions

SHUFFLE_SEED = 0  # the draw order is random but the same in every run


class ScatterOptions(Options):
    """How the points are drawn and which part of the plane the panel shows."""

    point_size: float = Field(2.5, gt=0, le=64, description="diameter of a point, in pixels")
    opacity: float = Field(0.8, gt=0, le=1, description="opacity of a single point")
    render: Literal["auto", "vector", "raster"] = Field(
        "auto",
        description="vector: one Vega-Lite circle per point; raster: the points drawn into one "
        "image first (much faster for many points); auto: raster above raster_above points",
    )
    raster_above: int = Field(
        500, ge=0, description="render: auto draws more points than this as an image"
    )
    view: ViewOptions = Field(ViewOptions(), description="how coordinates map to the panel")
    shuffle: bool = Field(
        True,
        description="draw the points in a random (but fixed) order, so that no class is always "
        "on top (vector form; the raster form does not depend on order)",
    )


class Scatter(Panel):
    """Every point of the embedding, coloured by its class."""

    name = "scatter"
    Options = ScatterOptions

    def __init__(self, options: ScatterOptions, scene: Scene) -> None:
        super().__init__(options, scene)
        self.options: ScatterOptions = options
        self.camera = Camera(options.view, scene.trajectory)
        labels = scene.data.labels
        n = len(labels)
        self.raster = options.render == "raster" or (
            options.render == "auto" and n > options.raster_above
        )
        if self.raster:
            colors = [to_rgb(c) for c in scene.colors]
            self.rasterizer = PointRasterizer(labels, colors, options.point_size, options.opacity)
        else:
            rng = np.random.default_rng(SHUFFLE_SEED)
            self.order = rng.permutation(n) if options.shuffle else np.arange(n)
            self.labels = labels[self.order]

    def view(self, frame: Frame, width: int, height: int) -> dict[str, Any]:
        xy = self.camera.to_pixels(frame.coords, frame.position, width, height)
        if self.raster:
            return image_view(
                png_data_url(self.rasterizer.render(xy, width, height)), width, height
            )
        return self._vector(xy[self.order], width, height)

    def _vector(self, xy: np.ndarray, width: int, height: int) -> dict[str, Any]:
        """One circle per point, at pixel positions (no scales), clipped to the panel."""
        r = self.options.point_size / 2
        x, y = xy[:, 0], xy[:, 1]
        # Points wholly outside are dropped; those across the edge are clipped by the mark.
        keep = (x > -r) & (x < width + r) & (y > -r) & (y < height + r)
        rows = map(
            "{:.1f},{:.1f},{}".format,
            x[keep].tolist(),
            y[keep].tolist(),
            self.labels[keep].tolist(),
        )
        number = {"type": "quantitative", "scale": None, "axis": None}
        return {
            "width": width,
            "height": height,
            "data": {
                "values": "x,y,c\n" + "\n".join(rows),
                "format": {"type": "csv", "parse": {"x": "number", "y": "number", "c": "number"}},
            },
            "mark": {
                "type": "circle",
                "size": self.options.point_size**2,  # Vega: the area of the symbol's bounding box
                "opacity": self.options.opacity,
                "clip": True,
            },
            "encoding": {
                "x": {"field": "x", **number},
                "y": {"field": "y", **number},
                "color": {
                    "field": "c",
                    "type": "nominal",
                    "scale": {
                        "domain": list(range(len(self.scene.colors))),
                        "range": list(self.scene.colors),
                    },
                    "legend": None,
                },
            },
        }


@hookimpl
def register_panels(register: Callable[[type[Panel]], None]) -> None:
    register(Scatter)
