"""Hostile specs: loading one is bounded in time and memory, and builds plain values only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from specanim.errors import SpecError
from specanim.spec import limits
from specanim.spec.source import read_source

from .conftest import Run


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" document: under 1 KB that expands to width**levels values."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def refusal(write_spec: Callable[..., Path], text: str) -> str:
    path = write_spec(text)
    with pytest.raises(SpecError) as info:
        read_source(path)
    line = str(info.value)
    assert "\n" not in line
    return line.removeprefix(str(path))


def test_an_alias_bomb_is_refused_with_one_line(write_spec: Callable[..., Path]) -> None:
    assert len(alias_bomb()) < 1000  # 9**9 = 387 million values once expanded
    assert refusal(write_spec, alias_bomb()) == (
        ":4: the spec holds more than 50,000 values (aliases counted at every use)"
    )


def test_the_cli_refuses_an_alias_bomb(write_spec: Callable[..., Path], specanim: Run) -> None:
    result = specanim("render", write_spec(alias_bomb()), "-o", "out.mp4")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "more than 50,000 values" in result.stderr


def test_aliases_within_the_limit_still_work(write_spec: Callable[..., Path]) -> None:
    source = read_source(
        write_spec(alias_bomb(levels=3, width=9) + "base: &b {x: 1}\nm: {<<: *b}\n")
    )
    assert source.data["a2"][0][0][0] == "lol"
    assert source.data["m"] == {"x": 1}


def test_a_recursive_alias_is_refused(write_spec: Callable[..., Path]) -> None:
    assert refusal(write_spec, "a: &a {b: [*a]}\n") == (
        ":1: an alias refers to a value that contains it"
    )


@pytest.mark.parametrize(
    "text",
    [
        "x: " + "[" * 5000 + "]" * 5000 + "\n",  # would end in a RecursionError inside PyYAML
        "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n",
        "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200)),
    ],
    ids=["brackets", "mappings", "alias-chain"],
)
def test_deep_nesting_is_refused(write_spec: Callable[..., Path], text: str) -> None:
    assert refusal(write_spec, text).endswith(": values nested more than 64 levels deep")


def test_a_spec_file_above_the_size_limit_is_refused(
    write_spec: Callable[..., Path],
) -> None:
    text = "title: '" + "a" * limits.MAX_BYTES + "'\n"
    assert refusal(write_spec, text) == ": the spec is larger than 1 MB"


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("x: !!python/object/apply:os.system ['touch pwned']\n", "!!python/object/apply:os.system"),
        (
            "x: !!python/object:collections.OrderedDict {a: 1}\n",
            "!!python/object:collections.OrderedDict",
        ),
        ("x: !!python/name:os.system ''\n", "!!python/name:os.system"),
        ("x: !custom 3\n", "!custom"),
        ("x: !!set {a, b}\n", "!!set"),
    ],
)
def test_tags_that_build_objects_are_refused(
    write_spec: Callable[..., Path], text: str, tag: str, tmp_path: Path
) -> None:
    assert refusal(write_spec, text) == (
        f":1: the YAML tag '{tag}' is not allowed: a spec holds plain values"
    )
    assert not (tmp_path / "pwned").exists()
