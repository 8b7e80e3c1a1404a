"""Rendering a prepared scene: every frame drawn on an executor, in order, encoded as it
arrives, its digest told to a recorder (the manifest's writer)."""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from specanim import versions
from specanim.components import Executor, FrameSink
from specanim.draw.raster import use_compiled_loops_for
from specanim.engine import pictures
from specanim.engine.frames import in_order
from specanim.engine.pickling import pickle_problem
from specanim.engine.prepared import Prepared
from specanim.engine.progress import Quiet, Reporter
from specanim.errors import UserError
from specanim.spec.validate import Plan, Resolved
from specanim.store import manifest
from specanim.store.output import (
    atomic_path,
    check_free,
    check_target,
    noting_replaced,
    output_lock,
)
from specanim.store.workdir import FrameStore, Keeping


class Recorder(Protocol):
    """What keeps the record of a render: ``render`` tells ``frame`` the digest of every frame
    as it is written, and places the files ``beside`` names (a manifest) with the output, in
    one step, once all are written."""

    def frame(self, index: int, digest: str) -> None: ...

    def beside(self, output: Path, written: Path) -> dict[Path, str]:
        """The files (path: text) to place with output, whose bytes are at written."""
        ...


@dataclass(frozen=True)
class Result:
    """What a render wrote."""

    path: Path
    frames: int
    width: int
    height: int
    fps: float


def select(prepared: Prepared, frames: slice | None) -> list[tuple[int, int]]:
    """(shot index, repeat) pairs for the frames a slice of the animation asks for."""
    wanted = range(prepared.frames)[frames or slice(None)]
    counts = collections.Counter(prepared.shot_of(f) for f in wanted)
    return sorted(counts.items())


def render(
    prepared: Prepared,
    *,
    frames: slice | None = None,
    executor: Executor[Any] | None = None,
    report: Reporter | None = None,
    resume: bool = False,
    recorder: Recorder | None = None,
) -> Result:
    """Render the frames (all, or a slice) on executor (an entered one; None: in this process)
    and encode them to the plan's output as they arrive. The recorder (default: a
    ``manifest.Writer``, whose manifest is placed with the output in one step) is told the
    SHA-256 of every frame's RGB pixels (``pictures.digest``) as it is written, once per frame
    (a held frame once per repeat).

    With resume, every picture is kept in a work folder beside the output (see workdir) and
    read from there when an earlier, interrupted render made it; the folder goes when the
    output is complete, and stays when the render fails or is interrupted with frames in it (a
    note on the exception says how many).
    """
    report = report or Quiet()
    plan, spec = prepared.plan, prepared.plan.spec
    target = plan.output
    check_output(plan)
    chosen = select(prepared, frames)
    wanted = range(prepared.frames)[frames or slice(None)]
    total = sum(n for _, n in chosen)
    if total == 0:
        raise UserError(f"--frames selects no frame: the animation has {prepared.frames}")
    if executor is not None and executor.remote and len(chosen) > 1:
        check_picklable(prepared)
    encoder_entry = plan.encoder
    with encoder_entry.blame("__init__()"):
        encoder = encoder_entry.cls(encoder_entry.options)
    with encoder_entry.blame("converter()"):
        convert = encoder.converter()
    record = recorder or manifest.Writer(prepared, wanted.start)
    with output_lock(target), noting_replaced(target) as replaced:
        store = FrameStore.open(target, fingerprint(prepared)) if resume else None
        if store is not None:
            store.tell_reused(chosen)
        # What draws a shot: its (height, width, 3) uint8 pixels, or, with a converter, a uint8
        # array packing the encoder's converted frame and the pixels' digest (``pictures``).
        draw: Callable[[int], np.ndarray]
        draw = prepared.pixels if store is None else Keeping(prepared.pixels, store)
        if convert is not None:  # the workers convert each frame and hash its pixels
            draw = pictures.Converting(draw, convert, encoder_entry, tuple(prepared.starts))
        try:
            with (
                atomic_path(target, lambda written: record.beside(target, written)) as tmp,
                report.stage("rendering", total, "frames") as task,
            ):
                with encoder_entry.blame("open()"):
                    sink = encoder.open(tmp, spec.width, spec.height, spec.timeline.fps)
                converted = convert is not None
                _encode(prepared, chosen, wanted, draw, executor, sink, converted, record, task)
        except BaseException as exc:
            if store is not None:
                kept = store.frames_kept(chosen)
                if kept and not replaced():
                    exc.add_note(f"{kept} of {total} frames kept; run again with --resume")
                else:  # nothing worth keeping: leave nothing
                    store.remove()
            raise
        if store is not None:
            store.remove()
    return Result(target, total, spec.width, spec.height, spec.timeline.fps)


def _encode(
    prepared: Prepared,
    chosen: list[tuple[int, int]],
    wanted: range,
    draw: Callable[[int], np.ndarray],
    executor: Executor[Any] | None,
    sink: FrameSink,
    converted: bool,
    recorder: Recorder,
    task: Callable[[int], None],
) -> None:
    """Draw the chosen shots on executor, in order, write each to sink as many times as it is
    repeated (the frames wanted), and tell the recorder every frame's digest."""
    encoder_entry = prepared.plan.encoder
    shots = [i for i, _ in chosen]
    if executor is None or len(shots) <= 1:  # one picture: not worth sending the scene
        use_compiled_loops_for(len(shots))
        drawn: Generator[np.ndarray, None, None] = (draw(i) for i in shots)
    else:
        drawn = in_order(
            executor, draw, shots, lambda i: f"frame {prepared.starts[i]}", prepared.plan.plugins
        )
    done = 0
    # closing: an error in the encoder cancels the frames not started yet now, not at garbage
    # collection.
    with closing(drawn):
        try:
            for (_, repeat), picture in zip(chosen, drawn, strict=True):
                if converted:
                    frame, digest = pictures.unpack(picture)
                else:
                    frame = picture
                    digest = pictures.digest(picture)
                for k in range(repeat):
                    with encoder_entry.blame(f"write() of frame {wanted[done + k]}"):
                        if converted:
                            sink.write_converted(frame)
                        else:
                            sink.write(frame)
                    recorder.frame(done + k, digest)
                done += repeat
                task(done)
        finally:
            with encoder_entry.blame("close()"):
                sink.close()


def check_output(plan: Plan) -> None:
    """UserError, before any work, if the plan's output cannot be written or would replace what
    is not a previous output of its kind: the spec itself, its data, a folder of other files,
    the current folder, a device (``output.check_target``), or another process renders it now."""
    check_target(plan.output, *output_kind(plan))
    check_free(plan.output)


def output_kind(plan: Plan) -> tuple[bool, dict[Path, str]]:
    """Whether the plan's output is a folder (of frames), and the paths it must never replace,
    with what each is."""
    keep = {plan.source.file: "the spec itself"}
    entries: list[Resolved[Any]] = [plan.dataset, *plan.reducers.values()]
    for entry in entries:
        for name, value in entry.options:
            if isinstance(value, Path) or (name == "path" and isinstance(value, str)):
                keep[entry.base_dir / value] = f"the {entry.cls.kind} {name} '{value}'"
    for plugin in plan.plugins:
        keep[plugin.path] = f"the local plugin '{plugin.name}'"
    return "" in plan.encoder.cls.extensions, keep


def fingerprint(prepared: Prepared) -> str:
    """A SHA-256 of everything that decides a scene's pixels: the spec (its output and executor
    aside), the code of its local plugins, the data drawn, the trajectories and the versions of
    the libraries that draw."""
    h = hashlib.sha256()
    # The output's path and the executor decide where the frames go and run, not their pixels.
    h.update(prepared.plan.spec.model_dump_json(exclude={"output", "executor"}).encode())
    h.update(repr([(p.name, p.digest) for p in prepared.plan.plugins]).encode())
    data, fitted = prepared.data, prepared.composer.trajectories.values()
    h.update(repr((data.classes, [(t.steps, t.total) for t in fitted])).encode())
    for array in (data.labels, data.images, *(t.snapshots for t in fitted)):
        if array is not None:
            array = np.ascontiguousarray(array)
            h.update(f"{array.dtype.str}{array.shape}".encode())
            h.update(array.data.cast("B"))
    h.update(repr(versions.installed("vl-convert-python", "numpy", "pillow")).encode())
    return h.hexdigest()


def check_picklable(prepared: Prepared) -> None:
    """The process contract: every panel must pickle, as render workers receive it pickled.
    A panel that does not is a ComponentError naming its entry, before any frame is drawn."""
    for key, panel in prepared.composer.panels.items():
        problem = pickle_problem(panel)
        if problem is not None:
            raise prepared.plan.panels[key].fault(
                f"cannot be sent to the render worker processes: {problem}; keep only "
                # cloudpickle sends lambdas and closures by value: handles are what fail
                "picklable state in a panel (no open files, sockets, locks or threads: "
                "build them in view()) or render with --workers 1"
            )
