"""specanim from Python: a scene from a spec, from arrays in memory, or from snapshots a user
captured, ready to render, show a frame, or be written out as a spec file.

    scene = specanim.load("specs/digits_umap.yaml", **{"reducer.random_state": 7})
    scene = specanim.animate(X, labels=y, images=images, reducer="umap")
    scene = specanim.from_snapshots(capture.finish(embedding), labels=y)
    scene.render("out.mp4"); scene.still(-1); scene.frame_spec(0); len(scene); scene.to_yaml()

Arrays in memory go through the same code as a spec file: they are stored once, by content, in
specanim's cache as the ``.npz`` archives the ``file`` dataset and the ``precomputed`` reducer
read, so a scene made in Python renders the same frames as its ``to_yaml()`` spec. They are
cache entries (``specanim cache list``, ``clear``, ``prune``, the size limit): a scene keeps its
arrays and writes them again if they were removed before it loads or renders.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import logging
import os
import shutil
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from specanim import engine, explore
from specanim.api.display import Explorer, Rendered
from specanim.api.inputs import (
    FEATURES,
    IMAGES,
    LABELS,
    colour_fields,
    image_array,
    label_arrays,
    points,
    trajectory_of,
)
from specanim.components import KINDS, Component, Executor
from specanim.engine import executors
from specanim.engine.progress import reporter
from specanim.engine.rendering import check_output
from specanim.errors import UserError
from specanim.plugins import Registry, default_registry, load_registry
from specanim.spec.extends import parse_spec, read_spec
from specanim.spec.models import SceneSpec
from specanim.spec.overrides import apply_overrides, override
from specanim.spec.source import Origin, PathKey, Source
from specanim.spec.validate import Plan, Resolved, validate
from specanim.store import cache
from specanim.store.archives import archive_arrays
from specanim.store.manifest import path_for as manifest_path
from specanim.store.output import atomic_path
from specanim.store.trajectories import CacheMode

if TYPE_CHECKING:
    from PIL.Image import Image

# Arrays of a scene made in Python, by the role they play in its spec.
DATA, TRAJECTORY = "data", "trajectory"
IN_MEMORY = Path("<spec>")  # the file name of a spec given as text
# The file names of specs made by these calls: their messages name the call.
MADE_BY = {call: Path(f"{call}()") for call in ("load", "animate", "from_snapshots")}
NOT_FILES = {IN_MEMORY, *MADE_BY.values()}
SESSION = "__main__"  # the plugin that registers the components given with components=
DEFAULT_NAME = "animation"  # what render() without a path writes, for a spec made in Python

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StoredArrays:
    """Arrays of a scene made in Python and the cache entry that holds them (``path``)."""

    arrays: dict[str, np.ndarray]
    role: str
    path: Path

    @classmethod
    def store(cls, arrays: dict[str, np.ndarray], role: str) -> StoredArrays:
        """The arrays, stored in the cache (if not there yet)."""
        return cls(arrays, role, cache.store_arrays(arrays, role))

    def ensure(self) -> None:
        """Write the entry again if it was removed (``specanim cache clear``, ``prune``, the
        size limit); mark it used otherwise. It keeps its name: the same content, the same
        path."""
        if not self.path.is_file():
            log.info(
                "the cache entry %s was removed (specanim cache clear or prune): writing it again",
                self.path,
            )
        cache.store_arrays(self.arrays, self.role, self.path)


class Animation:
    """A validated scene: its frames, its renders, and the spec it is made from."""

    def __init__(self, plan: Plan, registry: Registry, cache: CacheMode = "use") -> None:
        self.plan = plan
        self.registry = registry
        self.cache: CacheMode = cache
        self._prepared: engine.Prepared | None = None
        self.result: Rendered | None = None  # the last render
        self.stored: tuple[StoredArrays, ...] = ()  # the arrays of a scene made in Python

    # --- frames -------------------------------------------------------------------------------

    def prepared(self) -> engine.Prepared:
        """The loaded data, the fitted (or cached) trajectories and the panels, made once."""
        if self._prepared is None:
            self._ensure_arrays()
            self._prepared = engine.prepare(self.plan, cache=self.cache, report=reporter())
        return self._prepared

    def _ensure_arrays(self) -> None:
        """The arrays this scene reads from the cache, there (written again if removed)."""
        for stored in self.stored:
            stored.ensure()

    def __len__(self) -> int:
        """The number of frames of the animation."""
        return self.prepared().frames

    def frame_spec(self, frame: int = -1) -> dict[str, Any]:
        """The complete Vega-Lite spec of frame number ``frame`` (negative: from the end)."""
        prepared = self.prepared()
        return prepared.composer.frame_spec(prepared.frame(prepared.shot_of(self._at(frame))))

    def still(self, frame: int = -1) -> Image:
        """The pixels of one frame as a PIL image (a notebook shows it)."""
        from PIL import Image as PILImage

        return PILImage.fromarray(engine.still(self.prepared(), self._at(frame)))

    def explore(self) -> Explorer:
        """The animation as a page to explore (play, scrub, hover a point, zoom, highlight a
        class), shown inline in a notebook; ``render("scene.html")`` writes the same page."""
        spec = self.plan.spec
        return Explorer(explore.html(self.prepared()), spec.width, spec.height)

    def render(
        self,
        path: str | Path | None = None,
        frames: slice | None = None,
        workers: int | None = None,
        executor: str | Executor[Any] | None = None,
    ) -> Rendered:
        """Write the animation (to path, else the spec's output), with its manifest beside it,
        and return what was written; the file appears only when complete. In a notebook the
        result shows as a video.

        The frames render on executor: a name (``"dask"``), else the spec's ``executor:``,
        else ``local`` with workers processes (default: all cores); or an Executor you have
        entered (``with``), to keep its workers for several renders."""
        plan = self._default_plan() if path is None else self._plan_for(Path(path))
        if explore.is_page(plan):
            explore.check_request(plan, frames is not None)
            check_output(plan)
            page = dataclasses.replace(self.prepared(), plan=plan)
            self.result = Rendered.of(explore.write(page))
            return self.result
        own: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if isinstance(executor, Executor):
            runner = executor
        else:
            runner = own = executors.choose(plan, self.registry, executor, {"workers": workers})
        check_output(plan)  # before the fit and the workers
        with own:  # before the fit (if not done yet): the workers warm up meanwhile
            self._ensure_arrays()  # render workers map the snapshots from their file
            prepared = dataclasses.replace(self.prepared(), plan=plan)
            result = engine.render(prepared, frames=frames, executor=runner, report=reporter())
        self.result = Rendered.of(result)
        return self.result

    def _default_plan(self) -> Plan:
        """The plan that render() without a path writes: to the spec's ``output.path``, else
        to its file's name in the current folder (as the command line does), else, for a spec
        made in Python, to ``animation`` with the format's ending. A file the default would
        replace must be a previous output (its manifest beside it): a name the user did not
        give never replaces their files."""
        output = self.plan.source.data.get("output")
        if isinstance(output, Mapping) and output.get("path"):
            return self.plan  # the spec names its output
        plan = self.plan
        if self.plan.source.file in NOT_FILES:
            extensions = self.plan.encoder.cls.extensions
            plan = self._plan_for(Path(DEFAULT_NAME + (extensions[0] if extensions else "")))
        target = plan.output
        described = manifest_path(target)
        if os.path.lexists(target) and not described.is_file():
            raise UserError(
                f"render(): {target} exists and is no previous output (no {described.name} "
                "beside it), so render() without a path does not replace it: give a path, "
                "render('out.mp4')"
            )
        return plan

    def _plan_for(self, output: Path) -> Plan:
        """The plan with another output; its ending picks the encoder, as ``-o`` does."""
        return validate(self.plan.source, self.registry, output)

    def _at(self, frame: int) -> int:
        count = self.prepared().frames
        if not -count <= frame < count:
            raise UserError(f"frame {frame}: the animation has {count} frames (0 to {count - 1})")
        return frame

    # --- as a spec file -------------------------------------------------------------------------

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The scene as spec text; with a path, also write it there, with the arrays it reads
        (a scene made from arrays) copied beside it, so the file renders the same frames."""
        document = self.plan.source.data
        if path is not None:
            self._ensure_arrays()
            target = Path(path)
            document = _localise(document, self.plan.source.base_dir, target)
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        self._warn_of_session_components()
        if path is not None:
            with atomic_path(target) as tmp:
                tmp.write_text(text, encoding="utf-8")
        return text

    def _warn_of_session_components(self) -> None:
        """Warn if the spec names components given with ``components=`` (defined in this
        session): ``specanim render`` will not know them."""
        plan = self.plan
        entries: list[Resolved[Any]] = [plan.dataset, *plan.reducers.values()]
        entries += [*plan.panels.values(), plan.encoder]
        if plan.executor is not None:
            entries.append(plan.executor)
        here = sorted({f"{e.cls.kind} '{e.cls.name}'" for e in entries if e.plugin == SESSION})
        if here:
            warnings.warn(
                f"the spec names {', '.join(here)}, defined in this session (components=...): "
                "specanim render will not know them unless a plugin registers them (a local "
                "plugin file named in the spec's plugins:, see docs/plugins.md)",
                UserWarning,
                stacklevel=3,
            )

    # --- in a notebook ----------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        """Its last render, or what rendering it will make."""
        if self.result is not None and Path(self.result.path).exists():
            return self.result._repr_html_()
        plan = self.plan
        reducers = ", ".join(f"{name} ({r.cls.name})" for name, r in plan.reducers.items())
        return (
            f"<p>specanim scene: {html.escape(plan.dataset.cls.name)} by "
            f"{html.escape(reducers)}, {plan.spec.width}x{plan.spec.height}; "
            f"<code>.render()</code> makes the video, <code>.still(n)</code> one frame.</p>"
        )


def load(
    spec: str | Path | Mapping[str, Any],
    *,
    components: Sequence[type[Component[Any]]] = (),
    cache: CacheMode = "use",
    **overrides: Any,
) -> Animation:
    """A scene from a spec file's path, YAML text or a mapping, validated with the same located
    errors as the command line. ``overrides`` set values as ``--set`` does, by dotted path:
    ``load(spec, **{"reducer.random_state": 7})`` or with ``__`` for dots,
    ``load(spec, reducer__random_state=7)``. ``components`` adds component classes defined
    here (in a notebook, say) as if a plugin registered them."""
    if isinstance(spec, Mapping):
        source = _made_in_python(spec, "load")
    elif isinstance(spec, Path) or ("\n" not in spec and Path(spec).suffix in (".yaml", ".yml")):
        source = read_spec(Path(spec))
    else:
        source = parse_spec(spec, IN_MEMORY)
    changes = [override(k.replace("__", "."), v, f"{k}={v!r}") for k, v in overrides.items()]
    return _animation(apply_overrides(source, changes), components, cache)


def _animation(
    source: Source, components: Sequence[type[Component[Any]]], cache: CacheMode = "use"
) -> Animation:
    registry = _registry(components)
    return Animation(validate(source, registry), registry, cache)


def _made_in_python(document: Mapping[str, Any], call: str) -> Source:
    """A spec made in Python by call (``"animate"``): its messages name the call, without the
    lines of the YAML text it passes through, which the user never saw."""
    source = parse_spec(yaml.safe_dump(dict(document), sort_keys=False), MADE_BY[call])

    def elsewhere(table: dict[PathKey, Origin]) -> dict[PathKey, Origin]:
        return {key: o for key, o in table.items() if o.where != source.name}  # extends:

    source.origins = elsewhere(source.origins)
    source.key_origins = elsewhere(source.key_origins)
    return source


def animate(
    X: Any,
    labels: Any = None,
    images: np.ndarray | None = None,
    reducer: str | Mapping[str, Any] = "umap",
    *,
    features: Sequence[str] | None = None,
    components: Sequence[type[Component[Any]]] = (),
    **spec: Any,
) -> Animation:
    """A scene of data in memory: X is an (n, d) array, or a pandas or polars DataFrame whose
    numeric columns (or ``features``) are the features and whose column named by ``labels``
    holds the classes; labels may also be an array. reducer is a name or a reducer entry
    (``{"type": "umap", "epochs": 100}``); the other keywords are the spec's (``title=...``,
    ``panels=[...]``, ``timeline={...}``), with a scatter (and a digit grid for images) by
    default."""
    given = points(X, labels, features, colour_fields(spec))  # checked before any fit
    data, dataset = _data(given.features, given.labels, images, given.columns, "animate")
    entry = {"type": reducer} if isinstance(reducer, str) else dict(reducer)
    document = _scene(dataset, entry, images is not None, given.labels is not None, spec)
    scene = _animation(_made_in_python(document, "animate"), components)
    scene.stored = (data,)
    return scene


def from_snapshots(
    snapshots: Any,
    labels: Any = None,
    images: np.ndarray | None = None,
    *,
    components: Sequence[type[Component[Any]]] = (),
    **spec: Any,
) -> Animation:
    """A scene of a trajectory captured elsewhere: a list of (n, 2) layouts, an (S, n, 2)
    array, a Trajectory, or a capture such as ``specanim.capture.opentsne()`` (its phases and
    iterations kept)."""
    trajectory = trajectory_of(snapshots, "from_snapshots")
    n = trajectory.snapshots.shape[1]
    features = np.zeros((n, 0), np.float32)
    data, dataset = _data(features, labels, images, {}, "from_snapshots")
    snapshots_file = StoredArrays.store(archive_arrays(trajectory), TRAJECTORY)
    reducer = {"type": "precomputed", "path": str(snapshots_file.path)}
    document = _scene(dataset, reducer, images is not None, labels is not None, spec)
    scene = _animation(_made_in_python(document, "from_snapshots"), components)
    scene.stored = (data, snapshots_file)
    return scene


# --- helpers ------------------------------------------------------------------------------------


def _registry(components: Sequence[type[Component[Any]]]) -> Registry:
    if not components:
        return default_registry()
    from types import SimpleNamespace

    from specanim.hookspecs import hookimpl

    def registrar(kind: str) -> Any:
        def register_all(register: Any) -> None:
            for cls in components:
                if cls.kind == kind:
                    register(cls)

        return hookimpl(register_all)

    plugin = SimpleNamespace(**{f"register_{k}s": registrar(k) for k in KINDS})
    return load_registry([(SESSION, plugin)])


def _scene(
    dataset: dict[str, Any],
    reducer: dict[str, Any],
    images: bool,
    labels: bool,
    spec: dict[str, Any],
) -> dict[str, Any]:
    """The spec of a scene made in Python: by default a scatter, beside a digit grid (images:
    a sample of each class in its colour) or else a legend (labels), which tell the classes
    apart."""
    panels: list[dict[str, Any]] = [{"type": "scatter"}]
    layout = None
    if images or labels:
        beside = "digit-grid" if images else "legend"
        panels.append({"type": beside})
        layout = {"row": ["scatter", beside], "sizes": [3, 1] if images else [5, 1]}
    scene: dict[str, Any] = {"dataset": dataset, "reducer": reducer, "panels": panels}
    if layout and "panels" not in spec:
        scene["layout"] = layout
    # In the order of the spec's keys (title and size first, as spec files are written), so
    # that to_yaml() reads like one.
    order = list(SceneSpec.model_fields)
    return dict(
        sorted(
            {**scene, **spec}.items(),
            key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order),
        )
    )


def _data(
    features: np.ndarray, labels: Any, images: Any, columns: dict[str, np.ndarray], call: str
) -> tuple[StoredArrays, dict[str, Any]]:
    """The arrays of a scene's points, stored, and the ``file`` dataset entry that reads them.
    Without labels every point is of one class, drawn in one colour."""
    n = len(features)
    arrays = {FEATURES: features, LABELS: np.zeros(n, np.int64)}
    if labels is not None:
        arrays.update(label_arrays(labels, n, f"{call}(labels=...)"))
    if images is not None:
        arrays[IMAGES] = image_array(images, n, call)
    data = StoredArrays.store({**arrays, **columns}, DATA)
    dataset: dict[str, Any] = {"type": "file", "path": str(data.path), "labels_key": LABELS}
    if columns:
        dataset["columns"] = list(columns)
    return data, dataset


def _localise(document: Any, base_dir: Path, target: Path) -> Any:
    """The document with the arrays it reads from specanim's cache copied beside target and
    named relative to it."""
    arrays = cache.arrays_folder().resolve()
    out = yaml.safe_load(yaml.safe_dump(document, sort_keys=False))  # a copy, in its order
    for key in ("dataset", "reducer"):
        entry = out.get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        source = (base_dir / entry["path"]).resolve()
        if source.parent == arrays:
            copy = target.with_name(f"{target.stem}.{source.name.split('-', 1)[1]}")
            shutil.copyfile(source, copy)
            entry["path"] = copy.name
    return out
