"""How fast specanim renders, against the hand-made pipeline it replaces, and how much memory.

    pip install -e '.[bench]'
    python benchmarks/bench_render.py [--case all|seed,frame,million,memory,cold] [--frames 200]
                                      [--workers N] [--points 30000] [--out DIR] [--quick]
                                      [--grid both|pil|plotnine] [--profile]

Cases (see benchmarks/README.md):

seed     the seed scene, 30,000 MNIST points, 200 UMAP snapshots: N frames by the hand-made
         pipeline in both its forms (the notebook's all-plotnine frames, and plotnine with the
         digit grid pasted by PIL), each + ffmpeg, and by ``specanim render``; frames/s, ratios.
frame    one seed frame on one core, split into its parts (bench_frame.py).
million  1,000,000 synthetic points, 30 snapshots, rendered by specanim: frames/s (and again
         with the scatter's ``shade: density``, where the scatter has it).
memory   70,000 points, 500 snapshots, rendered by specanim to mp4: the peak memory of the
         specanim process and all its children, at 100 and at 500 frames.
cold     the README's first command in a fresh process with empty trajectory and numba caches
         and specanim's modules not yet byte-compiled (as after a fresh clone), split into its
         phases; then ``specanim still`` with the trajectory cached, ``--help`` and
         ``validate``, each the median of a few runs.

Every other run has specanim's modules byte-compiled, as every run after the first has.

``--profile`` also renders a few seed and million-point frames with ``--workers 1``, the render
phase under cProfile, and prints where the time of a frame goes. Everything is written to
``--out`` (default: a new temporary folder, printed at the end), results included as
results.json. The run ends with the results table, the targets met or not, and a Markdown
table for the docs' Speed page (docs/speed.md).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import handmade  # noqa: E402  (after the sys.path entry above)
import measure  # noqa: E402
import scenes  # noqa: E402
from bench_frame import describe_split  # noqa: E402

TIMED_CLI = HERE / "timed_specanim.py"
FRAME_SCRIPT = HERE / "bench_frame.py"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "specanim-bench"
FIRST_SPEC = scenes.REPO / "specs" / "digits_umap.yaml"  # the README's first command renders it

GRIDS: tuple[handmade.Grid, ...] = ("plotnine", "pil")  # the hand-made pipeline's two forms
FORM = {"plotnine": "notebook form, all plotnine", "pil": "PIL-grid form"}
NOTEBOOK_FPS = 0.39  # the original notebook's frames/s, measured on these 2-core machines
TARGET_RATIO = {"plotnine": 30.0, "pil": 15.0}  # specanim's frames/s over each form's
TARGET_FRAME_MS = 60.0  # one seed frame on one core, drawn and encoded
TARGET_MILLION_FPS = 8.0
TARGET_MEMORY = 1.0e9  # bytes, all processes together
FLAT = 1.10  # "flat in frame count": the longest render's peak at most 10 % above the shortest's
TARGET_COLD = 40.0  # seconds: the README's first command on a fresh install
TARGET_STILL = 1.5  # seconds: ``specanim still`` with the trajectory cached
DENSITY = "panels.scatter.shade=density"


@dataclass(frozen=True)
class Sizes:
    """How big each case is."""

    seed_points: int
    seed_frames: int
    split_frames: int
    million_points: int
    million_snapshots: int
    memory_points: int
    memory_snapshots: int
    memory_frames: tuple[int, ...]
    profile_frames: int
    runs: int  # of each short command in the cold case (the median is reported)


FULL = Sizes(30_000, 200, 20, 1_000_000, 30, 70_000, 500, (100, 500), 20, 5)
QUICK = Sizes(2_000, 3, 3, 50_000, 4, 5_000, 20, (10, 20), 4, 1)


@dataclass
class Row:
    """One line of the results table."""

    case: str
    renderer: str
    points: int
    frames: int
    seconds: float
    render_seconds: float | None = None  # specanim's render phase alone (frames + encoding)
    peak_bytes: int | None = None
    memory_kind: str = ""
    cpu: measure.CpuWatch | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    @property
    def render_fps(self) -> float | None:
        return self.frames / self.render_seconds if self.render_seconds else None


def say(text: str) -> None:
    print(text, flush=True)


# --- specanim ---------------------------------------------------------------------------------


def timed_command(times_file: Path, *arguments: str) -> list[str]:
    """The command that runs ``specanim ARGUMENTS`` with its phases timed into times_file."""
    return [sys.executable, str(TIMED_CLI), str(times_file), *arguments]


def specanim(
    spec: Path,
    output: Path,
    frames: int,
    workers: int,
    label: str,
    memory: bool = True,
    more: Sequence[str] = (),
) -> tuple[measure.Run, dict[str, Any]]:
    """``specanim render SPEC -o OUTPUT --frames 0:FRAMES --workers W --cache off -q MORE`` in a
    new process, timed from start to exit, with its phases timed inside (timed_specanim.py)."""
    times_file = output.with_suffix(".times.json")
    command = timed_command(
        times_file, "render", str(spec), "-o", str(output), "--frames", f"0:{frames}",
        "--workers", str(workers), "--cache", "off", "-q", *more,
    )  # fmt: skip
    env = {**os.environ, "SPECANIM_CACHE_DIR": str(output.parent / "specanim-cache")}
    say(f"  specanim: {label} ...")
    result = measure.run(command, sample_memory=memory, env=env)
    check(result, command)
    return result, read_times(times_file)


def check(result: measure.Run, command: Sequence[str]) -> None:
    """Stop the benchmark if a command failed."""
    if result.returncode != 0:
        raise SystemExit(
            f"command failed (exit {result.returncode}):\n{result.stderr.strip()}\n"
            f"command: {' '.join(command)}"
        )


def read_times(times_file: Path) -> dict[str, Any]:
    times: dict[str, Any] = json.loads(times_file.read_text()) if times_file.is_file() else {}
    return times


def phases(times: dict[str, Any]) -> str:
    """specanim's phases as one line: startup, prepare, first frame, render."""
    if "render" not in times:
        return "phases not recorded"
    render = times["render"]
    parts = [
        f"start-up {times.get('prepare_start', 0):.1f} s",
        f"prepare {times.get('prepare', 0):.1f} s",
        f"render {render:.1f} s",
    ]
    if "waiting" in times:  # the frame stream was timed
        waiting = times["waiting"]
        parts[-1] += (
            f" (first frame after {times.get('first_frame', 0):.1f} s, "
            f"main process waiting for frames {waiting:.1f} s, "
            f"encoding etc. {render - waiting:.1f} s)"
        )
    return ", ".join(parts)


def split_phases(seconds: float, times: dict[str, Any]) -> dict[str, float]:
    """A command's wall time (seconds, from its start to its exit) split into phases that sum
    to it: "start-up" (Python, imports, reading the spec; of which "imports" is the first part),
    "load" (the dataset), "fit" (or reading the cached trajectory), "panels" (building them,
    drawing the static parts), then for a render "first frame" (from the end of preparing to
    the first frame: starting the workers, their first frame) and "render" (the rest of the
    frames and encoding), for a still "frame"; "finish" is what follows (writing the manifest
    or the PNG, ending the process)."""
    outside = seconds - times["total"]  # the interpreter's start and end, before our timers
    start, prepared = times["prepare_start"], times["prepare_start"] + times["prepare"]
    fit_start = times.get("fit_start", start)
    fit_end = fit_start + times.get("fit", 0.0)
    out = {
        "start-up": outside + start,
        "load": fit_start - start,
        "fit": fit_end - fit_start,
        "panels": prepared - fit_end,
    }
    if "render" in times:
        first = times["render_start"] - prepared + times.get("first_frame", 0.0)
        out["first frame"] = first
        out["render"] = times["render"] - times.get("first_frame", 0.0)
        end = times["render_start"] + times["render"]
    else:
        out["frame"] = times["still_start"] + times["still"] - prepared
        end = times["still_start"] + times["still"]
    out["finish"] = times["total"] - end + 0.0
    out["imports"] = times["imported"]  # a part of start-up, listed on its own
    return out


def describe_phases(parts: dict[str, float]) -> str:
    """Phases as one line, start-up's imports in brackets."""
    text = []
    for name, value in parts.items():
        if name == "imports":
            continue
        extra = f" (imports {parts['imports']:.2f} s)" if name == "start-up" else ""
        text.append(f"{name} {value:.2f} s{extra}")
    return ", ".join(text)


def specanim_row(
    case: str,
    points: int,
    frames: int,
    run: measure.Run,
    times: dict[str, Any],
    renderer: str = "specanim",
) -> Row:
    row = Row(
        case,
        renderer,
        points,
        frames,
        run.seconds,
        times.get("render"),
        run.peak_bytes or None,
        run.memory_kind,
        run.cpu,
        {"phases": times},
    )
    say(f"  {renderer}: {frames} frames in {run.seconds:.1f} s = {row.fps:.2f} frames/s end to end")
    say(f"            {run.cpu.describe()}")
    say(f"            {phases(times)}")
    if run.peak_bytes:
        say(
            f"            peak {run.memory_kind} {run.peak_bytes / 1e6:,.0f} MB "
            f"({run.peak_processes} processes: {run.memory_breakdown})"
        )
        row.extra["memory_trace"] = run.memory_trace
    return row


# --- the cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """The seed scene as written for this run, and the arrays the hand-made pipeline draws."""

    scene: scenes.Scene
    snapshots: Any  # (S, n, 2) float32
    labels: Any
    images: Any
    note: str


def seed_scene(args: argparse.Namespace, sizes: Sizes, out: Path) -> Seed:
    """Write the seed scene's inputs into out/inputs (the UMAP fit comes from the cache)."""
    digits = scenes.load_mnist()
    if args.quick:
        snapshots = scenes.stand_in_snapshots(digits, 20)
        layout = "a stand-in trajectory (random layout -> PCA), not UMAP (--quick)"
        say(f"  {layout}")
    else:
        snapshots, how = scenes.umap_snapshots(digits, args.cache, log=say)
        layout = f"UMAP, {len(snapshots)} snapshots, random_state {scenes.UMAP_SEED}"
        say(f"  {how}")
    tiled, source = scenes.tile(snapshots, sizes.seed_points)
    copies = -(-sizes.seed_points // len(digits.labels))
    note = f"{layout}; {min(sizes.seed_points, len(digits.labels)):,} real MNIST test digits"
    if copies > 1:
        note += (
            f", repeated {copies}x (each copy shifted by a fixed jitter of {scenes.JITTER:g} x "
            f"the layout's spread) to reach {sizes.seed_points:,} points"
        )
    labels, images = digits.labels[source], digits.images[source]
    scene = scenes.write_scene(
        out / "inputs", "seed", tiled, labels, images, note, epochs=len(tiled)
    )
    say(f"  scene: {scene.spec} ({note})")
    return Seed(scene, tiled, labels, images, note)


def seed_case(args: argparse.Namespace, sizes: Sizes, out: Path) -> list[Row]:
    """The seed scene by the hand-made pipeline, in each form, and by specanim, on the same
    trajectory."""
    say(f"\n== seed: {sizes.seed_points:,} MNIST points, {sizes.seed_frames} frames ==")
    seed = seed_scene(args, sizes, out)
    scene = seed.scene
    frames = min(sizes.seed_frames, scene.snapshots)
    import plotnine  # noqa: F401  (imported before the clock starts, as in a warm notebook)

    rows, videos = [], {}
    for grid in GRIDS if args.grid == "both" else (args.grid,):
        say(
            f"  hand-made pipeline, {FORM[grid]}: plotnine PNG per frame, digit grid by "
            f"{grid}, then ffmpeg libx264"
        )
        videos[grid] = out / f"seed_handmade_{grid}.mp4"
        with measure.CpuWatch() as cpu:
            split = handmade.render(
                seed.snapshots, seed.labels, seed.images, frames, scene.epochs,
                out / f"handmade_frames_{grid}", videos[grid], say, grid=grid,
            )  # fmt: skip
        hand = Row(
            "seed", f"hand-made, {FORM[grid]}", scene.points, frames, cpu.seconds, cpu=cpu,
            extra={**split, "grid": grid},
        )  # fmt: skip
        say(
            f"  hand-made ({FORM[grid]}): {frames} frames in {cpu.seconds:.1f} s = "
            f"{hand.fps:.2f} frames/s (drawing {split['frames']:.1f} s, "
            f"ffmpeg {split['encode']:.1f} s)"
        )
        say(f"             {cpu.describe()}")
        rows.append(hand)

    spec_mp4 = out / "seed_specanim.mp4"
    run, times = specanim(
        scene.spec, spec_mp4, frames, args.workers, f"{frames} frames, {args.workers} workers"
    )
    ours = specanim_row("seed", scene.points, frames, run, times)
    ours.extra["ratios"] = {hand.extra["grid"]: ours.fps / hand.fps for hand in rows}
    ours.extra["ratio_vs_notebook"] = ours.fps / NOTEBOOK_FPS
    for hand in rows:
        grid = hand.extra["grid"]
        say(
            f"  ratio: specanim is {ours.fps / hand.fps:.1f}x the hand-made {FORM[grid]} "
            f"(target >= {TARGET_RATIO[grid]:g}x)"
        )
        compare(videos[grid], spec_mp4, frames, out / f"seed_side_by_side_{grid}.png", ours)
    return [*rows, ours]


def compare(hand_mp4: Path, spec_mp4: Path, frames: int, png: Path, row: Row) -> None:
    """Check both videos have the same frame size and count; save their last frames side by side."""
    a, b = measure.decode(hand_mp4, -1), measure.decode(spec_mp4, -1)
    same = (a.width, a.height) == (b.width, b.height)
    say(
        f"  videos: hand-made {a.width}x{a.height} {a.codec} {a.frames} frames, specanim "
        f"{b.width}x{b.height} {b.codec} {b.frames} frames: "
        f"{'same size' if same else 'SIZES DIFFER'}"
    )
    measure.side_by_side(
        a.picture,
        b.picture,
        (f"hand-made (plotnine + ffmpeg), frame {frames - 1}", f"specanim, frame {frames - 1}"),
        png,
    )
    say(f"  side by side: {png}")
    row.extra.setdefault("video_check", {})[hand_mp4.stem] = {
        "handmade": [a.width, a.height, a.frames, a.codec],
        "specanim": [b.width, b.height, b.frames, b.codec],
        "same_size": same,
    }


def frame_case(args: argparse.Namespace, sizes: Sizes, out: Path) -> list[Row]:
    """One seed frame on one core, split into its parts: bench_frame.py in a process of its
    own, pinned to one core."""
    frames = sizes.split_frames
    say(f"\n== frame: one seed frame on one core, {frames} frames timed ==")
    spec = out / "inputs" / "seed.yaml"
    if not spec.is_file():
        seed_scene(args, sizes, out)
    result_file = out / "frame_split.json"
    command = [
        sys.executable, str(FRAME_SCRIPT), str(spec), "--frames", str(frames),
        "--one-core", "--json", str(result_file),
    ]  # fmt: skip
    env = {**os.environ, "SPECANIM_CACHE_DIR": str(out / "specanim-cache")}
    run = measure.run(command, env=env)
    check(run, command)
    result = json.loads(result_file.read_text())
    parts: dict[str, float] = result["split"]
    say(
        f"  {result['points']:,} points: embedded {result['embedded'] * 1000:.1f} ms, painted "
        f"{result['painted'] * 1000:.1f} ms a frame (largest pixel difference "
        f"{result['difference']:.0f}); the painted frame drawn and encoded, by part:"
    )
    for line in describe_split(parts):
        say(f"    {line}")
    say(f"  {run.cpu.describe()}")
    row = Row(
        "frame", "specanim, 1 core", result["points"], 1, parts["total"], cpu=run.cpu,
        extra={"split": parts, "embedded": result["embedded"], "painted": result["painted"]},
    )  # fmt: skip
    return [row]


def density_supported() -> bool:
    """Whether this specanim's scatter has ``shade: density``."""
    from specanim_panels.scatter import ScatterOptions

    shade = ScatterOptions.model_fields.get("shade")
    return shade is not None and "density" in str(shade.annotation)


def million_case(args: argparse.Namespace, sizes: Sizes, out: Path) -> list[Row]:
    """A million synthetic points in moving clusters, rendered by specanim: points, and the
    scatter's density shading where it has it."""
    n, count = sizes.million_points, sizes.million_snapshots
    say(f"\n== million: {n:,} synthetic points, {count} snapshots ==")
    snapshots, labels = scenes.cluster_snapshots(n, count)
    note = f"{n:,} synthetic points: 10 Gaussian clusters drifting and contracting, no images"
    scene = scenes.write_scene(out / "inputs", "million", snapshots, labels, None, note)
    del snapshots
    say(f"  scene: {scene.spec}")
    ways: list[tuple[str, list[str]]] = [("points", [])]
    if density_supported():
        ways.append(("shade: density", ["--set", DENSITY]))
    else:
        say("  this scatter has no `shade: density`: points only")
    rows = []
    for way, more in ways:
        name = "million" if not more else "million_density"
        run, times = specanim(
            scene.spec, out / f"{name}.mp4", count, args.workers,
            f"{way}, {count} frames, {args.workers} workers", more=more,
        )  # fmt: skip
        rows.append(specanim_row("million", n, count, run, times, f"specanim, {way}"))
        video = measure.decode(out / f"{name}.mp4", -1)
        measure.save_picture(video.picture, out / f"{name}_last_frame.png")
        say(
            f"  last frame: {out / f'{name}_last_frame.png'} ({video.width}x{video.height}, "
            f"{video.frames} frames)"
        )
    return rows


def memory_case(args: argparse.Namespace, sizes: Sizes, out: Path) -> list[Row]:
    """Peak memory of specanim's process tree rendering 70,000 points at two frame counts."""
    n, count = sizes.memory_points, sizes.memory_snapshots
    say(f"\n== memory: {n:,} points, {count} snapshots ==")
    snapshots, labels = scenes.cluster_snapshots(n, count, seed=1)
    images = scenes.images_for(labels, scenes.load_mnist())
    note = (
        f"{n:,} synthetic points in moving clusters, {count} snapshots, each with a real MNIST "
        "image of its class (so the digit grid is drawn)"
    )
    scene = scenes.write_scene(out / "inputs", "memory", snapshots, labels, images, note)
    del snapshots
    say(f"  scene: {scene.spec} ({note})")
    kind = "PSS" if measure.pss_available() else "RSS"
    say(f"  memory: the summed {kind} of specanim and all its children, sampled every 0.2 s")
    rows = []
    for frames in sizes.memory_frames:
        run, times = specanim(
            scene.spec,
            out / f"memory_{frames}.mp4",
            frames,
            args.workers,
            f"{frames} frames, {args.workers} workers",
        )
        rows.append(specanim_row("memory", n, frames, run, times))
    return rows


def cold_case(args: argparse.Namespace, sizes: Sizes, out: Path) -> list[Row]:
    """The README's first command, ``specanim render specs/digits_umap.yaml``, in a fresh
    process with empty trajectory and numba caches (umap-learn and pynndescent keep compiled
    functions in numba's cache), split into phases; then ``specanim still`` of the same spec
    with its trajectory cached, ``--help`` and ``validate``: each the median of sizes.runs."""
    folder = out / "cold"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = {
        **os.environ,
        "SPECANIM_CACHE_DIR": str(folder / "specanim-cache"),
        "NUMBA_CACHE_DIR": str(folder / "numba-cache"),
    }
    more = ["--set", "reducer={type: pca}", "--frames", "0:5"] if args.quick else []
    spec = str(FIRST_SPEC.relative_to(scenes.REPO))
    byte_compiled(False)
    say(f"\n== cold: specanim render {spec}, empty trajectory and numba caches ==")
    if args.quick:
        say("  --quick: the pca reducer and 5 frames instead of UMAP's whole animation")
    command = timed_command(
        folder / "render.times.json", "render", spec, "-o", str(folder / "first.mp4"),
        "--workers", str(args.workers), "-q", *more,
    )  # fmt: skip
    run = measure.run(command, env=env, cwd=scenes.REPO)
    check(run, command)
    times = read_times(folder / "render.times.json")
    video = measure.decode(folder / "first.mp4", -1)
    parts = split_phases(run.seconds, times)
    say(f"  {video.frames} frames in {run.seconds:.1f} s: {describe_phases(parts)}")
    libraries = ", ".join(f"{k} {v:.2f} s" for k, v in times.get("libraries", {}).items())
    say(f"  first imports (each includes the ones it made): {libraries or 'none timed'}")
    say(f"  {run.cpu.describe()}")
    byte_compiled(True)
    rows = [
        Row(
            "cold", f"render {FIRST_SPEC.name}, first run", 1797, video.frames, run.seconds,
            times.get("render"), cpu=run.cpu, extra={"phases": parts, "times": times},
        )
    ]  # fmt: skip

    still = [*more[:2], "-q"]
    runs = []
    for i in range(sizes.runs):
        times_file = folder / f"still{i}.times.json"
        command = timed_command(times_file, "still", spec, "-o", str(folder / "still.png"), *still)
        runs.append((measure.run(command, env=env, cwd=scenes.REPO), times_file))
        check(runs[-1][0], command)
    median, times_file = sorted(runs, key=lambda r: r[0].seconds)[len(runs) // 2]
    parts = split_phases(median.seconds, read_times(times_file))
    say(
        f"  specanim still {spec}, trajectory cached: median of {len(runs)} runs "
        f"{median.seconds:.2f} s: {describe_phases(parts)}"
    )
    rows.append(
        Row(
            "still", "still, trajectory cached", 1797, 1, median.seconds, cpu=median.cpu,
            extra={"phases": parts, "runs": [r.seconds for r, _ in runs]},
        )
    )  # fmt: skip

    console = Path(sys.executable).with_name("specanim")
    cli = [str(console)] if console.is_file() else [sys.executable, "-m", "specanim"]
    for label, arguments in (("--help", ["--help"]), ("validate", ["validate", spec])):
        command = [*cli, *arguments]
        seconds = []
        for _ in range(sizes.runs):
            result = measure.run(command, env=env, cwd=scenes.REPO)
            check(result, command)
            seconds.append(result.seconds)
        say(f"  specanim {' '.join(arguments)}: median of {len(seconds)} runs "
            f"{statistics.median(seconds):.2f} s")  # fmt: skip
        rows[0].extra[label] = seconds
    return rows


def profile_case(args: argparse.Namespace, sizes: Sizes, out: Path) -> None:
    """Render a few frames of the seed and the million scenes (those this run wrote) with
    --workers 1, the render phase under cProfile (which slows it down somewhat); print where
    the time goes."""
    plans = (("seed", sizes.profile_frames), ("million", max(sizes.profile_frames // 4, 3)))
    for name, frames in plans:
        spec = out / "inputs" / f"{name}.yaml"
        if not spec.is_file():
            continue
        say(f"\n== profile: {frames} {name} frames, --workers 1, cProfile ==")
        stats_file = out / f"profile_{name}.pstats"
        times_file = out / f"profile_{name}.times.json"
        command = [
            sys.executable, str(TIMED_CLI), str(times_file),
            "render", str(spec), "-o", str(out / f"profile_{name}.mp4"),
            "--frames", f"0:{frames}", "--workers", "1", "--cache", "off", "-q",
        ]  # fmt: skip
        env = {**os.environ, "SPECANIM_BENCH_PROFILE": str(stats_file)}
        result = measure.run(command, env=env)
        if result.returncode != 0:
            say(f"  profiling failed: {result.stderr.strip()}")
            continue
        times = json.loads(times_file.read_text())
        say(f"  {phases(times)}")
        summarise_profile(stats_file, times, frames)


def summarise_profile(stats_file: Path, times: dict[str, Any], frames: int, top: int = 16) -> None:
    """Where a frame's time goes: the functions called at least once per frame, by cumulative
    and by own time, in ms per frame. One-off work (imports, loading) is left out: the phases
    line above shows it."""
    stats = pstats.Stats(str(stats_file))
    rows: list[tuple[float, float, int, str]] = []
    entries = stats.stats.items()  # type: ignore[attr-defined]
    for (filename, line, name), (_, calls, self_time, cumulative, _) in entries:
        if calls < frames or "timed_specanim" in filename or "importlib" in filename:
            continue
        where = filename
        for marker in ("site-packages/", "/specanim/", "/plugins/", "/lib/python3"):
            if marker in filename:
                where = filename.split(marker, 1)[1]
                break
        rows.append((cumulative, self_time, calls, f"{where}:{line}({name})"))
    per = 1000 / frames
    render = times.get("render", 0.0)
    say(
        f"  render phase {render:.2f} s = {render * per:.0f} ms per frame, encoder included "
        f"(its final flush: {(render - times.get('stream', render)) * per:.0f} ms per frame)"
    )
    say(f"  per-frame functions, cumulative ms/frame (top {top}):")
    for cumulative, _, calls, name in sorted(rows, reverse=True)[:top]:
        say(f"    {cumulative * per:8.1f}  {calls:6d}x  {name}")
    say(f"  per-frame functions, own ms/frame (top {top}):")
    for _, self_time, calls, name in sorted(rows, key=lambda r: -r[1])[:top]:
        say(f"    {self_time * per:8.1f}  {calls:6d}x  {name}")


# --- the report -------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    """The results as a fixed-width table."""
    head = (
        "case",
        "renderer",
        "points",
        "frames",
        "wall s",
        "frames/s",
        "render-phase f/s",
        "peak memory",
        "CPU-s",
        "others' load",
    )
    lines = [head]
    for r in rows:
        memory = f"{r.peak_bytes / 1e9:.2f} GB {r.memory_kind}" if r.peak_bytes else "-"
        render = f"{r.render_fps:.2f}" if r.render_fps else "-"
        ours = f"{r.cpu.ours:.0f}" if r.cpu else "-"
        others = f"{r.cpu.other_cores:.2f} cores" if r.cpu else "-"
        lines.append(
            (
                r.case,
                r.renderer,
                f"{r.points:,}",
                str(r.frames),
                f"{r.seconds:.2f}" if r.seconds < 10 else f"{r.seconds:.1f}",
                f"{r.fps:.2f}",
                render,
                memory,
                ours,
                others,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def verdicts(rows: list[Row]) -> list[str]:
    """One line per target: met or not."""
    out = []
    for r in rows:
        if r.case == "seed" and "ratios" in r.extra:
            for grid, ratio in r.extra["ratios"].items():
                target = TARGET_RATIO[grid]
                out.append(
                    f"seed: specanim {ratio:.1f}x the hand-made {FORM[grid]}'s frames/s, end "
                    f"to end (target >= {target:g}x): {met(ratio >= target)}"
                )
            out.append(
                f"seed: specanim {r.fps:.2f} frames/s = {r.extra['ratio_vs_notebook']:.1f}x "
                f"the notebook's recorded {NOTEBOOK_FPS} frames/s"
            )
        if r.case == "frame":
            ms = r.seconds * 1000
            out.append(
                f"frame: one seed frame on one core, drawn and encoded, {ms:.1f} ms "
                f"(target <= {TARGET_FRAME_MS:g} ms): {met(ms <= TARGET_FRAME_MS)}"
            )
        if r.case == "million":
            phase = r.render_fps or r.fps
            verdict = met(r.fps >= TARGET_MILLION_FPS)
            if r.fps < TARGET_MILLION_FPS <= phase:
                verdict = "met in the render phase only"
            out.append(
                f"million ({r.renderer}): {r.fps:.2f} frames/s end to end, {phase:.2f} in the "
                f"render phase (target >= {TARGET_MILLION_FPS:g}): {verdict}"
            )
        if r.case == "cold":
            out.append(
                f"cold start: the README's first command in {r.seconds:.1f} s on a fresh install "
                f"(target < {TARGET_COLD:g} s): {met(r.seconds < TARGET_COLD)}"
            )
        if r.case == "still":
            out.append(
                f"still: {r.seconds:.2f} s with the trajectory cached (target < "
                f"{TARGET_STILL:g} s): {met(r.seconds < TARGET_STILL)}"
            )
    peaks = [(r.peak_bytes, r.frames, r.memory_kind) for r in rows if r.case == "memory"]
    measured = [(peak, frames, kind) for peak, frames, kind in peaks if peak]
    if measured:
        listed = ", ".join(
            f"{peak / 1e9:.2f} GB at {frames} frames" for peak, frames, _ in measured
        )
        top = max(peak for peak, _, _ in measured)
        shortest, longest = min(measured, key=lambda m: m[1]), max(measured, key=lambda m: m[1])
        growth = longest[0] / shortest[0]
        flat = growth <= FLAT
        out.append(
            f"memory: peak {measured[0][2]} {listed} (target < {TARGET_MEMORY / 1e9:g} GB, flat "
            f"in frame count): {met(top < TARGET_MEMORY and flat)} ({growth:.2f}x from "
            f"{shortest[1]} to {longest[1]} frames: {'flat' if flat else 'GROWS'})"
        )
    return out


def others_load(rows: list[Row]) -> float:
    """Cores other processes kept busy, averaged over the runs weighted by their time."""
    timed = [r.cpu for r in rows if r.cpu and r.cpu.seconds]
    wall = sum(c.seconds for c in timed)
    return sum(c.others for c in timed) / wall if wall else 0.0


def markdown(rows: list[Row], machine: dict[str, str], workers: int) -> str:
    """The results as the Speed page's table (docs/speed.md), with the machine line above it."""
    lines = [
        f"Measured with `benchmarks/bench_render.py` on {machine['cores']} cores "
        f"({machine['cpu']}, {machine['ram']}), other processes keeping "
        f"{others_load(rows):.2f} cores busy on average, specanim with {workers} render "
        "workers:",
        "",
        "| case | result | target |",
        "|---|---|---|",
    ]
    ours = next((r for r in rows if r.case == "seed" and "ratios" in r.extra), None)
    for r in rows:
        if r.case == "seed" and "grid" in r.extra:
            grid = r.extra["grid"]
            ratio = f"; specanim {ours.extra['ratios'][grid]:.1f}x" if ours else ""
            lines.append(
                f"| seed scene, {r.points:,} points, {r.frames} frames, 1100x800 mp4: hand-made, "
                f"{FORM[grid]} | {r.fps:.2f} frames/s{ratio} | specanim >= "
                f"{TARGET_RATIO[grid]:g}x |"
            )
        elif r.case == "seed":
            lines.append(
                f"| the same scene and trajectory with specanim, end to end | "
                f"{r.fps:.2f} frames/s | |"
            )
        elif r.case == "frame":
            split = r.extra["split"]
            top = sorted((k for k in split if k != "total"), key=lambda k: -split[k])[:4]
            parts = ", ".join(f"{k} {split[k] * 1000:.0f}" for k in top)
            lines.append(
                f"| one seed frame on one core, drawn and encoded (ms: {parts}) | "
                f"{r.seconds * 1000:.0f} ms | <= {TARGET_FRAME_MS:g} ms |"
            )
        elif r.case == "million":
            render = f" (render phase {r.render_fps:.2f})" if r.render_fps else ""
            lines.append(
                f"| {r.points:,} points, {r.frames} frames, end to end, "
                f"{r.renderer.removeprefix('specanim, ')} | {r.fps:.2f} frames/s{render} | "
                f">= {TARGET_MILLION_FPS:g} |"
            )
        elif r.case == "memory" and r.peak_bytes:
            lines.append(
                f"| {r.points:,} points, {r.frames} frames: peak memory of all processes "
                f"({r.memory_kind}) | {r.peak_bytes / 1e9:.2f} GB | < {TARGET_MEMORY / 1e9:g} GB, "
                "flat |"
            )
        elif r.case == "cold":
            p = r.extra["phases"]
            split = ", ".join(f"{k} {v:.1f}" for k, v in p.items() if k != "imports")
            lines.append(
                f"| `specanim render specs/digits_umap.yaml` on a fresh install (s: {split}) | "
                f"{r.seconds:.1f} s | < {TARGET_COLD:g} s |"
            )
        elif r.case == "still":
            lines.append(
                f"| `specanim still` with the trajectory cached | {r.seconds:.2f} s | "
                f"< {TARGET_STILL:g} s |"
            )
    return "\n".join(lines)


def report(rows: list[Row], args: argparse.Namespace, out: Path, notes: list[str]) -> None:
    machine, versions = measure.machine(), measure.versions()
    versions["ffmpeg"] = measure.ffmpeg_version(handmade.ffmpeg_exe())
    say("\n== results ==")
    say(
        f"machine: {machine['cores']} cores, {machine['cpu']}, {machine['ram']} RAM; "
        f"{machine['os']}; Python {machine['python']}"
    )
    say("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    say(
        f"specanim workers: {args.workers}; frames/s = frames / wall time of the whole command "
        "(start-up, loading and encoding included); render-phase = specanim's render() alone"
    )
    say(table(rows))
    say(f"others' load: {others_load(rows):.2f} cores on average over the runs")
    busy = [r for r in rows if r.cpu and r.cpu.other_cores > 0.2]
    if busy:
        say(
            f"WARNING: other processes were busy during {len(busy)} of the runs (others' load): "
            "the machine was shared, and those numbers understate the speed"
        )
    for line in verdicts(rows) + notes:
        say(line)
    text = markdown(rows, machine, args.workers)
    say("\nfor docs/speed.md's table:\n")
    say(text)
    (out / "speed.md").write_text(text + "\n", encoding="utf-8")
    results = {
        "machine": machine,
        "versions": versions,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "rows": [
            {
                **r.__dict__,
                "cpu": r.cpu and r.cpu.__dict__,
                "fps": r.fps,
                "render_fps": r.render_fps,
            }
            for r in rows
        ],
        "verdicts": verdicts(rows),
        "others_load": others_load(rows),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    say(f"\noutputs, speed.md and results.json in {out}")


CASES = ("seed", "frame", "million", "memory", "cold")


def cases(text: str) -> tuple[str, ...]:
    """--case: "all" or names joined by commas."""
    chosen = CASES if text == "all" else tuple(c.strip() for c in text.split(","))
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown case {', '.join(unknown)}: choose from all, {', '.join(CASES)}"
        )
    return chosen


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--case",
        type=cases,
        default=CASES,
        help=f"which measurements to run: all (the default) or some of {', '.join(CASES)}, "
        "joined by commas",
    )
    parser.add_argument(
        "--frames", type=int, help=f"seed frames to render (default {FULL.seed_frames})"
    )
    parser.add_argument(
        "--points", type=int, help=f"seed scene points (default {FULL.seed_points:,})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=measure.machine_cores(),
        help="specanim --workers (default: all cores)",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: a new temporary folder)")
    parser.add_argument(
        "--cache", type=Path, default=CACHE, help=f"UMAP fit cache (default {CACHE})"
    )
    parser.add_argument(
        "--grid",
        choices=("both", *GRIDS),
        default="both",
        help="the hand-made pipeline's forms: its digit grid as a 2nd plotnine plot, as the "
        "notebook drew everything with plotnine, or pasted with PIL (a cheaper, stricter "
        "baseline); default both",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test in < 1 min")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile --workers 1 renders of seed and million frames with cProfile",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    sizes = _sizes(QUICK if args.quick else FULL, args)
    out = args.out or Path(tempfile.mkdtemp(prefix="specanim-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    say(f"specanim benchmark{' (--quick)' if args.quick else ''}: outputs in {out}")
    run: dict[str, Callable[[argparse.Namespace, Sizes, Path], list[Row]]] = {
        "seed": seed_case,
        "frame": frame_case,
        "million": million_case,
        "memory": memory_case,
        "cold": cold_case,
    }
    rows: list[Row] = []
    for name in CASES:
        if name in args.case:
            byte_compiled(True)  # as on every run after the first (cold_case undoes it)
            rows += run[name](args, sizes, out)
    if args.profile:
        profile_case(args, sizes, out)
    notes = []
    if args.quick:
        notes.append(
            "--quick: small sizes and a stand-in trajectory; a smoke test, not a measurement"
        )
    report(rows, args, out, notes)


def byte_compiled(compiled: bool) -> None:
    """specanim's own modules byte-compiled, as on every run after its first (the interpreter
    keeps them in __pycache__), or not, as in a fresh clone. Where PYTHONDONTWRITEBYTECODE is
    set, as in the shells these figures were measured in, no run keeps them: every process, the
    main one and each worker, would compile specanim's modules again, 0.06-0.1 s each. pip
    compiles an installed package's modules, but not an editable install's."""
    for folder in (scenes.REPO / "specanim", scenes.REPO / "plugins"):
        if compiled:
            compileall.compile_dir(folder, quiet=1)
        else:
            for pyc in folder.rglob("__pycache__/*.pyc"):
                pyc.unlink()


def _sizes(base: Sizes, args: argparse.Namespace) -> Sizes:
    """base with --points and --frames applied to the seed scene."""
    values = dict(vars(base))
    if args.points:
        values["seed_points"] = args.points
    if args.frames:
        values["seed_frames"] = args.frames
    return Sizes(**values)


if __name__ == "__main__":
    main()
