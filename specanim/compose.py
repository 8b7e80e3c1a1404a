"""Composing one frame: the layout's panels (and the title) as one Vega-Lite spec.

The layout tree is split into pixel boxes once; each frame asks every panel for its view at its
box's size and nests the views in hconcat/vconcat. Panels that never change (and a title with
no ``{fields}``) are rendered once and embedded as images from then on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from specanim.components import Frame, Panel, Scene
from specanim.raster import png_data_url
from specanim.render import frame_config, image_view, standalone, to_rgb
from specanim.spec.models import LayoutNode, SceneSpec, Split

Blame = Callable[[], contextlib.AbstractContextManager[None]]  # see Resolved.blame
TITLE_GAP = 1.35  # line height as a multiple of the font size


@dataclass(frozen=True)
class Box:
    """A part of the frame at its pixel size."""

    width: int
    height: int


@dataclass(frozen=True)
class Leaf:
    """A panel placed in a box."""

    key: str
    box: Box


@dataclass(frozen=True)
class Stack:
    """Parts side by side (horizontal) or stacked, with the title block on top if titled."""

    horizontal: bool
    parts: tuple[Leaf | Stack, ...]
    title: Box | None = None


class Composer:
    """Builds the Vega-Lite spec of any frame of one scene."""

    def __init__(
        self,
        spec: SceneSpec,
        layout: LayoutNode,
        panels: dict[str, Panel],
        scene: Scene,
        blame: Mapping[str, Blame] | None = None,
    ):
        self.spec = spec
        self.panels = panels
        self._blame = dict(blame or {})  # by panel key: names the entry in a view() error
        self.scene = scene
        self._config = {**frame_config(spec.background, spec.font), "padding": spec.margin}
        has_title = bool(spec.title or spec.subtitle)
        self._titled = _title_node(layout) if has_title else None
        self.tree = self._place(layout, spec.width - 2 * spec.margin, spec.height - 2 * spec.margin)
        self._static: dict[str, dict[str, Any]] = {}  # pre-rendered views, by leaf key
        self._static_title: dict[str, Any] | None = None

    def prerender_static(self, frame: Frame) -> None:
        """Render the parts that never change once, to reuse them as images in every frame."""
        for leaf in _leaves(self.tree):
            panel = self.panels[leaf.key]
            if not panel.dynamic:
                view = self._panel_view(leaf, frame)
                self._static[leaf.key] = self._as_image(view, leaf.box)
        title = _title_box(self.tree)
        if title is not None and "{" not in self.spec.title + self.spec.subtitle:
            self._static_title = self._as_image(self._title_view(frame, title), title)

    def frame_spec(self, frame: Frame) -> dict[str, Any]:
        """The complete Vega-Lite spec of one frame."""
        return {**self._config, **self._view(self.tree, frame)}

    def _panel_view(self, leaf: Leaf, frame: Frame) -> dict[str, Any]:
        with self._blame.get(leaf.key, contextlib.nullcontext)():
            return self.panels[leaf.key].view(frame, leaf.box.width, leaf.box.height)

    # --- layout ------------------------------------------------------------------------------

    def title_height(self) -> int:
        """Pixels the title block takes."""
        spec = self.spec
        h = (spec.title_size if spec.title else 0) + (spec.subtitle_size if spec.subtitle else 0)
        return int(round(h * TITLE_GAP)) + spec.spacing

    def _place(self, node: LayoutNode, width: int, height: int) -> Leaf | Stack:
        title = None
        if node is self._titled:
            title = Box(width, self.title_height())
            height -= title.height
        if isinstance(node, str):
            leaf = Leaf(node, Box(width, height))
            return leaf if title is None else Stack(False, (leaf,), title)
        along = width if node.horizontal else height
        sizes = split_sizes(along, node.sizes or [1.0] * len(node.children), self.spec.spacing)
        parts = tuple(
            self._place(child, size, height) if node.horizontal else self._place(child, width, size)
            for child, size in zip(node.children, sizes, strict=True)
        )
        return Stack(node.horizontal, parts, title)

    def _view(self, part: Leaf | Stack, frame: Frame) -> dict[str, Any]:
        if isinstance(part, Leaf):
            static = self._static.get(part.key)
            return static or self._panel_view(part, frame)
        body = {
            "hconcat" if part.horizontal else "vconcat": [self._view(p, frame) for p in part.parts],
            "spacing": self.spec.spacing,
        }
        if part.title is None:
            return body
        title = self._static_title or self._title_view(frame, part.title)
        return {"vconcat": [title, body], "spacing": 0}

    # --- title and static parts ----------------------------------------------------------------

    def _title_view(self, frame: Frame, box: Box) -> dict[str, Any]:
        spec, layers, y = self.spec, [], 0.0
        for text, size in ((spec.title, spec.title_size), (spec.subtitle, spec.subtitle_size)):
            if not text:
                continue
            mark = {"type": "text", "align": "left", "baseline": "top", "fontSize": size}
            layers.append(
                {
                    "mark": {**mark, "font": spec.font, "color": spec.foreground},
                    "encoding": {
                        "x": {"value": 0},
                        "y": {"value": y},
                        "text": {"value": frame.format(text)},
                    },
                }
            )
            y += size * TITLE_GAP
        return {"width": box.width, "height": box.height, "data": {"values": [{}]}, "layer": layers}

    def _as_image(self, view: dict[str, Any], box: Box) -> dict[str, Any]:
        rgb = to_rgb(standalone(view, self.spec.background, self.spec.font))
        return image_view(png_data_url(rgb), box.width, box.height)


def _title_box(part: Leaf | Stack) -> Box | None:
    if isinstance(part, Leaf):
        return None
    if part.title is not None:
        return part.title
    return next((box for p in part.parts if (box := _title_box(p)) is not None), None)


def _leaves(part: Leaf | Stack) -> list[Leaf]:
    return [part] if isinstance(part, Leaf) else [x for p in part.parts for x in _leaves(p)]


def split_sizes(total: int, weights: list[float], spacing: int) -> list[int]:
    """Integer sizes in proportion to weights that, with spacing between them, sum to total."""
    room = max(total - spacing * (len(weights) - 1), len(weights))
    edges = np.round(np.cumsum([0.0, *weights]) / sum(weights) * room).astype(int)
    return [int(b - a) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _title_node(layout: LayoutNode) -> LayoutNode:
    """The layout part that carries the title: the one marked ``title: true``, else the root."""

    def find(node: LayoutNode) -> LayoutNode | None:
        if isinstance(node, Split):
            if node.title:
                return node
            for child in node.children:
                found = find(child)
                if found is not None:
                    return found
        return None

    return find(layout) or layout
