"""Pieces of Vega-Lite views that the built-in panels share."""

from __future__ import annotations

from typing import Any

ONE_ROW: dict[str, Any] = {"values": [{}]}  # data for marks placed by value: draw them once


def text_mark(text: str, size: float, color: str, font: str, **mark: Any) -> dict[str, Any]:
    """A text mark of the scene's font; ``mark`` adds properties such as align and limit."""
    return {"type": "text", "text": text, "fontSize": size, "color": color, "font": font, **mark}
