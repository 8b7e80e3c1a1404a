"""What a plugin author needs beyond the basics: a panel's own template fields, checked like
the frame's; defaults that are checked too; charts with axes kept inside their box; and a
reducer whose new version misses the trajectory cache."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import Field

import specanim.sdk
from specanim import engine
from specanim.errors import SpecErrors
from specanim.plugins import Registry, load_registry
from specanim.sdk import (
    FRAME_FIELDS,
    Box,
    Component,
    Data,
    Frame,
    Options,
    Panel,
    Progress,
    RasterLayer,
    Reducer,
    Step,
    Template,
    Trajectory,
    View,
    hookimpl,
)
from specanim.spec.template import unknown_in_defaults
from specanim.spec.validate import load_plan

SCENE = """
width: 300
height: 200
margin: 0
spacing: 0
background: black
dataset: {type: sklearn-digits, limit: 100}
reducer: {type: pca}
"""


def registry(*classes: type[Component[Any]]) -> Registry:
    """The installed plugins plus a plugin 'authoring' that registers classes."""

    def of(kind: type[Component[Any]]) -> Callable[[Callable[[type[Any]], None]], None]:
        def register_all(register: Callable[[type[Any]], None]) -> None:
            for cls in classes:
                if issubclass(cls, kind):
                    register(cls)

        return register_all

    plugin = SimpleNamespace(
        register_panels=hookimpl(of(Panel)), register_reducers=hookimpl(of(Reducer))
    )
    return load_registry([("authoring", plugin)])


def texts(prepared: engine.Prepared, frame: int) -> list[str]:
    """The text values of a frame's Vega-Lite, in order."""
    spec = json.dumps(engine.frame_spec(prepared, frame))
    return list(re.findall(r'"text": \{"value": "([^"]*)"', spec))


# --- a reducer whose layout grows, with a library version ---------------------------------


class Versioned(Reducer[Options]):
    """A line of points that grows, fitted by a library of some version."""

    name = "versioned"
    version: ClassVar[str] = "1.0"
    fits: ClassVar[int] = 0

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        Versioned.fits += 1
        line = np.stack([np.arange(len(data)), np.zeros(len(data))], axis=1)
        snapshots = np.stack([line * g for g in (0.5, 1.0)]).astype(np.float32)
        return Trajectory(snapshots, (Step(0), Step(1)), 1)

    def versions(self) -> Mapping[str, str]:
        return {"versioned-lib": Versioned.version}


# --- a panel's own template fields ----------------------------------------------------------


class MovesOptions(Options):
    """The label's text."""

    label: Template = Field("moved {move:.3f}", description="text; {move} is how far they moved")


class Moves(Panel[MovesOptions]):
    """How far the points moved since the first snapshot, as a line of text."""

    name = "moves"
    template_fields: ClassVar[Mapping[str, str]] = {
        "move": "the mean distance the points moved since the first snapshot, in data units"
    }

    def view(self, frame: Frame, box: Box) -> View:
        first = self.scene.trajectory.snapshots[0]
        move = float(np.mean(np.hypot(*(frame.coords - first).T)))
        return {
            "data": {"values": [{}]},
            "mark": {"type": "text", "color": "white", "align": "left", "baseline": "top"},
            "encoding": {
                "x": {"value": 0},
                "y": {"value": 0},
                "text": {"value": frame.format(self.options.label, move=move)},
            },
        }


class MisspeltOptions(Options):
    """A label whose default names a field the panel does not have."""

    label: Template = Field("moved {mvoe}", description="text")


class Misspelt(Moves):
    """Moves, with a misspelt default."""

    name = "misspelt"
    Options = MisspeltOptions


def test_a_panel_fills_the_template_fields_it_declares(write_spec: Callable[..., Path]) -> None:
    grows = SCENE.replace("{type: pca}", "{type: versioned}")
    spec = write_spec(grows + 'panels: [{type: moves, label: "{move:.2f} at {epoch}"}]\n')
    prepared = engine.prepare(load_plan(spec, registry(Moves, Versioned)), cache="off")
    last = prepared.frame(-1)
    moved = float(np.mean(np.hypot(*(last.coords - prepared.trajectory.snapshots[0]).T)))
    assert moved == pytest.approx(0.5 * 49.5)  # 100 points on a line, from half to full length
    assert texts(prepared, -1) == [f"{moved:.2f} at {last.values['epoch']}"]
    assert texts(prepared, 0) == ["0.00 at 0"]
    assert engine.still(prepared, -1)[:14, :80].max() > 0  # the text is drawn


def test_an_unknown_panel_field_is_located_with_a_suggestion(
    write_spec: Callable[..., Path],
) -> None:
    spec = write_spec(SCENE + 'panels:\n  - type: moves\n    label: "{mvoe}"\n')
    with pytest.raises(SpecErrors) as caught:
        load_plan(spec, registry(Moves))
    assert str(caught.value) == (
        f"{spec}:10: panels[0].label: unknown field '{{mvoe}}' (did you mean 'move'?); known: "
        "epoch, epochs, iteration, phase, progress, frame, frames, move"
    )
    # The field is the panel's own: the scene's title cannot show it.
    title = write_spec(SCENE + 'title: "{move}"\npanels: [{type: moves}]\n', "title.yaml")
    with pytest.raises(SpecErrors, match=r"title.yaml:8: title: unknown field '\{move\}'"):
        load_plan(title, registry(Moves))


def test_a_default_template_is_checked_and_names_the_plugin(
    write_spec: Callable[..., Path],
) -> None:
    spec = write_spec(SCENE + "panels:\n  - type: misspelt\n")
    with pytest.raises(SpecErrors) as caught:
        load_plan(spec, registry(Misspelt))
    assert str(caught.value) == (
        f"{spec}:9: panels[0]: plugin 'authoring' is broken: panel 'misspelt' option 'label' "
        "defaults to 'moved {mvoe}': unknown field '{mvoe}' (did you mean 'move'?); known: "
        "epoch, epochs, iteration, phase, progress, frame, frames, move"
    )
    given = write_spec(SCENE + 'panels: [{type: misspelt, label: "{move}"}]\n', "given.yaml")
    load_plan(given, registry(Misspelt))  # the default is not used: the spec works


class Inner(Options):
    """A nested model, as the scatter's trail."""

    note: Template | None = Field("{epoch} of {epocs}", description="text")


class Outer(Options):
    """Options with a nested model."""

    inner: Inner = Field(Inner(), description="the nested model")
    plain: str = Field("{not a template}", description="a text that is no template")


def test_defaults_are_checked_in_nested_models_and_optional_templates() -> None:
    assert list(unknown_in_defaults(Outer, FRAME_FIELDS)) == [
        (
            "inner.note",
            "defaults to '{epoch} of {epocs}': unknown field '{epocs}' (did you mean 'epochs'?); "
            "known: epoch, epochs, iteration, phase, progress, frame, frames",
        )
    ]


# --- a chart with axes, kept inside its box ---------------------------------------------------

DOC = Path(__file__).parents[1] / "docs" / "plugins.md"


def doc_example(first_line: str) -> dict[str, Any]:
    """What the doc's Python example that starts with first_line defines, run as a reader
    would, with the SDK and numpy imported."""
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text("utf-8"), re.MULTILINE | re.DOTALL)
    (block,) = [b for b in blocks if b.startswith(first_line)]
    namespace: dict[str, Any] = {"np": np, **vars(specanim.sdk)}
    exec(compile(block, str(DOC), "exec", dont_inherit=True), namespace)
    return namespace


# The doc's chart with axes, kept inside its box.
Curve: type[Panel[Any]] = doc_example("# Each axis takes a fixed room")["Curve"]


class Blank(Panel):
    """Nothing: a box that must stay empty."""

    name = "blank"

    def view(self, frame: Frame, box: Box) -> View:
        return RasterLayer(np.zeros((box.height, box.width, 4), np.uint8))


def test_a_chart_with_axes_stays_inside_its_box(write_spec: Callable[..., Path]) -> None:
    body = """
width: 450
panels: [{type: blank, id: left}, {type: curve}, {type: blank, id: right}]
layout: {row: [left, curve, right]}
"""
    grows = SCENE.replace("{type: pca}", "{type: versioned}").replace("width: 300\n", "")
    spec = write_spec(grows + body)
    prepared = engine.prepare(load_plan(spec, registry(Versioned, Curve, Blank)), cache="off")
    assert prepared.composer.boxes()["curve"].width == 150
    # The chart is exactly its box (in the first frame, one snapshot; in the last, all):
    # frames are drawn box by box.
    assert prepared.composer.by_box
    for frame in (0, 1, -1):
        pixels = engine.still(prepared, frame)
        assert pixels.shape == (200, 450, 3)
        drawn = pixels.max(axis=2) > 0
        assert drawn[:, 150:190].sum() > 100  # the y axis's labels, in the box
        assert drawn[180:, 190:300].sum() > 50  # the x axis's labels, in the box
        assert drawn[:, :150].sum() == 0 and drawn[:, 300:].sum() == 0  # nothing outside it
        # The same pixels as the whole frame drawn by Vega at once.
        whole = prepared.composer.frame_pieces(prepared.frame(frame), whole=True)
        np.testing.assert_array_equal(pixels, prepared.place(whole))


# --- a reducer's versions() decide whether its cached trajectory is reused ------------------


def test_bumping_versions_misses_the_trajectory_cache(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        SCENE.replace("{type: pca}", "{type: versioned}") + "panels: [{type: scatter}]\n"
    )
    plan = load_plan(spec, registry(Versioned))
    Versioned.fits = 0
    engine.prepare(plan, cache="use")
    engine.prepare(plan, cache="use")
    assert Versioned.fits == 1  # the second render reused the first one's trajectory
    Versioned.version = "1.1"  # an installed plugin's new release
    engine.prepare(plan, cache="use")
    assert Versioned.fits == 2
