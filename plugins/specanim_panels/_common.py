"""Pieces of Vega-Lite views that the built-in panels share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from specanim.sdk import InputError, Options, Scene, check_continuous, did_you_mean, ramp

ONE_ROW: dict[str, Any] = {"values": [{}]}  # data for marks placed by value: draw them once


def text_mark(text: str, size: float, color: str, font: str, **mark: Any) -> dict[str, Any]:
    """A text mark of the scene's font; ``mark`` adds properties such as align and limit."""
    return {"type": "text", "text": text, "fontSize": size, "color": color, "font": font, **mark}


class ColorOptions(Options):
    """Colour points by the values of a numeric column instead of by class."""

    field: str = Field(description="the column whose values colour the points (e.g. age)")
    scheme: str = Field(
        "viridis", description="a continuous Vega colour scheme: viridis, magma, blues, redblue..."
    )
    domain: tuple[float, float] | None = Field(
        None,
        description="[low, high]: the values at the scheme's two ends (default: the column's "
        "minimum and maximum over the whole data), the same in every frame",
    )
    reverse: bool = Field(False, description="run the scheme from its end to its start")

    @field_validator("scheme")
    @classmethod
    def _continuous(cls, value: str) -> str:
        return check_continuous(value)

    @field_validator("domain")
    @classmethod
    def _increasing(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] < value[1]:
            raise ValueError(f"domain must be [low, high] with low < high, got {list(value)}")
        return value


MISSING_COLOR = "#808080"  # points whose value is missing (NaN)


@dataclass(frozen=True, eq=False)
class ValueColors:
    """A numeric column mapped onto a continuous scheme: what the scatter and the legend share.

    ``palette`` is the scheme's samples (then the missing-value grey); ``index`` says which of
    them each point gets; ``position`` where each point's value lies along the scheme.
    """

    field: str
    domain: tuple[float, float]
    palette: tuple[str, ...]
    index: np.ndarray  # (n,) int64 into palette
    position: np.ndarray  # (n,) float64 in 0..1 from the scheme's start; NaN where missing

    @classmethod
    def of(cls, options: ColorOptions, scene: Scene) -> ValueColors:
        """The colours of options' column in scene's data; InputError at ``color`` if the data
        has no such column (the message names those it has)."""
        columns = scene.data.columns
        if options.field not in columns:
            known = ", ".join(f"'{c}'" for c in columns) or "none"
            raise InputError(
                f"no column '{options.field}' to colour by{did_you_mean(options.field, columns)}: "
                f"the data's numeric columns are {known}",
                key="color",
            )
        values = np.asarray(columns[options.field], np.float64)
        finite = values[np.isfinite(values)]
        if options.domain is not None:
            low, high = options.domain
        elif len(finite):
            low, high = float(finite.min()), float(finite.max())
        else:
            raise InputError(f"column '{options.field}' has no values", key="color")
        samples = ramp(options.scheme)
        if options.reverse:
            samples = samples[::-1]
        top = len(samples) - 1
        span = high - low
        with np.errstate(invalid="ignore"):
            t = (values - low) / span if span > 0 else np.full_like(values, 0.5)
        position = np.clip(t, 0, 1)
        index = np.rint(position * top)
        index = np.where(np.isfinite(values), index, top + 1).astype(np.int64)
        return cls(options.field, (low, high), (*samples, MISSING_COLOR), index, position)
