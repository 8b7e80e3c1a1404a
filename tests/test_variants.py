"""Variants without copies: ``extends:`` and ``--set`` give the spec they stand for, and every
error names the file and line (or the option) the offending value came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from specanim.errors import UserError
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

from .conftest import Run

BASE = """
# the base scene: small and cheap
title: Digits
width: 160
height: 120
margin: 4
palette: paired
dataset:
  type: sklearn-digits
  limit: 300
reducer:
  type: pca
panels:
  - type: progress-bar
  - type: scatter
    point_size: 2
timeline:
  fps: 5
  hold_end: 0.4
"""

# What the child below and the --set options below both amount to, written out in one file.
SINGLE = """
title: Digits
width: 160
height: 120
margin: 4
palette: paired
dataset:
  type: sklearn-digits
  limit: 400
reducer:
  type: pca
  whiten: true
panels:
  - type: progress-bar
  - type: scatter
    point_size: 4
    opacity: 0.5
  - type: digit-grid
    columns: 1
layout:
  row: [scatter, digit-grid, progress-bar]
timeline:
  fps: 5
  hold_end: 0.4
"""

CHILD = """
extends: base/base.yaml
dataset:
  limit: 400
reducer:
  whiten: true
panels:
  - type: scatter
    point_size: 4
    opacity: 0.5
  - type: digit-grid
    columns: 1
layout:
  row: [scatter, digit-grid, progress-bar]
"""

SETS = [
    "dataset.limit=400",
    "reducer.whiten=true",
    "panels.scatter.point_size=4",
    "panels[1].opacity=0.5",
    "panels[2]={type: digit-grid, columns: 1}",
    "layout={row: [scatter, digit-grid, progress-bar]}",
]


def errors_of(path: Path, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(UserError) as info:
        load_plan(path, default_registry(), overrides=overrides or [])
    return info.value.lines()


def test_extends_and_set_render_the_same_bytes_as_the_single_spec(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    (tmp_path / "base").mkdir()
    base = write_spec(BASE, "base/base.yaml")
    single = write_spec(SINGLE, "single.yaml")
    child = write_spec(CHILD, "child.yaml")
    runs = {
        "single": ("render", single, "-o", "single.gif", "-q"),
        "extends": ("render", child, "-o", "extends.gif", "-q"),
        "set": ("render", base, "-o", "set.gif", "-q", *(f"--set={s}" for s in SETS)),
        "base": ("render", base, "-o", "base.gif", "-q"),
    }
    for name, args in runs.items():
        result = specanim(*args)
        assert result.returncode == 0, (name, result.stderr)
    single_bytes = (tmp_path / "single.gif").read_bytes()
    assert (tmp_path / "extends.gif").read_bytes() == single_bytes
    assert (tmp_path / "set.gif").read_bytes() == single_bytes
    assert (tmp_path / "base.gif").read_bytes() != single_bytes  # the changes did change it


def test_still_takes_set_too(
    specanim: Run, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    base = write_spec(BASE, "base.yaml")
    single = write_spec(SINGLE, "single.yaml")
    sets = [f"--set={s}" for s in SETS]
    assert specanim("still", base, "-o", "a.png", "-q", *sets).returncode == 0
    assert specanim("still", single, "-o", "b.png", "-q").returncode == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_panels_merge_by_id_and_lists_are_replaced(write_spec: Callable[..., Path]) -> None:
    write_spec(BASE + "layout:\n  column: [progress-bar, scatter]\n", "base.yaml")
    child = write_spec(
        """
        extends: base.yaml
        palette: [red, green, blue]
        panels:
          - id: scatter
            opacity: 0.25
          - type: scatter
            id: second
            point_size: 7
        layout:
          row: [progress-bar, scatter, second]
        """,
        "child.yaml",
    )
    plan = load_plan(child, default_registry())
    assert list(plan.panels) == ["progress-bar", "scatter", "second"]
    assert plan.panels["scatter"].options.point_size == 2  # type: ignore[attr-defined]
    assert plan.panels["scatter"].options.opacity == 0.25  # type: ignore[attr-defined]
    assert plan.panels["second"].options.point_size == 7  # type: ignore[attr-defined]
    assert plan.spec.palette == ["red", "green", "blue"]
    assert plan.spec.title == "Digits"
    assert plan.spec.layout is not None and not isinstance(plan.spec.layout, str)
    assert plan.spec.layout.row == ["progress-bar", "scatter", "second"]
    assert plan.spec.layout.column is None  # the child's layout replaced the base's


def test_an_error_in_a_base_names_the_base_file_and_line(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    (tmp_path / "base").mkdir()
    write_spec(
        BASE.replace("fps: 5", "fps: fast").replace("point_size: 2", "pointsize: 2"),
        "base/base.yaml",
    )
    child = write_spec(CHILD.replace("opacity: 0.5", "opacity: 5"), "child.yaml")
    result = specanim("validate", child.name)
    assert result.returncode == 2
    base = Path("base") / "base.yaml"
    assert sorted(result.stderr.splitlines()) == sorted(
        [
            f"{base}:15: panels[1].pointsize: unknown key 'pointsize' (did you mean 'point_size'?)",
            f"{base}:17: timeline.fps: input should be a valid number, unable to parse string "
            "as a number, got 'fast'",
            "child.yaml:9: panels[1].opacity: input should be less than or equal to 1, got 5",
        ]
    )


def test_a_bad_set_is_located_to_the_option(write_spec: Callable[..., Path], specanim: Run) -> None:
    base = write_spec(BASE, "base.yaml")
    result = specanim(
        "validate", base, "--set", "timeline.fps=0", "--set", "reducr.x=1", "--set", "title=ok"
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "--set reducr.x=1: reducr: unknown key 'reducr' (did you mean 'reducer'?)",
        "--set timeline.fps=0: timeline.fps: input should be greater than 0, got 0",
    ]
    assert errors_of(base, ["panels.scater.point_size=3"]) == [
        "--set panels.scater.point_size=3: panels.scater: no panel 'scater' "
        "(did you mean 'scatter'?)"
    ]
    assert errors_of(base, ["panels.scatter.point_sise=3"]) == [
        "--set panels.scatter.point_sise=3: panels[1].point_sise: unknown key 'point_sise' "
        "(did you mean 'point_size'?)"
    ]
    assert errors_of(base, ["panels[5].x=3"]) == [
        "--set panels[5].x=3: panels[5]: no item [5]: panels has 2 items"
    ]
    assert errors_of(base, ["title.x=3"]) == [
        "--set title.x=3: title: is a str, not a mapping: cannot set 'x' inside it"
    ]
    assert errors_of(base, ["timeline.fps"]) == [
        "--set timeline.fps: expected PATH=VALUE, e.g. reducer.random_state=7"
    ]
    assert errors_of(base, ["timeline.fps=[1"])[0].startswith(
        "--set timeline.fps=[1: invalid value"
    )


def test_a_value_set_over_a_base_value_is_located_to_the_option(
    write_spec: Callable[..., Path],
) -> None:
    write_spec(BASE, "base.yaml")
    child = write_spec("extends: base.yaml\ntimeline:\n  fps: 0\n", "child.yaml")
    assert errors_of(child) == [f"{child}:3: timeline.fps: input should be greater than 0, got 0"]
    assert errors_of(child, ["timeline={fps: -1, hold_end: 0}"]) == [
        "--set timeline={fps: -1, hold_end: 0}: timeline.fps: input should be greater than 0, "
        "got -1"
    ]


def test_a_cycle_and_a_missing_base_are_located(
    write_spec: Callable[..., Path], specanim: Run
) -> None:
    a = write_spec("extends: b.yaml\ntitle: a\n", "a.yaml")
    write_spec("title: b\nextends: a.yaml\n", "b.yaml")
    result = specanim("validate", a.name)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "b.yaml:2: extends: 'a.yaml' is already in the chain, a cycle: a.yaml -> b.yaml -> a.yaml"
    ]
    lost = write_spec("extends: nowhere/base.yaml\n", "lost.yaml")
    assert errors_of(lost) == [
        f"{lost}:1: extends: no spec file '{lost.parent / 'nowhere' / 'base.yaml'}' to extend"
    ]


def test_relative_paths_are_relative_to_the_file_that_wrote_them(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    (tmp_path / "base" / "data").mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "base" / "data" / "points.npz",
        X=rng.normal(size=(60, 5)).astype(np.float32),
        y=rng.integers(0, 3, size=60),
    )
    write_spec(
        BASE.replace(
            "  type: sklearn-digits\n  limit: 300", "  type: file\n  path: data/points.npz"
        ).replace("  - type: progress-bar\n", ""),
        "base/base.yaml",
    )
    child = write_spec("extends: base/base.yaml\ntitle: child\n", "child.yaml")
    assert specanim("still", child, "-o", "child.png", "-q").returncode == 0
    (tmp_path / "elsewhere").mkdir()
    moved = tmp_path / "elsewhere" / "points.npz"
    (tmp_path / "base" / "data" / "points.npz").rename(moved)
    result = specanim(
        "still",
        child,
        "-o",
        "set.png",
        "-q",
        "--set",
        f"dataset.path={moved.name}",
        cwd=tmp_path / "elsewhere",
    )
    assert result.returncode == 0, result.stderr  # --set paths are relative to where it runs
    assert (tmp_path / "elsewhere" / "set.png").read_bytes() == (
        tmp_path / "child.png"
    ).read_bytes()
