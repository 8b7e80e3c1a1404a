"""specanim installed editable as docs/plugins.md says, into a fresh virtualenv: mypy sees
``specanim.sdk`` (setuptools' default editable install hides it behind an import hook)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT
from .packages import OFFLINE, checkout_copy, fresh_venv, outside_env, pip, run_ok

USES_SDK = """
from specanim.sdk import Box, Frame, Options, Panel, View


class Empty(Panel[Options]):
    name = "empty"

    def view(self, frame: Frame, box: Box) -> View:
        return {"width": box.width, "height": box.height, "mark": "point"}


reveal_type(Empty.Options)
"""


def documented_install() -> list[str]:
    """The arguments of the editable install docs/plugins.md's Typing section gives."""
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text[text.index("### Typing") :]
    command = re.search(r"^pip install (-e \. .*)$", section, re.MULTILINE)
    assert command is not None, "docs/plugins.md's Typing section has no pip install -e line"
    return command.group(1).split()


@pytest.mark.slow
def test_mypy_sees_specanim_sdk_in_the_documented_editable_install(tmp_path: Path) -> None:
    checkout = checkout_copy(tmp_path / "specanim")
    python = fresh_venv(tmp_path / "venv")
    args = [a if a != "." else str(checkout) for a in documented_install()]
    pip(["--python", str(python), "install", *OFFLINE, *args])
    (tmp_path / "uses_sdk.py").write_text(USES_SDK, encoding="utf-8")
    cache = str(tmp_path / "cache")
    env = outside_env()
    done = run_ok([python, "-m", "mypy", "--cache-dir", cache, "uses_sdk.py"], tmp_path, env)
    assert 'Revealed type is "type[specanim.options.Options]"' in done.stdout, done.stdout
    # and the built-in plugins load from it
    listing = run_ok([python, "-m", "specanim", "plugins"], tmp_path / "venv", env)
    assert "panel     scatter" in listing.stdout and listing.stderr == ""
