"""Spec validation: every problem on one located line, with a suggestion where one helps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from specanim.errors import UserError
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

from .conftest import ROOT, Run

VALID = """
title: Digits
dataset:
  type: sklearn-digits
reducer:
  type: pca
panels:
  - type: progress-bar
  - type: scatter
    point_size: 3
output:
  type: mp4
"""


def errors_of(path: Path, output: Path | None = None) -> list[str]:
    with pytest.raises(UserError) as info:
        load_plan(path, default_registry(), output)
    return info.value.lines()


def test_a_valid_spec_resolves_every_component(write_spec: Callable[..., Path]) -> None:
    plan = load_plan(write_spec(VALID), default_registry())
    assert plan.dataset.cls.name == "sklearn-digits"
    assert plan.reducer.cls.name == "pca"
    assert list(plan.panels) == ["progress-bar", "scatter"]
    assert plan.panels["scatter"].options.point_size == 3  # type: ignore[attr-defined]
    assert plan.encoder.cls.name == "mp4"
    assert plan.output == Path("scene.mp4")


def test_an_unknown_panel_type_names_the_line_and_the_nearest_name(
    write_spec: Callable[..., Path],
) -> None:
    path = write_spec(VALID.replace("  - type: scatter", "  - type: scater"))
    assert errors_of(path) == [
        f"{path}:8: panels[1].type: unknown panel 'scater' (did you mean 'scatter'?)"
    ]


def test_a_misspelled_key_is_suggested_at_every_level(write_spec: Callable[..., Path]) -> None:
    text = VALID.replace("title:", "titel:").replace("point_size:", "point_sise:")
    path = write_spec(text + "timeline:\n  hold_edn: 2\n")
    assert errors_of(path) == [
        f"{path}:1: titel: unknown key 'titel' (did you mean 'title'?)",
        f"{path}:9: panels[1].point_sise: unknown key 'point_sise' (did you mean 'point_size'?)",
        f"{path}:13: timeline.hold_edn: unknown key 'hold_edn' (did you mean 'hold_end'?)",
    ]


def test_a_wrong_value_type_says_what_was_expected(write_spec: Callable[..., Path]) -> None:
    path = write_spec(VALID + "timeline:\n  fps: fast\n")
    (line,) = errors_of(path)
    assert line.startswith(f"{path}:13: timeline.fps: input should be a valid number")
    assert line.endswith("got 'fast'")


def test_a_missing_required_key_points_at_its_entry(write_spec: Callable[..., Path]) -> None:
    path = write_spec(VALID.replace("  type: sklearn-digits", "  limit: 10"))
    assert errors_of(path) == [f"{path}:2: dataset: missing required key 'type'"]


def test_all_problems_are_reported_in_line_order(write_spec: Callable[..., Path]) -> None:
    text = VALID.replace("title:", "titel:").replace("type: pca", "type: pcaa")
    path = write_spec(text.replace("type: mp4", "type: mp5") + "timeline: {fps: 0}\n")
    lines = errors_of(path)
    assert [line.split(":")[1] for line in lines] == ["1", "5", "11", "12"]
    assert "unknown reducer 'pcaa' (did you mean 'pca'?)" in lines[1]
    assert "unknown encoder 'mp5' (did you mean 'mp4'?)" in lines[2]
    assert "timeline.fps: input should be greater than 0" in lines[3]


def test_broken_yaml_and_duplicate_keys_are_located(write_spec: Callable[..., Path]) -> None:
    broken = write_spec("dataset:\n  type: [unclosed\n", "broken.yaml")
    (line,) = errors_of(broken)
    assert line.startswith(f"{broken}:3: invalid YAML")
    twice = write_spec(VALID + "title: again\n", "twice.yaml")
    assert errors_of(twice) == [f"{twice}:12: title: duplicate key"]


def test_palette_and_colours_are_checked(write_spec: Callable[..., Path]) -> None:
    path = write_spec(VALID + "palette: pairs\nbackground: nope\n")
    assert errors_of(path) == [
        f"{path}:12: palette: unknown colour scheme 'pairs' (did you mean 'paired'?)",
        f"{path}:13: background: 'nope' is not a colour (use a CSS name or #rrggbb)",
    ]


def test_the_layout_must_place_every_panel_once(write_spec: Callable[..., Path]) -> None:
    path = write_spec(VALID + "layout:\n  column: [scatter, progres-bar, scatter]\n")
    assert errors_of(path) == [
        f"{path}:7: panels[0]: panel 'progress-bar' is not placed in the layout",
        f"{path}:13: layout.column[1]: no panel 'progres-bar' to place"
        " (did you mean 'progress-bar'?)",
        f"{path}:13: layout.column[2]: panel 'scatter' is placed twice",
    ]


def test_the_output_format_follows_the_output_ending(write_spec: Callable[..., Path]) -> None:
    path = write_spec(VALID.replace("output:\n  type: mp4\n", ""))
    assert load_plan(path, default_registry(), Path("x.mp4")).encoder.cls.name == "mp4"
    assert errors_of(path, Path("x.xyz")) == [
        "x.xyz: no encoder writes '.xyz' files "
        "(known: .apng, .gif, .html, .mp4, .webm, .webp; no ending: a folder of PNG frames)"
    ]


@pytest.mark.parametrize("spec", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_spec_validates(spec: Path) -> None:
    load_plan(spec, default_registry())


def test_the_cli_prints_one_line_per_problem_and_exits_2(
    write_spec: Callable[..., Path], specanim: Run
) -> None:
    bad = write_spec(VALID.replace("type: scatter", "type: scater"))
    result = specanim("validate", bad)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:8: panels[1].type: unknown panel 'scater' (did you mean 'scatter'?)"
    ]
    good = write_spec(VALID, "good.yaml")
    result = specanim("validate", good)
    assert (result.returncode, result.stdout.strip()) == (0, f"{good}: valid")


def test_a_missing_spec_file_is_one_line(specanim: Run, tmp_path: Path) -> None:
    result = specanim("render", tmp_path / "nope.yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == f"{tmp_path / 'nope.yaml'}: no such spec file"


def test_validate_with_data_loads_the_data_and_names_what_disagrees(
    tmp_path: Path, specanim: Run
) -> None:
    rows = [f"{i % 3},{i},{i * i % 7}" for i in range(30)]
    (tmp_path / "t.csv").write_text("cls,a,b\n" + "\n".join(rows) + "\n", encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "width: 64\nheight: 64\npalette: ['#ff0000', '#00ff00']\n"
        "dataset: {type: file, path: t.csv, label: klass}\n"
        "reducer: {type: pca}\npanels: [{type: scatter}]\n",
        encoding="utf-8",
    )
    assert specanim("validate", "s.yaml").returncode == 0  # the spec alone reads no data
    done = specanim("validate", "--data", "s.yaml")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "s.yaml:4: dataset.label: t.csv has no column 'klass': its columns are 'cls', 'a', 'b'"
    ]
    done = specanim("validate", "--data", "s.yaml", "--set", "dataset.label=cls")
    assert done.returncode == 2
    assert done.stderr.startswith("s.yaml:3: palette: the list has 2 colours for 3 classes")
    done = specanim(
        "validate", "--data", "s.yaml", "--set", "dataset.label=cls", "--set", "palette=paired"
    )
    assert (done.returncode, done.stdout) == (0, "s.yaml: valid\n"), done.stderr
