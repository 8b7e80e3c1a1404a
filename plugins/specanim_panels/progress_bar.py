"""The progress-bar panel: how far the optimisation has got, as a growing line or bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, field_validator

from specanim.sdk import Box, Frame, Options, Panel, Scene, Template, View, check_color, hookimpl
from specanim_panels._common import ONE_ROW, text_mark

TRACK_OPACITY = 0.25


class ProgressBarOptions(Options):
    """Look of the bar and its optional label."""

    style: Literal["line", "bar"] = Field(
        "line", description="line: a thin line growing left to right; bar: a filled bar on a track"
    )
    thickness: float | None = Field(
        None, gt=0, description="height of the line or bar in pixels (default: line 2, bar 10)"
    )
    color: str | None = Field(None, description="CSS colour of the bar (default: the foreground)")
    track: bool | None = Field(
        None, description="show the bar's full length faintly behind it (default: only for bars)"
    )
    label: Template = Field(
        "",
        description="text beside the bar, with fields such as {epoch}, {epochs}, {iteration}, "
        "{phase}, {progress:.0%}; empty: none",
    )
    label_side: Literal["left", "right"] = Field("right", description="where the label goes")
    label_width: int = Field(120, ge=0, description="pixels kept for the label beside the bar")
    label_size: float = Field(14, gt=0, le=200, description="font size of the label, in pixels")
    align: Literal["top", "middle", "bottom"] = Field(
        "middle", description="where the bar lies in the panel's height"
    )

    @field_validator("color")
    @classmethod
    def _color(cls, v: str | None) -> str | None:
        return None if v is None else check_color(v)


class ProgressBar(Panel[ProgressBarOptions]):
    """How far the optimisation has got, as a growing line or bar."""

    name = "progress-bar"

    def __init__(self, options: ProgressBarOptions, scene: Scene) -> None:
        super().__init__(options, scene)
        bar = options.style == "bar"
        self.thickness = options.thickness or (10.0 if bar else 2.0)
        self.track = bar if options.track is None else options.track
        self.color = options.color or scene.foreground

    def view(self, frame: Frame, box: Box) -> View:
        width, height = box.width, box.height
        progress = min(max(float(frame.values.get("progress", 0.0)), 0.0), 1.0)
        label = self.options.label and frame.format(self.options.label)
        room = min(self.options.label_width, width) if label else 0
        x0, x1 = (room, width) if self.options.label_side == "left" else (0, width - room)
        thickness = min(self.thickness, height)
        top = {"top": 0.0, "middle": (height - thickness) / 2, "bottom": height - thickness}
        y0 = top[self.options.align]
        middle = y0 + thickness / 2
        layers = []
        if self.track:
            layers.append(self._rect(x0, x1, y0, thickness, TRACK_OPACITY))
        layers.append(self._rect(x0, x0 + progress * (x1 - x0), y0, thickness, 1.0))
        if label:
            layers.append(self._label(label, room, width, height, middle))
        return {"width": width, "height": height, "layer": layers}

    def _rect(
        self, x0: float, x1: float, y0: float, thickness: float, opacity: float
    ) -> dict[str, Any]:
        mark: dict[str, Any] = {"type": "rect", "color": self.color, "opacity": opacity}
        if self.options.style == "bar":
            mark["cornerRadius"] = thickness / 2
        return {
            "data": ONE_ROW,
            "mark": mark,
            "encoding": {
                "x": {"value": x0},
                "x2": {"value": x1},
                "y": {"value": y0},
                "y2": {"value": y0 + thickness},
            },
        }

    def _label(
        self, text: str, room: int, width: int, height: int, middle: float
    ) -> dict[str, Any]:
        """The label in its room beside the bar, level with it but kept inside the panel."""
        size = min(self.options.label_size, height)
        y = min(max(middle, size / 2), height - size / 2)
        gap = min(size / 2, room / 4)  # between the bar and the text
        left = self.options.label_side == "left"
        mark = text_mark(text, size, self.scene.foreground, self.scene.font)
        return {
            "data": ONE_ROW,
            "mark": {
                **mark,
                "align": "left" if left else "right",
                "baseline": "middle",
                "limit": max(room - gap, 1),
            },
            "encoding": {"x": {"value": 0 if left else width}, "y": {"value": y}},
        }


@hookimpl
def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
    register(ProgressBar)
