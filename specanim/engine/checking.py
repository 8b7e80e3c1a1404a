"""Checking an output against its manifest: its frames rendered again, to a temporary place,
each compared with the manifest's digest as it is drawn."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specanim.components import Executor
from specanim.engine.progress import Reporter
from specanim.engine.rendering import Prepared, render
from specanim.store import manifest as manifests
from specanim.store.manifest import Comparing, Differs, Outcome


def check(
    prepared: Prepared,
    manifest: Mapping[str, Any],
    *,
    executor: Executor[Any] | None = None,
    report: Reporter | None = None,
) -> Outcome:
    """Render prepared's frames again and compare each frame's pixels with manifest (see
    ``manifest.checkable``): the first that differs, or that all match."""
    plan = prepared.plan
    output = plan.output
    recorded = manifest["frames"]
    expected: list[str] = recorded["sha256"]
    first, size = int(recorded["first"]), (recorded["width"], recorded["height"])
    hints = manifests.differences(prepared, manifest)
    if (plan.spec.width, plan.spec.height) != tuple(size):
        lines = [
            f"{output}: every frame differs: the frames are {plan.spec.width}x{plan.spec.height}"
            f", the manifest's {size[0]}x{size[1]}"
        ]
        return Outcome(1, lines + hints)
    stop = min(first + len(expected), prepared.frames)
    with tempfile.TemporaryDirectory(prefix="specanim-check-") as folder:
        again = dataclasses.replace(
            prepared, plan=dataclasses.replace(plan, output=Path(folder) / output.name)
        )
        try:
            if first < stop:
                render(
                    again,
                    frames=slice(first, stop),
                    executor=executor,
                    report=report,
                    recorder=Comparing(expected),
                )
        except Differs as differs:
            number = first + differs.index
            seconds = number / plan.spec.timeline.fps
            lines = [
                f"{output}: frame {number} (at {seconds:.2f} s) is the first whose pixels differ "
                f"from the manifest's; {differs.index} of {len(expected)} frames matched before it"
            ]
            return Outcome(1, lines + hints)
        rendered = stop - first
        if rendered != len(expected):
            lines = [
                f"{output}: the first {max(rendered, 0)} frames match, but the spec now makes "
                f"{prepared.frames} frames: the manifest has frames {first} to "
                f"{first + len(expected) - 1}"
            ]
            return Outcome(1, lines + hints)
        same_bytes = manifests.digest(again.plan.output)["sha256"] == manifest["output"]["sha256"]
    line = f"{output}: all {len(expected)} frames match the manifest"
    if len(expected) == 1:
        line = f"{output}: its one frame matches the manifest"
    if same_bytes:
        return Outcome(0, [f"{line}, and the encoded output is byte-identical"])
    return Outcome(
        0, [f"{line}; the encoded bytes differ (another encoder or library version?)", *hints]
    )
