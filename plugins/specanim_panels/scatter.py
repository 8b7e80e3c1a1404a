"""The scatter panel: every point of the embedding, coloured by its class or by a value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from specanim.sdk import (
    Box,
    DensityShader,
    Frame,
    Options,
    Panel,
    PointRasterizer,
    RasterLayer,
    Scene,
    View,
    ViewOptions,
    draw_polylines,
    hookimpl,
    over,
    rgb,
)
from specanim_panels._common import ColorOptions, ValueColors

SHUFFLE_SEED = 0  # the draw order is random but the same in every run


class TrailOptions(Options):
    """A fading line behind every point through its recent positions (like gganimate's
    shadow_wake)."""

    length: float = Field(
        5.0, gt=0, description="how far back a trail reaches, in snapshots of the trajectory"
    )
    segments: int = Field(8, ge=1, le=64, description="straight pieces each trail is drawn with")
    width: float | None = Field(
        None, gt=0, le=64, description="stroke width in pixels (default: half the point size)"
    )
    opacity: float = Field(
        0.5, gt=0, le=1, description="opacity at the point; the trail fades to nothing at its end"
    )


class DensityOptions(Options):
    """How ``shade: density`` turns the number of points in each pixel into opacity."""

    how: Literal["eq_hist", "log", "linear"] = Field(
        "eq_hist",
        description="the ramp from a pixel's count to its opacity: eq_hist (histogram "
        "equalised: each opacity level covers as many pixels), log, or linear",
    )
    min_alpha: float = Field(
        0.16, ge=0, le=1, description="opacity of the least crowded pixel that has a point"
    )
    spread: int = Field(
        0,
        ge=0,
        le=8,
        description="each point also counts in the pixels within this many pixels of its own, "
        "so that lone points show (0: only its own pixel)",
    )


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
    trail: TrailOptions | None = Field(
        None, description="a fading trail behind every point; null: none"
    )
    color: ColorOptions | None = Field(
        None,
        description="colour the points by a numeric column ({field: age, scheme: viridis}) "
        "instead of by class",
    )
    shade: Literal["points", "density"] = Field(
        "points",
        description="points: every point drawn as a disc; density: the points counted per "
        "pixel, each pixel coloured by the mean colour (or value) of its points and as opaque "
        "as it is crowded (for hundreds of thousands of points)",
    )
    density: DensityOptions = Field(
        DensityOptions(), description="the opacity ramp of shade: density"
    )

    @field_validator("density")
    @classmethod
    def _density_shading(cls, value: DensityOptions, info: ValidationInfo) -> DensityOptions:
        if info.data.get("shade", "density") != "density":
            raise ValueError("density options apply to shade: density; this scatter has points")
        return value

    @field_validator("shade")
    @classmethod
    def _drawn_as_image(cls, value: str, info: ValidationInfo) -> str:
        if value == "density" and info.data.get("render") == "vector":
            raise ValueError("shade: density draws an image; it cannot go with render: vector")
        return value


class Scatter(Panel[ScatterOptions]):
    """Every point of the embedding, coloured by its class or by a value."""

    name = "scatter"

    def __init__(self, options: ScatterOptions, scene: Scene) -> None:
        super().__init__(options, scene)
        # Each point gets one colour of a palette: its class's, or its value's sample of the
        # scheme; both forms below draw from the same palette and index.
        if options.color is None:
            self.palette, index = scene.colors, scene.data.labels
        else:
            by_value = ValueColors.of(options.color, scene)
            self.palette, index = by_value.palette, by_value.index
        n = len(index)
        self.colors = np.asarray([rgb(c) for c in self.palette], np.uint8)[index]
        self.raster = (
            options.shade == "density"
            or options.render == "raster"
            or (options.render == "auto" and n > options.raster_above)
        )
        self.shader: DensityShader | None = None
        if options.shade == "density":
            density = options.density
            if options.color is None:
                colors, values = self.colors, None
            else:
                # Colouring by a value, a pixel takes the scheme's colour at its points' mean.
                colors = np.asarray([rgb(c) for c in self.palette], np.uint8)
                values = by_value.position
            self.shader = DensityShader(
                colors, density.how, density.min_alpha, density.spread, values
            )
        elif self.raster:
            self.rasterizer = PointRasterizer(self.colors, options.point_size, options.opacity)
        else:
            rng = np.random.default_rng(SHUFFLE_SEED)
            self.order = rng.permutation(n) if options.shuffle else np.arange(n)
            self.hex = np.asarray(self.palette)[index[self.order]]

    def view(self, frame: Frame, box: Box) -> View:
        if self.raster and frame.layout_only:
            # Not drawn: many points are slow to draw in a process without the compiled loops.
            # The camera still measures what it shows here, once, for every process that draws.
            box.camera.warm()
            return RasterLayer(np.zeros((box.height, box.width, 4), np.uint8))
        xy = box.camera.to_pixels(frame.coords, frame.position)
        trail = self._trail(frame, box) if self.options.trail else None
        if self.raster:
            drawing = self.shader or self.rasterizer
            points = drawing.draw(xy, box.width, box.height)
            return RasterLayer(points if trail is None else over(points, trail))
        vector = self._vector(xy[self.order], box.width, box.height)
        return vector if trail is None else [RasterLayer(trail), vector]

    def _trail(self, frame: Frame, box: Box) -> np.ndarray:
        """The trails of every point up to this frame, as RGBA pixels: positions back along the
        trajectory, seen through this frame's camera."""
        trail = self.options.trail
        assert trail is not None
        back = np.linspace(trail.length, 0.0, trail.segments + 1)
        paths = np.stack(
            [
                box.camera.to_pixels(self.scene.trajectory.at(frame.position - b), frame.position)
                for b in back
            ],
            axis=1,
        )
        fade = trail.opacity * np.arange(1, trail.segments + 1) / trail.segments
        width = trail.width or self.options.point_size / 2
        return draw_polylines(paths, self.colors, width, fade[None, :], (box.width, box.height))

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
            self.hex[keep].tolist(),
        )
        number = {"type": "quantitative", "scale": None, "axis": None}
        return {
            "width": width,
            "height": height,
            "data": {
                "values": "x,y,c\n" + "\n".join(rows),
                "format": {"type": "csv", "parse": {"x": "number", "y": "number", "c": "string"}},
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
                # The colours themselves, without a scale: Vega-Lite merges the scales of views
                # that share a field, which would give two scatters of a frame one colouring.
                "color": {"field": "c", "type": "nominal", "scale": None},
            },
        }


@hookimpl
def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
    register(Scatter)
