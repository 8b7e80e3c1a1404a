"""A plugin author's mistakes, each one line that names the spec entry, the component, its plugin
and, mid-render, the frame: Vega-Lite that cannot be drawn, NaN in a view's data (drawn as
missing), a concatenation in a layer, a bug in an options validator, a reducer's wrong result,
and errors in per-frame code (view(), an encoder's converter and write()) in every executor."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from specanim.api.animation import load
from specanim.errors import ComponentError
from tests.conftest import Run

# A local plugin: a working bar, panels and reducers that each make one mistake, and encoders
# that fail on a frame. Frames 0 and 1 of the scene below show progress 0 and 1/3, frames 2
# and 3 progress 2/3 and 1: "later" mistakes happen where frames are rendered, not in frame 0
# (which the main process draws before rendering starts).
PLUGIN = '''
import os
from typing import Any

import numpy as np
from pydantic import field_validator

from specanim.sdk import (
    Box, Data, Encoder, Frame, FrameSink, Options, Panel, Reducer, Step, Trajectory, hookimpl,
)


def later(frame: Frame) -> bool:
    return frame.values["progress"] > 0.5


class Bar(Panel[Options]):
    name = "bar"

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        end = box.width * float(frame.values["progress"])
        return {
            "data": {"values": [{}]},
            "mark": {"type": "rect", "color": "#ff00ff"},
            "encoding": {
                "x": {"value": 0}, "x2": {"value": end}, "y": {"value": 0},
                "y2": {"value": box.height},
            },
        }


class BlobOptions(Options):
    from_start: bool = False


class Blob(Panel[BlobOptions]):
    name = "blob"

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        view = Bar.view(self, frame, box)
        bad = self.options.from_start or later(frame)
        return {**view, "mark": "blob"} if bad else view


class Means(Bar):
    """The mean x of a class with no points (NaN, with NumPy's warnings) and an infinity, as
    NumPy float32s: in the data from frame 2 on, and as a position in pixels in every frame."""

    name = "means"

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        x = frame.coords[:, 0]
        empty = np.mean(x[x > np.inf]) if later(frame) else np.float32(x.min())
        return {
            "data": {"values": [{"x": empty, "y": np.float32(2)}, {"x": 1.0, "y": -np.inf}]},
            "layer": [
                {
                    "mark": "point",
                    "encoding": {
                        "x": {"field": "x", "type": "quantitative"},
                        "y": {"field": "y", "type": "quantitative"},
                    },
                },
                {"mark": "rule", "encoding": {"x": {"value": np.float32(np.nan)}}},
            ],
        }


class Side(Bar):
    name = "side"

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        return {"hconcat": [super().view(frame, box), super().view(frame, box)]}


class ColourOptions(Options):
    colour: str = "red"

    @field_validator("colour")
    @classmethod
    def known(cls, value: str) -> str:
        return {"red": "#ff0000"}[value]


class Coloured(Bar):
    name = "coloured"
    Options = ColourOptions


class Boom(Bar):
    name = "boom"

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        if later(frame) and os.environ.get("BOOM", "1") == "1":
            raise ZeroDivisionError("a bar of no width")
        return super().view(frame, box)


class Line(Reducer):
    """Points sliding outwards: four snapshots, nothing to fit."""

    name = "line"
    cacheable = False

    def fit(self, data: Data, progress: Any) -> Trajectory:
        base = np.stack([np.arange(len(data)), np.arange(len(data)) % 7], axis=1)
        snapshots = np.stack([base * (1 + k) for k in range(4)]).astype(np.float32)
        return Trajectory(snapshots, tuple(Step(k) for k in range(4)), 3)


class Short(Line):
    name = "short"

    def fit(self, data: Data, progress: Any) -> Trajectory:
        fitted = super().fit(data, progress)
        return Trajectory(fitted.snapshots[:, 3:], fitted.steps, 3)


class Bare(Line):
    name = "bare"

    def fit(self, data: Data, progress: Any) -> Any:
        return super().fit(data, progress).snapshots


class Valued(Line):
    name = "valued"

    @classmethod
    def frame_values(cls, options: Any) -> dict[str, str]:
        return {"loss": options.loss_name}


class Diverging(Line):
    name = "diverging"

    def fit(self, data: Data, progress: Any) -> Trajectory:
        fitted = super().fit(data, progress)
        snapshots = fitted.snapshots.copy()
        snapshots[2, 5] = np.nan
        return Trajectory(snapshots, fitted.steps, 3)


class Refusing(FrameSink):
    def __init__(self) -> None:
        self.written = 0

    def write(self, rgb: Any) -> None:
        if self.written == 2:
            raise ValueError("the codec refused the frame")
        self.written += 1

    def write_converted(self, frame: Any) -> None:
        self.write(frame)

    def close(self) -> None:
        pass


class PickyOptions(Options):
    level: str = "high"

    @field_validator("level")
    @classmethod
    def known(cls, value: str) -> str:
        return {"high": "9"}[value]


class Picky(Encoder[PickyOptions]):
    name = "picky"
    extensions = (".picky",)

    def open(self, path: Any, width: int, height: int, fps: float) -> FrameSink:
        return Refusing()


def grey(rgb: Any) -> Any:
    if rgb[0, 0, 0] != 7:
        raise ValueError("not a grey frame")
    return rgb


class Grey(Picky):
    name = "grey"
    extensions = (".grey",)

    def converter(self) -> Any:
        return grey


@hookimpl
def register_panels(register):
    for cls in (Bar, Blob, Means, Side, Coloured, Boom):
        register(cls)


@hookimpl
def register_reducers(register):
    for cls in (Line, Short, Bare, Valued, Diverging):
        register(cls)


@hookimpl
def register_encoders(register):
    register(Picky)
    register(Grey)
'''

# Line numbers below count from 1 in this text; the first panel stands on line 8.
SCENE = """\
width: 128
height: 96
margin: 0
plugins: [plugins/mistakes.py]
dataset: {type: sklearn-digits, limit: 40}
reducer: {type: REDUCER}
panels:
  - PANEL
  - {type: bar, id: under}
timeline: {fps: 4}
"""
PLUGIN_NAME = "(plugin 'plugins/mistakes.py')"


def scene(folder: Path, panel: str = "{type: bar}", reducer: str = "line", more: str = "") -> Path:
    """specs/scene.yaml in folder, its local plugin beside it in specs/plugins/."""
    (folder / "specs" / "plugins").mkdir(parents=True, exist_ok=True)
    (folder / "specs" / "plugins" / "mistakes.py").write_text(PLUGIN, encoding="utf-8")
    spec = folder / "specs" / "scene.yaml"
    text = SCENE.replace("PANEL", panel).replace("REDUCER", reducer) + more
    spec.write_text(text, encoding="utf-8")
    return spec


def fails(result: subprocess.CompletedProcess[str], line: str, code: int = 1) -> None:
    """result (a finished specanim) printed exactly line on stderr and exited with code."""
    assert result.returncode == code, result.stderr
    assert result.stderr.splitlines() == [line]


@pytest.mark.parametrize(
    ("workers", "from_start", "frame"), [("1", "false", 2), ("2", "false", 2), ("2", "true", 0)]
)
def test_vega_lite_that_cannot_be_drawn_names_the_panel_the_frame_and_what_is_wrong(
    tmp_path: Path, specanim: Run, workers: str, from_start: str, frame: int
) -> None:
    scene(tmp_path, f"{{type: blob, from_start: {from_start}}}")
    result = specanim("render", "specs/scene.yaml", "-o", "out.gif", "-q", "-w", workers)
    fails(
        result,
        f"specs/scene.yaml:8: panels[0]: panel 'blob' {PLUGIN_NAME} returned Vega-Lite in view() "
        f"of frame {frame} that cannot be drawn: mark: 'blob' is not valid under any of the given "
        "schemas",
    )
    assert not (tmp_path / "out.gif").exists()


def test_vega_lite_that_cannot_be_drawn_in_a_still_and_from_python(
    tmp_path: Path, specanim: Run
) -> None:
    spec = scene(tmp_path, "{type: blob}")
    expected = (
        f"specs/scene.yaml:8: panels[0]: panel 'blob' {PLUGIN_NAME} returned Vega-Lite in "
        "view() of frame 3 that cannot be drawn: mark: 'blob' is not valid under any of the "
        "given schemas"
    )
    fails(specanim("still", "specs/scene.yaml", "-o", "last.png", "-q"), expected)
    assert not (tmp_path / "last.png").exists()
    with pytest.raises(ComponentError) as info:
        load(spec).still(-1)
    assert str(info.value) == expected.replace("specs/scene.yaml", str(spec))
    assert info.value.exit_code == 1


@pytest.mark.parametrize("workers", ["1", "2"])
def test_nan_and_infinity_in_a_views_data_are_drawn_as_missing(
    tmp_path: Path, specanim: Run, workers: str
) -> None:
    scene(tmp_path, "{type: means}")
    result = specanim("render", "specs/scene.yaml", "-o", "out.gif", "-q", "-w", workers)
    assert result.returncode == 0, result.stderr
    # NumPy's warnings, from the main process or from workers, are one line each.
    assert set(result.stderr.splitlines()) == {
        "warning: Mean of empty slice",
        "warning: invalid value encountered in divide",
    }
    assert (tmp_path / "out.gif").stat().st_size > 0


def test_a_concatenation_in_a_layer_names_the_panel_and_what_it_shares_its_box_with(
    tmp_path: Path, specanim: Run
) -> None:
    scene(tmp_path, "{type: side}", more="layout: {layer: [side, under]}\n")
    result = specanim("render", "specs/scene.yaml", "-o", "out.gif", "-q")
    fails(
        result,
        f"specs/scene.yaml:8: panels[0]: panel 'side' {PLUGIN_NAME} returned a view with "
        "'hconcat' in view() of frame 0, drawn in a layer with panel 'under': a layer draws "
        "unit and layer views only",
    )
    assert not (tmp_path / "out.gif").exists()


def test_a_bug_in_an_options_validator_is_the_plugins_fault_in_one_line(
    tmp_path: Path, specanim: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = scene(tmp_path, "{type: coloured, colour: blue}")
    expected = (
        f"specs/scene.yaml:8: panels[0]: panel 'coloured' {PLUGIN_NAME} failed in an options "
        "validator: KeyError: 'blue'"
    )
    fails(specanim("validate", "specs/scene.yaml"), expected)
    fails(specanim("render", "specs/scene.yaml", "-o", "out.gif", "-q"), expected)
    assert not (tmp_path / "out.gif").exists()
    with pytest.raises(ComponentError) as info:
        load(spec)
    assert str(info.value) == expected.replace("specs/scene.yaml", str(spec))

    monkeypatch.setenv("SPECANIM_TRACEBACK", "1")
    shown = specanim("validate", "specs/scene.yaml")
    assert shown.returncode == 1
    assert "Traceback" in shown.stderr and 'mistakes.py", line' in shown.stderr
    assert shown.stderr.splitlines()[-1] == expected


@pytest.mark.parametrize(
    ("reducer", "more", "line"),
    [
        (
            "line",
            "output: {type: picky, path: out.picky, level: low}\n",
            f"11: output: encoder 'picky' {PLUGIN_NAME} failed in an options validator: "
            "KeyError: 'low'",
        ),
        (
            "valued",
            "",
            f"6: reducer: reducer 'valued' {PLUGIN_NAME} failed in frame_values(): "
            "AttributeError: 'Options' object has no attribute 'loss_name'",
        ),
    ],
)
def test_a_bug_in_an_encoders_validator_or_in_frame_values_is_one_line(
    tmp_path: Path, specanim: Run, reducer: str, more: str, line: str
) -> None:
    scene(tmp_path, reducer=reducer, more=more)
    fails(specanim("validate", "specs/scene.yaml"), f"specs/scene.yaml:{line}")


@pytest.mark.parametrize(
    ("reducer", "line", "code"),
    [
        (
            "short",
            f"reducer 'short' {PLUGIN_NAME} failed in fit(): ValueError: its snapshots place 37 "
            "points, the data has 40",
            1,
        ),
        (
            "bare",
            f"reducer 'bare' {PLUGIN_NAME} failed in fit(): TypeError: it returned a ndarray, "
            "not a Trajectory",
            1,
        ),
        (
            "diverging",
            "diverging gave NaN or infinite coordinates (snapshot 2 of 4); the features may be "
            "too large (the largest is 1): scale them",
            2,
        ),
    ],
)
def test_a_reducers_wrong_result_is_one_line_naming_it(
    tmp_path: Path, specanim: Run, reducer: str, line: str, code: int
) -> None:
    scene(tmp_path, reducer=reducer)
    result = specanim("render", "specs/scene.yaml", "-o", "out.gif", "-q")
    fails(result, f"specs/scene.yaml:6: reducer: {line}", code)
    assert not (tmp_path / "out.gif").exists()


@pytest.mark.parametrize("where", ["-w 1", "-w 2", "--executor dask -w 1"])
def test_an_error_in_view_mid_render_names_the_frame_in_every_executor(
    tmp_path: Path, specanim: Run, where: str
) -> None:
    scene(tmp_path, "{type: boom}")
    result = specanim("render", "specs/scene.yaml", "-o", "out.gif", "-q", *where.split())
    fails(
        result,
        f"specs/scene.yaml:8: panels[0]: panel 'boom' {PLUGIN_NAME} failed in view() of frame 2: "
        "ZeroDivisionError: a bar of no width",
    )
    assert not (tmp_path / "out.gif").exists()


def test_an_error_in_view_names_the_frame_in_render_check(
    tmp_path: Path, specanim: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene(tmp_path, "{type: boom}")
    monkeypatch.setenv("BOOM", "0")
    made = specanim("render", "specs/scene.yaml", "-o", "out.gif", "-q")
    assert made.returncode == 0, made.stderr
    monkeypatch.setenv("BOOM", "1")  # the same scene (code and spec), now failing
    checked = specanim("render", "specs/scene.yaml", "-o", "out.gif", "-q", "--check", "-w", "2")
    fails(
        checked,
        f"specs/scene.yaml:8: panels[0]: panel 'boom' {PLUGIN_NAME} failed in view() of frame 2: "
        "ZeroDivisionError: a bar of no width",
    )


@pytest.mark.parametrize(
    ("encoder", "call"),
    [("picky", "write() of frame 2"), ("grey", "the converter of frame 0")],
)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_encoders_error_names_the_frame(
    tmp_path: Path, specanim: Run, encoder: str, call: str, workers: str
) -> None:
    scene(tmp_path, more=f"output: {{type: {encoder}, path: out.{encoder}}}\n")
    result = specanim("render", "specs/scene.yaml", "-q", "-w", workers)
    problem = "the codec refused the frame" if encoder == "picky" else "not a grey frame"
    fails(
        result,
        f"specs/scene.yaml:11: output: encoder '{encoder}' {PLUGIN_NAME} failed in {call}: "
        f"ValueError: {problem}",
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "specs"]
