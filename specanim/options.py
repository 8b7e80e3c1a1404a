"""The base of every component's options model."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict


class Options(BaseModel):
    """Base of every component's options model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


OptionsT = TypeVar("OptionsT", bound=Options)
