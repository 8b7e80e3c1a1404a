"""What vl-convert must not be given, since it aborts the process instead of failing: text that
is not XML, and a canvas larger than memory.

Validation refuses both in a spec; these are the last guard for what reaches a frame from
elsewhere: the data's class names and columns, a reducer's frame values, a plugin's views.
"""

from __future__ import annotations

import re

from specanim.errors import UserError
from specanim.spec.limits import MAX_CANVAS_PIXELS, MAX_CANVAS_SIDE

# A JSON escape, by itself or a surrogate pair, in text written by json.dumps (ASCII only:
# every other character is escaped). Group 1 is set for the characters XML 1.0 does not allow
# (controls but tab, newline and return; U+FFFE, U+FFFF), group 2 for any surrogate escape,
# which stands for a character only as a high-low pair.
_ESCAPE = re.compile(
    r"\\(?:"
    r"(u00(?:0[0-8bcef]|1[0-9a-f])|u[fF]{3}[eEfF]|[bf])"
    r"|(u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[dD][89a-fA-F][0-9a-fA-F]{2})"
    r"|u[0-9a-fA-F]{4}|.)"
)
_PAIR = len(r"\ud83d\ude42")


def drawable_json(text: str) -> str:
    """JSON text from json.dumps (ASCII) with every character vl-convert cannot draw, and every
    lone surrogate, replaced by U+FFFD (the replacement character)."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_replace, text)


def _replace(match: re.Match[str]) -> str:
    whole = match.group()
    if match.group(1) or (match.group(2) and len(whole) != _PAIR):
        return r"\ufffd"
    return whole


def split_character(message: str) -> UserError | None:
    """The error to raise for vl-convert's message when Vega cut a text short (to its
    ``limit``) between the two UTF-16 halves of a character beyond U+FFFF, such as an emoji:
    vl-convert then fails to read the text back ("unexpected end of hex escape")."""
    if "Failed to deserialize text info" not in message:
        return None
    return UserError(
        "a text with a character beyond U+FFFF (an emoji, ...) is cut short to fit its place "
        "and cannot be drawn: give it more room, shorten it, or leave that character out"
    )


_SIZE = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)"[^>]*?\sheight="([\d.]+)"')


def check_canvas(svg: str, scale: float) -> None:
    """UserError if the SVG vl-convert laid a frame out into would be painted on a canvas beyond
    MAX_CANVAS_SIDE or MAX_CANVAS_PIXELS (vl-convert would ask for the memory and abort), or on
    none at all."""
    size = _SIZE.search(svg, 0, 2000)
    if size is None:
        return
    width, height = (float(v) * scale for v in size.groups())
    if min(width, height) < 1:  # vl-convert paints nothing: "SVG has an invalid size"
        raise UserError(
            f"a frame's Vega-Lite lays out to {width:,.0f} x {height:,.0f} pixels: nothing to "
            "draw (look at the spec's vega_lite: autosize and padding)"
        )
    if max(width, height) > MAX_CANVAS_SIDE or width * height > MAX_CANVAS_PIXELS:
        raise UserError(
            f"a frame's Vega-Lite lays out to {width:,.0f} x {height:,.0f} pixels, beyond the "
            f"{MAX_CANVAS_SIDE:,} a side and {MAX_CANVAS_PIXELS:,} in all that are drawn: "
            "look at the spec's vega_lite: (sizes, fonts, offsets) and its longest texts"
        )
