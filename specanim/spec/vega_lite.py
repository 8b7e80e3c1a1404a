"""Vega-Lite from the spec: ``vega_lite:`` mappings merged into a panel's view or the frame.

A scene styles its frames without a plugin: the top-level ``vega_lite:`` is deep-merged into
every frame's spec (``config``, ``background``, ...) and a panel entry's ``vega_lite:`` into
that panel's view (``mark``, ``encoding``, ``transform``: into each of its unit views when the
panel draws a layer). Both are checked when the spec is loaded against the official Vega-Lite
JSON schema that altair ships, with every ``required`` dropped, since a fragment such as
``mark: {fontSize: 20}`` is complete only once merged.
"""

from __future__ import annotations

import copy
import functools
import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from specanim.errors import did_you_mean, shortened
from specanim.fonts import drawn, not_drawn
from specanim.spec.limits import MAX_PADDING
from specanim.spec.source import format_path

Where = Literal["frame", "panel"]
# Settings of a whole frame; the parts that lay it out (hconcat, data, ...) are specanim's.
FRAME_KEYS = ("autosize", "background", "config", "padding", "params", "usermeta")
# Settings of one panel's view, applied to each unit view it draws.
PANEL_KEYS = ("encoding", "mark", "transform")
_SCHEMA_OF = {"frame": "TopLevelLayerSpec", "panel": "UnitSpecWithFrame"}


def check(fragment: Any, where: Where) -> list[tuple[tuple[str | int, ...], str]]:
    """The problems of a ``vega_lite:`` mapping as (path within it, message) pairs."""
    import jsonschema

    if not isinstance(fragment, Mapping):
        return []  # the document's model reports that it is no mapping
    allowed = FRAME_KEYS if where == "frame" else PANEL_KEYS
    schema = _relaxed_schema()
    properties = schema["definitions"][_SCHEMA_OF[where]]["properties"]
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for key, value in fragment.items():
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            elsewhere = " (it belongs to the top-level vega_lite)" if key in FRAME_KEYS else ""
            problems.append(
                (
                    (key,),
                    f"'{key}' cannot be set here{elsewhere or hint}; allowed: {', '.join(allowed)}",
                )
            )
            continue
        validator = jsonschema.Draft7Validator(
            {**properties[key], "definitions": schema["definitions"]}
        )
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            problems.append(((key, *error.absolute_path), f"not valid Vega-Lite: {error.message}"))
        else:
            fonts = _fonts(value, (key,))
            problems += [(path, not_drawn(font)) for path, font in fonts if not drawn(font)]
            if key == "padding":
                problems += _padding_problems(value)
            elif (
                key == "autosize"
                and (value if isinstance(value, str) else value.get("type")) == "none"
            ):
                problems.append(
                    (
                        (key,),
                        "'none' leaves a frame of panels no size (Vega sizes it by its padding "
                        "alone): use pad (the default), fit, fit-x or fit-y",
                    )
                )
    return problems


def _padding_problems(padding: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """A padding beyond MAX_PADDING, or computed by an expression: vl-convert paints a canvas
    that large (``padding: 100000`` asks for 160 GB and aborts)."""
    sides = padding.items() if isinstance(padding, Mapping) else [(None, padding)]
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for side, value in sides:
        if not isinstance(value, (int, float)) or not 0 <= value <= MAX_PADDING:
            path: tuple[str | int, ...] = ("padding",) if side is None else ("padding", side)
            problems.append((path, f"a padding is a number of pixels from 0 to {MAX_PADDING:,}"))
    return problems


def _fonts(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every font named within value (``font``, ``labelFont``, ...), with its path."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _fonts(item, (*path, i))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str) and (key == "font" or str(key).endswith("Font")):
                yield (*path, key), item
            else:
                yield from _fonts(item, (*path, key))


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """base with extra deep-merged into it: mappings key by key, anything else replaced."""
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = merge(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_into_view(view: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """A panel's view with its entry's ``vega_lite:`` merged into each of its unit views."""
    if "layer" in view:
        return {**view, "layer": [merge_into_view(v, extra) for v in view["layer"]]}
    if not {"mark", "encoding"} & set(view):
        return dict(view)  # a concatenation or an empty view: nothing to style
    unit = dict(view)
    if isinstance(unit.get("mark"), str):
        unit["mark"] = {"type": unit["mark"]}
    return merge(unit, extra)


def problem(spec: Mapping[str, Any]) -> str | None:
    """What makes a complete Vega-Lite spec invalid, at its deepest place (``mark: 'blob' is not
    valid ...``), or None if the schema finds nothing wrong or only the spec as a whole."""
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft7Validator(_schema()).iter_errors(spec)
    )
    if error is None or not error.absolute_path:
        return None  # "{...the whole spec...} is not valid": says less than vl-convert
    return f"{format_path(tuple(error.absolute_path))}: {shortened(error.message, 120)}"


@functools.cache
def _schema() -> dict[str, Any]:
    """Altair's Vega-Lite JSON schema."""
    import altair

    core = importlib.import_module(
        f"altair.vegalite.{altair.SCHEMA_VERSION.split('.')[0]}.schema.core"
    )
    schema: dict[str, Any] = core.load_schema()
    return schema


@functools.cache
def _relaxed_schema() -> dict[str, Any]:
    """Altair's Vega-Lite JSON schema without any ``required``."""
    schema: dict[str, Any] = _drop_required(_schema())
    return schema


def _drop_required(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_drop_required(v) for v in node]
    return node
