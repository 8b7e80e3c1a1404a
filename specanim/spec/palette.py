"""Palettes: Vega colour scheme names or lists of CSS colours, resolved to one colour per class.

Scheme colours come from Vega itself (through vl-convert), so every scheme Vega knows looks
exactly as it does in any other Vega chart.
"""

from __future__ import annotations

import functools
import json
import re

from PIL import ImageColor

from specanim.errors import did_you_mean
from specanim.fonts import vl_convert

# The scheme names of vega-scale 5 (vega.github.io/vega/docs/schemes), for validation and hints.
CATEGORICAL = (
    "accent category10 category20 category20b category20c dark2 observable10 paired pastel1 "
    "pastel2 set1 set2 set3 tableau10 tableau20"
).split()
CONTINUOUS = (
    "blues tealblues teals greens browns oranges reds purples warmgreys greys viridis magma "
    "inferno plasma cividis turbo bluegreen bluepurple goldgreen goldorange goldred greenblue "
    "orangered purplebluegreen purpleblue purplered redpurple yellowgreenblue yellowgreen "
    "yelloworangebrown yelloworangered darkblue darkgold darkgreen darkmulti darkred "
    "lightgreyred lightgreyteal lightmulti lightorange lighttealblue blueorange brownbluegreen "
    "purplegreen pinkyellowgreen purpleorange redblue redgrey redyellowblue redyellowgreen "
    "spectral rainbow sinebow"
).split()
SCHEMES = frozenset(CATEGORICAL + CONTINUOUS)


def check_scheme(name: str) -> str:
    """Return the scheme's canonical (lower-case) name; ValueError for an unknown one."""
    key = name.lower()
    if key not in SCHEMES:
        raise ValueError(f"unknown colour scheme '{name}'{did_you_mean(key, sorted(SCHEMES))}")
    return key


def check_continuous(name: str) -> str:
    """Return the canonical name of a continuous scheme; ValueError for an unknown or a
    categorical one."""
    key = check_scheme(name)
    if key not in CONTINUOUS:
        raise ValueError(
            f"'{name}' is a categorical scheme: colouring by a value needs a continuous one, "
            "such as viridis, magma, blues or redblue"
        )
    return key


def check_color(color: str) -> str:
    """Return color if CSS understands it; ValueError otherwise."""
    try:
        ImageColor.getrgb(color)
    except ValueError:
        raise ValueError(f"'{color}' is not a colour (use a CSS name or #rrggbb)") from None
    return color


def rgb(color: str) -> tuple[int, int, int]:
    """A CSS colour as an (r, g, b) tuple of 0-255 ints."""
    r, g, b = ImageColor.getrgb(color)[:3]
    return r, g, b


def resolve(palette: str | list[str], count: int) -> tuple[str, ...]:
    """count colours, one for each class: from a list (ValueError if it is shorter), or
    sampled from a Vega scheme, which repeats its colours when it has fewer (``repeated``)."""
    if isinstance(palette, list):
        if len(palette) < count:
            raise ValueError(
                f"the list has {len(palette)} colours for {count} classes: list {count} colours, "
                "or name a Vega scheme"
            )
        return tuple(palette[:count])
    return _scheme_colors(check_scheme(palette), count)


def repeated(palette: str | list[str], colors: tuple[str, ...]) -> str | None:
    """Why classes share a colour of a scheme (it has fewer colours than classes); None if
    each class has its own, or the spec's list gave classes one colour on purpose."""
    have = len(set(colors))
    if isinstance(palette, list) or have == len(colors):
        return None
    return (
        f"the scheme '{palette}' has {have} colours for {len(colors)} classes, so classes share "
        "a colour: name a scheme with enough (category20, tableau20) or a continuous one "
        "(viridis, turbo), or list a colour for each class"
    )


RAMP_SIZE = 256  # samples of a continuous scheme: finer steps than the eye tells apart


def ramp(scheme: str, count: int = RAMP_SIZE) -> tuple[str, ...]:
    """count colours evenly along a continuous Vega scheme, its start first and its end last,
    as a quantitative Vega scale with that scheme colours values; ValueError for an unknown or
    categorical scheme."""
    return _scheme_colors(check_continuous(scheme), count, "quantitative")


@functools.cache
def _scheme_colors(scheme: str, count: int, kind: str = "ordinal") -> tuple[str, ...]:
    vlc = vl_convert()
    # Vega-Lite maps the domain 0..count-1 onto the scheme as any chart would (ordinal: one
    # colour per class; quantitative: the continuous interpolator); read back the fills.
    spec = {
        "data": {"values": [{"i": i} for i in range(count)]},
        "mark": "rect",
        "encoding": {
            "x": {"field": "i", "type": "ordinal"},
            "color": {"field": "i", "type": kind, "scale": {"scheme": scheme}, "legend": None},
        },
    }
    svg = vlc.vegalite_to_svg(json.dumps(spec))
    fills = re.findall(r'<path[^>]*fill="(#[0-9a-fA-F]{6}|rgb\([^)]*\))"', svg)
    colors = [_hex(f) for f in fills]
    if len(colors) != count:
        raise RuntimeError(f"scheme '{scheme}' gave {len(colors)} colours for {count} classes")
    return tuple(colors)


def _hex(color: str) -> str:
    r, g, b = rgb(color)
    return f"#{r:02x}{g:02x}{b:02x}"
