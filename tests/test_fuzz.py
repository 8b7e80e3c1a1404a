"""Fuzzing: mutated specs and data files give a frame or one clean line per problem, never a
traceback and never a hang.

Hypothesis runs derandomized and without an example database, so CI tries the same cases
every time; each case goes through the library as the CLI would (validate, prepare, render the
last frame), which is what ``specanim render`` does before encoding, minus 0.5 s of start-up.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specanim import engine
from specanim.components import Reducer
from specanim.errors import InputError, UserError
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan
from specanim.store import trajectories
from specanim.values import Data, Progress, Step, Trajectory

# SPECANIM_FUZZ_EXAMPLES=500 explores: that many random (not derandomized) examples a test.
EXPLORE = int(os.environ.get("SPECANIM_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

BASE: dict[str, Any] = {
    "title": "Digits, epoch {epoch} of {epochs}",
    "subtitle": "{progress:.0%}",
    "width": 160,
    "height": 120,
    "margin": 4,
    "palette": "paired",
    "dataset": {"type": "sklearn-digits", "limit": 60},
    "reducer": {"type": "pca"},
    "panels": [
        {"type": "progress-bar", "label": "{epoch}"},
        {"type": "scatter", "point_size": 3, "view": {"mode": "fixed", "limits": [-9, 9, -9, 9]}},
        {"type": "digit-grid", "columns": 2},
    ],
    "layout": {"row": ["progress-bar", "scatter", "digit-grid"], "sizes": [1, 3, 1]},
    "timeline": {"fps": 10, "hold_end": 0.2},
    "output": {"type": "gif", "loop": 0},
}

ODD_NUMBERS = [0, -1, 1, 2**31, 10**30, -(10**30), 1e308, 1e-308, math.nan, math.inf, -math.inf]
PLAUSIBLE = [0.5, 2, 3, 7, 64, 100, 999, 5000]  # numbers that often pass validation
ODD_TEXT = ["", " ", "\u202e", "🙂🙂🙂", "é", "{", "}", "{epoch", "{0}", "{epoch.real}", "%s", "\0"]
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(ODD_NUMBERS),
    st.integers(),
    st.floats(),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=12),
    st.lists(st.sampled_from(ODD_NUMBERS), max_size=5),
    st.dictionaries(st.sampled_from(["type", "x", "", "mode"]), st.sampled_from(ODD_TEXT)),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and index path in a tree of dicts and lists."""
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def parent_of(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        tree = tree[key]
    return tree


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """The base spec with one to three keys dropped, replaced or added, as YAML text, maybe cut
    short. Places are picked uniformly (hypothesis alone prefers the first of a list)."""
    rnd = draw(st.randoms(use_true_random=False))
    spec = copy.deepcopy(BASE)
    for _ in range(1 if rnd.random() < 0.7 else rnd.randint(2, 3)):
        places = list(paths(spec))
        if not places:
            break
        path = rnd.choice(places)
        parent = parent_of(spec, path)
        action = rnd.choice(["drop", "replace", "tweak", "tweak", "tweak", "add"])
        value = parent[path[-1]]
        if action == "tweak":  # the same type, an odd value: what gets past validation
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                parent[path[-1]] = rnd.choice(ODD_NUMBERS + PLAUSIBLE)
            elif isinstance(value, str):
                parent[path[-1]] = rnd.choice([*ODD_TEXT, value * 50, value[: len(value) // 2]])
            else:
                action = "replace"
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(HOSTILE)
        elif isinstance(parent, dict):
            parent[rnd.choice([*ODD_TEXT[1:], "width", "limit"])] = draw(HOSTILE)
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    if rnd.random() < 0.1:
        text = text[: rnd.randint(0, len(text))]
    return text


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="specanim-fuzz-") as name:
        yield Path(name)


def render_or_refuse(spec: Path, sets: Sequence[str] = ()) -> np.ndarray | None:
    """What ``specanim render`` does up to the first frame (with sets as ``--set`` options):
    the last frame's pixels, or None for input refused with one clean line per problem.
    Anything else fails the test."""
    try:
        pixels = last_frame(spec, sets)
    except UserError as exc:
        lines = exc.lines()
        assert lines and all(line.strip() and "\n" not in line for line in lines), lines
        return None
    assert pixels.ndim == 3 and pixels.shape[2] == 3
    return pixels


def last_frame(spec: Path, sets: Sequence[str] = ()) -> np.ndarray:
    """The last frame's pixels, as ``specanim render`` would make them before encoding."""
    plan = load_plan(spec, default_registry(), spec.with_name("out.gif"), sets)
    return engine.still(engine.prepare(plan, cache="off"), -1)


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=EXPLORE or 40)
@given(mutated_specs())
def test_mutated_specs_render_or_say_why_in_one_line(text: str) -> None:
    with folder() as where:
        spec = where / "scene.yaml"
        spec.write_text(text, encoding="utf-8")
        render_or_refuse(spec)


# --- --set options and vega_lite: pass-through -------------------------------------------------

# Text a frame cannot draw, long text, integers past 64 bits (a file's 10**300 has 301 digits).
HOSTILE_TEXT = ["a\ab", "\0", "\x1b[31m", "\v", "\ufffe", "\uffff", "\ud800", "x" * 1001]
HUGE_INTS = [2**63, -(2**63) - 1, 10**30, 10**300]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from(ODD_NUMBERS + PLAUSIBLE + HUGE_INTS + [1e5, -5, 1000, 1001]),
    st.sampled_from(ODD_TEXT + HOSTILE_TEXT + ["red", "#fff", "none", "pad", "fit"]),
    st.text(max_size=8),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["type", "x", "fontSize", "value", "a\ab", ""]), inner)
    ),
    max_leaves=8,
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --set values no YAML dumper writes: aliases (recursive, exponential), deep nesting, tags,
# raw control characters, integers in YAML's other notations, several lines, broken YAML.
RAW_VALUES = [
    "&a [*a]",
    "{a0: &a0 [1,1,1,1,1,1,1,1], a1: &a1 [*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0], "
    "a2: &a2 [*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1], a3: &a3 [*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2], "
    "a4: &a4 [*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3], a5: [*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4]}",
    nested(64),
    nested(3000),
    "!!python/object/apply:os.system ['true']",
    "a\x07b",
    "9" * 5000,
    "1:" * 30 + "1",
    "{a: ",
    "two\nlines",
]
TEMPLATES = ["{epoch}", "{progress:.0%}", "{frame!r:>4}", "{epoch.real}", "{phase:x^999}", "é🙂"]
NUMBERS = st.sampled_from(PLAUSIBLE + [1, 10, 20, 100, 240, 241, 1e5, 0.2])
# Paths of the scene, each with values that often pass validation.
SET_PATHS: dict[str, st.SearchStrategy[Any]] = {
    "title": st.sampled_from(TEMPLATES),
    "subtitle": st.sampled_from(TEMPLATES),
    "seed": st.integers(0, 2**64),
    "width": NUMBERS,
    "title_size": NUMBERS,
    "timeline.fps": NUMBERS,
    "timeline.duration": NUMBERS,
    "timeline.hold_end": NUMBERS,
    "dataset.limit": NUMBERS,
    "panels.scatter.point_size": NUMBERS,
    "panels.progress-bar.label": st.sampled_from(TEMPLATES),
    "panels.scatter.title": st.sampled_from(TEMPLATES),
    "vega_lite.usermeta": JSONISH,
    "vega_lite.padding": NUMBERS,
    "layout.sizes[0]": NUMBERS,
}
PATH_PARTS = ["title", "panels", "scatter", "[0]", "[1]", "[99]", "vega_lite", "x", "a\x07", "."]


@st.composite
def set_options(draw: st.DrawFn, hostile: bool = False) -> list[str]:
    """Up to three ``--set PATH=VALUE`` options: mostly a path of the scene with a value that
    may pass, else random paths and values; with hostile, the first (read first) a hostile
    value. Paths and hostile values are picked uniformly (hypothesis alone prefers the first of
    a list)."""
    rnd = draw(st.randoms(use_true_random=False))
    options = []
    for n in range(rnd.randint(1 if hostile else 0, 3)):
        path = rnd.choice(list(SET_PATHS))
        if hostile and n == 0:
            value = rnd.choice(RAW_VALUES)
        elif rnd.random() < 0.7:
            value = yaml_text(draw(SET_PATHS[path]))
        else:
            if rnd.random() < 0.5:
                parts = [rnd.choice(PATH_PARTS) for _ in range(rnd.randint(1, 4))]
                path = ".".join(parts).replace(".[", "[")
            value = yaml_text(draw(JSONISH))
        options.append(f"{path}={value}")
    return options


def yaml_text(value: Any) -> str:
    """A value as --set takes it: YAML in one line (control characters escaped)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9)
    return text.removesuffix("\n").removesuffix("\n...")


SIZES = st.sampled_from([0, 1, 4, 10, 20, 1000, 1001, 50000, 100000, -1, 1e308, 2**63, "10"])
FRAME_VEGA_LITE: dict[str, st.SearchStrategy[Any]] = {
    "padding": SIZES | st.dictionaries(st.sampled_from(["left", "top", "expr"]), SIZES),
    "autosize": st.sampled_from(["none", "pad", "fit", {"type": "none"}, {"contains": "x"}]),
    "background": st.sampled_from(["white", "#123", "a\ab", "x" * 1001]),
    "config": st.fixed_dictionaries(
        {},
        optional={
            "font": st.sampled_from(["DejaVu Sans", "\uffff", ""]),
            "concat": st.fixed_dictionaries({"spacing": SIZES}),
            "title": st.fixed_dictionaries({"fontSize": SIZES, "offset": SIZES}),
            "view": st.fixed_dictionaries({"continuousWidth": SIZES}),
        },
    ),
    "usermeta": JSONISH,
    "params": st.just([{"name": "p", "value": 1}]),
    "hconcat": JSONISH,  # specanim's own: refused
}
PANEL_VEGA_LITE: dict[str, st.SearchStrategy[Any]] = {
    "mark": st.fixed_dictionaries(
        {},
        optional={
            "fontSize": SIZES,
            "size": SIZES,
            "opacity": st.sampled_from([0, 0.5, 1, 2]),
            "color": st.sampled_from(["red", "a\ab", "\uffff"]),
        },
    ),
    "encoding": st.fixed_dictionaries({"opacity": st.fixed_dictionaries({"value": SIZES})}),
    "padding": SIZES,  # the frame's: refused here
}


@st.composite
def vega_lite(draw: st.DrawFn, keys: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """A ``vega_lite:`` mapping of up to three of keys (picked uniformly), with values that
    may pass."""
    rnd = draw(st.randoms(use_true_random=False))
    chosen = rnd.sample(list(keys), rnd.randint(0, 3))
    return {key: draw(keys[key]) for key in chosen}


def render_with(sets: list[str], frame: dict[str, Any], panel: dict[str, Any]) -> None:
    """The base scene with frame and panel as its and its scatter's ``vega_lite:``, and sets as
    ``--set`` options: rendered, or refused in one line per problem."""
    spec = copy.deepcopy(BASE)
    if frame:
        spec["vega_lite"] = frame
    if panel:
        spec["panels"][1]["vega_lite"] = panel
    with folder() as where:
        path = where / "scene.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))
        render_or_refuse(path, sets)


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=EXPLORE or 40)
@given(set_options(), vega_lite(FRAME_VEGA_LITE), vega_lite(PANEL_VEGA_LITE))
def test_set_and_vega_lite_render_or_say_why_in_one_line(
    sets: list[str], frame: dict[str, Any], panel: dict[str, Any]
) -> None:
    render_with(sets, frame, panel)


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=EXPLORE or 30)
@given(set_options(hostile=True), vega_lite(FRAME_VEGA_LITE))
def test_hostile_set_values_are_refused_in_one_line(sets: list[str], frame: dict[str, Any]) -> None:
    render_with(sets, frame, {})


# --- data files for the `file` dataset -------------------------------------------------------

ROWS = 40
PIXELS = 16  # 4 x 4 images


def base_table() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (ROWS, PIXELS)).astype(float), np.arange(ROWS) % 4


ODD_CELLS = ["nan", "inf", "-inf", "", "x", "1e999", "-1", "256", "3.5", "🙂", '"', "1,2"]


@st.composite
def mutated_csvs(draw: st.DrawFn) -> bytes:
    pixels, labels = base_table()
    header = ["digit", *(f"pixel{i + 1}" for i in range(PIXELS))]
    rows = [[str(d), *(f"{v:g}" for v in row)] for d, row in zip(labels, pixels, strict=True)]
    table = [header, *rows]
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["cell", "cell", "drop-column", "drop-rows", "header"]))
        r = draw(st.integers(0, len(table) - 1))
        if action == "cell" and table[r]:
            table[r][draw(st.integers(0, len(table[r]) - 1))] = draw(st.sampled_from(ODD_CELLS))
        elif action == "drop-column" and table[0]:
            c = draw(st.integers(0, len(table[0]) - 1))
            table = [row[:c] + row[c + 1 :] for row in table]
        elif action == "drop-rows":
            table = table[: r + 1]
        elif action == "header":
            table[0] = [
                draw(st.sampled_from(["digit", "label", "pixel", "pixel0", "", "🙂"]))
            ] + table[0][1:]
    raw = "\n".join(",".join(row) for row in table).encode()
    if draw(st.integers(0, 3)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@st.composite
def mutated_npzs(draw: st.DrawFn) -> dict[str, np.ndarray] | bytes:
    pixels, labels = base_table()
    arrays: dict[str, np.ndarray] = {"X": pixels.astype(np.float32), "y": labels}
    for _ in range(draw(st.integers(1, 3))):
        action = draw(
            st.sampled_from(["value", "shape", "labels", "empty", "dtype", "drop", "images"])
        )
        if action == "value":
            x = arrays.get("X", pixels)
            x = x.astype(np.float64) if x.dtype.kind in "biuf" else pixels.copy()
            if x.size:
                x.flat[draw(st.integers(0, x.size - 1))] = draw(
                    st.sampled_from(ODD_NUMBERS[:8] + [math.nan, math.inf])
                )
            arrays["X"] = x
        elif action == "shape":
            shape = draw(
                st.sampled_from(
                    [
                        (ROWS * PIXELS,),
                        (ROWS, 4, 4),
                        (ROWS, 1),
                        (1, PIXELS),
                        (ROWS, 0),
                        (ROWS, 2, 2, 4),
                    ]
                )
            )
            arrays["X"] = pixels.reshape(-1)[: int(np.prod(shape))].reshape(shape)
        elif action == "labels":
            arrays["y"] = draw(
                st.sampled_from(
                    [
                        labels[:-1],
                        labels.astype(float) + 0.5,
                        np.array(["a"] * ROWS),
                        labels.reshape(-1, 2),
                        np.full(ROWS, np.nan),
                    ]
                )
            )
        elif action == "empty":
            arrays = {"X": np.zeros((0, PIXELS)), "y": np.zeros(0, np.int64)}
        elif action == "dtype":
            arrays["X"] = draw(
                st.sampled_from(
                    [
                        pixels.astype(np.complex64),
                        pixels.astype(str),
                        pixels.astype(bool),
                        pixels.astype(np.uint8),
                    ]
                )
            )
        elif action == "drop":
            arrays.pop(draw(st.sampled_from(["X", "y"])), None)
        else:
            arrays["images"] = draw(
                st.sampled_from(
                    [
                        pixels.reshape(ROWS, 4, 4),
                        pixels.reshape(ROWS, 16, 1)[:-1],
                        np.full((ROWS, 4, 4), np.nan),
                    ]
                )
            )
    if draw(st.integers(0, 4)) == 0:
        return b"PK\x03\x04 truncated"
    return arrays


def dataset_spec(where: Path, name: str, options: str = "") -> Path:
    spec = where / "scene.yaml"
    spec.write_text(
        f"width: 120\nheight: 90\ndataset: {{type: file, path: {name}{options}}}\n"
        "reducer: {type: pca}\npanels: [{type: scatter}, {type: digit-grid}]\n",
        encoding="utf-8",
    )
    return spec


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=EXPLORE or 30)
@given(mutated_csvs())
def test_mutated_csv_files_load_or_say_why_in_one_line(raw: bytes) -> None:
    with folder() as where:
        (where / "points.csv").write_bytes(raw)
        render_or_refuse(dataset_spec(where, "points.csv"))


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=EXPLORE or 30)
@given(mutated_npzs())
def test_mutated_npz_files_load_or_say_why_in_one_line(
    content: dict[str, np.ndarray] | bytes,
) -> None:
    with folder() as where:
        path = where / "points.npz"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            np.savez(path, **content)
        render_or_refuse(dataset_spec(where, "points.npz"))


# --- what the fuzzer and hand-made hostile values found, kept as regression tests ------------


def with_change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    parent_of(spec, path)[path[-1]] = value
    return spec


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("timeline", "hold_end"), math.inf, "timeline.hold_end: input should be a finite number"),
        (("timeline", "hold_end"), 1e308, "timeline.hold_end: input should be less than or equal"),
        (("timeline", "duration"), 1e308, "timeline.duration: input should be less than or equal"),
        (("title_size",), math.inf, "title_size: input should be a finite number"),
        (("layout", "sizes", 0), math.inf, "layout.sizes[0]: input should be a finite number"),
        (("layout", "sizes", 0), 1e308, "layout.sizes[0]: input should be less than or equal"),
        (("panels", 1, "view", "limits", 1), 1e308, "limits need xmin < xmax and ymin < ymax"),
        (("title",), "{progress:>1000000000}", "with a width or precision of at most 999"),
        (("title",), "{phase:.2f}", "template '{phase:.2f}': Unknown format code 'f'"),
        (
            ("margin",),
            60,
            "panel 'progress-bar' would get 2 x -77 pixels: the frame (160 x 120) is too small",
        ),
    ],
    ids=lambda v: str(v)[:30],
)
def test_found_specs_are_refused_in_one_line(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    with folder() as where, warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be a second line on stderr
        spec = where / "scene.yaml"
        spec.write_text(yaml.safe_dump(with_change(path, value), allow_unicode=True))
        with pytest.raises(UserError) as info:
            last_frame(spec)
        (line,) = info.value.lines()
        assert message in line


def one_cell(value: float) -> np.ndarray:
    pixels = base_table()[0]
    pixels[0, 0] = value
    return pixels


def npz_with(**arrays: np.ndarray) -> dict[str, np.ndarray]:
    pixels, labels = base_table()
    return {"X": pixels, "y": labels, **arrays}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (npz_with(X=base_table()[0].astype(np.complex64)), "values must be real numbers"),
        (npz_with(X=one_cell(1e30)), None),  # overflows inside PCA: no warning escapes
        (npz_with(X=base_table()[0] * 1e300), "features must be numbers, found empty, NaN"),
    ],
    ids=["complex", "huge-for-pca", "beyond-float32"],
)
def test_found_npz_files_are_refused_in_one_line(
    content: dict[str, np.ndarray], message: str
) -> None:
    with folder() as where, warnings.catch_warnings():
        warnings.simplefilter("error")
        np.savez(where / "points.npz", **content)
        spec = dataset_spec(where, "points.npz").read_text().replace("{type: digit-grid}", "")
        (where / "scene.yaml").write_text(spec.replace("[{type: scatter}, ]", "[{type: scatter}]"))
        if message is None:
            render_or_refuse(where / "scene.yaml")
            return
        with pytest.raises(UserError) as info:
            last_frame(where / "scene.yaml")
        (line,) = info.value.lines()
        assert message in line


def test_an_infinite_label_is_a_class_name_without_warnings() -> None:
    pixels, labels = base_table()
    rows = [",".join(["digit", *(f"pixel{i + 1}" for i in range(PIXELS))])]
    rows += [
        ",".join([str(d) if i else "inf", *(f"{v:g}" for v in row)])
        for i, (d, row) in enumerate(zip(labels, pixels, strict=True))
    ]
    with folder() as where, warnings.catch_warnings():
        warnings.simplefilter("error")
        (where / "points.csv").write_text("\n".join(rows))
        assert last_frame(dataset_spec(where, "points.csv")).shape == (90, 120, 3)


def test_the_cli_says_one_line_for_a_found_case(specanim: Any, tmp_path: Path) -> None:
    spec = tmp_path / "scene.yaml"
    spec.write_text(yaml.safe_dump(with_change(("timeline", "hold_end"), math.inf)))
    result = specanim("render", spec, "-o", "out.gif")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out.gif").exists()


class Diverging(Reducer):
    """A real reducer whose layout overflows, as a fit on huge features can."""

    name = "diverging"

    def fit(self, data: Data, progress: Progress) -> Trajectory:
        snapshots = np.full((2, len(data), 2), np.float32(3e38)) * np.float32(10)
        return Trajectory(snapshots, (Step(0), Step(1)), 1)


def test_a_fit_that_gives_infinite_coordinates_is_one_line(tmp_path: Path) -> None:
    data = Data(np.ones((5, 2), np.float32), np.zeros(5, np.int64), ("a",))
    with warnings.catch_warnings(), pytest.raises(InputError, match="diverging gave NaN or inf"):
        warnings.simplefilter("error")
        trajectories.obtain(
            Diverging(Diverging.Options(), tmp_path), data, lambda d, t: None, cache=tmp_path
        )
    assert list(tmp_path.iterdir()) == []  # nothing cached
