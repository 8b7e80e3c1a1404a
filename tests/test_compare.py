"""Several reducers of the same data in one scene: named trajectories, panels that name the
one they draw, frames in step by progress, and a title per panel."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from specanim import engine
from specanim.draw.timeline import in_step, progresses
from specanim.errors import SpecErrors
from specanim.plugins import Registry, load_registry
from specanim.sdk import Data, hookimpl
from specanim.spec.validate import load_plan

from .reducer_fixtures import Ramp, RampOptions


def registry() -> Registry:
    plugin = SimpleNamespace(register_reducers=hookimpl(lambda register: register(Ramp)))
    return load_registry([("test-compare", plugin)])


SCENE = """
width: 400
height: 240
margin: 0
spacing: 0
dataset: {type: sklearn-digits, limit: 300}
reducers:
  long: {type: ramp, steps: 9, scale: 1}
  short: {type: ramp, steps: 3, scale: 1000}
panels:
  - {id: a, type: scatter, trajectory: long, title: "long {epoch}/{epochs} {size:.2f}"}
  - {id: b, type: scatter, trajectory: short, title: "short {epoch}/{epochs} {size:.2f}"}
layout: {row: [a, b]}
timeline: {every: 1}
"""


def prepare(spec: Path) -> engine.Prepared:
    return engine.prepare(load_plan(spec, registry()), cache="off")


def texts(node: Any) -> list[str]:
    """Every text value in a Vega-Lite spec, in order."""
    if isinstance(node, dict):
        found = [node["text"]["value"]] if isinstance(node.get("text"), dict) else []
        return found + [t for v in node.values() for t in texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in texts(v)]
    return []


def test_frames_keep_methods_in_step_by_progress(write_spec: Callable[..., Path]) -> None:
    prepared = prepare(write_spec(SCENE))
    assert prepared.frames == 9  # the longer trajectory leads: one frame per snapshot
    titles = [
        texts(prepared.composer.frame_spec(prepared.frame(i)))[:2] for i in range(prepared.frames)
    ]
    assert titles[0] == ["long 0/8 0.10", "short 0/2 0.10"]
    assert titles[4] == ["long 4/8 0.55", "short 1/2 0.55"]  # half way in both
    assert titles[8] == ["long 8/8 1.00", "short 2/2 1.00"]


def test_each_panel_draws_its_own_trajectory_with_its_own_camera(
    write_spec: Callable[..., Path],
) -> None:
    prepared = prepare(write_spec(SCENE))
    image = engine.still(prepared, -1)
    # 1000 times larger, yet as large in its box: each box's camera fits its own trajectory
    left, right = image[30:, :200].max(axis=2) > 40, image[30:, 200:].max(axis=2) > 40
    assert abs(int(left.sum()) - int(right.sum())) < 0.2 * left.sum()
    assert np.array_equal(left.any(axis=0).nonzero()[0], right.any(axis=0).nonzero()[0])


def test_in_step_maps_progress_between_trajectories() -> None:
    short = Ramp(RampOptions(steps=3), Path()).fit(_data(), lambda *_: None)
    long = Ramp(RampOptions(steps=9), Path()).fit(_data(), lambda *_: None)
    assert list(progresses(long)) == pytest.approx(np.linspace(0, 1, 9))
    assert [in_step(p, long, short) for p in (0, 2, 4, 8)] == pytest.approx([0, 0.5, 1, 2])


def _data() -> Data:
    return Data(np.zeros((4, 3), np.float32), np.zeros(4, np.int64), ("a",))


def test_one_reducer_still_works_as_before(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        SCENE.split("reducers:")[0] + "reducer: {type: ramp}\npanels: [{type: scatter}]\n"
    )
    plan = load_plan(spec, registry())
    assert list(plan.reducers) == ["ramp"] and plan.reducer.cls is Ramp


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("trajectory: short", "trajectory: shrot"),
            "panels[1].trajectory: no reducer named 'shrot' (did you mean 'short'?)",
        ),
        (
            ("reducers:", "reducer: {type: ramp}\nreducers:"),
            "a scene needs either 'reducer' or 'reducers', not both",
        ),
        (
            ("layout: {row: [a, b]}", "layout: {layer: [a, b]}"),
            "layout: the panels of a layer share one camera, so they draw one trajectory",
        ),
        (("short {epoch}", "short {epok}"), "panels[1].title: unknown field '{epok}'"),
    ],
)
def test_mistakes_are_located(
    write_spec: Callable[..., Path], change: tuple[str, str], expected: str
) -> None:
    spec = write_spec(SCENE.replace(*change))
    with pytest.raises(SpecErrors) as caught:
        load_plan(spec, registry())
    assert any(expected in line for line in caught.value.lines()), caught.value.lines()


def test_the_shipped_comparison_spec_is_valid() -> None:
    from specanim.plugins import default_registry

    spec = Path(__file__).parents[1] / "specs" / "digits_compare.yaml"
    plan = load_plan(spec, default_registry())
    assert list(plan.reducers) == ["umap", "tsne"]
    assert json.dumps([p.trajectory for p in plan.spec.panels]) == '["umap", "tsne", null]'
