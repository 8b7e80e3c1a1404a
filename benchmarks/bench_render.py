"""How fast specanim renders, against the hand-made pipeline it replaces, and how much memory.

    pip install -e '.[bench]'
    python benchmarks/bench_render.py [--case seed|million|memory|all] [--frames 60]
                                      [--workers N] [--points 30000] [--out DIR] [--quick]
                                      [--grid pil|plotnine] [--profile]

Cases (see benchmarks/README.md):

seed     the seed scene, 30,000 MNIST points, 200 UMAP snapshots: N frames by the hand-made
         pipeline (plotnine PNGs + ffmpeg) and by ``specanim render``; frames/s and their ratio.
million  1,000,000 synthetic points, 30 snapshots, rendered by specanim: frames/s.
memory   70,000 points, 500 snapshots, rendered by specanim to mp4: the peak memory of the
         specanim process and all its children, at 100 and at 500 frames.

``--profile`` also renders a few seed and million-point frames with ``--workers 1``, the render
phase under cProfile, and prints where the time of a frame goes. Everything is written to
``--out`` (default: a new temporary folder, printed at the end), results included as
results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import handmade  # noqa: E402  (after the sys.path entry above)
import measure  # noqa: E402
import scenes  # noqa: E402

TIMED_CLI = HERE / "timed_specanim.py"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "specanim-bench"
TARGET_RATIO = 10.0  # specanim vs the hand-made pipeline, seed scene
NOTEBOOK_FPS = 0.39  # the original notebook's frames/s, measured on these 2-core machines
TARGET_MILLION_FPS = 2.0
TARGET_MEMORY = 1.5e9  # bytes


@dataclass(frozen=True)
class Sizes:
    """How big each case is."""

    seed_points: int
    seed_frames: int
    million_points: int
    million_snapshots: int
    memory_points: int
    memory_snapshots: int
    memory_frames: tuple[int, ...]
    profile_frames: int


FULL = Sizes(30_000, 200, 1_000_000, 30, 70_000, 500, (100, 500), 20)
QUICK = Sizes(2_000, 6, 50_000, 6, 5_000, 20, (10, 20), 4)


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


def specanim(
    spec: Path, output: Path, frames: int, workers: int, label: str, memory: bool = True
) -> tuple[measure.Run, dict[str, Any]]:
    """``specanim render SPEC -o OUTPUT --frames 0:FRAMES --workers W --cache off -q`` in a new
    process, timed from start to exit, with its phases timed inside (timed_specanim.py)."""
    times_file = output.with_suffix(".times.json")
    # fmt: off
    command = [
        sys.executable, str(TIMED_CLI), str(times_file),
        "render", str(spec), "-o", str(output), "--frames", f"0:{frames}",
        "--workers", str(workers), "--cache", "off", "-q",
    ]
    # fmt: on
    env = {**os.environ, "SPECANIM_CACHE_DIR": str(output.parent / "specanim-cache")}
    say(f"  specanim: {label} ...")
    result = measure.run(command, sample_memory=memory, env=env)
    if result.returncode != 0:
        raise SystemExit(
            f"specanim render failed (exit {result.returncode}):\n{result.stderr.strip()}\n"
            f"command: {' '.join(command)}"
        )
    times = json.loads(times_file.read_text()) if times_file.is_file() else {}
    return result, times


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


def specanim_row(
    case: str, points: int, frames: int, run: measure.Run, times: dict[str, Any]
) -> Row:
    row = Row(
        case,
        "specanim",
        points,
        frames,
        run.seconds,
        times.get("render"),
        run.peak_bytes or None,
        run.memory_kind,
        run.cpu,
        {"phases": times},
    )
    say(f"  specanim: {frames} frames in {run.seconds:.1f} s = {row.fps:.2f} frames/s end to end")
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


def seed_case(args: argparse.Namespace, sizes: Sizes, out: Path) -> list[Row]:
    """The seed scene by the hand-made pipeline and by specanim, on the same trajectory."""
    say(f"\n== seed: {sizes.seed_points:,} MNIST points, {sizes.seed_frames} frames ==")
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
    frames = min(sizes.seed_frames, scene.snapshots)

    say(
        f"  hand-made pipeline: plotnine PNG per frame, digit grid by {args.grid}, "
        "then ffmpeg libx264"
    )
    import plotnine  # noqa: F401  (imported before the clock starts, as in a warm notebook)

    hand_mp4 = out / "seed_handmade.mp4"
    with measure.CpuWatch() as cpu:
        split = handmade.render(
            tiled, labels, images, frames, scene.epochs, out / "handmade_frames", hand_mp4, say,
            grid=args.grid,
        )  # fmt: skip
    hand = Row(
        "seed",
        f"hand-made (plotnine, {args.grid} grid)",
        scene.points,
        frames,
        cpu.seconds,
        cpu=cpu,
        extra=split,
    )
    say(
        f"  hand-made: {frames} frames in {cpu.seconds:.1f} s = {hand.fps:.2f} frames/s "
        f"(drawing {split['frames']:.1f} s, ffmpeg {split['encode']:.1f} s)"
    )
    say(f"             {cpu.describe()}")

    spec_mp4 = out / "seed_specanim.mp4"
    run, times = specanim(
        scene.spec, spec_mp4, frames, args.workers, f"{frames} frames, {args.workers} workers"
    )
    ours = specanim_row("seed", scene.points, frames, run, times)
    ours.extra["ratio"] = ours.fps / hand.fps
    ours.extra["ratio_vs_notebook"] = ours.fps / NOTEBOOK_FPS
    say(
        f"  ratio: specanim is {ours.fps / hand.fps:.1f}x the hand-made pipeline "
        f"(target >= {TARGET_RATIO:g}x)"
    )
    compare(hand_mp4, spec_mp4, frames, out / "seed_side_by_side.png", ours)
    return [hand, ours]


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
    row.extra["video_check"] = {
        "handmade": [a.width, a.height, a.frames, a.codec],
        "specanim": [b.width, b.height, b.frames, b.codec],
        "same_size": same,
    }


def million_case(args: argparse.Namespace, sizes: Sizes, out: Path) -> list[Row]:
    """A million synthetic points in moving clusters, rendered by specanim."""
    n, count = sizes.million_points, sizes.million_snapshots
    say(f"\n== million: {n:,} synthetic points, {count} snapshots ==")
    snapshots, labels = scenes.cluster_snapshots(n, count)
    note = f"{n:,} synthetic points: 10 Gaussian clusters drifting and contracting, no images"
    scene = scenes.write_scene(out / "inputs", "million", snapshots, labels, None, note)
    del snapshots
    say(f"  scene: {scene.spec}")
    run, times = specanim(
        scene.spec,
        out / "million.mp4",
        count,
        args.workers,
        f"{count} frames, {args.workers} workers",
    )
    row = specanim_row("million", n, count, run, times)
    video = measure.decode(out / "million.mp4", -1)
    measure.save_picture(video.picture, out / "million_last_frame.png")
    say(
        f"  last frame: {out / 'million_last_frame.png'} ({video.width}x{video.height}, "
        f"{video.frames} frames)"
    )
    return [row]


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
                f"{r.seconds:.1f}",
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


def verdicts(rows: list[Row]) -> list[str]:
    """One line per target: met or not."""
    out = []
    for r in rows:
        if r.case == "seed" and "ratio" in r.extra:
            ratio = r.extra["ratio"]
            met = "met" if ratio >= TARGET_RATIO else "NOT met"
            out.append(
                f"seed: specanim {ratio:.1f}x the hand-made pipeline's frames/s, end to end "
                f"(target >= {TARGET_RATIO:g}x): {met}; "
                f"{r.extra['ratio_vs_notebook']:.1f}x the notebook's recorded "
                f"{NOTEBOOK_FPS} frames/s"
            )
        if r.case == "million":
            phase = r.render_fps or r.fps
            if r.fps >= TARGET_MILLION_FPS:
                met = "met"
            else:
                met = "met in the render phase only" if phase >= TARGET_MILLION_FPS else "NOT met"
            out.append(
                f"million: {r.fps:.2f} frames/s end to end, {phase:.2f} in the render phase "
                f"(target >= {TARGET_MILLION_FPS:g}): {met}"
            )
    peaks = [(r.peak_bytes, r.frames, r.memory_kind) for r in rows if r.case == "memory"]
    measured = [(peak, frames, kind) for peak, frames, kind in peaks if peak]
    if measured:
        listed = ", ".join(
            f"{peak / 1e9:.2f} GB at {frames} frames" for peak, frames, _ in measured
        )
        met = "met" if max(peak for peak, _, _ in measured) < TARGET_MEMORY else "NOT met"
        out.append(f"memory: peak {measured[0][2]} {listed} (target < 1.5 GB): {met}")
    return out


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
    busy = [r for r in rows if r.cpu and r.cpu.other_cores > 0.2]
    if busy:
        say(
            f"WARNING: other processes were busy during {len(busy)} of the runs (others' load): "
            "the machine was shared, and those numbers understate the speed"
        )
    for line in ([] if args.quick else verdicts(rows)) + notes:
        say(line)
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
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    say(f"outputs and results.json in {out}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--case",
        choices=("seed", "million", "memory", "all"),
        default="all",
        help="which measurements to run (default all)",
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
        choices=("pil", "plotnine"),
        default="plotnine",
        help="hand-made digit grid: a 2nd plotnine plot, as the notebook drew everything with "
        "plotnine (the default), or pasted with PIL (a cheaper, stricter baseline)",
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
    cases: dict[str, Callable[[argparse.Namespace, Sizes, Path], list[Row]]] = {
        "seed": seed_case,
        "million": million_case,
        "memory": memory_case,
    }
    rows: list[Row] = []
    for name, case in cases.items():
        if args.case in (name, "all"):
            rows += case(args, sizes, out)
    if args.profile:
        profile_case(args, sizes, out)
    notes = []
    if args.quick:
        notes.append(
            "--quick: small sizes and a stand-in trajectory; a smoke test, not a measurement"
        )
    report(rows, args, out, notes)


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
