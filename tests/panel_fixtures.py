"""Small synthetic scenes for the panel and view tests: no reducer, no data set on disk."""

from __future__ import annotations

from typing import Any

import numpy as np

from specanim.components import Data, Frame, Panel, Scene, Step, Trajectory
from specanim.render import standalone, to_rgb

COLORS = ("#ff0000", "#00ff00", "#0000ff", "#ffff00")  # pure colours: easy to find in pixels


def two_clusters(n: int = 200, spread: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """n points of class 0 around (-5, 0) and n of class 1 around (5, 0), interleaved."""
    rng = np.random.default_rng(7)
    labels = np.tile([0, 1], n)
    centres = np.where(labels[:, None] == 0, [-5.0, 0.0], [5.0, 0.0])
    coords = centres + rng.normal(scale=spread, size=(2 * n, 2))
    return coords.astype(np.float32), labels.astype(np.int64)


def trajectory(snapshots: list[np.ndarray] | np.ndarray) -> Trajectory:
    """A trajectory of the given (n, 2) layouts, one epoch each."""
    stack = np.asarray(snapshots, np.float32)
    return Trajectory(stack, tuple(Step(i) for i in range(len(stack))), len(stack) - 1)


def scene(
    coords: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    snapshots: list[np.ndarray] | None = None,
    images: np.ndarray | None = None,
    classes: int = 2,
) -> Scene:
    """A scene on black with COLORS; snapshots default to [coords] (two clusters)."""
    if coords is None or labels is None:
        coords, labels = two_clusters()
    data = Data(
        features=coords.astype(np.float32),
        labels=labels,
        classes=tuple(f"class {k}" for k in range(classes)),
        images=images,
    )
    return Scene(
        data=data,
        trajectory=trajectory(snapshots if snapshots is not None else [coords]),
        colors=COLORS[:classes],
        background="black",
        foreground="white",
        font="Liberation Sans",
    )


def frame(scene: Scene, position: float = 0.0, seed: int = 0, **values: Any) -> Frame:
    """The frame at a position (linear between snapshots), with progress and epoch values."""
    snapshots = scene.trajectory.snapshots
    i = min(int(position), len(snapshots) - 1)
    j = min(i + 1, len(snapshots) - 1)
    f = position - i
    coords = ((1 - f) * snapshots[i] + f * snapshots[j]).astype(np.float32)
    total = max(len(snapshots) - 1, 1)
    defaults = {
        "epoch": i,
        "epochs": total,
        "iteration": i,
        "phase": "",
        "progress": position / total,
        "frame": i,
        "frames": len(snapshots),
    }
    return Frame(
        index=i, position=position, coords=coords, values={**defaults, **values}, seed=seed
    )


def render(panel: Panel, frame: Frame, width: int, height: int) -> np.ndarray:
    """The panel's view for a frame, rendered alone by vl-convert: (height, width, 3) uint8."""
    return to_rgb(standalone(panel.view(frame, width, height), panel.scene.background))


def digit_images(labels: np.ndarray, size: int = 8) -> np.ndarray:
    """(n, size, size) uint8 images: class k is a bar in column k (so classes differ), and each
    image differs from the others of its class by one lit pixel whose place is its index."""
    n = len(labels)
    images = np.zeros((n, size, size), np.uint8)
    for i, k in enumerate(labels):
        images[i, 1:-1, 1 + k % (size - 2)] = 255
        images[i, (i // size) % size, i % size] = 128
    return images
