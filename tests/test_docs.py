"""docs/plugins.md stays complete and true: every hook, component kind, value field and SDK name
is documented; its code listings are the files the suite runs; every hook is exercised through a
real render; every option has a description (tests/test_site.py: the site's reference)."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image
from pydantic import BaseModel, Field

import specanim.sdk
import specanim.testing
from specanim import engine, hookspecs
from specanim.cli.describe import option_rows
from specanim.components import KINDS
from specanim.engine.executors import choose
from specanim.plugins import Registry, default_registry, load_registry
from specanim.sdk import (
    Box,
    Data,
    Dataset,
    Encoder,
    Executor,
    Frame,
    FrameSink,
    Options,
    Panel,
    Reducer,
    Scene,
    Step,
    Trajectory,
    hookimpl,
)
from specanim.spec.models import SceneSpec
from specanim.spec.template import FRAME_FIELDS
from specanim.spec.validate import PANEL_KEYS, load_plan

from .conftest import ROOT
from .reducer_fixtures import Ramp
from .test_faults import write_scene

DOC = ROOT / "docs" / "plugins.md"
TUTORIAL = ROOT / "docs" / "tutorial"
EXAMPLE = ROOT / "examples" / "specanim-centroids"


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the doc's section with this heading, up to the next heading of its level."""
    text = doc()
    match = re.search(rf"^(#+) {re.escape(title)}\n", text, re.MULTILINE)
    assert match, f"docs/plugins.md has no section '{title}'"
    level = len(match.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, match.end())
    return text[match.end() : end.start() if end else len(text)]


def load_module(path: Path) -> ModuleType:
    """A module from a file that is not on sys.path, imported under its file's stem."""
    spec = importlib.util.spec_from_file_location(f"_doc_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through it
    spec.loader.exec_module(module)
    return module


# --- the listings are the files ------------------------------------------------------------

LISTING = re.compile(r"^```\w+\n# ((?:docs|examples)/\S+): .*?\n```$", re.MULTILINE | re.DOTALL)


def test_code_listings_are_the_files_the_suite_runs() -> None:
    """A listing whose first line names a file is that file, exactly."""
    listed = []
    for match in LISTING.finditer(doc()):
        body = match.group(0).split("\n", 1)[1].rsplit("```", 1)[0]
        path = ROOT / match.group(1)
        assert path.is_file(), f"docs/plugins.md lists {match.group(1)}, which does not exist"
        assert body == path.read_text(encoding="utf-8"), (
            f"{match.group(1)} differs from its listing"
        )
        listed.append(path.name)
    assert {"hello.py", "legend_step1.py", "legend.py", "test_legend.py"} <= set(listed)


# --- hooks, kinds, values and names are documented -----------------------------------------


def hook_names() -> list[str]:
    return sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "specanim_spec"))


def test_every_hook_is_documented() -> None:
    hooks = section("Plugins and hooks")
    assert hook_names() == [f"register_{kind}s" for kind in sorted(KINDS)]
    for name in hook_names():
        assert f"`{name}(register)`" in hooks, name


def test_every_component_kind_and_its_methods_are_documented() -> None:
    bases: dict[str, tuple[type, ...]] = {
        "Dataset": (Dataset,),
        "Reducer": (Reducer,),
        "Panel": (Panel,),
        "Encoder": (Encoder, FrameSink),
        "Executor": (Executor,),
    }
    assert sorted(b.lower() for b in bases) == sorted(KINDS)
    for title, classes in bases.items():
        text = section(title)
        for cls in classes:
            for method in sorted(cls.__abstractmethods__):
                assert f"def {method}(" in text, f"{cls.__name__}.{method} in ### {title}"
    reducer = section("Reducer")
    assert "`cacheable = False`" in reducer and "`frame_values(options)`" in reducer
    assert "`versions()`" in reducer
    assert "`dynamic = False`" in section("Panel") and "`extensions`" in section("Encoder")


@pytest.mark.parametrize("cls", [Data, Step, Trajectory, Scene, Frame, Box])
def test_every_field_of_the_values_is_documented(cls: type) -> None:
    text = section(cls.__name__)
    for f in dataclasses.fields(cls):
        assert f"| `{f.name}` |" in text, f"{cls.__name__}.{f.name}"


def test_every_frame_value_is_documented() -> None:
    text = section("Frame")
    for name in FRAME_FIELDS:
        assert f"| `{name}` |" in text, name


@pytest.mark.parametrize("module", [specanim.sdk, specanim.testing], ids=lambda m: m.__name__)
def test_every_public_name_is_documented(module: ModuleType) -> None:
    text = doc()
    for name in module.__all__:
        assert f"`{name}" in text, f"{module.__name__}.{name} is not in docs/plugins.md"


# --- every hook, exercised: a plugin of each kind renders a scene --------------------------


class RingOptions(Options):
    """How many points."""

    per_class: int = Field(20, ge=1, description="points in each of the three classes")


class Ring(Dataset[RingOptions]):
    """Three classes of points, around three centres."""

    name = "ring"

    def load(self) -> Data:
        k = self.options.per_class
        labels = np.repeat(np.arange(3), k)
        rng = np.random.default_rng(0)
        features = rng.normal(size=(3 * k, 4)).astype(np.float32) + labels[:, None] * 5
        return Data(features, labels.astype(np.int64), ("a", "b", "c"))


class Square(Panel):
    """A white square, the size of the layout's growth."""

    name = "square"

    def view(self, frame: Frame, box: Box) -> dict[str, Any]:
        side = 40 * float(frame.values["size"])
        return {
            "data": {"values": [{}]},
            "mark": {"type": "rect", "color": "white"},
            "encoding": {
                "x": {"value": 0},
                "x2": {"value": side},
                "y": {"value": 0},
                "y2": {"value": side},
            },
        }


class Stack(FrameSink):
    def __init__(self, path: Path) -> None:
        self.path, self.frames = path, []

    def write(self, rgb: np.ndarray) -> None:
        self.frames.append(rgb)

    def close(self) -> None:
        np.save(self.path.with_suffix(".npy"), np.stack(self.frames))
        self.path.with_suffix(".npy").rename(self.path)


class NpyEncoder(Encoder):
    """All frames in one .npy array."""

    name = "npy"
    extensions = (".npy",)

    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        return Stack(path)


class Threads(Executor):
    """Threads of this process, in order: an executor in a few lines."""

    name = "threads"
    started = False

    @property
    def slots(self) -> int:
        return 2

    @property
    def remote(self) -> bool:
        return False

    def start(self) -> None:
        self.pool = ThreadPoolExecutor(self.slots)
        Threads.started = True

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        return self.pool.submit(fn, *args)


def one_plugin_of_each_kind() -> Registry:
    """The installed plugins plus one plugin implementing every hook."""
    kinds = {
        "datasets": Ring,
        "reducers": Ramp,
        "panels": Square,
        "encoders": NpyEncoder,
        "executors": Threads,
    }

    def hook(cls: type) -> Callable[..., None]:
        def register(register: Callable[[type], None]) -> None:
            register(cls)

        return hookimpl(register)

    plugin = SimpleNamespace(**{f"register_{kind}": hook(cls) for kind, cls in kinds.items()})
    assert sorted(vars(plugin)) == hook_names()  # a new hook needs a component here
    return load_registry([("doc-kinds", plugin)])


def test_every_hook_registers_a_component_that_renders(tmp_path: Path) -> None:
    spec = tmp_path / "scene.yaml"
    spec.write_text(
        "width: 200\nheight: 100\nmargin: 0\ntitle: 'size {size}'\ntitle_size: 10\n"
        "dataset: {type: ring, per_class: 10}\nreducer: {type: ramp, steps: 3}\n"
        "panels: [{type: square}]\noutput: {path: frames.npy}\n",
        encoding="utf-8",
    )
    registry = one_plugin_of_each_kind()
    assert {(r.kind, r.name) for r in registry if r.plugin == "doc-kinds"} == {
        ("dataset", "ring"),
        ("reducer", "ramp"),
        ("panel", "square"),
        ("encoder", "npy"),
        ("executor", "threads"),
    }
    spec.write_text(spec.read_text() + "executor: {type: threads}\n", encoding="utf-8")
    plan = load_plan(spec, registry, output=tmp_path / "frames.npy")
    with choose(plan, registry) as executor:
        result = engine.render(engine.prepare(plan, cache="off"), executor=executor)
    assert isinstance(executor, Threads) and Threads.started
    frames = np.load(result.path)
    assert frames.shape == (3, 100, 200, 3)
    white = (frames.min(axis=3) > 200).sum(axis=(1, 2))
    assert white[0] < white[1] < white[2]  # the square grows with the reducer's value


THREADS = "from collections.abc import Callable\nfrom concurrent.futures import Future, Thread"


def test_the_thread_pool_executor_in_the_doc_renders_the_bytes_of_the_local_one(
    tmp_path: Path,
) -> None:
    """The doc's complete executor, as a plugin: a render on it gives the bytes of a render on
    two local worker processes."""
    (block,) = [b for b in code_blocks() if b.startswith(THREADS)]
    assert len(block.splitlines()) < 50
    namespace: dict[str, Any] = {"__name__": "doc_threads"}
    exec(compile(block, str(DOC), "exec", dont_inherit=True), namespace)
    plugin = SimpleNamespace(register_executors=namespace["register_executors"])
    registry = load_registry([("doc-threads", plugin)])
    spec = write_scene(tmp_path, 6)
    spec.write_text(spec.read_text() + "executor: {type: threads, threads: 3}\n", encoding="utf-8")
    outputs = []
    for name, options in (("threads", None), ("local", {"workers": 2})):
        plan = load_plan(spec, registry, output=tmp_path / f"{name}.gif")
        with choose(plan, registry, "local" if options else None, options) as executor:
            assert executor.name == name and executor.slots == (3 if name == "threads" else 2)
            engine.render(engine.prepare(plan, cache="off"), executor=executor)
        outputs.append((tmp_path / f"{name}.gif").read_bytes())
    assert outputs[0] == outputs[1]


def code_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", doc(), re.MULTILINE | re.DOTALL)


# --- every option has a description ------------------------------------------------------------


def models() -> dict[str, type[BaseModel]]:
    """The options model of every built-in component, the tutorial's and the example's."""
    out = {f"{r.kind} {r.name}": r.cls.Options for r in default_registry()}
    out["tutorial legend"] = load_module(TUTORIAL / "legend.py").Legend.Options
    out["example centroids"] = load_module(
        EXAMPLE / "src" / "specanim_centroids" / "panel.py"
    ).Centroids.Options
    return out


def test_every_option_has_a_description() -> None:
    missing = [
        f"{component}: {row.name}"
        for component, model in models().items()
        for row in option_rows(model)
        if not row.description.strip()
    ]
    assert not missing, "options without a description: " + ", ".join(missing)


def test_the_example_readme_lists_every_option() -> None:
    model = models()["example centroids"]
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `(\w+)` \|", readme, re.MULTILINE)
    assert listed == [row.name for row in option_rows(model)]


# --- the tutorial's specs render --------------------------------------------------------------


def render_tutorial_spec(name: str, tmp_path: Path) -> np.ndarray:
    """The last frame of a tutorial spec, whose ``plugins:`` names its local plugin module."""
    path = TUTORIAL / name
    if "plugins" in SceneSpec.model_fields:  # local plugins are loaded by specanim itself
        out = tmp_path / "still.png"
        done = subprocess.run(
            [sys.executable, "-m", "specanim", "still", path, "--frame", "-1", "-o", out],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        return np.asarray(Image.open(out).convert("RGB"))
    # Before specanim reads `plugins:`, load the module as a test plugin.
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    (module,) = spec.pop("plugins")
    copy = tmp_path / name
    copy.write_text(yaml.safe_dump(spec), encoding="utf-8")
    registry = load_registry([(module, load_module(TUTORIAL / module))])
    return engine.still(engine.prepare(load_plan(copy, registry), cache="off"), -1)


def test_the_first_example_writes_over_the_scatter(tmp_path: Path) -> None:
    image = render_tutorial_spec("hello.yaml", tmp_path)
    white = image.min(axis=2) > 230
    ys, xs = np.nonzero(white)
    height, width = image.shape[:2]
    assert len(xs) > 200  # "epoch 0", 40 pixels high
    assert abs(xs.mean() - width / 2) < 60 and abs(ys.mean() - height / 2) < 40


@pytest.mark.parametrize("name", ["legend_step1.yaml", "legend.yaml"])
def test_the_tutorial_legend_stands_beside_the_scatter(name: str, tmp_path: Path) -> None:
    image = render_tutorial_spec(name, tmp_path)
    legend = image[:, int(image.shape[1] * 0.78) :]
    white = legend.min(axis=2) > 200
    assert white.sum() > 100  # the names
    colourful = legend.max(axis=2).astype(int) - legend.min(axis=2) > 100
    assert colourful.any() == (name == "legend.yaml")  # the discs, in the complete legend


# --- the doc's other complete examples run ---------------------------------------------------

EXAMPLES = ("from typing import Literal\n", "class Dots(Panel):\n", "from specanim.testing import")


def test_the_complete_examples_in_the_doc_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The options model, the raster panel and the test in the doc, run as a reader would
    (with the SDK and numpy imported, and the example package on the path)."""
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    namespace: dict[str, Any] = {"np": np, "Centroids": None, **vars(specanim.sdk)}
    from specanim_centroids import Centroids

    namespace["Centroids"] = Centroids
    blocks = re.findall(r"^```python\n(.*?)^```$", doc(), re.MULTILINE | re.DOTALL)
    chosen = [b for b in blocks if b.startswith(EXAMPLES)]
    assert len(chosen) == len(EXAMPLES)
    for block in chosen:
        exec(compile(block, str(DOC), "exec", dont_inherit=True), namespace)
    namespace["test_label_sits_on_the_cluster"]()
    options = namespace["BadgeOptions"].model_validate({"view": {"mode": "follow"}})
    assert options.text == "epoch {epoch}"
    with pytest.raises(ValueError, match="is not a colour"):
        namespace["BadgeOptions"].model_validate({"color": "nope"})
    scene = specanim.testing.make_scene(np.random.default_rng(0).normal(size=(100, 2)))
    frame = specanim.testing.make_frames(scene)[-1]
    pixels = specanim.testing.render_panel(namespace["Dots"], {}, scene, frame, 100, 80)
    assert (pixels.min(axis=2) > 150).sum() > 100  # the points, in the white foreground


def test_no_panel_option_is_named_like_a_key_the_core_reads() -> None:
    """A panel entry's type, id, trajectory, title and vega_lite never reach its options."""
    panels = {k: m for k, m in models().items() if k.startswith(("panel", "tutorial", "example"))}
    assert len(panels) >= 5
    for component, model in panels.items():
        clash = set(model.model_fields) & set(PANEL_KEYS)
        assert not clash, f"{component}: options {sorted(clash)} are read by the core instead"
    text = section("Options")
    assert all(f"`{key}`" in text for key in PANEL_KEYS)  # and the doc says which they are
