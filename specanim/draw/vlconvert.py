"""Turning a Vega-Lite spec into pixels with vl-convert."""

from __future__ import annotations

import functools
import io
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from specanim.draw.bounds import check_canvas, drawable_json, split_character
from specanim.errors import VegaLiteError
from specanim.fonts import vl_convert
from specanim.spec import urls


def rasterize(spec: dict[str, Any], scale: float = 1.0, alpha: bool = False) -> np.ndarray:
    """Render a complete Vega-Lite spec to a (height, width, 3) uint8 array, or with alpha a
    (height, width, 4) RGBA one (straight alpha).

    ExternalURL if the spec would load anything but inline data (see ``urls``).
    """
    urls.check_spec(spec)
    return _rasterize(_text(spec), scale, alpha)


def rasterize_remembered(spec: dict[str, Any]) -> np.ndarray:
    """``rasterize(spec)`` as a read-only array, remembered for the last few specs this process
    drew: a part of a frame that looks the same in many frames is drawn once."""
    urls.check_spec(spec)
    return _remembered(_text(spec))


@functools.lru_cache(maxsize=8)
def _remembered(text: str) -> np.ndarray:
    rgb = _rasterize(text, 1.0, False)
    rgb.flags.writeable = False
    return rgb


def _rasterize(text: str, scale: float, alpha: bool) -> np.ndarray:
    vlc = vl_convert()

    # Two steps where vegalite_to_png takes one (same bytes, same time): images are loaded in
    # the second, so the SVG between them is checked first.
    svg = _convert(vlc.vegalite_to_svg, text)
    urls.check_svg(svg)
    check_canvas(svg, scale)
    png = vlc.svg_to_png(svg, scale=scale)
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA" if alpha else "RGB"))


def scenegraph(spec: dict[str, Any]) -> dict[str, Any]:
    """The scenegraph Vega lays a complete Vega-Lite spec out into: every mark and group with
    its position (``origin`` is the top left corner of the content, inside the padding)."""
    vlc = vl_convert()
    urls.check_spec(spec)
    graph: dict[str, Any] = _convert(vlc.vegalite_to_scenegraph, _text(spec))
    return graph


def _text(spec: dict[str, Any]) -> str:
    """spec as the JSON text vl-convert reads: NumPy numbers as numbers, NaN and infinities as
    null (Vega's missing value; vl-convert refuses the text with them, as JSON has no such
    numbers). VegaLiteError if spec holds anything else JSON cannot say."""
    try:
        try:
            text = _dumps(spec)
        except ValueError:  # a NaN or an infinity: the rare case pays for a second pass
            text = _dumps(_finite(spec))
    except (TypeError, ValueError, RecursionError) as exc:
        raise VegaLiteError(f"not JSON: {exc}") from None
    return drawable_json(text)


def _dumps(spec: Any) -> str:
    return json.dumps(spec, separators=(",", ":"), allow_nan=False, default=_number)


def _number(value: Any) -> Any:
    """A NumPy scalar (np.mean's float32) as the Python number it holds."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a {type(value).__name__} is not a JSON value")


def _finite(value: Any) -> Any:
    """value with every NaN and infinity, at any depth, replaced by None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def _convert(convert: Callable[..., Any], text: str) -> Any:
    """convert(text), a Vega-Lite spec checked to name no URL but inline data, by vl-convert
    told to load nothing else (it loads data while laying out). VegaLiteError if vl-convert
    cannot draw it."""
    try:
        return convert(text, allowed_base_urls=urls.ALLOWED_BASE_URLS)
    except ValueError as exc:
        message = str(exc)
        refused = urls.refused_by_vl_convert(message) or split_character(message)
        raise refused or VegaLiteError(_first_words(message)) from None


def _first_words(message: str) -> str:
    """What vl-convert says is wrong, as one line: its message is a heading ("Vega-Lite to SVG
    conversion failed:"), then the JavaScript error, then its stack."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else "vl-convert failed"


def fit_canvas(
    rgb: np.ndarray, width: int, height: int, background: tuple[int, int, int]
) -> np.ndarray:
    """Crop or pad (with background) an image to exactly width x height, anchored top left."""
    if rgb.shape[:2] == (height, width):
        return rgb
    out = np.empty((height, width, 3), np.uint8)
    out[:] = background
    h, w = min(height, rgb.shape[0]), min(width, rgb.shape[1])
    out[:h, :w] = rgb[:h, :w]
    return out


def standalone(
    view: dict[str, Any], background: str, font: str = "Liberation Sans"
) -> dict[str, Any]:
    """A panel's view as a complete spec with the scene's look, for rendering it alone."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        **view,
        **frame_config(background, font),
    }


def frame_config(background: str, font: str) -> dict[str, Any]:
    """The top-level settings every frame uses: no padding, no view outline, the scene's font."""
    return {
        "background": background,
        "padding": 0,
        "autosize": {"type": "pad", "contains": "content"},
        "config": {"view": {"stroke": None}, "font": font, "concat": {"spacing": 0}},
    }


def image_view(url: str, width: int, height: int) -> dict[str, Any]:
    """A view that shows one image (a URL, usually a PNG data URL) filling width x height."""
    return {
        "width": width,
        "height": height,
        "data": {"values": [{"url": url}]},
        "mark": {
            "type": "image",
            "width": width,
            "height": height,
            "aspect": False,
            "align": "left",
            "baseline": "top",
        },
        "encoding": {
            "url": {"field": "url", "type": "nominal"},
            "x": {"value": 0},
            "y": {"value": 0},
        },
    }
