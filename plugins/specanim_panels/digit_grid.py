"""The digit-grid panel: one sample image per class, drawn in its class colour."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field

from specanim.sdk import (
    Box,
    Frame,
    InputError,
    Options,
    Panel,
    RasterLayer,
    Scene,
    View,
    hookimpl,
    rgb,
)
from specanim_panels._common import ONE_ROW, text_mark

Cell = tuple[int, int, int, int]  # x, y, width, height in pixels


class DigitGridOptions(Options):
    """Layout of the grid and how its samples are chosen."""

    columns: int = Field(2, ge=1, le=64, description="images per row; classes fill rows in order")
    resample: bool = Field(
        True, description="show other samples in every frame (seeded by the frame), else fixed ones"
    )
    seed: int = Field(0, ge=0, description="resample: false: chooses the samples shown")
    margin: float = Field(
        0.1,
        ge=0,
        lt=0.5,
        description="fraction of each cell's width and height left around its image",
    )
    label: bool = Field(False, description="print each class's name under its image")
    label_size: float = Field(14, gt=0, le=200, description="font size of the labels, in pixels")


class DigitGrid(Panel[DigitGridOptions]):
    """One sample image per class, in its class colour, alpha = pixel intensity."""

    name = "digit-grid"

    def __init__(self, options: DigitGridOptions, scene: Scene) -> None:
        super().__init__(options, scene)
        if scene.data.images is None:
            raise InputError("the digit-grid panel needs image data, and the dataset has none")
        self.images: np.ndarray = scene.data.images
        labels = scene.data.labels
        self.members = [np.flatnonzero(labels == k) for k in range(len(scene.data.classes))]
        self.colors = [rgb(c) for c in scene.colors]
        # Fixed samples make every frame the same: the core may render this panel once.
        self.dynamic = options.resample

    def view(self, frame: Frame, box: Box) -> View:
        seed = frame.seed if self.options.resample else self.options.seed
        cells, label = self.layout(box.width, box.height)
        canvas = np.zeros((box.height, box.width, 4), np.uint8)
        for cell, index, color in zip(cells, self.samples(seed), self.colors, strict=True):
            if index is not None:
                paint(canvas, self.images[index], color, cell, self.options.margin)
        if not label:
            return RasterLayer(canvas)
        return [RasterLayer(canvas), {"layer": self._labels(cells, label)}]

    def samples(self, seed: int) -> list[int | None]:
        """The index of the image shown for each class (None for a class without points)."""
        rng = np.random.default_rng(seed)
        return [int(m[rng.integers(len(m))]) if len(m) else None for m in self.members]

    def layout(self, width: int, height: int) -> tuple[list[Cell], int]:
        """The (x, y, width, height) of each class's image area, in class order, and the height
        of the label strip below each (0 without labels)."""
        count = len(self.members)
        columns = min(self.options.columns, count)
        rows = math.ceil(count / columns)
        label = 0
        if self.options.label:
            label = math.ceil(min(self.options.label_size * 1.3, height / rows / 2))
        boxes = []
        for k in range(count):
            row, col = divmod(k, columns)
            x0, x1 = width * col // columns, width * (col + 1) // columns
            y0, y1 = height * row // rows, height * (row + 1) // rows
            boxes.append((x0, y0, x1 - x0, y1 - y0 - label))
        return boxes, label

    def _labels(self, cells: list[Cell], label: int) -> list[dict[str, Any]]:
        """One text mark per class, centred under its image and cut to the cell's width."""
        size = min(self.options.label_size, label / 1.3)
        out = []
        for (x, y, w, h), name in zip(cells, self.scene.data.classes, strict=True):
            mark = text_mark(name, size, self.scene.foreground, self.scene.font)
            out.append(
                {
                    "data": ONE_ROW,
                    "mark": {**mark, "align": "center", "baseline": "middle", "limit": w},
                    "encoding": {"x": {"value": x + w / 2}, "y": {"value": y + h + label / 2}},
                }
            )
        return out


def paint(
    canvas: np.ndarray, image: np.ndarray, color: tuple[int, int, int], cell: Cell, margin: float
) -> None:
    """Draw a grey image into an RGBA canvas as colour with alpha = intensity, scaled by nearest
    neighbour (crisp pixels) to fit the cell less its margin, keeping its aspect, centred."""
    x, y, w, h = cell
    ih, iw = image.shape
    scale = min(w * (1 - 2 * margin) / iw, h * (1 - 2 * margin) / ih)
    ow, oh = min(int(iw * scale), w), min(int(ih * scale), h)
    if ow <= 0 or oh <= 0:
        return
    rows = np.arange(oh) * ih // oh
    cols = np.arange(ow) * iw // ow
    left, top = x + (w - ow) // 2, y + (h - oh) // 2
    target = canvas[top : top + oh, left : left + ow]
    target[..., :3] = color
    target[..., 3] = image[rows[:, None], cols[None, :]]


@hookimpl
def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
    register(DigitGrid)
