"""The legend panel: each class's name beside its colour, or a colour bar for a value."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field

from specanim.sdk import Box, Frame, Options, Panel, Scene, View, hookimpl
from specanim_panels._common import ONE_ROW, ColorOptions, ValueColors

PAD = 6  # pixels kept free around the legend's content
CHAR_WIDTH = 0.6  # a Liberation Sans character's average width, in ems: enough to size text
LINE = 1.6  # an entry's height, in font sizes
MIN_TITLE_SIZE = 7.0  # pixels: the smallest a legend's title is set to fit its box
BAR_THICKNESS = 16  # the colour bar's width across its length, in pixels, at most


class LegendOptions(Options):
    """What the legend explains and how its entries are laid out."""

    color: ColorOptions | None = Field(
        None,
        description="the scatter's color: options, to explain them with a colour bar; without "
        "it the legend names the classes",
    )
    columns: int | None = Field(
        None,
        ge=1,
        le=64,
        description="classes: entries per row (default: the number that fits the largest text)",
    )
    direction: Literal["rows", "columns"] = Field(
        "columns",
        description="classes: fill the columns top to bottom one after the other (columns), or "
        "the rows left to right (rows)",
    )
    swatch: Literal["circle", "square"] = Field("circle", description="the shape of a swatch")
    font_size: float = Field(
        14, gt=0, le=200, description="the largest font size in pixels; smaller if it must fit"
    )
    heading: str | None = Field(
        None,
        description="a title above the entries (default: none for classes, the column's name "
        "for a colour bar; '' for none)",
    )
    orientation: Literal["auto", "vertical", "horizontal"] = Field(
        "auto",
        description="colour bar: along the box's longer side (auto), upright or across",
    )
    ticks: int = Field(5, ge=2, le=20, description="colour bar: about how many labelled ticks")


class Legend(Panel[LegendOptions]):
    """Each class's name beside its colour, or a colour bar for a value, fitted to its box."""

    name = "legend"
    dynamic = False  # the same in every frame: the core may draw it once

    def __init__(self, options: LegendOptions, scene: Scene) -> None:
        super().__init__(options, scene)
        self.by_value = ValueColors.of(options.color, scene) if options.color else None

    def view(self, frame: Frame, box: Box) -> View:
        if self.by_value is not None:
            return self._bar(self.by_value, box.width, box.height)
        return self._classes(box.width, box.height)

    # --- classes ---------------------------------------------------------------------------

    def _title(self, default: str, width: int) -> tuple[list[dict[str, Any]], float]:
        """The title's layer (none for an empty title) and the height it takes."""
        title = default if self.options.heading is None else self.options.heading
        if not title:
            return [], 0.0
        room = max(width - 2 * PAD, 1)
        # A title too long for the box is set smaller to show whole, down to MIN_TITLE_SIZE;
        # beyond that Vega's limit shortens it with an ellipsis.
        wide = CHAR_WIDTH * len(title)
        size = max(min(self.options.font_size, room / wide), MIN_TITLE_SIZE)
        mark = self._text(size, align="left", baseline="top", limit=room)
        layer = {
            "data": ONE_ROW,
            "mark": {**mark, "text": title, "fontWeight": "bold", "x": PAD, "y": PAD},
        }
        return [layer], size * LINE

    def _classes(self, width: int, height: int) -> dict[str, Any]:
        """Swatch and name of every class, in a grid of cells fitted to the box."""
        names = self.scene.data.classes
        colors = self.scene.colors
        title, top = self._title("", width)
        columns, size = self._fit(names, width, height - top)
        rows = math.ceil(len(names) / columns)
        cell_w = (width - 2 * PAD) / columns
        line = size * LINE
        swatch = size * 0.9
        entries = []
        for k, (name, color) in enumerate(zip(names, colors, strict=True)):
            row, col = (
                (k % rows, k // rows) if self.options.direction == "columns" else divmod(k, columns)
            )
            x = PAD + col * cell_w
            y = top + PAD + row * line + line / 2
            entries.append(
                {"x": x + swatch / 2, "y": y, "tx": x + swatch + size * 0.4, "c": color, "t": name}
            )
        number = {"type": "quantitative", "scale": None, "axis": None}
        shape = "circle" if self.options.swatch == "circle" else "square"
        text_room = max(cell_w - swatch - size * 0.8, 1)
        return {
            "width": width,
            "height": height,
            "layer": [
                *title,
                {
                    "data": {"values": entries},
                    "layer": [
                        {
                            "mark": {
                                "type": "point",
                                "shape": shape,
                                "filled": True,
                                "opacity": 1,
                                "size": swatch**2,
                            },
                            "encoding": {
                                "x": {"field": "x", **number},
                                "y": {"field": "y", **number},
                                "color": {"field": "c", "type": "nominal", "scale": None},
                            },
                        },
                        {
                            "mark": self._text(
                                size, align="left", baseline="middle", limit=text_room
                            ),
                            "encoding": {
                                "x": {"field": "tx", **number},
                                "y": {"field": "y", **number},
                                "text": {"field": "t", "type": "nominal"},
                            },
                        },
                    ],
                },
            ],
        }

    def _fit(self, names: tuple[str, ...], width: int, height: float) -> tuple[int, float]:
        """(columns, font size): the given columns, or the count that allows the largest text,
        and the largest size up to font_size at which every entry fits its cell."""
        longest = max((len(name) for name in names), default=1)

        def size_for(columns: int) -> float:
            rows = math.ceil(len(names) / columns)
            by_height = (height - 2 * PAD) / (rows * LINE)
            # A cell holds a swatch (0.9 em), two gaps (0.8 em) and the name.
            by_width = (width - 2 * PAD) / columns / (1.7 + CHAR_WIDTH * longest)
            return max(min(self.options.font_size, by_height, by_width), 1.0)

        if self.options.columns is not None:
            return self.options.columns, size_for(self.options.columns)
        # Among layouts of the same text size, a wide box takes more columns, a tall one fewer.
        wide = 1 if width > height else -1
        best = max(range(1, len(names) + 1), key=lambda c: (size_for(c), wide * c))
        return best, size_for(best)

    def _text(self, size: float, **mark: Any) -> dict[str, Any]:
        scene = self.scene
        return {
            "type": "text",
            "fontSize": size,
            "color": scene.foreground,
            "font": scene.font,
            **mark,
        }

    # --- a colour bar ----------------------------------------------------------------------

    def _bar(self, by_value: ValueColors, width: int, height: int) -> dict[str, Any]:
        """The scheme as a bar from the domain's low end to its high end, with ticks."""
        title, top = self._title(by_value.field, width)
        vertical = self.options.orientation == "vertical" or (
            self.options.orientation == "auto" and height - top > width
        )
        size = self.options.font_size
        low, high = by_value.domain
        samples = by_value.palette[:-1]  # the last is for missing values
        ticks = nice_ticks(low, high, self.options.ticks)
        labels = [format_tick(t, ticks) for t in ticks]
        if vertical:
            label_room = CHAR_WIDTH * size * max(len(t) for t in labels)
            thickness = max(min(BAR_THICKNESS, width - 2 * PAD - label_room - 6), 4)
            start, end = height - PAD - size / 2, top + PAD + size / 2  # low values at the bottom
            across: tuple[float, float] = (PAD, PAD + thickness)
        else:
            thickness = max(min(BAR_THICKNESS, height - top - 2 * PAD - size * LINE), 4)
            start, end = PAD + size, width - PAD - size
            across = (top + PAD, top + PAD + thickness)
        edges = np.linspace(start, end, len(samples) + 1)
        # One rect per sample, overlapping the next by a pixel so no seam shows between them.
        step = 1.0 if end > start else -1.0
        cells = [
            {"a": float(a), "b": float(b + step), "c": color}
            for a, b, color in zip(edges[:-1], edges[1:], samples, strict=True)
        ]
        where = [float(start + (t - low) / (high - low) * (end - start)) for t in ticks]
        tick_rows = [{"p": p, "t": text} for p, text in zip(where, labels, strict=True)]
        number = {"type": "quantitative", "scale": None, "axis": None}
        along, cross = ("y", "x") if vertical else ("x", "y")
        tick_end = across[1] + 4
        tick_mark = self._text(
            size,
            **(
                {"align": "left", "baseline": "middle", cross: tick_end + 3}
                if vertical
                else {"align": "center", "baseline": "top", cross: tick_end + 2}
            ),
        )
        return {
            "width": width,
            "height": height,
            "layer": [
                *title,
                {
                    "data": {"values": cells},
                    "mark": {"type": "rect", cross: across[0], f"{cross}2": across[1]},
                    "encoding": {
                        along: {"field": "a", **number},
                        f"{along}2": {"field": "b"},
                        "color": {"field": "c", "type": "nominal", "scale": None},
                    },
                },
                {
                    "data": {"values": tick_rows},
                    "layer": [
                        {
                            "mark": {
                                "type": "rule",
                                "color": self.scene.foreground,
                                cross: across[1],
                                f"{cross}2": tick_end,
                            },
                            "encoding": {along: {"field": "p", **number}},
                        },
                        {
                            "mark": tick_mark,
                            "encoding": {
                                along: {"field": "p", **number},
                                "text": {"field": "t", "type": "nominal"},
                            },
                        },
                    ],
                },
            ],
        }


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """About count round values (multiples of 1, 2 or 5 times a power of ten) in low..high."""
    if not high > low:
        return [low]
    power = 10 ** math.floor(math.log10((high - low) / max(count - 1, 1)))

    def ticks(step: float) -> list[float]:
        first = math.ceil(low / step - 1e-9)
        values = [(first + k) * step for k in range(int((high - low) / step + 1e-9) + 2)]
        return [v for v in values if low - 1e-9 * step <= v <= high + 1e-9 * step]

    # The round step whose tick count is nearest to count; of two as near, the coarser.
    steps = [m * power for m in (1, 2, 5, 10)]
    return ticks(min(steps, key=lambda s: (abs(len(ticks(s)) - count), -s)))


def format_tick(value: float, ticks: list[float]) -> str:
    """value with as many decimals as the ticks' spacing needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value) or 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


@hookimpl
def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
    register(Legend)
