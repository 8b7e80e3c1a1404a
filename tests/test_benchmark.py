"""The benchmark's smoke test: ``benchmarks/bench_render.py --quick`` runs every case end to end
(the hand-made pipeline in both forms, specanim, the per-frame split, the cold start) at small
sizes and prints its summary. It measures nothing; it keeps the script working."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT.parent / "shared" / "data" / "mnist"


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"the MNIST test digits are not in {MNIST}")
def test_quick_benchmark_runs_every_case_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_render.py"),
            "--quick",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout
    summary = text[text.index("== results ==") :]
    for line in (
        "machine: ",
        "seed: specanim ",  # a ratio against each form of the hand-made pipeline
        "the hand-made notebook form, all plotnine's frames/s",
        "the hand-made PIL-grid form's frames/s",
        "frame: one seed frame on one core, drawn and encoded",
        "million (specanim, points): ",
        "memory: peak ",
        "cold start: the README's first command in ",
        "still: ",
        "others' load: ",
        "| case | result | target |",  # the Markdown table for docs/speed.md
    ):
        assert line in summary, f"{line!r} missing from the summary:\n{summary}"
    # The per-frame split names its parts; the cold start its phases.
    for part in (
        "vl-convert: Vega to SVG",
        "PNG decoding",
        "painting",
        "encoding",
        "view: scatter",
    ):
        assert part in text
    for phase in ("start-up", "load", "fit", "panels", "first frame", "render", "finish"):
        assert f"{phase} " in text
    # The memory report names the render workers, and the server they are forked from.
    assert "; worker " in text and "; worker server " in text
    # Every run but the cold one's first has specanim's modules byte-compiled, and they stay so.
    rendering = ROOT / "specanim" / "engine" / "rendering.py"
    assert Path(importlib.util.cache_from_source(str(rendering))).is_file()
    results = json.loads((out / "results.json").read_text())
    cases = {row["case"] for row in results["rows"]}
    assert cases == {"seed", "frame", "million", "memory", "cold", "still"}
    assert (out / "speed.md").read_text().count("\n| ") >= 9


def test_a_process_that_outlives_the_command_counts_as_its_cpu_not_its_wall_time() -> None:
    """As the worker server outlives specanim's main process by a moment: its CPU time is the
    command's, not another process's, and the wall time ends with the command."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import measure

    busy = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    orphan = (
        "import subprocess, sys; "
        f"subprocess.Popen([sys.executable, '-c', {busy!r}], stderr=subprocess.DEVNULL)"
    )
    run = measure.run([sys.executable, "-c", orphan])
    assert run.returncode == 0
    assert run.cpu.ours >= 0.5
    assert run.seconds < 0.45
