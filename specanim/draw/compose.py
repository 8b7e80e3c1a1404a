"""Composing one frame: the layout's panels (and the title) as one Vega-Lite spec.

The layout tree is split into pixel boxes once, each with its camera; each frame asks every
panel for its view of its box and nests the views in hconcat/vconcat (a ``layer:`` box stacks
the views of its panels). Whatever a panel returns (Vega-Lite, an Altair chart, a raster layer or
a list of them) becomes Vega-Lite here. Panels that never change (and a title with no
``{fields}``) are rendered once and embedded as images from then on.

``frame_spec`` is the whole frame as one Vega-Lite spec, raster layers embedded: the reference.
Renders draw the same pixels from ``frame_pieces``: vector marks drawn by vl-convert and raster
layers painted where Vega put their boxes (``corners``), so no raster layer is encoded as PNG.
Which pieces is decided from the spec and the first frame's layout alone: box by box (each box's
vector marks drawn alone at the box's size) when every box's marks lie within it and no
frame-level Vega-Lite acts on the whole frame; else the whole frame's vector marks as one piece.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from specanim.camera import Box
from specanim.components import Panel
from specanim.draw.layout import (
    TITLE_GAP,
    Leaf,
    Size,
    Stack,
    corners,
    leaves,
    place,
    title_size,
)
from specanim.draw.raster import png_data_url
from specanim.draw.timeline import frame_of
from specanim.draw.vlconvert import (
    frame_config,
    image_view,
    rasterize,
    rasterize_remembered,
    scenegraph,
    standalone,
)
from specanim.errors import ComponentError, SpecanimError, VegaLiteError
from specanim.spec import vega_lite
from specanim.spec.models import LayoutNode, SceneSpec
from specanim.values import Frame, RasterLayer, Scene, Trajectory, View

TITLE = "specanim_title"  # the name of the scene title's view
WHOLE = "specanim_frame"  # the name of a piece that is the whole frame
# A mark that draws nothing: an empty box keeps its size with it.
EMPTY: dict[str, Any] = {"data": {"values": []}, "mark": "point"}
# Scales of the panels drawn in one box are their own: one panel's data never rescales another.
INDEPENDENT = {"scale": {c: "independent" for c in ("x", "y", "color", "opacity", "size")}}
# The keys of a view that places views side by side: Vega-Lite draws none of them in a layer.
CONCATS = ("hconcat", "vconcat", "concat", "facet", "repeat")


class Entry(Protocol):
    """A panel's spec entry: turns the panel's errors into errors that name the entry."""

    def blame(self, call: str = "") -> AbstractContextManager[None]: ...

    def fault(self, message: str, detail: str = "") -> ComponentError: ...


@dataclass(frozen=True)
class Piece:
    """A part of a frame that is drawn on its own and placed where Vega put the view called
    name: a complete Vega-Lite spec that vl-convert draws, opaque on the scene's background,
    at exactly size; or RGBA pixels painted over what lies below."""

    name: str
    size: Size
    spec: dict[str, Any] | None = None
    rgba: np.ndarray | None = None
    fitted: bool = False  # the spec is the whole frame: whatever size it draws at will do

    def fits(self, rgb: np.ndarray) -> bool:
        """Whether the spec drew at exactly the piece's size: marks beyond their box (an axis,
        a long label) grow the drawing, and Vega moves the boxes around them."""
        return self.fitted or bool(rgb.shape[:2] == (self.size.height, self.size.width))


class Composer:
    """Builds the Vega-Lite spec of any frame of one scene."""

    def __init__(
        self,
        spec: SceneSpec,
        layout: LayoutNode,
        panels: dict[str, Panel[Any]],
        scene: Scene,
        entries: Mapping[str, Entry] | None = None,
        trajectories: Mapping[str, Trajectory] | None = None,
    ):
        """scene holds the lead trajectory, the one frames are planned on; trajectories holds
        every trajectory by name (default: the lead alone, named by the first reducer)."""
        self.spec = spec
        self.panels = panels
        self.scene = scene
        self.entries = entries or {}
        names = list(spec.reducer_entries)
        self.trajectories = dict(trajectories or {names[0]: scene.trajectory})
        self.lead = next(n for n, t in self.trajectories.items() if t is scene.trajectory)
        self.entry_of = {p.key: p for p in spec.panels}
        self.styles = {p.key: p.vega_lite for p in spec.panels if p.vega_lite}  # by panel key
        self._config = {**frame_config(spec.background, spec.font), "padding": spec.margin}
        views = {key: getattr(panel.options, "view", None) for key, panel in panels.items()}
        self.tree = place(spec, layout, views, self.trajectories, self.lead)
        self.box_of = {key: leaf.keys for leaf in leaves(self.tree) for key in leaf.keys}
        self._static: dict[str, RasterLayer] = {}  # panels that never change, drawn once
        self._static_title: RasterLayer | None = None
        # While start() runs: each panel's parts of the first frame, asked for once (a million
        # points take a while to draw), with the frame they are of and the datasets they added.
        self._first: dict[str, tuple[Frame, list[Any], dict[str, Any]]] | None = None
        self.corners: dict[str, tuple[int, int]] = {WHOLE: (0, 0)}  # where each view lies
        self.by_box = False  # whether frames are drawn box by box (see frame_pieces)

    def frame_of(self, trajectory: str, frame: Frame) -> Frame:
        """The frame (of the lead trajectory) as seen in a named trajectory of the scene."""
        if trajectory == self.lead:
            return frame
        return frame_of(self.trajectories[trajectory], frame, self.scene.trajectory)

    def start(self, frame: Frame) -> None:
        """Ask every panel for its view of one frame before any frame is rendered: a panel's
        error surfaces here, in this process; cameras measure what they show; and the parts
        that never change are rendered once, to be reused as images in every frame. The other
        panels are asked with ``layout_only``: their raster layers are not looked at."""
        self._first = {}
        try:
            self._start(dataclasses.replace(frame, layout_only=True), frame)
        except VegaLiteError as exc:
            raise self.culprit(frame, exc) from None
        finally:
            self._first = None

    def culprit(self, frame: Frame, error: VegaLiteError) -> SpecanimError:
        """The error to raise when vl-convert could not draw (a piece of) frame: a
        ComponentError naming the first panel whose view of frame cannot be drawn alone either,
        and what is wrong with it (by Vega-Lite's schema, else by vl-convert), or error itself
        when every view can."""
        for leaf in leaves(self.tree):
            seen = self.frame_of(leaf.trajectory, frame)
            for key in leaf.keys:
                entry = self.entries.get(key)
                datasets: dict[str, Any] = {}
                for part in self._panel_parts_of(key, seen, leaf.box, datasets):
                    if entry is None or isinstance(part, RasterLayer):
                        continue
                    alone = self._alone(part, datasets)
                    try:
                        scenegraph(alone)
                    except VegaLiteError as failed:
                        why = vega_lite.problem(alone) or str(failed)
                        return entry.fault(
                            f"returned Vega-Lite in view() of frame {frame.index} that cannot "
                            f"be drawn: {why}"
                        )
        return error

    def _start(self, frame: Frame, full: Frame) -> None:
        """start(): frame asked for layout only; full, the same frame, for the parts drawn
        once."""
        for leaf in leaves(self.tree):
            for key in leaf.keys:
                datasets: dict[str, Any] = {}
                # A part that never changes is drawn once, opaque: alone in its box only.
                if not self.panels[key].dynamic and len(leaf.keys) == 1:
                    seen = self.frame_of(leaf.trajectory, full)
                    parts = self._panel_parts_of(key, seen, leaf.box, datasets)
                    size = Size(leaf.box.width, leaf.box.height)
                    view = self._embedded(parts, size, datasets)
                    self._static[key] = self._drawn(view, datasets)
                else:
                    seen = self.frame_of(leaf.trajectory, frame)
                    self._panel_parts(key, seen, leaf.box, datasets)
        title = title_size(self.tree)
        if title is not None and "{" not in self.spec.title + self.spec.subtitle:
            self._static_title = self._drawn(self._scene_title(frame, title))
        graph = scenegraph(self.frame_spec(frame, painted=True))
        self.corners = {WHOLE: (0, 0), **corners(graph)}
        if isinstance(self.tree, Leaf):  # the frame's top view: Vega names no group for it
            x, y = graph.get("origin", (0, 0))
            self.corners[self.tree.name] = (int(round(x)), int(round(y)))
        # Frame-level Vega-Lite beyond config (params, padding, ...) acts on the whole frame.
        whole = set(self.spec.vega_lite or {}) - {"config"}
        self.by_box = not whole and all(
            piece.name in self.corners
            and (piece.spec is None or piece.fits(rasterize_remembered(piece.spec)))
            for piece in self._box_pieces(frame)
        )

    def boxes(self) -> dict[str, Box]:
        """The box of every panel, by panel key (the panels of a layer share one)."""
        return {key: leaf.box for leaf in leaves(self.tree) for key in leaf.keys}

    def frame_spec(self, frame: Frame, painted: bool = False) -> dict[str, Any]:
        """The complete Vega-Lite spec of one frame, raster layers embedded as PNG images; with
        painted, without the raster layers that lie over every vector mark of their box (those
        that ``frame_pieces`` paints): the frame's layout is the same either way."""
        return self._frame(frame, [] if painted else None)

    def frame_pieces(self, frame: Frame, whole: bool = False) -> list[Piece]:
        """The frame as pieces, bottom first, that make the pixels of ``frame_spec`` when each
        is placed at its view's corner on the scene's background, if every spec piece fits.

        Box by box (``by_box``, unless whole): the scene title, then every box's title line,
        its vector marks (with the raster layers below them embedded) and the raster layers
        over them. Otherwise the whole frame's vector marks, then every raster layer over
        them."""
        if whole or not self.by_box:
            painted: list[tuple[str, np.ndarray]] = []
            vector = self._frame(frame, painted)
            size = Size(self.spec.width, self.spec.height)
            # Drawn whole, the frame takes the size Vega gives it: placed at the top left, it
            # is cropped or padded with the background to the scene's size.
            return [Piece(WHOLE, size, vector, fitted=True)] + [
                Piece(name, _size_of(rgba), rgba=rgba) for name, rgba in painted
            ]
        return self._box_pieces(frame)

    def _box_pieces(self, frame: Frame) -> list[Piece]:
        """The frame's pieces box by box (see frame_pieces)."""
        pieces = []
        title = title_size(self.tree)
        if title is not None and self._static_title is not None:
            pieces.append(Piece(TITLE, title, rgba=self._static_title.rgba))
        elif title is not None:
            pieces.append(Piece(TITLE, title, self._alone(self._scene_title(frame, title))))
        for leaf in leaves(self.tree):
            seen = self.frame_of(leaf.trajectory, frame)
            if leaf.title is not None:
                line = self._leaf_title(leaf, seen)
                pieces.append(Piece(f"{leaf.name}_title", leaf.title[1], self._alone(line)))
            datasets: dict[str, Any] = {}
            below, over = self._leaf_parts(leaf, seen, datasets, split=True)
            size = Size(leaf.box.width, leaf.box.height)
            if below:
                view = self._embedded(below, size, datasets)
                pieces.append(Piece(leaf.name, size, self._alone(view, datasets)))
            pieces += [Piece(leaf.name, size, rgba=rgba) for rgba in over]
        return pieces

    def _frame(self, frame: Frame, painted: list[tuple[str, np.ndarray]] | None) -> dict[str, Any]:
        datasets: dict[str, Any] = {}
        body = self._view(self.tree, frame, datasets, painted)
        out = {**self._config, **body, **({"datasets": datasets} if datasets else {})}
        return vega_lite.merge(out, self.spec.vega_lite) if self.spec.vega_lite else out

    # --- layout ------------------------------------------------------------------------------

    # --- views ---------------------------------------------------------------------------------

    def _view(
        self,
        part: Leaf | Stack,
        frame: Frame,
        datasets: dict[str, Any],
        painted: list[tuple[str, np.ndarray]] | None,
    ) -> dict[str, Any]:
        """A part of the layout as Vega-Lite; with painted, the raster layers at the top of
        each box go there instead of into the spec."""
        if isinstance(part, Leaf):
            frame = self.frame_of(part.trajectory, frame)
            parts, over = self._leaf_parts(part, frame, datasets, split=painted is not None)
            if painted is not None:
                painted += [(part.name, rgba) for rgba in over]
            size = Size(part.box.width, part.box.height)
            view = {**self._embedded(parts, size, datasets), "name": part.name}
            if part.title is None:
                return view
            return {"vconcat": [self._leaf_title(part, frame), view], "spacing": 0}
        body = {
            "hconcat" if part.horizontal else "vconcat": [
                self._view(p, frame, datasets, painted) for p in part.parts
            ],
            "spacing": self.spec.spacing,
        }
        if part.title is None:
            return body
        if self._static_title is None:
            title = self._scene_title(frame, part.title)
        elif painted is None:
            title = self._embedded([self._static_title], part.title, datasets)
        else:
            painted.append((TITLE, self._static_title.rgba))
            title = self._embedded([], part.title, datasets)
        return {"vconcat": [{**title, "name": TITLE}, body], "spacing": 0}

    def _leaf_parts(
        self, leaf: Leaf, frame: Frame, datasets: dict[str, Any], split: bool
    ) -> tuple[list[dict[str, Any] | RasterLayer], list[np.ndarray]]:
        """The parts of a box's panels, bottom first; with split, the raster layers that lie
        over every vector part apart, as pixels to paint (the rest: an empty list)."""
        parts: list[dict[str, Any] | RasterLayer] = []
        for key in leaf.keys:
            static = self._static.get(key)
            parts += [static] if static else self._panel_parts(key, frame, leaf.box, datasets)
        top = len(parts)
        while split and top and isinstance(parts[top - 1], RasterLayer):
            top -= 1
        return parts[:top], [p.rgba for p in parts[top:] if isinstance(p, RasterLayer)]

    def _leaf_title(self, leaf: Leaf, frame: Frame) -> dict[str, Any]:
        """The title line above a box (its panel's ``title:``), as a named view."""
        assert leaf.title is not None
        text, size = leaf.title
        line = self._title_view(frame, size, [(text, self.spec.subtitle_size)])
        return {**line, "name": f"{leaf.name}_title"}

    def _embedded(
        self, parts: list[dict[str, Any] | RasterLayer], size: Size, datasets: dict[str, Any]
    ) -> dict[str, Any]:
        """Parts drawn in one box as one view, raster layers embedded as PNG images; no parts:
        an empty view that keeps the box's size."""
        views = [to_vega_lite(p, size.width, size.height, datasets) for p in parts]
        if not views:
            return {"width": size.width, "height": size.height, "layer": [EMPTY]}
        if len(views) == 1:
            return views[0]
        return layered(views, size.width, size.height, INDEPENDENT)

    def _panel_parts(
        self, key: str, frame: Frame, box: Box, datasets: dict[str, Any]
    ) -> list[dict[str, Any] | RasterLayer]:
        """One panel's view of a frame, bottom first: its raster layers as they are, the rest
        as Vega-Lite with the entry's ``vega_lite:`` merged in. Its errors name its entry."""
        if self._first is None:
            return self._panel_parts_of(key, frame, box, datasets)
        asked = self._first.get(key)
        if asked is None or asked[0] is not frame:
            added: dict[str, Any] = {}
            asked = (frame, self._panel_parts_of(key, frame, box, added), added)
            self._first[key] = asked
        datasets.update(asked[2])
        return list(asked[1])

    def _panel_parts_of(
        self, key: str, frame: Frame, box: Box, datasets: dict[str, Any]
    ) -> list[dict[str, Any] | RasterLayer]:
        entry = self.entries.get(key)
        style = self.styles.get(key)
        out: list[dict[str, Any] | RasterLayer] = []
        call = f"view() of frame {frame.index}"
        with entry.blame(call) if entry is not None else nullcontext():
            view = self.panels[key].view(frame, box)
            for part in view if isinstance(view, list) else [view]:
                if isinstance(part, RasterLayer):
                    check_size(part, box.width, box.height)
                    out.append(part)
                    continue
                converted = to_vega_lite(part, box.width, box.height, datasets)
                out.append(vega_lite.merge_into_view(converted, style) if style else converted)
        others = [k for k in self.box_of.get(key, ()) if k != key]
        concat = next((c for p in out if isinstance(p, dict) for c in CONCATS if c in p), None)
        if concat is not None and (others or len(out) > 1):
            below = f"panel '{others[0]}'" if others else "its other views"
            problem = (
                f"returned a view with '{concat}' in {call}, drawn in a layer with {below}: "
                "a layer draws unit and layer views only"
            )
            raise entry.fault(problem) if entry is not None else ValueError(problem)
        return out

    # --- title and static parts ----------------------------------------------------------------

    def _scene_title(self, frame: Frame, size: Size) -> dict[str, Any]:
        spec = self.spec
        lines = [(spec.title, spec.title_size), (spec.subtitle, spec.subtitle_size)]
        return self._title_view(frame, size, [(t, s) for t, s in lines if t])

    def cut_titles(self, frame: Frame) -> list[str]:
        """The scene's title lines ("title", "subtitle") that, filled from frame's values, are
        wider than the title's box: each is drawn shortened to the box, ending in an ellipsis."""
        size, spec = title_size(self.tree), self.spec
        if size is None:
            return []
        lines = {
            "title": (spec.title, spec.title_size),
            "subtitle": (spec.subtitle, spec.subtitle_size),
        }
        cut = []
        for name, (text, font_size) in lines.items():
            if text:
                line = self._title_view(frame, size, [(text, font_size)], limit=False)
                graph = scenegraph(self._alone(line))
                # Vega widens a view to hold its marks: beyond the box, the text was longer.
                if graph["width"] - 2 * graph.get("origin", (0, 0))[0] > size.width:
                    cut.append(name)
        return cut

    def _title_view(
        self, frame: Frame, size: Size, lines: list[tuple[str, float]], limit: bool = True
    ) -> dict[str, Any]:
        """Lines of text, each filled from frame's values, left-aligned from the top; with limit,
        a line wider than the box is shortened to it, ending in an ellipsis (Vega's limit)."""
        spec, layers, y = self.spec, [], 0.0
        for text, font_size in lines:
            mark = {"type": "text", "align": "left", "baseline": "top", "fontSize": font_size}
            if limit:
                mark["limit"] = size.width
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
            y += font_size * TITLE_GAP
        return {
            "width": size.width,
            "height": size.height,
            "data": {"values": [{}]},
            "layer": layers,
        }

    def _drawn(self, view: dict[str, Any], datasets: dict[str, Any] | None = None) -> RasterLayer:
        """A view drawn alone on the scene's background: opaque pixels, drawn once."""
        # vl-convert's PNGs lose colour where a transparent background shows through, so the
        # part is drawn opaque.
        return RasterLayer(rasterize(self._alone(view, datasets), alpha=True))

    def _alone(
        self, view: dict[str, Any], datasets: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A view (and the named datasets it uses) as a complete spec, styled as in the frame."""
        view = {**view, "datasets": datasets} if datasets else view
        alone = standalone(view, self.spec.background, self.spec.font)
        config = (self.spec.vega_lite or {}).get("config")
        if config:  # the frame's config styles this part too; its padding and the rest do not
            alone = vega_lite.merge(alone, {"config": config})
        return alone


# --- what panels return, as Vega-Lite ---------------------------------------------------------


def to_vega_lite(view: View, width: int, height: int, datasets: dict[str, Any]) -> dict[str, Any]:
    """A panel's view of a width x height box as one Vega-Lite view. Named datasets (Altair puts
    a chart's data there) are moved into datasets, for the frame's top level."""
    if isinstance(view, list):
        parts = [to_vega_lite(v, width, height, datasets) for v in view]
        return parts[0] if len(parts) == 1 else layered(parts, width, height)
    if isinstance(view, RasterLayer):
        check_size(view, width, height)
        return image_view(png_data_url(view.rgba), width, height)
    if isinstance(view, dict):
        spec = view
    elif type(view).__module__.startswith("altair.") and hasattr(view, "to_dict"):
        spec = view.to_dict()
        # Top-level only settings of a standalone chart; the frame has its own.
        for key in ("$schema", "config"):
            spec.pop(key, None)
        datasets.update(spec.pop("datasets", {}))
    else:
        raise TypeError(
            f"a panel's view must be a Vega-Lite dict, an Altair chart, a RasterLayer or a list "
            f"of them, not {type(view).__name__}"
        )
    if any(k in spec for k in CONCATS):
        return spec
    return {"width": width, "height": height, **spec}


def check_size(layer: RasterLayer, width: int, height: int) -> None:
    """ValueError unless the raster layer fills a width x height box exactly."""
    if layer.rgba.shape[:2] != (height, width):
        h, w = layer.rgba.shape[:2]
        raise ValueError(f"a raster layer of {w}x{h} pixels for a box of {width}x{height}")


def layered(
    views: list[dict[str, Any]], width: int, height: int, resolve: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Views drawn over each other in one width x height box, the first at the bottom."""
    layers = []
    for view in views:
        if any(k in view for k in CONCATS):
            raise ValueError("a view drawn in a layer cannot be a concatenation or a facet")
        # A layer's size is its own; Vega-Lite's unit views inside a layer take no size.
        layers.append({k: v for k, v in view.items() if k not in ("width", "height")})
    out: dict[str, Any] = {"width": width, "height": height, "layer": layers}
    if resolve:
        out["resolve"] = dict(resolve)
    return out


def _size_of(rgba: np.ndarray) -> Size:
    return Size(rgba.shape[1], rgba.shape[0])
