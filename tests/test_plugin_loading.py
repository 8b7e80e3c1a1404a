"""Plugin loading as a user meets it: a broken installed plugin, disabled plugins, errors in
plugin code named by spec entry and plugin, the pickle check, local plugins beside a spec
(rendered in worker processes), ``plugins --json`` and ``describe``."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from specanim import engine, hookimpl
from specanim.camera import Box
from specanim.components import Panel
from specanim.errors import ComponentError, SpecErrors
from specanim.options import Options
from specanim.plugins import UnknownComponent, load_registry
from specanim.spec.validate import load_plan
from specanim.values import Frame
from specanim.versions import __version__

from .commands import run_specanim

# A local plugin file with a working panel (a bar as long as the progress), panels that
# misbehave, a reducer that needs no fitting (four snapshots), and a dataset and a reducer
# that raise.
PLUGIN = '''
import threading
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from specanim.sdk import (
    Box, Data, Dataset, Encoder, Frame, FrameSink, Options, Panel, Reducer, Step, Trajectory,
    hookimpl,
)


class Style(BaseModel):
    color: str = Field("#ff00ff", description="colour of the bar")


class BarOptions(Options):
    style: Style = Field(default_factory=Style, description="how the bar looks")


class Bar(Panel[BarOptions]):
    """A bar as long as the progress."""

    name = "bar"
    Options = BarOptions

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        width, height = box.width, box.height
        end = width * float(frame.values["progress"])
        return {
            "width": width,
            "height": height,
            "data": {"values": [{}]},
            "mark": {"type": "rect", "color": self.options.style.color},
            "encoding": {
                "x": {"value": 0}, "x2": {"value": end}, "y": {"value": 0}, "y2": {"value": height}
            },
        }


class Boom(Bar):
    name = "boom"

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        # Fails only in the second half, so the first frame (drawn in the main process before
        # rendering starts) passes and the error happens where frames are rendered: in workers.
        if frame.values["progress"] > 0.5:
            return {"width": box.width // 0}
        return super().view(frame, box)


class Holder(Bar):
    name = "holder"

    def __init__(self, options: Any, scene: Any) -> None:
        super().__init__(options, scene)
        # Workers get lambdas and classes from __main__ by value (cloudpickle); never a lock.
        self.guard = threading.Lock()


class Line(Reducer):
    """Points sliding outwards: four snapshots, nothing to fit."""

    name = "line"
    cacheable = False

    def fit(self, data: Data, progress: Any) -> Trajectory:
        base = np.stack([np.arange(len(data)), np.arange(len(data)) % 7], axis=1)
        snapshots = np.stack([base * (1 + k) for k in range(4)]).astype(np.float32)
        return Trajectory(snapshots, tuple(Step(k) for k in range(4)), 3)


class BadFit(Line):
    name = "bad-fit"

    def fit(self, data: Data, progress: Any) -> Trajectory:
        raise RuntimeError("diverged after 3 epochs")


class LimitOptions(Options):
    limit: int = 0


class BadData(Dataset):
    name = "bad-data"
    Options = LimitOptions

    def load(self) -> Data:
        raise ValueError("no rows in the table")


class BarData(BadData):
    name = "bar"  # a dataset with a panel's name: describe must ask which


class Refusing(FrameSink):
    def write(self, rgb: Any) -> None:
        raise ValueError("the codec refused the frame")

    def close(self) -> None:
        pass


class BadEncoder(Encoder):
    name = "bad-encoder"
    extensions = (".bad",)

    def open(self, path: Any, width: int, height: int, fps: float) -> FrameSink:
        return Refusing()


@hookimpl
def register_encoders(register):
    register(BadEncoder)


@hookimpl
def register_panels(register):
    for cls in (Bar, Boom, Holder):
        register(cls)


@hookimpl
def register_reducers(register):
    register(Line)
    register(BadFit)


@hookimpl
def register_datasets(register):
    register(BadData)
    register(BarData)
'''

# Line numbers below count from 1 in this text.
SCENE = """\
width: 128
height: 96
margin: 0
plugins: [plugins/panels.py]
dataset: {type: DATASET, limit: 40}
reducer: {type: REDUCER}
panels:
  - type: PANEL
timeline: {fps: 4}
"""


def scene(tmp_path: Path, panel: str = "bar", reducer: str = "line", dataset: str = "") -> Path:
    """A spec in tmp_path/specs with the local plugin beside it in specs/plugins/."""
    folder = tmp_path / "specs"
    (folder / "plugins").mkdir(parents=True, exist_ok=True)
    (folder / "plugins" / "panels.py").write_text(PLUGIN, encoding="utf-8")
    spec = folder / "scene.yaml"
    text = SCENE.replace("PANEL", panel).replace("REDUCER", reducer)
    spec.write_text(text.replace("DATASET", dataset or "sklearn-digits"), encoding="utf-8")
    return spec


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``specanim`` command in a new process, with extra environment variables."""
    return run_specanim(cwd, *args, env={**os.environ, **(env or {})})


# --- installed plugins -------------------------------------------------------------------------


def install(
    site: Path, source: str, dist: str = "specanim-swatches", entry: str = "swatches"
) -> None:
    """Install a one-module distribution into site the way pip lays it out: the module and a
    dist-info folder whose entry_points.txt declares it in the specanim group."""
    module = dist.replace("-", "_")
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{module}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[specanim]\n{entry} = {module}\n")


BROKEN = "import not_installed_xyz\n"
NOT_FOUND = "ModuleNotFoundError: No module named 'not_installed_xyz'"


def test_a_plugin_that_fails_to_import_is_named_and_the_others_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path / "site", BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.warns(UserWarning, match=r"plugin 'swatches' \(specanim-swatches 0.3\) failed"):
        registry = load_registry()
    assert {"digit-grid", "progress-bar", "scatter"} <= set(registry.names("panel"))
    [broken] = registry.broken()
    assert (broken.name, broken.distribution, broken.version) == (
        "swatches",
        "specanim-swatches",
        "0.3",
    )
    assert broken.error == NOT_FOUND
    with pytest.raises(UnknownComponent) as info:
        registry.lookup("panel", "swatches")
    assert str(info.value) == (
        "unknown panel 'swatches'; plugin 'swatches' (specanim-swatches 0.3) failed to load: "
        f"{NOT_FOUND}"
    )


def test_the_cli_names_a_broken_installed_plugin_and_still_works(tmp_path: Path) -> None:
    install(tmp_path / "site", BROKEN)
    env = {
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])
    }
    spec = scene(tmp_path, reducer="pca")
    warning = (
        f"warning: plugin 'swatches' (specanim-swatches 0.3) failed to load: {NOT_FOUND} "
        "(set SPECANIM_DISABLE_PLUGINS=swatches to skip it)"
    )

    valid = run("validate", spec, cwd=tmp_path, env=env)
    assert valid.returncode == 0, valid.stderr
    assert valid.stderr.splitlines() == [warning]

    listing = run("plugins", cwd=tmp_path, env=env)
    assert listing.returncode == 0, listing.stderr
    rows = [line.split(None, 3) for line in listing.stdout.splitlines()]
    assert ["broken", "-", "swatches", f"{NOT_FOUND} (specanim-swatches 0.3)"] in rows
    assert ["panel", "scatter", "scatter"] in [row[:3] for row in rows]

    records = json.loads(run("plugins", "--json", cwd=tmp_path, env=env).stdout)
    assert {
        "kind": None,
        "name": None,
        "plugin": "swatches",
        "distribution": "specanim-swatches",
        "version": "0.3",
        "summary": "",
        "status": "broken",
        "error": NOT_FOUND,
    } in records
    scatter = next(r for r in records if r["name"] == "scatter")
    assert scatter["kind"] == "panel" and scatter["status"] == "ok" and scatter["error"] is None
    assert scatter["distribution"] == "specanim" and scatter["version"]
    assert scatter["summary"].startswith("Every point")

    spec.write_text(spec.read_text().replace("type: bar", "type: swatches"))
    unknown = run("validate", spec, cwd=tmp_path, env=env)
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[1:] == [
        f"{spec}:8: panels[0].type: unknown panel 'swatches'; plugin 'swatches' "
        f"(specanim-swatches 0.3) failed to load: {NOT_FOUND}"
    ]

    skipped = run("plugins", cwd=tmp_path, env={**env, "SPECANIM_DISABLE_PLUGINS": "swatches"})
    assert skipped.returncode == 0 and skipped.stderr == ""
    assert "disabled  -               swatches" in skipped.stdout
    assert "skipped by $SPECANIM_DISABLE_PLUGINS (specanim-swatches 0.3)" in skipped.stdout


def test_disabled_plugins_are_skipped_and_an_unknown_name_is_one_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPECANIM_DISABLE_PLUGINS", "scatter, scater-x")
    with pytest.warns(UserWarning) as warned:
        registry = load_registry()
    assert [str(w.message) for w in warned] == [
        "SPECANIM_DISABLE_PLUGINS names 'scater-x', which is no installed plugin "
        "(did you mean 'scatter'?)"
    ]
    assert "scatter" not in registry.names("panel")
    with pytest.raises(UnknownComponent, match="; plugin 'scatter' is disabled by SPECANIM_DIS"):
        registry.lookup("panel", "scatter")
    plugin = registry.plugin("scatter")
    assert plugin is not None and plugin.status == "disabled"


class Legend(Panel[Options]):
    """A third-party panel."""

    name = "swatches"

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        return {"width": box.width, "height": box.height, "mark": "text"}


def test_a_register_hook_that_raises_breaks_its_plugin_and_drops_its_registrations() -> None:
    def register_panels(register: Any) -> None:
        register(Legend)

    def register_encoders(register: Any) -> None:
        raise RuntimeError("no codec")

    plugin = type("P", (), {})()
    plugin.register_panels = hookimpl(register_panels)  # type: ignore[attr-defined]
    plugin.register_encoders = hookimpl(register_encoders)  # type: ignore[attr-defined]
    with pytest.warns(UserWarning, match="plugin 'half' failed to load"):
        registry = load_registry([("half", plugin)])
    assert "swatches" not in registry.names("panel")  # registered before the raise, then dropped
    assert "scatter" in registry.names("panel")
    [broken] = registry.broken()
    assert broken.error == "register_encoders() raised RuntimeError: no codec"


# A tutorial-like package: its entry point has a built-in plugin's name ('legend'), and its
# panel takes the built-in scatter's name.
SCATTER_TOO = """
    from specanim.sdk import hookimpl
    from specanim_panels.scatter import Scatter


    class Mine(Scatter):
        pass


    @hookimpl
    def register_panels(register):
        register(Mine)
"""


def site_env(site: Path, **variables: str) -> dict[str, str]:
    """The environment of a process that sees the packages installed into site."""
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, **variables}


def test_an_entry_point_named_like_another_distributions_is_qualified_and_both_load(
    tmp_path: Path,
) -> None:
    install(tmp_path / "site", "from specanim.sdk import hookimpl\n", "specanim-legend", "legend")
    env = site_env(tmp_path / "site")
    spec = scene(tmp_path, panel="legend", reducer="pca")
    valid = run("validate", spec, cwd=tmp_path, env=env)
    assert (valid.returncode, valid.stderr) == (0, "")
    records = json.loads(run("plugins", "--json", cwd=tmp_path, env=env).stdout)
    assert {r["plugin"] for r in records if r["name"] == "legend"} == {"specanim:legend"}
    skipped = run(
        "plugins", "--json", cwd=tmp_path, env={**env, "SPECANIM_DISABLE_PLUGINS": "legend"}
    )
    assert skipped.returncode == 0 and skipped.stderr == ""
    disabled = {r["plugin"] for r in json.loads(skipped.stdout) if r["status"] == "disabled"}
    assert disabled == {"specanim:legend", "specanim-legend:legend"}
    one = {**env, "SPECANIM_DISABLE_PLUGINS": "specanim-legend:legend"}
    assert run("validate", spec, cwd=tmp_path, env=one).returncode == 0


def test_a_component_name_clash_stops_only_the_specs_that_use_it(tmp_path: Path) -> None:
    install(tmp_path / "site", SCATTER_TOO)
    env = site_env(tmp_path / "site")
    listing = run("plugins", cwd=tmp_path, env=env)
    assert (listing.returncode, listing.stderr) == (0, "")
    assert run("describe", "digit-grid", cwd=tmp_path, env=env).returncode == 0
    assert run("validate", scene(tmp_path, reducer="pca"), cwd=tmp_path, env=env).returncode == 0

    spec = scene(tmp_path, panel="scatter", reducer="pca")
    clash = run("validate", spec, cwd=tmp_path, env=env)
    assert clash.returncode == 2
    assert clash.stderr.splitlines() == [
        f"{spec}:8: panels[0].type: panel 'scatter' is registered by 2 plugins: 'scatter' "
        f"(specanim {__version__}) and 'swatches' (specanim-swatches 0.3); choose one by "
        "disabling the other, e.g. SPECANIM_DISABLE_PLUGINS=swatches"
    ]
    for words in (["panel", "scatter"], ["scatter"]):
        described = run("describe", *words, cwd=tmp_path, env=env)
        assert described.returncode == 2
        assert described.stderr == clash.stderr.split("panels[0].type: ")[1]
    chosen = run(
        "validate", spec, cwd=tmp_path, env={**env, "SPECANIM_DISABLE_PLUGINS": "swatches"}
    )
    assert (chosen.returncode, chosen.stderr) == (0, "")


def test_a_local_plugin_clash_exits_2_in_plugins_as_in_validate(tmp_path: Path) -> None:
    spec = scene(tmp_path)
    (spec.parent / "plugins" / "panels.py").write_text(textwrap.dedent(SCATTER_TOO))
    for args in (
        ["validate", spec],
        ["plugins", "--spec", spec],
        ["describe", "bar", "--spec", spec],
    ):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "plugins[0]: panel 'scatter' is registered twice" in done.stderr


MISSPELT = """
    from specanim.sdk import hookimpl

    @hookimpl
    def register_panel(register):
        pass
"""
ARGUMENT = """
    from specanim.sdk import hookimpl

    @hookimpl
    def register_panels(registry):
        pass
"""


def test_a_misspelt_hook_or_argument_is_one_line_naming_plugin_hook_and_what_was_meant(
    tmp_path: Path,
) -> None:
    spec = scene(tmp_path)
    local = spec.parent / "plugins" / "panels.py"
    local.write_text(textwrap.dedent(MISSPELT))
    assert errors_of(spec)[0] == (
        f"{spec}:4: plugins[0]: plugin 'plugins/panels.py' implements an unknown hook "
        "'register_panel' (did you mean 'register_panels'?)"
    )
    local.write_text(textwrap.dedent(ARGUMENT))
    assert errors_of(spec)[0] == (
        f"{spec}:4: plugins[0]: plugin 'plugins/panels.py' has a hook register_panels(registry) "
        "that specanim cannot call: it takes one argument named register: "
        "def register_panels(register)"
    )
    install(tmp_path / "site", MISSPELT)
    listing = run("plugins", cwd=tmp_path, env=site_env(tmp_path / "site"))
    assert listing.returncode == 0
    assert listing.stderr.splitlines() == [
        "warning: plugin 'swatches' (specanim-swatches 0.3) failed to load: implements an "
        "unknown hook 'register_panel' (did you mean 'register_panels'?) "
        "(set SPECANIM_DISABLE_PLUGINS=swatches to skip it)"
    ]


# --- errors in plugin code ---------------------------------------------------------------------


def test_a_panel_raising_in_view_is_one_line_naming_entry_and_plugin(tmp_path: Path) -> None:
    spec = scene(tmp_path, panel="boom")
    expected = (
        f"{spec.relative_to(tmp_path)}:8: panels[0]: panel 'boom' (plugin 'plugins/panels.py') "
        "failed in view() of frame 2: ZeroDivisionError: integer division or modulo by zero"
    )
    for workers in ("1", "2"):
        result = run("render", spec.relative_to(tmp_path), "-o", "out.gif", "-q", "-w", workers,
                     cwd=tmp_path)  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines() == [expected], workers
        assert not (tmp_path / "out.gif").exists()
    shown = run(
        "render", spec, "-o", "out.gif", "-q", cwd=tmp_path, env={"SPECANIM_TRACEBACK": "1"}
    )
    assert shown.returncode == 1
    assert "Traceback" in shown.stderr and 'panels.py", line' in shown.stderr
    assert shown.stderr.splitlines()[-1].endswith(
        "ZeroDivisionError: integer division or modulo by zero"
    )


@pytest.mark.parametrize(
    ("dataset", "reducer", "message"),
    [
        (
            "bad-data",
            "line",
            "5: dataset: dataset 'bad-data' (plugin 'plugins/panels.py') failed in load(): "
            "ValueError: no rows in the table",
        ),
        (
            "sklearn-digits",
            "bad-fit",
            "6: reducer: reducer 'bad-fit' (plugin 'plugins/panels.py') failed in fit(): "
            "RuntimeError: diverged after 3 epochs",
        ),
    ],
)
def test_load_and_fit_raising_name_their_entry_and_plugin_and_pickle(
    tmp_path: Path, dataset: str, reducer: str, message: str
) -> None:
    spec = scene(tmp_path, reducer=reducer, dataset=dataset)
    with pytest.raises(ComponentError) as info:
        engine.prepare(load_plan(spec, load_registry()), cache="off")
    error = info.value
    assert str(error) == f"{spec}:{message}"
    assert error.exit_code == 1
    copy = pickle.loads(pickle.dumps(error))  # raised in worker processes too
    assert (type(copy), str(copy), copy.detail) == (ComponentError, str(error), error.detail)
    assert "Traceback" in copy.detail


def test_an_encoder_raising_in_write_names_the_output_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = scene(tmp_path)
    spec.write_text(spec.read_text() + "output: {type: bad-encoder, path: out.bad}\n")
    monkeypatch.chdir(tmp_path)  # the output path is relative to where specanim runs
    prepared = engine.prepare(load_plan(spec, load_registry()), cache="off")
    with pytest.raises(ComponentError) as info:
        engine.render(prepared)
    assert str(info.value) == (
        f"{spec}:10: output: encoder 'bad-encoder' (plugin 'plugins/panels.py') failed in "
        "write() of frame 0: ValueError: the codec refused the frame"
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "specs"]  # nothing written, nothing left


def test_a_panel_that_cannot_be_pickled_is_named_before_any_frame(tmp_path: Path) -> None:
    spec = scene(tmp_path, panel="holder")
    result = run("render", spec, "-o", "out.gif", "-q", "-w", "2", cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"{spec}:8: panels[0]: panel 'holder' (plugin 'plugins/panels.py') cannot be sent to the "
        "render worker processes: its attribute 'guard' (lock) cannot be pickled ("
    )
    assert line.endswith("or render with --workers 1")
    # Lambdas pickle (cloudpickle): the advice names what does not, as the lock here
    assert "no open files, sockets, locks or threads" in line and "lambda" not in line
    assert not (tmp_path / "out.gif").exists()
    alone = run("render", spec, "-o", "out.gif", "-q", "-w", "1", cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr


# --- local plugins -----------------------------------------------------------------------------


def test_a_local_panel_renders_in_worker_processes(tmp_path: Path) -> None:
    spec = scene(tmp_path)
    result = run("render", spec.relative_to(tmp_path), "-o", "out.gif", "-q", "-w", "2",
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    with av.open(str(tmp_path / "out.gif")) as container:
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    assert len(frames) == 4 and frames[0].shape == (96, 128, 3)
    magenta = [(np.abs(f - [255, 0, 255]).sum(axis=2) < 60)[48].sum() for f in frames]
    # progress 0, 1/3, 2/3, 1 of the 128-pixel row
    assert magenta == pytest.approx([0, 43, 85, 128], abs=2)


def errors_of(spec: Path) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        load_plan(spec, load_registry())
    return info.value.lines()


def test_local_plugin_paths_are_relative_to_the_spec_and_problems_are_located(
    tmp_path: Path,
) -> None:
    spec = scene(tmp_path)
    plugins = spec.parent / "plugins"
    assert load_plan(spec, load_registry()).panels["bar"].plugin == "plugins/panels.py"

    (plugins / "broken.py").write_text("x = 1\ndef f(:\n")
    (plugins / "raises.py").write_text("import os\nimport not_installed_xyz\n")
    (plugins / "clash.py").write_text(
        "from specanim import hookimpl\nfrom specanim_panels.scatter import Scatter\n"
        "class Mine(Scatter):\n    pass\n"
        "@hookimpl\ndef register_panels(register):\n    register(Mine)\n"
    )
    (plugins / "nohook.py").write_text("def register_panels(register):\n    pass\n")
    spec.write_text(
        spec.read_text().replace(
            "plugins: [plugins/panels.py]",
            "plugins:\n  - plugins/missing.py\n  - plugins/broken.py\n  - plugins/raises.py\n"
            "  - plugins/clash.py\n  - plugins/nohook.py\n  - plugins/panels.py\n"
            "  - ./plugins/panels.py",
        )
    )
    assert errors_of(spec) == [
        f"{spec}:5: plugins[0]: no plugin file 'plugins/missing.py' "
        f"(looked for {plugins / 'missing.py'})",
        f"{spec}:6: plugins[1]: plugin 'plugins/broken.py' failed to load: SyntaxError: "
        "invalid syntax (broken.py, line 2)",
        f"{spec}:7: plugins[2]: plugin 'plugins/raises.py' failed to load: "
        f"{NOT_FOUND} (raises.py, line 2)",
        f"{spec}:8: plugins[3]: panel 'scatter' is registered twice: by plugin 'scatter' "
        "(specanim_panels.scatter.Scatter) and by plugin 'plugins/clash.py' "
        f"({pickle_name(plugins / 'clash.py')}.Mine)",
        f"{spec}:9: plugins[4]: plugin 'plugins/nohook.py' has no hook: mark its register_panels "
        "(or register_datasets, register_reducers, register_encoders, register_executors) function "
        "with @hookimpl",
        f"{spec}:11: plugins[6]: plugin './plugins/panels.py' is listed twice",
    ]


def test_local_plugin_paths_are_relative_to_the_file_that_lists_them(tmp_path: Path) -> None:
    scene(tmp_path)  # specs/scene.yaml lists plugins/panels.py, beside it
    child = tmp_path / "variant.yaml"
    child.write_text("extends: specs/scene.yaml\nwidth: 256\n")
    plan = load_plan(child, load_registry())
    assert plan.panels["bar"].plugin == "plugins/panels.py"
    assert plan.plugins[0].path == tmp_path / "specs" / "plugins" / "panels.py"


def pickle_name(path: Path) -> str:
    from specanim.plugins import LocalPlugin

    return LocalPlugin.at(path.name, path.parent).module


def test_an_unknown_type_names_the_local_plugin_that_failed(tmp_path: Path) -> None:
    spec = scene(tmp_path)
    (spec.parent / "plugins" / "panels.py").write_text("import not_installed_xyz\n")
    assert errors_of(spec) == [
        f"{spec}:4: plugins[0]: plugin 'plugins/panels.py' failed to load: "
        f"{NOT_FOUND} (panels.py, line 1)",
        f"{spec}:6: reducer.type: unknown reducer 'line'; plugin 'plugins/panels.py' failed "
        "to load: see plugins[0]",
        f"{spec}:8: panels[0].type: unknown panel 'bar'; plugin 'plugins/panels.py' failed "
        "to load: see plugins[0]",
    ]


def test_a_local_plugin_can_be_a_package_folder(tmp_path: Path) -> None:
    spec = scene(tmp_path)
    package = spec.parent / "plugins" / "legend"
    package.mkdir()
    (package / "__init__.py").write_text("from .panels import register_panels  # noqa\n")
    (package / "panels.py").write_text(
        PLUGIN.replace('name = "bar"', 'name = "legend-bar"')
        .replace('name = "boom"', 'name = "legend-boom"')
        .replace('name = "holder"', 'name = "legend-holder"')
    )
    text = spec.read_text().replace("[plugins/panels.py]", "[plugins/panels.py, plugins/legend]")
    spec.write_text(text.replace("type: bar", "type: legend-bar"))
    plan = load_plan(spec, load_registry())
    entry = plan.panels["legend-bar"]
    assert entry.plugin == "plugins/legend"
    assert entry.cls.__module__ == pickle_name(package) + ".panels"  # its relative import worked
    assert pickle.loads(pickle.dumps(entry.cls)) is entry.cls


# --- discovery ---------------------------------------------------------------------------------


def test_describe_prints_every_option_with_nested_ones_flattened(tmp_path: Path) -> None:
    result = run("describe", "scatter", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("panel scatter (plugin 'scatter'): Every point")
    assert lines[1].split() == ["option", "type", "default", "description"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert rows["point_size"].split()[:6] == ["point_size", "number", "in", "(0,", "64]", "2.5"]
    assert rows["view.mode"].split()[:7] == [
        "view.mode", "global", "|", "follow", "|", "fixed", "global"
    ]  # fmt: skip
    assert "view.limits" in rows and "shuffle" in rows

    spec = scene(tmp_path)
    listed = json.loads(run("plugins", "--spec", spec, "--json", cwd=tmp_path).stdout)
    bar = next(r for r in listed if r["name"] == "bar" and r["kind"] == "panel")
    assert (bar["plugin"], bar["distribution"], bar["summary"]) == (
        "plugins/panels.py",
        None,
        "A bar as long as the progress.",
    )
    schema = run("schema", "--spec", spec, cwd=tmp_path).stdout
    assert '"enum":["bar"]' in json.dumps(json.loads(schema), separators=(",", ":"))
    local = run("describe", "--spec", spec, "--json", "panel", "bar", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout) == [
        {"name": "style", "type": "object", "default": None, "required": False,
         "description": "how the bar looks"},
        {"name": "style.color", "type": "string", "default": "#ff00ff", "required": False,
         "description": "colour of the bar"},
    ]  # fmt: skip


def test_describe_an_unknown_or_ambiguous_name_is_one_line_and_exit_2(tmp_path: Path) -> None:
    unknown = run("describe", "scater", cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines() == ["unknown component 'scater' (did you mean 'scatter'?)"]
    wrong_kind = run("describe", "reducer", "scatter", cwd=tmp_path)
    assert wrong_kind.returncode == 2
    assert wrong_kind.stderr.splitlines() == ["unknown reducer 'scatter'"]
    spec = scene(tmp_path)
    both = run("describe", "--spec", spec, "bar", cwd=tmp_path)
    assert both.returncode == 2
    assert both.stderr.splitlines() == [
        "'bar' is a dataset and a panel: say which, e.g. specanim describe dataset bar"
    ]
