"""The five kinds of component a plugin can provide (the values they pass are in ``values``).

A component is a class with a ``name`` (the spec's ``type:``), an ``Options`` pydantic model that
validates the rest of its spec entry, and the one method its kind needs:

    Dataset.load()                          -> Data
    Reducer.fit(data, progress)             -> Trajectory
    Panel.view(frame, box)                  -> View: Vega-Lite, an Altair chart or a RasterLayer
    Encoder.open(path, width, height, fps)  -> FrameSink that takes RGB frames
    Executor.submit(fn, *args)              -> Future; Executor.share(value) -> a handle for jobs

Components are generic over their options model: ``class Legend(Panel[LegendOptions])`` makes
``LegendOptions`` the model that validates the entry and types ``self.options``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

import numpy as np

from specanim.camera import Box
from specanim.options import Options, OptionsT
from specanim.values import Data, Frame, Progress, Scene, Trajectory, View

Kind = Literal["dataset", "reducer", "panel", "encoder", "executor"]
KINDS: tuple[Kind, ...] = ("dataset", "reducer", "panel", "encoder", "executor")


class Component(ABC, Generic[OptionsT]):
    """What every component class declares."""

    kind: ClassVar[Kind]
    name: ClassVar[str]
    Options: ClassVar[type[Options]] = Options
    options: OptionsT

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # ``class Legend(Panel[LegendOptions])`` alone names the options model.
        if "Options" not in cls.__dict__:
            for base in cls.__dict__.get("__orig_bases__", ()):
                args: tuple[Any, ...] = getattr(base, "__args__", ())
                if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], Options):
                    cls.Options = args[0]

    @classmethod
    def summary(cls) -> str:
        """The first line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


# --- the five kinds -------------------------------------------------------------------------


class Dataset(Component[OptionsT]):
    """Loads the points to embed."""

    kind: ClassVar[Kind] = "dataset"

    def __init__(self, options: OptionsT, base_dir: Path) -> None:
        self.options = options
        self.base_dir = base_dir  # relative paths in the spec are relative to the spec file

    @abstractmethod
    def load(self) -> Data:
        """Load the data; raise InputError about anything wrong with it."""


class Reducer(Component[OptionsT]):
    """Fits an embedding and captures its layout as it learns."""

    kind: ClassVar[Kind] = "reducer"
    cacheable: ClassVar[bool] = True  # False: the result depends on more than data and options
    # Per instance: False when two fits of the same data with the same options differ (no fixed
    # seed); such a fit is never cached and a render made from it cannot be checked.
    reproducible: bool = True

    def __init__(self, options: OptionsT, base_dir: Path) -> None:
        self.options = options
        self.base_dir = base_dir

    @classmethod
    def frame_values(cls, options: Any) -> Mapping[str, str]:
        """The extra values (name: description) this reducer records in every ``Step.values``
        with these options; titles and labels may show them as ``{name}``."""
        return {}

    @abstractmethod
    def fit(self, data: Data, progress: Progress) -> Trajectory:
        """Fit data and return every captured snapshot."""

    def versions(self) -> Mapping[str, str]:
        """The versions of the libraries whose results this reducer returns (for caching)."""
        return {}


class Panel(Component[OptionsT]):
    """Draws one part of every frame.

    A panel is built once per render in the main process, then pickled into every render
    worker process: keep only picklable state (no open files, sockets, locks or threads).
    """

    kind: ClassVar[Kind] = "panel"
    dynamic: bool = True  # False: the view is the same in every frame (may be set per instance)
    # The fields (name: description) this panel computes per frame and its Template options may
    # use beyond the frame's values; view() fills them with frame.format(text, name=value).
    template_fields: ClassVar[Mapping[str, str]] = {}

    def __init__(self, options: OptionsT, scene: Scene) -> None:
        self.options = options
        self.scene = scene

    @abstractmethod
    def view(self, frame: Frame, box: Box) -> View:
        """What this panel shows in a frame, filling box.width x box.height pixels: a Vega-Lite
        unit or layer view (positions in pixels, or scales of its own), an Altair chart, a
        RasterLayer of exactly the box's size, or a list of these drawn bottom to top."""


class FrameSink(ABC):
    """An open output that takes frames in order."""

    @abstractmethod
    def write(self, rgb: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 frame."""

    def write_converted(self, frame: np.ndarray) -> None:
        """Append one frame as its encoder's ``converter()`` made it. A render gives a sink
        these instead of RGB frames when its encoder has a converter."""
        raise NotImplementedError(f"{type(self).__name__} takes RGB frames only")

    @abstractmethod
    def close(self) -> None:
        """Finish the output; after this the file is complete."""

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Encoder(Component[OptionsT]):
    """Writes frames to a file (or a folder) of one format."""

    kind: ClassVar[Kind] = "encoder"
    extensions: ClassVar[tuple[str, ...]] = ()  # file endings that choose this encoder: ".mp4"

    def __init__(self, options: OptionsT) -> None:
        self.options = options

    @classmethod
    def check_size(cls, width: int, height: int) -> None:
        """Raise InputError (key "width" or "height") if this format cannot take frames of
        width x height pixels; validation calls it, so the spec's line is named."""

    @abstractmethod
    def open(self, path: Path, width: int, height: int, fps: float) -> FrameSink:
        """Start writing to path; frames are width x height RGB."""

    def converter(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """A picklable function that turns a (height, width, 3) uint8 RGB frame into the array
        this encoder's sinks take with ``write_converted``, or None (the default): sinks take RGB.

        Render workers call it right after drawing a frame, so converting (a video's RGB to
        YUV, say) runs beside the drawing rather than in the process that encodes, and the
        array that travels back may be smaller."""
        return None


T = TypeVar("T")


class Executor(Component[OptionsT]):
    """Runs a render's work: independent jobs (a fit, one spec of a sweep, a frame).

    An executor is a context manager: ``__enter__`` calls ``start()`` (start a pool of
    processes, connect to a cluster), ``__exit__`` calls ``close()``, which ends everything
    ``start()`` started, on errors and Ctrl-C too. One executor may serve several renders. The
    engine renders frames through ``share`` and ``submit``: it shares the scene once per
    render and submits one job per frame, in order, with a bounded number in flight.
    """

    kind: ClassVar[Kind] = "executor"

    def __init__(self, options: OptionsT) -> None:
        self.options = options

    @property
    @abstractmethod
    def slots(self) -> int:
        """How many jobs run at once."""

    def start(self) -> None:
        """Start what the jobs run on; called by ``__enter__``. It may return before the
        workers are ready (they get ready while the caller fits), but not before an address
        that does not answer is an error."""

    def close(self) -> None:
        """End everything ``start()`` started; called by ``__exit__``."""

    @abstractmethod
    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run fn(*args) (both picklable) as one job; its future has its result. A handle
        from ``share`` among args reaches fn as the value it stands for."""

    def share(self, value: Any) -> AbstractContextManager[Any]:
        """A context manager that yields a handle on value (picklable) to pass among submit's
        args: fn receives value itself. value goes to each worker once, not with every job,
        and is let go when the block ends. The default yields value: right for an executor
        whose jobs run in this process."""
        return nullcontext(value)

    @property
    def remote(self) -> bool:
        """Whether submit sends its jobs to other processes (so they must pickle)."""
        return True

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
