"""Only inline data reaches vl-convert: every URL a frame would load must be a ``data:`` URL.

vl-convert 1.9 loads an image mark's ``file://`` URL from the local disk and fetches ``http``
URLs, for data and for images; a plain or relative path is resolved against vega-datasets on
the web. Its ``allowed_base_urls`` setting (``ALLOWED_BASE_URLS``) covers data only: image
marks are loaded while the SVG is rasterised, whatever it says. So a frame is checked twice:
its Vega-Lite spec before conversion (every ``url`` and ``href`` written in it, wherever it
stands: views, layers, concatenations, ``config``), and the SVG that Vega made of it before
rasterising (URLs that come from data fields or expressions).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from specanim.errors import ExternalURL
from specanim.spec.source import PathKey, format_path

INLINE = "data:"
ALLOWED_BASE_URLS = [INLINE]  # vl-convert matches these as prefixes of every data URL
_URL_KEYS = frozenset({"url", "href"})
_INLINE_DATA_KEYS = frozenset({"values", "datasets"})  # rows of inline data: not read as URLs
# Attributes that make resvg load something: <image xlink:href>, <a href>, <use href> ...
_SVG_HREF = re.compile(r'\b(?:xlink:)?href="([^"]*)"')


def check_spec(spec: Any) -> None:
    """Raise ExternalURL for the first ``url`` or ``href`` in a Vega-Lite spec that is not
    inline, named by its place in the spec (and the nearest enclosing view's ``name``)."""
    for url, path, view in external(spec):
        where = f"frame spec {format_path(path)}" + (f" (view '{view}')" if view else "")
        raise ExternalURL(url, where)


def external(spec: Any) -> Iterator[tuple[str, PathKey, str | None]]:
    """Every ``url`` or ``href`` written in a Vega-Lite spec (or part of one) that is not
    inline: the URL, its path in the spec and the ``name`` of the view it stands in."""
    for url, path, view in _urls(spec, (), None):
        if not url.startswith(INLINE):
            yield url, path, view


def check_svg(svg: str) -> None:
    """Raise ExternalURL for a link in Vega's SVG of a frame that is neither inline nor a
    reference inside the SVG (``#id``)."""
    for match in _SVG_HREF.finditer(svg):
        url = html.unescape(match.group(1))
        if not url.startswith((INLINE, "#")):
            raise ExternalURL(url, "frame (an image or link made from data or an expression)")


def refused_by_vl_convert(message: str) -> ExternalURL | None:
    """The ExternalURL for vl-convert's refusal of a data URL, if message is one."""
    found = re.search(r"External data url not allowed: (\S+)", message)
    return ExternalURL(found.group(1), "frame data") if found else None


def _urls(node: Any, path: PathKey, view: str | None) -> Iterator[tuple[str, PathKey, str | None]]:
    if isinstance(node, dict):
        name = node.get("name")
        view = name if isinstance(name, str) else view
        for key, value in node.items():
            where = (*path, str(key))
            if key in _URL_KEYS:
                if isinstance(value, str):
                    yield value, where, view
                    continue
                if isinstance(value, dict) and isinstance(value.get("value"), str):
                    yield value["value"], (*where, "value"), view
                    continue
            if key in _INLINE_DATA_KEYS:
                continue
            yield from _urls(value, where, view)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _urls(item, (*path, i), view)
