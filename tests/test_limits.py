"""Everything ``validate`` accepts renders within the limits it states, or is refused by it in one
located line: text (length and characters), Vega-Lite pass-through (padding), frame counts,
integers, nesting and aliases, whether written in the file, a base it extends or ``--set``.

What reaches a frame from elsewhere (the data's class names, a plugin's view) is held to the
same limits where it meets vl-convert, which aborts the whole process on text that is not XML
or a canvas larger than memory: those tests run it in a process of its own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from specanim.errors import SpecError, UserError
from specanim.plugins import default_registry
from specanim.spec import limits
from specanim.spec.overrides import override
from specanim.spec.validate import load_plan
from specanim.values import Step, Trajectory

from .conftest import Run
from .test_hostile_specs import alias_bomb

SCENE = """\
title: "Digits, epoch {epoch}"
width: 160
height: 120
margin: 4
dataset: {type: sklearn-digits, limit: 60}
reducer: {type: pca}
panels:
  - {type: progress-bar, label: "{epoch}"}
  - {type: scatter, point_size: 3}
timeline: {fps: 10}
output: {type: gif}
"""

UNDRAWABLE = ["\a", "\0", "\x1b", "\v", "\ufffe", "\uffff"]


def refusal(spec: Path, *sets: str) -> str:
    """The one line validation refuses spec with (after sets, as ``--set`` gives them)."""
    with pytest.raises(UserError) as info:
        load_plan(spec, default_registry(), spec.with_name("out.gif"), sets)
    (line,) = info.value.lines()
    assert "\n" not in line
    return line


def valid(spec: Path, *sets: str) -> None:
    load_plan(spec, default_registry(), spec.with_name("out.gif"), sets)


def quoted(text: str) -> str:
    """text as a YAML double-quoted string, control characters escaped."""
    return yaml.safe_dump(text, default_style='"').strip().removesuffix("\n...")


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("char", UNDRAWABLE, ids=[f"U+{ord(c):04X}" for c in UNDRAWABLE])
def test_text_a_frame_cannot_draw_is_refused_where_it_was_written(
    write_spec: Callable[..., Path], char: str
) -> None:
    title = quoted(f"a{char}b")
    spec = write_spec(SCENE.replace('"Digits, epoch {epoch}"', title))
    line = refusal(spec)
    assert line.startswith(f"{spec}:1: title: the character U+{ord(char):04X} cannot be drawn")
    label = f"panels.progress-bar.label={quoted('x' + char)}"
    assert refusal(write_spec(SCENE), label).startswith(f"--set {label}: panels[0].label: the")
    key = f"vega_lite.usermeta={{{quoted(char)}: 1}}"
    assert ": vega_lite.usermeta: a key: the character" in refusal(write_spec(SCENE), key)


def test_text_is_at_most_a_thousand_characters(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SCENE)
    valid(spec, "title=" + "x" * limits.MAX_TEXT)
    line = refusal(spec, "title=" + "x" * (limits.MAX_TEXT + 1))
    assert line.endswith(": title: a text of 1,001 characters: at most 1,000 are allowed")
    assert "xxxxxxxxxx… (1,007 characters)" in line  # the option is shown shortened
    long = write_spec(SCENE.replace("Digits, epoch {epoch}", "y" * 2000))
    assert (
        refusal(long) == f"{long}:1: title: a text of 2,000 characters: at most 1,000 are allowed"
    )


def test_a_long_wrong_value_is_shown_shortened(write_spec: Callable[..., Path]) -> None:
    line = refusal(write_spec(SCENE.replace("margin: 4", "margin: " + "7x" * 300)))
    assert line.endswith("x7x7… (602 characters)") and line.count("7x") < 40


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{epoch.__class__.__mro__}", "a field is a name alone, without '.' or '[...]'"),
        ("{epoch[0]}", "a field is a name alone"),
        ("{frame!z}", "a conversion is !r, !s or !a"),
        ("{epoch:>1000}", "with a width or precision of at most 999"),
        ("{epoch:%Y}", "not a format such as :.0% or :>4"),
    ],
)
def test_template_fields_are_names_and_standard_formats(
    write_spec: Callable[..., Path], template: str, problem: str
) -> None:
    spec = write_spec(SCENE)
    line = refusal(spec, f"title={quoted(template)}")
    assert f": title: '{template}': " in line and problem in line
    valid(spec, "title='{epoch!r:>4} {progress:.0%} {frame:_>999,.3f} {{epoch.x}}'")


def test_the_data_s_text_is_drawn_with_replacement_characters(
    tmp_path: Path, specanim: Run
) -> None:
    # Class names are the user's data, read when rendering: vl-convert would abort (exit 134).
    rows = ["digit,a,b,c"] + [f'"{n}\a{n}\ufffe",{n},{n * n % 7},{n % 3}' for n in range(12)]
    (tmp_path / "points.csv").write_text("\n".join(rows), encoding="utf-8")
    spec = tmp_path / "scene.yaml"
    spec.write_text(
        "width: 200\nheight: 120\ndataset: {type: file, path: points.csv, label: digit}\n"
        "reducer: {type: pca}\npanels: [{type: scatter}, {type: legend}]\n"
    )
    result = specanim("still", spec, "-o", "frame.png", "--cache", "off", "-q")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "frame.png").stat().st_size > 0


# --- Vega-Lite pass-through ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vega_lite", "where"),
    [
        ("{padding: 100000}", "vega_lite.padding"),
        ("{autosize: fit, padding: 50000}", "vega_lite.padding"),
        ("{padding: {left: 5, top: 1001}}", "vega_lite.padding.top"),
        ('{padding: {expr: "100000"}}', "vega_lite.padding.expr"),
    ],
)
def test_padding_is_at_most_a_thousand_pixels(
    write_spec: Callable[..., Path], vega_lite: str, where: str
) -> None:
    spec = write_spec(SCENE)
    line = refusal(spec, f"vega_lite={vega_lite}")
    assert line.endswith(f": {where}: a padding is a number of pixels from 0 to 1,000")
    valid(spec, "vega_lite={autosize: fit, padding: {left: 1000, top: 0}}")


def test_autosize_none_is_refused(write_spec: Callable[..., Path]) -> None:
    # With padding 0, Vega lays a frame of panels out to 0 x 0 pixels (vl-convert: "SVG has an
    # invalid size"); with padding 50000, to a canvas of 100,000 pixels a side (found by
    # tests/test_fuzz.py).
    spec = write_spec(SCENE)
    with pytest.raises(UserError) as info:
        valid(spec, "vega_lite={autosize: {type: none}, padding: 50000}")
    option = "--set vega_lite={autosize: {type: none}, padding: 50000}: "
    assert [line.removeprefix(option).split(": ", 1) for line in info.value.lines()] == [
        [
            "vega_lite.autosize",
            "'none' leaves a frame of panels no size (Vega sizes it by its "
            "padding alone): use pad (the default), fit, fit-x or fit-y",
        ],
        ["vega_lite.padding", "a padding is a number of pixels from 0 to 1,000"],
    ]


def test_a_canvas_beyond_the_limit_is_refused_not_aborted(tmp_path: Path) -> None:
    # What a plugin's view could ask for: vl-convert would allocate 160 GB and abort.
    script = (
        "from specanim.draw.vlconvert import rasterize\n"
        "from specanim.errors import UserError\n"
        "try:\n"
        "    rasterize({'width': 100, 'height': 100, 'padding': 100000, 'mark': 'point',\n"
        "               'data': {'values': []}})\n"
        "except UserError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("a frame's Vega-Lite lays out to 200,100 x 200,100 pixels")


def test_a_canvas_of_no_pixels_is_refused_in_one_line() -> None:
    from specanim.draw.vlconvert import rasterize

    empty = {"autosize": "none", "padding": 0, "mark": "point", "data": {"values": []}}
    with pytest.raises(UserError, match="^a frame's Vega-Lite lays out to 0 x 0 pixels: nothing"):
        rasterize({"width": 0, "height": 0, **empty})


# --- frame counts ----------------------------------------------------------------------------


def test_an_animation_has_at_most_a_hundred_thousand_frames(
    write_spec: Callable[..., Path],
) -> None:
    spec = write_spec(SCENE)
    line = refusal(spec, "timeline={fps: 240, duration: 86400}")
    assert line.endswith(
        ": timeline: 240 fps for the duration and holds make 20,736,000 frames: "
        "an animation has at most 100,000"
    )
    assert "100,001 frames" in refusal(spec, "timeline={fps: 200, hold_end: 500.005}")
    valid(spec, "timeline={fps: 200, duration: 400, hold_start: 50, hold_end: 50}")


def test_snapshots_that_make_too_many_frames_are_refused() -> None:
    from specanim.draw.timeline import plan_shots
    from specanim.spec.models import Timeline

    count = limits.MAX_FRAMES + 1
    snapshots = np.zeros((count, 1, 2), np.float32)
    trajectory = Trajectory(snapshots, tuple(Step(i) for i in range(count)), count)
    with pytest.raises(UserError, match="100,001 frames: an animation has at most 100,000"):
        plan_shots(Timeline(), trajectory)
    assert len(plan_shots(Timeline(every=2), trajectory)) == 50_001


# --- the YAML itself: control bytes, integers, nesting, aliases, from a file or --set ---------


def test_a_control_byte_in_the_file_or_a_base_is_one_located_line(
    write_spec: Callable[..., Path],
) -> None:
    base = write_spec(SCENE.replace("margin: 4", "margin: 4 # \x07"), "base.yaml")
    message = re.escape("the character U+0007 cannot be drawn")
    with pytest.raises(SpecError, match=f"^{base}:4: {message}"):
        valid(base)
    child = write_spec("extends: base.yaml\ntitle: x\n")
    with pytest.raises(SpecError, match=f"^{base}:4: {message}"):
        valid(child)


@pytest.mark.parametrize("digits", [5000, 20])
def test_integers_lie_within_64_bits_in_the_file_and_in_set(
    write_spec: Callable[..., Path], digits: int
) -> None:
    big = "9" * digits
    beyond = "an integer beyond the 64-bit range (at most 9,223,372,036,854,775,807 either side"
    spec = write_spec(SCENE + f"seed: {big}\n")
    assert refusal(spec) == f"{spec}:12: seed: {beyond} of 0)"
    assert refusal(write_spec(SCENE), f"seed={big}").endswith(f": {beyond} of 0)")
    assert beyond in refusal(write_spec(SCENE), "seed=0x" + "f" * 17)
    valid(write_spec(SCENE), f"seed={limits.MAX_INT}")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("&a [*a]", "an alias refers to a value that contains it"),
        ("[" * 3000 + "]" * 3000, "values nested more than 64 levels deep"),
        (
            "{" + alias_bomb(levels=6).replace("\n", ", ").rstrip(", ") + "}",
            "the spec holds more than 50,000 values (aliases counted at every use)",
        ),
        ("!!python/object/apply:os.system ['true']", "the YAML tag '!!python/object/apply"),
    ],
    ids=["recursive", "deep", "alias-bomb", "tag"],
)
def test_set_values_are_held_to_the_limits_of_a_file(
    write_spec: Callable[..., Path], value: str, problem: str
) -> None:
    spec = write_spec(SCENE)
    for path in ("reducer.epochs", "vega_lite.usermeta"):
        line = refusal(spec, f"{path}={value}")
        assert line.startswith(f"--set {path}=") and problem in line


def test_values_set_from_python_are_held_to_the_limits(write_spec: Callable[..., Path]) -> None:
    loop: list[object] = []
    loop.append(loop)
    spec = write_spec(SCENE)
    with pytest.raises(UserError, match="values nested more than 64 levels deep"):
        load_plan(spec, default_registry(), None, [override("vega_lite.usermeta", {"x": loop})])
    with pytest.raises(UserError, match="beyond the 64-bit range"):
        load_plan(spec, default_registry(), None, [override("seed", 10**5000)])
    row = list(range(1000))
    with pytest.raises(UserError, match="more than 50,000 values"):
        load_plan(spec, default_registry(), None, [override("vega_lite.usermeta", [row] * 60)])


def test_a_set_path_is_at_most_64_keys_deep(write_spec: Callable[..., Path]) -> None:
    line = refusal(write_spec(SCENE), "a." * 5000 + "b=1")
    assert line.endswith("(10,003 characters): the path is more than 64 keys deep")


def test_the_cli_says_one_line_for_each_set_that_broke_it(
    write_spec: Callable[..., Path], specanim: Run
) -> None:
    spec = write_spec(SCENE)
    for value in ["reducer.epochs=&a [*a]", "seed=" + "[" * 3000, "seed=" + "9" * 5000]:
        result = specanim("validate", spec, "--set", value)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr


# --- extends: what is not a spec is refused without being shown -------------------------------


SECRET = "root:$6$Zx9wq$Hk3sPqLmN0vRtY2uW8aB:19000:0:99999:7:::"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            f"{SECRET}\ndaemon:*:19000:0:99999:7:::\n",
            ":1: not a scene spec: a key at the top level",
        ),
        ("password Zx9wq\nand more\n", ":1: not a scene spec: the file holds a text"),
        (f"- {SECRET}\n", ":1: not a scene spec: the file holds a list"),
        (b"\x7fELF\x02\x01\x01\0\0\0\xd0\xff" + SECRET.encode(), ":1: not a spec: the file is not"),
        ("t: '" + SECRET * 20_000 + "'\n", ": the spec is larger than 1 MB"),
    ],
    ids=["shadow", "text", "list", "binary", "huge"],
)
def test_a_base_that_is_no_spec_is_refused_without_showing_it(
    write_spec: Callable[..., Path], specanim: Run, content: str | bytes, problem: str
) -> None:
    base = write_spec("", "secret")
    if isinstance(content, bytes):
        base.write_bytes(content)
    else:
        base.write_text(content)
    spec = write_spec(f"extends: {base}\n" + SCENE)
    result = specanim("validate", spec)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{base}{problem}")
    assert len(result.stderr.splitlines()) == 1
    assert "Zx9wq" not in result.stderr + result.stdout and "daemon" not in result.stderr


def test_a_base_that_is_no_regular_file_is_refused(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("extends: /dev/zero\n" + SCENE)
    assert refusal(spec).endswith(": extends: '/dev/zero' is not a regular file: nothing to extend")


def test_an_emoji_cut_short_is_one_line(write_spec: Callable[..., Path]) -> None:
    # Vega cuts a label to its room between the two UTF-16 halves of the emoji; vl-convert then
    # cannot read the text back (found by tests/test_fuzz.py).
    from specanim import engine

    narrow = SCENE + "layout: {row: [progress-bar, scatter], sizes: [1, 5]}\n"
    spec = write_spec(narrow.replace('label: "{epoch}"', 'label: "é🙂"'))
    with pytest.raises(UserError, match=r"^a text with a character beyond U\+FFFF .* is cut short"):
        # found when the frame is first laid out, or when it is drawn
        engine.still(engine.prepare(load_plan(spec, default_registry()), cache="off"), -1)
