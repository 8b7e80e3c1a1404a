"""The docs site and the README stay true: the site builds in strict mode (no broken link, anchor or
page left out), its reference names every component and option there is, every command line
and spec it shows parses, and the README stays short, its picture the one its script makes."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest
import yaml

from specanim.cli.describe import option_rows
from specanim.cli.main import cli
from specanim.plugins import default_registry

from .conftest import ROOT, Run

DOCS = ROOT / "docs"
README = ROOT / "README.md"
# The pages of the guide, moved from the README: their commands and specs are checked below.
GUIDE = sorted(DOCS.glob("*.md"))


def hooks() -> ModuleType:
    """docs/hooks.py, the module that generates the site's reference and gallery."""
    spec = importlib.util.spec_from_file_location("_docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through it
    spec.loader.exec_module(module)
    return module


def components(specanim: Run) -> list[dict[str, str]]:
    """Every component `specanim plugins --json` lists."""
    listed = specanim("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    return [c for c in json.loads(listed.stdout) if c["status"] == "ok"]


def test_the_reference_names_every_component_and_option(specanim: Run) -> None:
    page = hooks().components_page(default_registry())
    listed = components(specanim)
    classes: dict[tuple[str, str], Any] = {(r.kind, r.name): r.cls for r in default_registry()}
    assert len(listed) >= 25
    for component in listed:
        kind, name = component["kind"], component["name"]
        heading = f"\n### {kind} `{name}`\n\n{component['summary']}\n"
        assert heading in page, f"{kind} {name} is not in the components' reference"
        section = page.split(heading, 1)[1].split("\n### ", 1)[0]
        for row in option_rows(classes[kind, name].Options):
            assert f"| `{row.name}` |" in section, f"{kind} {name}: option {row.name} is missing"


def test_the_site_builds_strictly_with_every_component(tmp_path: Path, specanim: Run) -> None:
    """`mkdocs build --strict` (without the gallery's renders) succeeds, and the built reference
    holds every component; strict mode fails on a broken link or anchor or an omitted page."""
    site = tmp_path / "site"
    env = {**os.environ, "SPECANIM_DOCS_GALLERY": "0", "NO_MKDOCS_2_WARNING": "1"}
    # Not -q: mkdocs 1.6 counts the warnings strict mode fails on only at its default verbosity
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)]
    built = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    html = (site / "reference" / "components" / "index.html").read_text(encoding="utf-8")
    for component in components(specanim):
        assert f"{component['kind']} <code>{component['name']}</code>" in html, component
    cli_page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for name in cli.commands:  # type: ignore[attr-defined]
        assert f"specanim {name}" in cli_page, f"the CLI reference lacks {name}"
    gallery = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        assert f"specs/{spec.name}" in gallery, f"the gallery lacks {spec.name}"


def blocks(text: str, language: str) -> list[str]:
    """The text's fenced code blocks in this language."""
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def command_lines(text: str) -> list[str]:
    """Every `specanim ...` line of the text's bash blocks, continuation lines joined."""
    lines = []
    for block in blocks(text, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("specanim "):
                lines.append(line)
    return lines


def parse(line: str) -> None:
    """Parse one command line as `specanim` would, without running it."""
    words = shlex.split(line, comments=True)[1:]
    group: click.Group = cli  # type: ignore[assignment]
    while words and isinstance(group.commands.get(words[0]), click.Group):
        group = group.commands[words[0]]  # type: ignore[assignment]
        words = words[1:]
    command = group.commands.get(words[0]) if words else None
    assert command is not None, f"{line}: no such command"
    command.make_context(words[0], words[1:])


@pytest.mark.parametrize("page", [README, *GUIDE], ids=lambda p: p.name)
def test_every_command_line_shown_parses(page: Path) -> None:
    for line in command_lines(page.read_text(encoding="utf-8")):
        try:
            parse(line)
        except click.UsageError as error:
            raise AssertionError(f"{page.name}: {line}: {error.format_message()}") from None


@pytest.mark.parametrize("page", [README, *GUIDE], ids=lambda p: p.name)
def test_every_yaml_and_python_block_shown_parses(page: Path) -> None:
    """Spec fragments are YAML mappings or lists; Python listings compile."""
    text = page.read_text(encoding="utf-8")
    for block in blocks(text, "yaml"):
        parsed = yaml.safe_load(block)  # a comment alone is None
        assert isinstance(parsed, dict | list | None), f"{page.name}: {block}"
    for block in blocks(text, "python"):
        compile(block, str(page), "exec", dont_inherit=True)


def test_the_readme_is_short_and_its_spec_is_valid(tmp_path: Path, specanim: Run) -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    [spec] = blocks(text, "yaml")
    (tmp_path / "scene.yaml").write_text(spec, encoding="utf-8")
    result = specanim("validate", "scene.yaml")
    assert result.returncode == 0, result.stderr
    for link in re.findall(r"\]\(([^)#]+)", text):
        assert (ROOT / link).exists(), f"README.md links to {link}, which does not exist"


def test_the_readme_picture_is_what_its_script_makes(tmp_path: Path) -> None:
    picture = DOCS / "assets" / "digits_umap.gif"
    assert picture.stat().st_size < 1_000_000
    env = {**os.environ, "SPECANIM_CACHE_DIR": str(tmp_path / "cache")}
    made = tmp_path / "digits_umap.gif"
    command = [sys.executable, str(DOCS / "make_picture.py"), str(made)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert made.read_bytes() == picture.read_bytes(), "run python docs/make_picture.py"
