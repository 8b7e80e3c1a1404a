"""Small synthetic scenes for the panel and view tests, built with specanim.testing: no reducer,
no data set on disk."""

from __future__ import annotations

import numpy as np

from specanim.components import Panel
from specanim.draw.timeline import Shot, make_frame
from specanim.testing import make_scene, render_panel
from specanim.values import Frame, Scene, Trajectory

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
    return make_scene(snapshots).trajectory


def scene(
    coords: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    snapshots: list[np.ndarray] | None = None,
    images: np.ndarray | None = None,
    classes: int = 2,
    epochs: int | None = None,
) -> Scene:
    """A scene on black with COLORS; snapshots default to [coords] (two clusters), or to
    epochs + 1 copies of coords (an optimisation of that many epochs that does not move)."""
    if coords is None or labels is None:
        coords, labels = two_clusters()
    if snapshots is None:
        snapshots = [coords] * (1 if epochs is None else epochs + 1)
    return make_scene(
        snapshots,
        labels,
        classes=[f"class {k}" for k in range(classes)],
        images=images,
        palette=list(COLORS[:classes]),
    )


def frame(scene: Scene, position: float = 0.0, seed: int = 0) -> Frame:
    """The frame the engine makes at a position of the scene's trajectory (with the spec's seed
    ``seed``), as the first of the animation's frames."""
    return make_frame(scene.trajectory, Shot(position), 0, len(scene.trajectory), seed)


def render(panel: Panel, frame: Frame, width: int, height: int) -> np.ndarray:
    """The panel's view of a frame, rendered alone by vl-convert: (height, width, 3) uint8."""
    return render_panel(panel, None, panel.scene, frame, width, height)


def digit_images(labels: np.ndarray, size: int = 8) -> np.ndarray:
    """(n, size, size) uint8 images: class k is a bar in column k (so classes differ), and each
    image differs from the others of its class by one lit pixel whose place is its index."""
    n = len(labels)
    images = np.zeros((n, size, size), np.uint8)
    for i, k in enumerate(labels):
        images[i, 1:-1, 1 + k % (size - 2)] = 255
        images[i, (i // size) % size, i % size] = 128
    return images
