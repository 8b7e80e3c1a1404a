"""``specanim new-plugin``: a new plugin package, written from the templates in
specanim/templates/plugin (string.Template placeholders in file names and contents)."""

from __future__ import annotations

import re
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from specanim.errors import UserError
from specanim.plugins import default_registry
from specanim.versions import __version__

TEMPLATES = "templates/plugin"
SUFFIX = ".tmpl"  # a template of Python code: named so linters and type checkers skip it
NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
LONGEST = 40


def plugin_names(name: str) -> dict[str, str]:
    """The names a plugin package is written with, from its panel's name (``my-halo``): the
    distribution (``specanim-my-halo``, also the entry point's name), the module
    (``specanim_my_halo``) and the class (``MyHalo``); UserError if name is not one."""
    if not NAME.fullmatch(name) or len(name) > LONGEST:
        raise UserError(
            f"plugin name '{name}' is not a name: give lower-case letters and digits, "
            f"words joined by '-' or '_', starting with a letter, at most {LONGEST} characters "
            "(e.g. my-halo)"
        )
    if re.match(r"specanim[-_]", name):
        raise UserError(
            f"plugin name '{name}': give the panel's name alone, without 'specanim-' (the "
            f"package is named specanim-NAME): e.g. {name[len('specanim-') :]}"
        )
    if name in default_registry().names("panel"):
        raise UserError(f"plugin name '{name}' is an installed panel's: choose another")
    words = re.split(r"[-_]", name)
    return {
        "name": name,
        "distribution": f"specanim-{name}",
        "module": "specanim_" + "_".join(words),
        "cls": "".join(w.capitalize() for w in words),
        "specanim_version": __version__,
    }


def new_plugin(name: str, parent: Path) -> Path:
    """Write the package of a new plugin whose panel is called name into parent; its folder.
    UserError, with nothing written, if the name is wrong or the folder exists."""
    names = plugin_names(name)
    folder = parent / names["distribution"]
    if not parent.is_dir():
        raise UserError(f"--dir {parent}: no such folder")
    if folder.exists():
        raise _exists(folder)
    # Written beside its place, then renamed into it: a failure leaves no half-written package.
    with tempfile.TemporaryDirectory(dir=parent, prefix=f".{folder.name}-") as scratch:
        draft = Path(scratch) / folder.name
        _write(resources.files("specanim").joinpath(TEMPLATES), draft, names)
        if folder.exists():  # made meanwhile; rename would replace an empty folder
            raise _exists(folder)
        draft.rename(folder)
    return folder


def _exists(folder: Path) -> UserError:
    return UserError(f"{folder} already exists: new-plugin writes a new folder, never into one")


def _write(template: Traversable, target: Path, names: dict[str, str]) -> None:
    """The template folder's files, their names and contents filled in, under target."""
    target.mkdir()
    for item in sorted(template.iterdir(), key=lambda t: t.name):
        if item.name == "__pycache__":
            continue
        name = Template(item.name.removesuffix(SUFFIX)).substitute(names)
        if item.is_dir():
            _write(item, target / name, names)
        else:
            text = Template(item.read_text(encoding="utf-8")).substitute(names)
            (target / name).write_text(text, encoding="utf-8")
