"""The spec's output entry is validated whatever the command line overrides, and frame sizes
are checked by the format that writes them (only yuv420p video needs even sizes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest
from PIL import Image

from specanim.errors import UserError
from specanim.plugins import default_registry
from specanim.spec.validate import Plan, load_plan

from .conftest import Run

SCENE = """
width: {width}
height: {height}
dataset: {{type: sklearn-digits, limit: 60}}
reducer: {{type: pca}}
panels:
  - type: scatter
timeline: {{fps: 10, hold_end: 0.2}}
output:
{output}
"""


def spec_text(output: str, width: int = 160, height: int = 120) -> str:
    return SCENE.format(width=width, height=height, output=output)


def plan_of(path: Path, override: str | None = None) -> Plan:
    return load_plan(path, default_registry(), Path(override) if override else None)


def errors_of(path: Path, override: str | None = None) -> list[str]:
    with pytest.raises(UserError) as info:
        plan_of(path, override)
    return info.value.lines()


def test_an_unknown_type_is_an_error_even_when_o_picks_the_format(
    write_spec: Callable[..., Path],
) -> None:
    path = write_spec(spec_text("  type: mkv"))
    assert errors_of(path, "out.mp4") == [f"{path}:9: output.type: unknown encoder 'mkv'"]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("  type: mp4\n  crf: 99", "output.crf: input should be less than or equal to 51, got 99"),
        ("  type: gif\n  bogus: 1", "output.bogus: unknown key 'bogus'"),
        ("  type: webp\n  quality: high", "output.quality: input should be a valid integer"),
    ],
)
def test_the_output_options_are_checked_against_their_own_type_whatever_o_says(
    write_spec: Callable[..., Path], output: str, message: str
) -> None:
    path = write_spec(spec_text(output))
    for override in (None, "out.mp4", "out.gif", "frames"):
        (line,) = errors_of(path, override)
        assert line.startswith(f"{path}:1") and message in line, (override, line)


def test_o_picks_the_format_and_keeps_the_options_only_for_the_same_format(
    write_spec: Callable[..., Path],
) -> None:
    path = write_spec(spec_text("  type: mp4\n  crf: 30\n  path: spec.mp4"))
    same = plan_of(path, "other.mp4")
    assert (same.encoder.cls.name, same.output) == ("mp4", Path("other.mp4"))
    assert same.encoder.options.crf == 30  # type: ignore[attr-defined]
    other = plan_of(path, "other.gif")
    assert (other.encoder.cls.name, other.output) == ("gif", Path("other.gif"))
    assert other.encoder.options == other.encoder.cls.Options()
    own = plan_of(path)
    assert (own.encoder.cls.name, own.output, own.encoder.options.crf) == (
        "mp4",
        Path("spec.mp4"),
        30,
    )  # type: ignore[attr-defined]


def test_the_output_path_must_end_in_a_known_ending_that_agrees_with_the_type(
    write_spec: Callable[..., Path],
) -> None:
    unknown = write_spec(spec_text("  path: out.xyz"), "unknown.yaml")
    (line,) = errors_of(unknown, "out.mp4")
    assert line.startswith(f"{unknown}:9: output.path: no encoder writes '.xyz' files")
    clash = write_spec(spec_text("  type: gif\n  path: out.mp4"), "clash.yaml")
    assert errors_of(clash) == [
        f"{clash}:10: output.path: 'out.mp4' is a mp4 file's name, but 'type' says gif"
    ]


@pytest.mark.parametrize(
    ("fmt", "width", "height", "line", "key"),
    [("mp4", 161, 120, 1, "width"), ("webm", 160, 121, 2, "height"), ("mp4", 161, 121, 1, "width")],
)
def test_video_formats_refuse_odd_sizes_at_the_size_s_line(
    write_spec: Callable[..., Path], fmt: str, width: int, height: int, line: int, key: str
) -> None:
    path = write_spec(spec_text(f"  type: {fmt}", width, height))
    codec = {"mp4": "H.264", "webm": "VP9"}[fmt]
    assert errors_of(path) == [
        f"{path}:{line}: {key}: {fmt} ({codec}, yuv420p) needs an even width and height; "
        f"got {width}x{height}"
    ]
    # The size is checked against the format the output is written in.
    assert plan_of(path, "out.gif").encoder.cls.name == "gif"
    (refused,) = errors_of(write_spec(spec_text("  type: gif", width, height)), "out.mp4")
    assert f"mp4 (H.264, yuv420p) needs an even width and height; got {width}x{height}" in refused


@pytest.mark.parametrize("fmt", ["gif", "png", "webp", "apng"])
def test_image_formats_validate_odd_sizes(write_spec: Callable[..., Path], fmt: str) -> None:
    assert plan_of(write_spec(spec_text(f"  type: {fmt}", 161, 121))).spec.width == 161


def test_an_odd_sized_gif_and_png_frames_render(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    path = write_spec(spec_text("  type: gif", 161, 121))
    result = specanim("render", path, "-o", "odd.gif", "-q")
    assert result.returncode == 0, result.stderr
    with av.open(str(tmp_path / "odd.gif")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 3 and all(f.shape == (121, 161, 3) for f in frames)
    result = specanim("render", path, "-o", "frames", "-q")
    assert result.returncode == 0, result.stderr
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert len(pngs) == 3
    with Image.open(pngs[-1]) as image:
        assert image.size == (161, 121)


def test_the_cli_refuses_an_unknown_type_and_writes_nothing(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    path = write_spec(spec_text("  type: mkv"))
    result = specanim("render", path, "-o", "out.mp4")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{path}:9: output.type: unknown encoder 'mkv'"]
    assert not (tmp_path / "out.mp4").exists()


def test_still_writes_only_png_named_files(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    path = write_spec(spec_text("  type: gif"))
    result = specanim("still", path, "-o", "last.jpg")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "last.jpg: still writes a PNG image: give it a .png ending"
    ]
    assert not (tmp_path / "last.jpg").exists()
