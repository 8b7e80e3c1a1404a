"""The frame's layout in pixels: the layout tree of the spec split into boxes, each with its
camera and its title line, in stacks side by side or one over another; and where Vega put each
named view."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from specanim.camera import Box, Camera, ViewOptions
from specanim.errors import UserError
from specanim.spec.models import Layer, LayoutNode, SceneSpec, Split
from specanim.values import Trajectory

TITLE_GAP = 1.35  # line height as a multiple of the font size


@dataclass(frozen=True)
class Size:
    """A part of the frame at its pixel size."""

    width: int
    height: int


@dataclass(frozen=True)
class Leaf:
    """Panels drawn in one box, bottom to top, the trajectory they draw, and the box's title
    line (a panel's ``title:``) above it."""

    keys: tuple[str, ...]
    box: Box
    trajectory: str
    name: str  # of its view in the frame's Vega-Lite, to find where Vega put it
    title: tuple[str, Size] | None = None


@dataclass(frozen=True)
class Stack:
    """Parts side by side (horizontal) or stacked, with the title block on top if titled."""

    horizontal: bool
    parts: tuple[Leaf | Stack, ...]
    title: Size | None = None


def place(
    spec: SceneSpec,
    layout: LayoutNode,
    views: Mapping[str, object],
    trajectories: Mapping[str, Trajectory],
    lead: str,
) -> Leaf | Stack:
    """The layout placed in the frame less its margins: views holds each panel's ``view:``
    options (a ViewOptions, or anything else for none); a box draws the trajectory its panels'
    entries name, else lead."""
    return _Placing(spec, layout, views, trajectories, lead).tree


class _Placing:
    def __init__(
        self,
        spec: SceneSpec,
        layout: LayoutNode,
        views: Mapping[str, object],
        trajectories: Mapping[str, Trajectory],
        lead: str,
    ) -> None:
        self.spec = spec
        self.views = views
        self.trajectories = trajectories
        self.lead = lead
        self.entry_of = {p.key: p for p in spec.panels}
        self._titled = _title_node(layout) if spec.title or spec.subtitle else None
        self._leaf_names: list[str] = []
        self.tree = self._place(layout, spec.width - 2 * spec.margin, spec.height - 2 * spec.margin)

    def _place(self, node: LayoutNode, width: int, height: int) -> Leaf | Stack:
        title = None
        if node is self._titled:
            title = Size(width, title_height(self.spec))
            height -= title.height
        if not isinstance(node, Split):
            leaf = self._leaf(node, width, height)
            return leaf if title is None else Stack(False, (leaf,), title)
        along = width if node.horizontal else height
        sizes = split_sizes(along, node.sizes or [1.0] * len(node.children), self.spec.spacing)
        parts = tuple(
            self._place(child, size, height) if node.horizontal else self._place(child, width, size)
            for child, size in zip(node.children, sizes, strict=True)
        )
        return Stack(node.horizontal, parts, title)

    def _leaf(self, node: Layer | str, width: int, height: int) -> Leaf:
        keys = tuple(node.layer) if isinstance(node, Layer) else (node,)
        options = node.view if isinstance(node, Layer) else None
        options = options or next(
            (v for k in keys if isinstance(v := self.views.get(k), ViewOptions)),
            ViewOptions(),
        )
        entries = [self.entry_of[k] for k in keys if k in self.entry_of]
        shown = next((e.trajectory for e in entries if e.trajectory), self.lead)
        text = next((e.title for e in entries if e.title), None)
        title = None
        if text:
            title = (text, Size(width, int(round(self.spec.subtitle_size * TITLE_GAP))))
            height -= title[1].height
        if width < 1 or height < 1:
            spec = self.spec
            raise UserError(
                f"panel '{keys[0]}' would get {width} x {height} pixels: the frame "
                f"({spec.width} x {spec.height}) is too small for its layout, margin "
                f"({spec.margin}), spacing ({spec.spacing}) and titles"
            )
        camera = Camera(options, self.trajectories[shown], width, height)
        name = f"specanim_box_{len(self._leaf_names)}"
        self._leaf_names.append(name)
        return Leaf(keys, Box(width, height, camera), shown, name, title)


def leaves(part: Leaf | Stack) -> Iterator[Leaf]:
    """The boxes of a placed layout, in order."""
    if isinstance(part, Leaf):
        yield part
    else:
        for p in part.parts:
            yield from leaves(p)


def title_size(part: Leaf | Stack) -> Size | None:
    """The size of the scene title's block, if the layout has one."""
    if isinstance(part, Leaf):
        return None
    if part.title is not None:
        return part.title
    return next((size for p in part.parts if (size := title_size(p)) is not None), None)


def split_sizes(total: int, weights: list[float], spacing: int) -> list[int]:
    """Integer sizes in proportion to weights that, with spacing between them, sum to total."""
    room = max(total - spacing * (len(weights) - 1), len(weights))
    edges = np.round(np.cumsum([0.0, *weights]) / sum(weights) * room).astype(int)
    return [int(b - a) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _title_node(layout: LayoutNode) -> LayoutNode:
    """The layout part that carries the title: the one marked ``title: true``, else the root."""

    def find(node: LayoutNode) -> LayoutNode | None:
        if isinstance(node, str):
            return None
        if node.title:
            return node
        if isinstance(node, Split):
            for child in node.children:
                found = find(child)
                if found is not None:
                    return found
        return None

    return find(layout) or layout


def corners(scenegraph: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Where Vega put each named view: the top left corner of its group, in frame pixels."""
    found: dict[str, tuple[int, int]] = {}

    def walk(mark: dict[str, Any], x: float, y: float) -> None:
        for item in mark.get("items", []):
            # A mark at a missing position (null: a view's NaN) has x or y None.
            ix, iy = x + (item.get("x") or 0), y + (item.get("y") or 0)
            name = mark.get("name", "")
            if mark.get("marktype") == "group" and name.endswith("_group"):
                found.setdefault(name[: -len("_group")], (int(round(ix)), int(round(iy))))
            for child in item.get("items", []):
                walk(child, ix, iy)

    ox, oy = scenegraph.get("origin", (0, 0))
    walk(scenegraph["scenegraph"], ox, oy)
    return found


def title_height(spec: SceneSpec) -> int:
    """Pixels the scene's title block takes."""
    h = (spec.title_size if spec.title else 0) + (spec.subtitle_size if spec.subtitle else 0)
    return int(round(h * TITLE_GAP)) + spec.spacing
