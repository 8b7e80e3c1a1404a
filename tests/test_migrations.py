"""Format versions: a spec for a newer format is one clear line; older specs are migrated on load
with one warning line per migration, and ``specanim migrate`` rewrites them keeping comments.

specanim's format is still at its first version, so these tests register a migration to a
version 2 through the real API (``migrations.register``), in the process that runs the CLI.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from specanim.spec import migrations

from .conftest import ROOT, Run

# Runs the real CLI after registering one migration: format 2 made the palette explicit
# (imagine its default changed), so a version 1 spec without one keeps its old colours.
CLI_WITH_FORMAT_2 = textwrap.dedent(
    """
    import sys
    from specanim.cli import main
    from specanim.spec import migrations

    @migrations.register(1, "the palette is written out: tableau10 was version 1's default")
    def _explicit_palette(document):
        if "palette" not in document:
            document["palette"] = "tableau10"

    sys.argv[0] = "specanim"
    main()
    """
)

SPEC = """\
# A scene written for format 1.
version: 1   # the format
title: Digits      # kept as written
dataset: {type: sklearn-digits, limit: 200}
reducer:
  type: pca     # a static layout
panels:
  - type: scatter
    point_size: 3
  # the grid after the points
  - type: digit-grid
timeline:
  fps: 5
"""


@pytest.fixture
def specanim2(tmp_path: Path) -> Run:
    """The real CLI, in a new process, with a migration to format 2 registered."""

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", CLI_WITH_FORMAT_2, *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )

    return run


def test_a_spec_for_a_newer_format_is_one_line_and_nothing_is_written(
    write_spec: Callable[..., Path], specanim: Run, tmp_path: Path
) -> None:
    spec = write_spec(SPEC.replace("version: 1", "version: 2").replace("fps: 5", "fps: 0"))
    result = specanim("render", spec.name, "-o", "out.gif")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "scene.yaml:2: version: this spec needs format version 2; specanim 0.1.0 reads "
        "versions up to 1: upgrade specanim"
    ]
    assert not (tmp_path / "out.gif").exists()


def test_an_older_spec_is_migrated_on_load_with_one_line_per_migration(
    write_spec: Callable[..., Path], specanim2: Run
) -> None:
    spec = write_spec(SPEC)
    result = specanim2("validate", spec.name)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: scene.yaml: format 1 -> 2: the palette is written out: tableau10 was "
        "version 1's default (specanim migrate scene.yaml rewrites the file)"
    ]
    newer = write_spec(SPEC.replace("version: 1", "version: 3"), "newer.yaml")
    result = specanim2("validate", newer.name)
    assert result.stderr.splitlines() == [
        "newer.yaml:2: version: this spec needs format version 3; specanim 0.1.0 reads "
        "versions up to 2: upgrade specanim"
    ]


def test_migrate_rewrites_the_spec_keeping_its_comments_and_layout(
    write_spec: Callable[..., Path], specanim2: Run, specanim: Run
) -> None:
    spec = write_spec(SPEC)
    result = specanim2("migrate", spec.name, "--in-place")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "scene.yaml: format 1 -> 2: the palette is written out: tableau10 was version 1's default"
    ]
    assert (
        spec.read_text(encoding="utf-8")
        == SPEC.replace("version: 1   # the format", "version: 2   # the format")
        + "palette: tableau10\n"
    )
    result = specanim2("validate", spec.name)
    assert (result.returncode, result.stderr) == (0, "")  # nothing left to migrate
    result = specanim2("migrate", spec.name)
    assert result.stderr == "scene.yaml: already in format version 2\n"
    assert result.stdout == spec.read_text(encoding="utf-8")
    # the installed specanim (format 1) does not read the migrated file
    assert "needs format version 2" in specanim("validate", spec.name).stderr


def test_migrate_prints_to_stdout_or_writes_another_file(
    write_spec: Callable[..., Path], specanim2: Run, tmp_path: Path
) -> None:
    spec = write_spec(SPEC.replace("version: 1   # the format\n", ""))
    printed = specanim2("migrate", spec.name)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("# A scene written for format 1.\nversion: 2\ntitle:")
    assert spec.read_text(encoding="utf-8") == SPEC.replace("version: 1   # the format\n", "")
    assert specanim2("migrate", spec.name, "-o", "new.yaml").returncode == 0
    assert (tmp_path / "new.yaml").read_text(encoding="utf-8") == printed.stdout
    both = specanim2("migrate", spec.name, "-o", "x.yaml", "--in-place")
    assert (both.returncode, both.stderr) == (2, "migrate: -o and --in-place do not go together\n")


@pytest.mark.parametrize("spec", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.name)
def test_migrating_a_shipped_spec_changes_only_what_the_migration_changes(
    spec: Path, specanim2: Run
) -> None:
    result = specanim2("migrate", spec)
    assert result.returncode == 0, result.stderr
    original = spec.read_text(encoding="utf-8")
    assert result.stdout == original.replace("version: 1", "version: 2")


def test_migrations_are_registered_in_order() -> None:
    with pytest.raises(ValueError, match="must start at format 1, not 3"):
        migrations.register(3, "a gap")(lambda document: None)
    assert migrations.current_version() == 1
