"""The explorer page (``specanim render SPEC -o scene.html``), measured: its size, how long it
takes to open and how fast it plays in headless Chromium, and what it does with a million points.

    .venv/bin/python benchmarks/bench_explorer.py
    .venv/bin/python benchmarks/bench_explorer.py --points 30000 --snapshots 200 --seconds 5

The scene is the seed scene's (specs/mnist_umap.yaml: title, progress line, scatter, digit grid)
with 30,000 points in ten drifting clusters over 200 snapshots, written as plain files (the
``file`` dataset with real MNIST images chosen by class, and a ``precomputed`` trajectory), so
nothing is fitted. The page is rendered by the real command line, then opened from disk in
Debian's Chromium (software rendering: ``--disable-gpu``), offline:

* size: the page's bytes;
* open: from navigation to the page's ``specanim.ready`` (the arrays inflated, Vega's template
  compiled, frame 0 drawn), the best of three loads;
* play: frames drawn per second while it plays at 4x speed for ``--seconds`` (it cannot draw
  more frames than requestAnimationFrame calls it, about 60 a second); each drawn frame
  interpolates and draws every point and updates Vega's parts;
* a million points: the page of a million points (20 snapshots): its size, its note and its
  frames per second.

Other processes on a 2-core machine skew every number: it prints the machine's load beside them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scenes  # noqa: E402  (the benchmark's own inputs, beside this script)
from measure import machine_cpu  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

TARGETS = {"size_mb": 25.0, "open_s": 2.0, "fps": 30.0}


def write(folder: Path, name: str, points: int, snapshots: int, images: bool) -> Path:
    """A scene of points in moving clusters, with MNIST images by class if images."""
    snaps, labels = scenes.cluster_snapshots(points, snapshots)
    pictures = scenes.images_for(labels, scenes.load_mnist()) if images else None
    scene = scenes.write_scene(folder, name, snaps, labels, pictures, "synthetic clusters")
    return scene.spec


def render(spec: Path) -> tuple[Path, float, str]:
    """The page of spec, rendered by the command line: its path, seconds, and what it said."""
    page = spec.with_suffix(".html")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "specanim", "render", spec.name, "-o", page.name],
        cwd=spec.parent,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return page, time.perf_counter() - started, done.stderr.strip()


def measure(page: Path, seconds: float) -> dict[str, Any]:
    """Open, load time and playing speed of page in headless Chromium."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"size_mb": page.stat().st_size / 1e6}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        opens = []
        for _ in range(3):
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.goto(page.as_uri())
            tab.wait_for_function("window.specanim !== undefined")
            opens.append(tab.evaluate("window.specanim.ready.then(() => performance.now())") / 1000)
            tab.close()
        out["open_s"] = min(opens)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto(page.as_uri())
        tab.wait_for_function("window.specanim !== undefined")
        tab.evaluate("window.specanim.ready")
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.evaluate("window.specanim.state.speed = 4")
        busy, started = machine_cpu()[0], time.perf_counter()
        before = tab.evaluate("[window.specanim.paints, performance.now()]")
        tab.evaluate("window.specanim.play()")
        tab.wait_for_timeout(seconds * 1000)
        after = tab.evaluate("[window.specanim.paints, performance.now()]")
        out["fps"] = (after[0] - before[0]) / ((after[1] - before[1]) / 1000)
        # cores kept busy while it played, by the browser and anything else
        out["load"] = (machine_cpu()[0] - busy) / (time.perf_counter() - started)
        out["note"] = tab.text_content("#note") or ""
        out["errors"] = errors
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--points", type=int, default=30_000)
    parser.add_argument("--snapshots", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long it plays")
    parser.add_argument("--million", type=int, default=1_000_000, help="0: skip that case")
    parser.add_argument("--out", type=Path, default=None, help="where the pages go")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="specanim-explorer-"))
    print(f"pages in {folder}")
    cases = [("seed", args.points, args.snapshots, True)]
    if args.million:
        cases.append(("million", args.million, 20, False))
    rows = []
    for name, points, snapshots, images in cases:
        spec = write(folder, name, points, snapshots, images)
        page, seconds, said = render(spec)
        found = measure(page, args.seconds)
        rows.append((name, points, snapshots, seconds, found, said))
    print()
    print("| scene | points | snapshots | written in | size | opens in | plays at | cores busy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, points, snapshots, seconds, found, _ in rows:
        print(
            f"| {name} | {points:,} | {snapshots} | {seconds:.1f} s | {found['size_mb']:.1f} MB "
            f"| {found['open_s']:.2f} s | {found['fps']:.0f} frames/s | {found['load']:.2f} |"
        )
    for name, *_, found, said in rows:
        for line in [said, found["note"], *found["errors"]]:
            if line:
                print(f"{name}: {line}")
    seed = rows[0][4]
    print()
    for key, limit in TARGETS.items():
        ok = seed[key] >= limit if key == "fps" else seed[key] <= limit
        print(f"{'met' if ok else 'MISSED'}: {key} {seed[key]:.2f} (target {limit:g})")


if __name__ == "__main__":
    main()
