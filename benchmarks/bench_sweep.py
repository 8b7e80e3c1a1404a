"""A 2 x 2 UMAP sweep on the 1,797 scikit-learn digits: fits one after the other in the
command's process (``-w 1``) against fits at once on two local workers (``-w 2``).

Each run is a fresh ``specanim render`` process with an empty trajectory cache, rendering one
frame per job (``--frames 0:1``), so its wall time is start-up plus the four fits. The two
forms alternate, so a change in the machine's load falls on both.

    .venv/bin/python benchmarks/bench_sweep.py [--repeat 2] [--epochs 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """
width: 320
height: 240
dataset: {{type: sklearn-digits}}
reducer: {{type: umap, epochs: {epochs}}}
panels:
  - type: scatter
"""
SWEEP = ["--sweep", "reducer.n_neighbors=5,15", "--sweep", "reducer.min_dist=0.05,0.5"]


def run(folder: Path, workers: int) -> float:
    """Seconds of one sweep with an empty cache."""
    cache = tempfile.mkdtemp(dir=folder)
    command = [sys.executable, "-m", "specanim", "render", "sweep.yaml", *SWEEP]
    command += ["-w", str(workers), "--frames", "0:1", "-q"]
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True, env={**os.environ, "SPECANIM_CACHE_DIR": cache})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "sweep.yaml").write_text(SPEC.format(epochs=args.epochs), encoding="utf-8")
        times: dict[int, list[float]] = {1: [], 2: []}
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for _ in range(args.repeat):
            for workers in (1, 2):
                times[workers].append(run(folder, workers))
                print(f"  -w {workers}: {times[workers][-1]:.1f} s", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        serial, parallel = min(times[1]), min(times[2])
        print(f"2x2 UMAP sweep, {args.epochs} epochs, fastest of {args.repeat}:")
        print(f"  fits one after the other (-w 1): {serial:.1f} s")
        print(f"  fits at once on 2 workers (-w 2): {parallel:.1f} s ({serial / parallel:.2f}x)")


if __name__ == "__main__":
    main()
