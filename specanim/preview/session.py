"""What a preview shows: the spec read again on every change, its scene prepared, and its frames
drawn on demand and kept.

The loaded data and every trajectory are kept while what makes them is unchanged (the dataset's
entry; a trajectory's cache key), so a title edit draws again without a refit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

from specanim import engine
from specanim.engine.progress import Task
from specanim.errors import SpecanimError, describe_exception, message_lines
from specanim.plugins import default_registry
from specanim.spec.extends import read_spec
from specanim.spec.overrides import apply_overrides
from specanim.spec.source import Source
from specanim.spec.validate import Plan, validate
from specanim.store import trajectories
from specanim.store.trajectories import CacheMode
from specanim.values import Data, Trajectory

FRAME_BYTES = 64 * 2**20  # the PNGs kept in memory, at most


@dataclasses.dataclass(frozen=True)
class _Shown:
    """The prepared scene the page shows, and the digest that names its frames."""

    prepared: engine.Prepared
    digest: str


class Session:
    """One spec under preview: reloads it, keeps what can be kept, draws its frames."""

    def __init__(
        self, spec: Path, overrides: tuple[str, ...] = (), cache: CacheMode = "use"
    ) -> None:
        self.spec = spec
        self.overrides = overrides
        self.cache: CacheMode = cache
        self.watched: set[Path] = {spec.resolve()}  # files and plugin folders
        self.shown: _Shown | None = None
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.stage = "loading"
        self.reloads = 0
        self.obtained = 0  # trajectories fitted or read from the disk cache, not kept ones
        self._data: tuple[tuple[str, ...], tuple[Data, str]] | None = None
        self._trajectories: dict[str, Trajectory] = {}  # by cache key
        self._frames: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        # The engine draws one thing at a time; loading and fitting, which only the watcher's
        # thread does, go on outside it, so the page scrubs the frames shown meanwhile.
        self._drawing = threading.Lock()

    # --- reloading ---------------------------------------------------------------------------

    def reload(self) -> list[str]:
        """Read the spec again and prepare its scene; the lines of what went wrong (also kept
        for the page), none if the page shows the new scene. Called from one thread only."""
        # Entering catch_warnings resets the warnings already shown once, so each reload shows
        # its own; the filters that silence libraries' import warnings stay.
        with warnings.catch_warnings(record=True) as caught:
            self.stage = "reading the spec"
            try:
                source = read_spec(self.spec)
                self.watched = {self.spec.resolve(), *_files(source)}
                plan = validate(apply_overrides(source, self.overrides), default_registry())
                self.shown = self._prepare(plan)
                self.errors = []
            except Exception as exc:
                self.errors = failure_lines(exc)
            self.warnings = [f"warning: {w.message}" for w in caught]
            self.reloads += 1
            self.stage = "error" if self.errors else "ready"
            return self.errors

    def _prepare(self, plan: Plan) -> _Shown:
        dataset = plan.dataset
        data_key = (
            dataset.cls.__module__,
            dataset.cls.__qualname__,
            dataset.options.model_dump_json(),
            str(dataset.base_dir),
        )
        report = _Stages(self)
        if self._data is None or self._data[0] != data_key:
            self._data = (data_key, engine.load(plan, report))
            self._trajectories = {}
        data, fingerprint = self._data[1]
        keys: dict[str, str] = {}
        for name, resolved in plan.reducers.items():
            with resolved.blame("fit()"):
                reducer = resolved.cls(resolved.options, resolved.base_dir)
            keys[name] = trajectories.cache_key(reducer, fingerprint)
            if keys[name] not in self._trajectories:
                fitted = engine.fit(plan, name, data, fingerprint, self.cache, report)
                self._trajectories[keys[name]] = fitted
                self.obtained += 1
        # Only the trajectories this plan uses stay: a key left behind is never shown again.
        self._trajectories = {key: self._trajectories[key] for key in keys.values()}
        obtained = {name: self._trajectories[key] for name, key in keys.items()}
        with self._drawing:
            prepared = engine.prepare(plan, obtained=obtained, loaded=(data, fingerprint))
        return _Shown(prepared, _digest(plan, fingerprint, keys))

    # --- frames ------------------------------------------------------------------------------

    def frame_png(self, digest: str, frame: int) -> bytes | None:
        """The PNG of a frame of the scene named digest; None if the page shows another scene
        now or it has no such frame; raises what drawing it raised."""
        key = (digest, frame)
        with self._drawing:
            shown = self.shown
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key]
            if shown is None or shown.digest != digest or not 0 <= frame < shown.prepared.frames:
                return None
            buffer = io.BytesIO()
            Image.fromarray(engine.still(shown.prepared, frame)).save(buffer, format="PNG")
            self._frames[key] = png = buffer.getvalue()
            while sum(map(len, self._frames.values())) > FRAME_BYTES and len(self._frames) > 1:
                self._frames.popitem(last=False)
            return png

    def frame_values(self, digest: str, frame: int) -> dict[str, Any] | None:
        """The values a frame's titles can show, as JSON-ready values; None as for frame_png."""
        shown = self.shown
        if shown is None or shown.digest != digest or not 0 <= frame < shown.prepared.frames:
            return None
        prepared = shown.prepared
        values = prepared.frame(prepared.shot_of(frame)).values
        return {name: _plain(value) for name, value in values.items()}

    def state(self) -> dict[str, Any]:
        """What the page polls: the scene shown, its frames, and what went wrong."""
        shown = self.shown
        scene: dict[str, Any] | None = None
        if shown is not None:
            spec = shown.prepared.plan.spec
            scene = {
                "digest": shown.digest,
                "frames": shown.prepared.frames,
                "fps": spec.timeline.fps,
                "width": spec.width,
                "height": spec.height,
            }
        return {
            "spec": str(self.spec),
            "scene": scene,
            "errors": self.errors,
            "warnings": self.warnings,
            "stage": self.stage,
            "reloads": self.reloads,
            "obtained": self.obtained,
        }


class _Stages:
    """A reporter that shows the current stage of work (loading, fitting) in the page."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @contextmanager
    def stage(self, description: str, total: int | None, unit: str = "") -> Iterator[Task]:
        self.session.stage = description

        def task(done: int, total: int | None = total) -> None:
            self.session.stage = f"{description}: {done} of {total}" if total else description

        yield task

    def info(self, message: str) -> None:
        pass


def failure_lines(exc: Exception) -> list[str]:
    """The lines the page shows for exc: specanim's errors as the command prints them; any
    other (a fault in specanim itself) in one line too, so the preview goes on."""
    if isinstance(exc, SpecanimError):
        return message_lines(exc)
    return [f"error: {describe_exception(exc)}"]


def _files(source: Source) -> set[Path]:
    """The files a spec was read from (itself and what it extends) and its local plugins'
    files or folders, as absolute paths."""
    files = {
        Path(origin.where).resolve()
        for table in (source.origins, source.key_origins)
        for origin in table.values()
        if origin.line is not None  # written in a file, not given by --set
    }
    data = source.data if isinstance(source.data, dict) else {}
    plugins = data.get("plugins")
    for i, name in enumerate(plugins if isinstance(plugins, list) else []):
        if isinstance(name, str):
            files.add((source.origin(("plugins", i)).base_dir / name).resolve())
    return files


def _digest(plan: Plan, fingerprint: str, keys: dict[str, str]) -> str:
    """A name for the frames of a plan: its resolved spec, its local plugins' code, its data
    and its trajectories decide every pixel."""
    about = {
        "spec": plan.source.data,
        "plugins": [plugin.digest for plugin in plan.plugins],
        "data": fingerprint,
        "trajectories": keys,
    }
    text = json.dumps(about, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """A frame value as JSON has it (numpy scalars as numbers)."""
    return value.item() if hasattr(value, "item") else value
