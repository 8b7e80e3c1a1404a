"""``vega_lite:`` in a spec: merged into a panel's views or the frame, checked at load time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from specanim import engine
from specanim.errors import SpecErrors
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

SCENE = """
width: 300
height: 120
margin: 0
background: black
dataset: {type: sklearn-digits, limit: 200}
reducer: {type: pca}
timeline: {every: 1}
"""


def still(spec: Path) -> engine.Prepared:
    return engine.prepare(load_plan(spec, default_registry()), cache="off")


def test_a_panel_entry_styles_its_marks(write_spec: Callable[..., Path]) -> None:
    plain = write_spec(SCENE + "panels: [{type: progress-bar, thickness: 20}]\n", "plain.yaml")
    red = write_spec(
        SCENE
        + "panels:\n  - type: progress-bar\n    thickness: 20\n"
        + "    vega_lite: {mark: {color: '#ff0000'}}\n",
        "red.yaml",
    )
    white_bar = engine.still(still(plain), -1)
    red_bar = engine.still(still(red), -1)
    assert (white_bar[60, 10:290] == 255).all()
    assert (red_bar[60, 10:290] == (255, 0, 0)).all()


def test_the_frame_takes_top_level_settings(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        SCENE + "panels: [{type: progress-bar}]\nvega_lite: {background: '#203040'}\n"
    )
    image = engine.still(still(spec), 0)
    assert tuple(image[5, 5]) == (0x20, 0x30, 0x40)


def test_merged_frames_stay_valid_vega_lite(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        SCENE
        + """
panels:
  - type: scatter
    render: vector
    vega_lite: {mark: {strokeWidth: 1, stroke: white}, encoding: {x: {axis: null}}}
vega_lite: {config: {font: "Liberation Sans, sans-serif"}, padding: 2}
"""
    )
    prepared = still(spec)
    frame = prepared.composer.frame_spec(prepared.frame(0))
    assert frame["padding"] == 2 and frame["config"]["font"] == "Liberation Sans, sans-serif"
    assert frame["config"]["view"] == {"stroke": None}  # specanim's own settings stay
    import altair

    full = altair.vegalite.v6.schema.core.load_schema()
    jsonschema.Draft7Validator(full).validate(frame)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "panels:\n  - {type: scatter, vega_lite: {marc: {size: 3}}}",
            "9: panels[0].vega_lite.marc: 'marc' cannot be set here (did you mean 'mark'?)",
        ),
        (
            "panels:\n  - {type: scatter, vega_lite: {config: {font: x}}}",
            "9: panels[0].vega_lite.config: 'config' cannot be set here (it belongs to the "
            "top-level vega_lite)",
        ),
        (
            "panels: [{type: scatter}]\nvega_lite: {mark: {size: 3}}",
            "9: vega_lite.mark: 'mark' cannot be set here",
        ),
        (
            "panels:\n  - {type: scatter, vega_lite: {mark: {opacity: high}}}",
            "9: panels[0].vega_lite.mark.opacity: not valid Vega-Lite: 'high' is not valid",
        ),
        (
            "panels: [{type: scatter}]\nvega_lite: {padding: {lft: 3}}",
            "9: vega_lite.padding: not valid Vega-Lite",
        ),
        (
            "panels: [{type: scatter}]\nvega_lite: {config: {axis: {labelFont: DejaVu Sans}}}",
            "9: vega_lite.config.axis.labelFont: 'DejaVu Sans' draws no text: specanim "
            "draws text only with vl-convert's own Liberation Sans",
        ),
        (
            "panels:\n  - {type: scatter, vega_lite: {mark: {font: Arial}}}",
            "9: panels[0].vega_lite.mark.font: 'Arial' draws no text",
        ),
        (
            "panels: [{type: scatter}]\nvega_lite: [1, 2]",
            "9: vega_lite: input should be a valid dictionary",
        ),
    ],
)
def test_fragments_are_checked_against_the_schema(
    write_spec: Callable[..., Path], entry: str, expected: str
) -> None:
    spec = write_spec(SCENE + entry + "\n")
    with pytest.raises(SpecErrors) as caught:
        load_plan(spec, default_registry())
    assert any(expected in line for line in caught.value.lines()), caught.value.lines()
