"""The explorer page of a prepared scene: the frames' Vega-Lite, the points of every scatter box
and the page's own script and style, in one HTML file that opens offline."""

from __future__ import annotations

import html as markup
import json
import warnings
from importlib import resources
from typing import Any

import numpy as np
import vl_convert

from specanim.camera import Box
from specanim.components import Panel
from specanim.draw.compose import EMPTY, Composer
from specanim.draw.layout import Leaf, leaves
from specanim.engine.prepared import Prepared
from specanim.engine.rendering import Result, check_output
from specanim.errors import UserError
from specanim.explore.pack import QUANTA, deflated, packed_json, quantized
from specanim.explore.vector import vary
from specanim.spec.validate import Plan
from specanim.store import manifest
from specanim.store.output import atomic_path, output_lock
from specanim.values import Frame, View

NAME = "html"  # the output type (and encoder) of the page
# Beyond this many points the page draws (and lets hover) a fixed sample of them: each frame
# is drawn by the page's script point by point, 30 times a second.
MAX_POINTS = 100_000
SAMPLE_SEED = 0
# Images of the points (a digit's pixels, shown on hover) beyond this many bytes are left out.
MAX_IMAGE_BYTES = 32_000_000
POINTS_PANEL = "scatter"  # the panel whose points the page draws itself
# What the bundle of Vega, Vega-Lite and vega-embed gives the page's script.
BUNDLE = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"


def is_page(plan: Plan) -> bool:
    """Whether the plan's output is an explorer page."""
    return plan.encoder.cls.name == NAME


def write(prepared: Prepared) -> Result:
    """Write the page of prepared to the plan's output, atomically, with its manifest beside
    it (a previous page is replaced only by a complete new one); what was written."""
    plan, spec = prepared.plan, prepared.plan.spec
    target = plan.output
    check_output(plan)
    check_request(plan)
    text = html(prepared)
    recorder = manifest.Writer(prepared, 0)
    with output_lock(target), atomic_path(target, lambda w: recorder.beside(target, w)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Result(target, prepared.frames, spec.width, spec.height, spec.timeline.fps)


def check_request(
    plan: Plan, frames: bool = False, resume: bool = False, check: bool = False
) -> None:
    """UserError, before any work, for what a page cannot do (a slice of frames, resuming,
    checking frames) and for an existing HTML file at the output that is no previous page of
    specanim (no manifest beside it): HTML files are often the reader's own."""
    asked = [n for n, on in (("--frames", frames), ("--resume", resume), ("--check", check)) if on]
    if asked:
        raise UserError(
            f"{', '.join(asked)}: an html output is one page of the whole animation; "
            "render it without them"
        )
    target = plan.output
    if target.is_file() and not target.is_symlink() and not manifest.path_for(target).is_file():
        raise UserError(
            f"{target}: an HTML file that is no page specanim wrote (no "
            f"{manifest.path_for(target).name} beside it): choose another name, or remove it"
        )


class _Hole(Panel[Any]):
    """Stands for a points panel in the page's Vega-Lite: its box, empty; the page draws the
    points over it. It keeps the panel's options: their ``view`` sets the box's camera."""

    name = "specanim-hole"
    dynamic = True

    def view(self, frame: Frame, box: Box) -> View:
        return {"layer": [EMPTY]}


class _Live(Panel[Any]):
    """A panel drawn by Vega in every frame of the page, even one that never changes (a
    legend), which the video draws once as an image: the page's reader clicks its marks."""

    name = "specanim-live"
    dynamic = True

    def __init__(self, panel: Panel[Any]) -> None:
        super().__init__(panel.options, panel.scene)
        self.panel = panel

    def view(self, frame: Frame, box: Box) -> View:
        return self.panel.view(frame, box)


def html(prepared: Prepared) -> str:
    """The page of prepared, as text: the same scene gives the same text."""
    data = _document(prepared)
    spec = prepared.plan.spec
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    here = resources.files("specanim.explore")
    return _PAGE.format(
        title=markup.escape(spec.title or "specanim"),
        style=here.joinpath("explorer.css").read_text(encoding="utf-8"),
        bundle=vl_convert.javascript_bundle(BUNDLE),
        data=text.replace("</", "<\\/"),
        script=here.joinpath("explorer.js").read_text(encoding="utf-8"),
    )


def _document(prepared: Prepared) -> dict[str, Any]:
    """Everything the page's script reads."""
    plan, spec, scene = prepared.plan, prepared.plan.spec, prepared.composer.scene
    shown = prepared.composer.panels
    drawn = {k for k, p in shown.items() if p.name == POINTS_PANEL}
    panels: dict[str, Panel[Any]] = {
        k: (_Hole(p.options, scene) if k in drawn else _Live(p)) for k, p in shown.items()
    }
    composer = Composer(
        spec, plan.layout, panels, scene, plan.panels, prepared.composer.trajectories
    )
    composer.start(prepared.frame(0))
    frames = [prepared.frame(i) for i in range(len(prepared.shots))]
    vector = vary([composer.frame_spec(f) for f in frames])
    n = len(prepared.data)
    chosen = _sample(n)
    boxes = [
        _box(prepared, composer, leaf, frames, chosen)
        for leaf in leaves(composer.tree)
        if set(leaf.keys) & drawn
    ]
    used = sorted({b["trajectory"] for b in boxes})
    tracks = {}
    for name in used:
        raw, ranges = quantized(composer.trajectories[name].snapshots[:, chosen])
        tracks[name] = {"points": deflated(raw), "ranges": ranges, "count": len(ranges)}
    data = prepared.data
    images = data.images
    image = None
    if images is not None and len(chosen) * images[0].size <= MAX_IMAGE_BYTES:
        picked = np.ascontiguousarray(images[chosen], np.uint8)
        image = {
            "width": int(picked.shape[2]),
            "height": int(picked.shape[1]),
            "pixels": deflated(picked.tobytes()),
        }
    return {
        "width": spec.width,
        "height": spec.height,
        "background": spec.background,
        "foreground": spec.foreground,
        "font": spec.font,
        "fps": spec.timeline.fps,
        "repeats": [s.repeat for s in prepared.shots],
        "values": _plain([dict(f.values, frame=None, frames=None) for f in frames]),
        "vega": packed_json({"template": vector.template, "frames": vector.frames}),
        "boxes": boxes,
        "trajectories": tracks,
        "quanta": QUANTA,
        "points": len(chosen),
        "of": n,
        "index": deflated(np.asarray(chosen, "<u4").tobytes()),
        "labels": deflated(np.asarray(data.labels[chosen], "<u2").tobytes()),
        "classes": list(data.classes),
        "colors": list(scene.colors),
        "image": image,
    }


def _sample(n: int) -> np.ndarray:
    """The points the page draws: all, or a fixed sample of MAX_POINTS, in index order."""
    if n <= MAX_POINTS:
        return np.arange(n)
    warnings.warn(
        f"the page draws a sample of {MAX_POINTS:,} of the {n:,} points (the same sample "
        "every time); the video draws them all",
        UserWarning,
        stacklevel=3,
    )
    rng = np.random.default_rng(SAMPLE_SEED)
    return np.sort(rng.choice(n, MAX_POINTS, replace=False))


def _box(
    prepared: Prepared, composer: Composer, leaf: Leaf, frames: list[Frame], chosen: np.ndarray
) -> dict[str, Any]:
    """A box of points: where it is, how its points look, and per shot the snapshots it shows
    with their blend weight and the camera's map to its pixels."""
    key = next(k for k in leaf.keys if prepared.composer.panels[k].name == POINTS_PANEL)
    panel: Any = prepared.composer.panels[key]  # the scatter panel: its colours and options
    options = panel.options
    camera = leaf.box.camera
    last = len(composer.trajectories[leaf.trajectory]) - 1
    shots = []
    for frame in frames:
        position = min(max(composer.frame_of(leaf.trajectory, frame).position, 0.0), float(last))
        lo = int(np.floor(position))
        matrix, offset = camera.transform(position)
        shots.append([lo, position - lo, *matrix.ravel().tolist(), *offset.tolist()])
    colors = np.asarray(panel.colors, np.uint8)[chosen]
    return {
        "name": leaf.name,
        "corner": list(composer.corners[leaf.name]),
        "width": leaf.box.width,
        "height": leaf.box.height,
        "trajectory": leaf.trajectory,
        "size": float(options.point_size),
        "opacity": float(options.opacity),
        "colors": deflated(colors.tobytes()),
        "shots": shots,
    }


def _plain(value: Any) -> Any:
    """value with numpy numbers as Python ones and no NaN (JSON has none)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{style}
</style>
</head>
<body>
<div id="specanim">
<div id="stage"><div id="vega"></div></div>
<div id="controls">
<button id="play" type="button" title="play / pause (space)">play</button>
<input id="scrub" type="range" min="0" max="0" value="0" aria-label="frame">
<span id="where"></span>
<label>speed <select id="speed"><option>0.25</option><option>0.5</option>
<option selected>1</option><option>2</option><option>4</option></select></label>
<button id="reset" type="button" title="reset zoom (double click)">reset view</button>
</div>
<div id="legend"></div>
<div id="note"></div>
<div id="tip" hidden><canvas id="tip-image"></canvas><div id="tip-text"></div></div>
</div>
<script>
{bundle}
</script>
<script type="application/json" id="specanim-data">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""
