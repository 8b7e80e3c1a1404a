"""Plugin loading: built-ins through entry points, third-party components, clashes and typos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from specanim import hookimpl
from specanim.camera import Box
from specanim.components import Panel
from specanim.errors import PluginError
from specanim.options import Options
from specanim.plugins import load_registry
from specanim.spec.validate import load_plan
from specanim.values import Frame, View

from .conftest import Run

BUILT_IN = {
    ("dataset", "sklearn-digits"),
    ("dataset", "mnist"),
    ("dataset", "file"),
    ("reducer", "umap"),
    ("reducer", "tsne"),
    ("reducer", "pca"),
    ("reducer", "precomputed"),
    ("panel", "scatter"),
    ("panel", "digit-grid"),
    ("panel", "progress-bar"),
    ("panel", "legend"),
    ("encoder", "mp4"),
}


class Legend(Panel):
    """A third-party panel: a label per class (the built-in legend has the name legend)."""

    name = "class-labels"

    class Options(Options):
        columns: int = 1

    def view(self, frame: Frame, box: Box) -> View:
        return {"mark": "text"}


class Scatter(Panel):
    """A second panel called 'scatter'."""

    name = "scatter"

    def view(self, frame: Frame, box: Box) -> View:
        return {"mark": "point"}


def plugin(**hooks: Callable[..., None]) -> SimpleNamespace:
    """A plugin object whose hooks are the given functions."""
    return SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def test_every_built_in_is_registered_through_its_entry_point() -> None:
    registry = load_registry()
    found = {(r.kind, r.name): r.plugin for r in registry}
    assert BUILT_IN <= set(found)
    assert found[("panel", "scatter")] == "scatter"  # the entry point's name
    assert found[("reducer", "umap")] == "umap"


def test_a_third_party_panel_is_usable_in_a_spec(write_spec: Callable[..., Path]) -> None:
    registry = load_registry(
        [("specanim-legend", plugin(register_panels=lambda register: register(Legend)))]
    )
    spec = write_spec(
        """
        dataset: {type: sklearn-digits}
        reducer: {type: pca}
        panels:
          - type: class-labels
            columns: 2
        """
    )
    plan = load_plan(spec, registry)
    assert plan.panels["class-labels"].cls is Legend
    assert plan.panels["class-labels"].options.columns == 2  # type: ignore[attr-defined]


def test_two_plugins_registering_one_name_is_an_error_naming_both() -> None:
    clash = plugin(register_panels=lambda register: register(Scatter))
    with pytest.raises(PluginError) as info:
        load_registry([("my-scatter", clash)])
    message = str(info.value)
    assert "panel 'scatter' is registered twice" in message
    assert "plugin 'scatter'" in message and "plugin 'my-scatter'" in message


def test_a_misspelled_hook_is_caught() -> None:
    typo = plugin(register_panel=lambda register: register(Legend))
    with pytest.raises(PluginError, match="'typo' implements an unknown hook"):
        load_registry([("typo", typo)])


def test_registering_something_that_is_not_a_component_is_an_error() -> None:
    wrong = plugin(register_reducers=lambda register: register(Legend))
    with pytest.raises(PluginError, match="registered .*Legend.* as a reducer"):
        load_registry([("wrong", wrong)])


def test_the_plugins_command_lists_kind_name_and_plugin(specanim: Run) -> None:
    result = specanim("plugins")
    assert result.returncode == 0, result.stderr
    rows = {tuple(line.split()[:3]) for line in result.stdout.splitlines()}
    assert ("panel", "digit-grid", "digit-grid") in rows
    assert {(kind, name) for kind, name, _ in rows} >= BUILT_IN
