"""The scene document: pydantic models for everything that is not a component's own options.

Validation runs in two passes. This module's ``SceneSpec`` checks the document; each component
entry (``dataset``, ``reducer``, ``panels[i]``, ``output``, ``executor``) keeps its other keys
for the second pass, where the plugin's own ``Options`` model validates them (see
``validate.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from specanim.camera import ViewOptions
from specanim.fonts import drawn, not_drawn
from specanim.spec.limits import MAX_FRAMES
from specanim.spec.migrations import FIRST_VERSION, current_version, too_new
from specanim.spec.palette import check_color, check_scheme
from specanim.spec.template import Template


class Strict(BaseModel):
    """Unknown keys are errors, and so are NaN and infinite numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Entry(BaseModel):
    """A component entry: ``type`` names the component, the rest are its options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str

    def options(self) -> dict[str, Any]:
        """The entry's keys other than those the core reads."""
        return dict(self.model_extra or {})


class PanelEntry(Entry):
    """A panel entry; ``id`` names it in the layout (default: its type)."""

    id: str | None = None
    trajectory: str | None = Field(
        None,
        description="the name (in reducers:) of the trajectory this panel draws; default: the "
        "first",
    )
    title: Template | None = Field(
        None, description="a line above the panel, with its own trajectory's {epoch}, ..."
    )
    vega_lite: dict[str, Any] | None = Field(
        None,
        description="Vega-Lite merged into this panel's view (mark, encoding, transform), "
        "into each of its unit views",
    )

    @property
    def key(self) -> str:
        return self.id or self.type


class OutputEntry(BaseModel):
    """Where the animation goes; the encoder is ``type`` or else chosen by the path's ending."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str | None = None
    path: str | None = None

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Split(Strict):
    """Panels side by side (``row``) or stacked (``column``); sizes are relative weights."""

    row: list[LayoutNode] | None = None
    column: list[LayoutNode] | None = None
    sizes: list[Annotated[float, Field(gt=0, le=1e6)]] | None = None
    title: bool = Field(False, description="carry the scene's title above this part")

    @model_validator(mode="after")
    def _one_direction(self) -> Split:
        if (self.row is None) == (self.column is None):
            raise ValueError("a layout part needs exactly one of 'row' or 'column'")
        if self.sizes is not None and len(self.sizes) != len(self.children):
            raise ValueError(f"{len(self.sizes)} sizes for {len(self.children)} parts")
        return self

    @property
    def children(self) -> list[LayoutNode]:
        return self.row if self.row is not None else (self.column or [])

    @property
    def horizontal(self) -> bool:
        return self.row is not None


class Layer(Strict):
    """Panels drawn in one box, in order (the first at the bottom), sharing the box's camera."""

    layer: list[str] = Field(min_length=1, description="panel ids, bottom to top")
    view: ViewOptions | None = Field(
        None,
        description="the camera of the box; default: the view of the first panel in the layer "
        "that has one (the scatter's)",
    )
    title: bool = Field(False, description="carry the scene's title above this part")


def _layout_kind(value: Any) -> str:
    """Which kind of layout node value is, so that an error names only that kind's problems."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict) and "layer" in value or isinstance(value, Layer):
        return "Layer"
    return "Split"


LayoutNode = Annotated[
    Annotated[Split, Tag("Split")] | Annotated[Layer, Tag("Layer")] | Annotated[str, Tag("str")],
    Discriminator(_layout_kind),
]
Split.model_rebuild()


DAY = 86_400.0  # seconds: a bound on durations that keeps frame counts within integers


class Timeline(Strict):
    """Which snapshots become frames, how they are spaced, and how fast they play."""

    fps: float = Field(20, gt=0, le=240)
    select: Literal["all", "even-motion"] = Field(
        "all",
        description="all: frames evenly spaced in snapshots; even-motion: evenly spaced in how "
        "far the points move, so fast phases get many frames and slow ones few",
    )
    every: int = Field(1, ge=1, description="without duration: every k-th snapshot (and the last)")
    duration: float | None = Field(
        None,
        gt=0,
        le=DAY,
        description="seconds of animation (before holds); frames interpolate snapshots",
    )
    easing: Literal["linear", "ease-in", "ease-out", "ease-in-out"] = "linear"
    hold_start: float = Field(0, ge=0, le=DAY, description="seconds the first frame stays")
    hold_end: float = Field(0, ge=0, le=DAY, description="seconds the last frame stays")

    @model_validator(mode="after")
    def _every_or_duration(self) -> Timeline:
        if self.duration is not None and "every" in self.model_fields_set:
            raise ValueError(
                "'every' and 'duration' do not go together: duration spaces the frames"
            )
        frames = sum(self.frames(s) for s in (self.duration or 0, self.hold_start, self.hold_end))
        if frames > MAX_FRAMES:
            raise ValueError(
                f"{self.fps:g} fps for the duration and holds make {frames:,} frames: an "
                f"animation has at most {MAX_FRAMES:,}"
            )
        return self

    def frames(self, seconds: float) -> int:
        """The number of frames that show for seconds."""
        return int(round(seconds * self.fps))


class SceneSpec(Strict):
    """A whole scene: data, reducer, look, panels, timeline and output."""

    version: int = Field(
        FIRST_VERSION,
        ge=FIRST_VERSION,
        description="the spec format this file is written in (an older one is migrated on load)",
    )
    extends: str | None = Field(
        None,
        description="a spec file (relative to this one) that this spec changes: mappings merge "
        "key by key, lists are replaced, panels merge by id",
    )
    title: Template = ""
    subtitle: Template = ""
    width: int = Field(1100, ge=64, le=8192)
    height: int = Field(800, ge=64, le=8192)
    background: str = "black"
    foreground: str = "white"
    font: str = "Liberation Sans"
    margin: int = Field(24, ge=0, description="pixels around the whole frame")
    spacing: int = Field(16, ge=0, description="pixels between panels")
    title_size: float = Field(26, gt=0)
    subtitle_size: float = Field(19, gt=0)
    seed: int = Field(0, ge=0, description="seeds everything re-sampled per frame")
    plugins: list[str] = Field(
        default_factory=list,
        description="local plugins, relative to the spec: module files (panels/legend.py) or "
        "package folders with an __init__.py, loaded like installed plugins",
    )
    dataset: Entry
    reducer: Entry | None = Field(None, description="the reducer, when the scene has one")
    reducers: dict[str, Entry] | None = Field(
        None,
        description="several reducers of the same data, by name; panels name the one they "
        "draw (trajectory:), and frames keep them in step by progress",
    )
    palette: str | list[str] = "tableau10"
    panels: list[PanelEntry] = Field(min_length=1)
    layout: LayoutNode | None = None
    timeline: Timeline = Timeline()
    output: OutputEntry = OutputEntry()
    executor: Entry | None = Field(
        None,
        description="where fits and frames run: {type: local, workers: 2} (the default) or "
        "{type: dask, scheduler: tcp://host:8786}; --executor, --scheduler and --workers win; "
        "it never changes the output",
    )
    vega_lite: dict[str, Any] | None = Field(
        None,
        description="Vega-Lite merged into every frame's spec (config, background, padding, "
        "autosize, params, usermeta)",
    )

    @model_validator(mode="after")
    def _one_way_to_name_reducers(self) -> SceneSpec:
        if (self.reducer is None) == (self.reducers is None):
            raise ValueError("a scene needs either 'reducer' or 'reducers', not both")
        if self.reducers is not None and not self.reducers:
            raise ValueError("'reducers' needs at least one named reducer")
        return self

    def panel(self, key: str) -> PanelEntry:
        """The panel entry with that layout key."""
        return next(p for p in self.panels if p.key == key)

    @property
    def reducer_entries(self) -> dict[str, Entry]:
        """Every reducer by name; a lone ``reducer:`` is named by its type."""
        if self.reducers is not None:
            return dict(self.reducers)
        assert self.reducer is not None
        return {self.reducer.type: self.reducer}

    @field_validator("version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v > current_version():
            raise ValueError(too_new(v))
        return v

    @field_validator("background", "foreground")
    @classmethod
    def _color(cls, v: str) -> str:
        return check_color(v)

    @field_validator("font")
    @classmethod
    def _font(cls, v: str) -> str:
        if not drawn(v):
            raise ValueError(not_drawn(v))
        return v

    @field_validator("palette")
    @classmethod
    def _palette(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, str):
            return check_scheme(v)
        if not v:
            raise ValueError("a palette list needs at least one colour")
        return [check_color(c) for c in v]
