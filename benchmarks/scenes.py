"""The benchmark's inputs: trajectories, datasets and scene specs, written to a work folder.

Three scenes are built here, all as plain files that specanim reads through its ``file`` dataset
and ``precomputed`` reducer, so that specanim and the hand-made pipeline draw the very same
points:

* ``seed``: UMAP learning real MNIST digits, one snapshot per epoch. The machines have only the
  10,000 MNIST *test* digits, so UMAP is fitted once on those and the seed scene's 30,000 points
  are the 10,000 repeated three times, each copy shifted by a small fixed jitter.
* ``million``: 1,000,000 synthetic points in 10 Gaussian clusters that drift and contract.
* ``memory``: the same kind of synthetic motion for 70,000 points over 500 snapshots, with real
  MNIST images (chosen by class) so the scene has the seed scene's digit grid.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
SEED_SPEC = REPO / "specs" / "mnist_umap.yaml"
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"

UMAP_EPOCHS = 200
UMAP_SEED = 42
JITTER = 0.004  # a copy's shift, as a fraction of each snapshot's spread (standard deviation)


@dataclass(frozen=True)
class Digits:
    """Real MNIST digits as specanim's mnist dataset reads them."""

    features: np.ndarray  # (n, 784) float32 in 0..1
    labels: np.ndarray  # (n,) int64 digit
    images: np.ndarray  # (n, 28, 28) uint8


@dataclass(frozen=True)
class Scene:
    """A scene written to disk: its spec and what it holds."""

    name: str
    spec: Path
    dataset: Path
    trajectory: Path
    points: int
    snapshots: int
    epochs: int  # the optimisation's length, for the progress line
    note: str  # how the points were made, for the report


# --- MNIST and UMAP ---------------------------------------------------------------------------


def load_mnist(folder: Path = MNIST_DIR) -> Digits:
    """The 10,000 MNIST test digits, read with specanim's own ``mnist`` dataset plugin."""
    from specanim_datasets.mnist import Mnist, MnistOptions

    data = Mnist(MnistOptions(path=folder, split="test"), Path(".")).load()
    assert data.images is not None
    return Digits(data.features, data.labels, data.images)


def umap_snapshots(digits: Digits, cache: Path, log: Any = print) -> tuple[np.ndarray, str]:
    """UMAP's layout after every epoch, (200, n, 2) float32, fitted once and kept in cache.

    ``UMAP(n_epochs=list(range(201)))`` captures one layout per epoch; the last entry repeats the
    one before it (umap-learn 0.5 appends the final layout again) and is dropped. Returns the
    snapshots and a note on where they came from (fitted now, with the time, or read from the
    cache).
    """
    import umap

    key = hashlib.sha256()
    key.update(np.ascontiguousarray(digits.features).data)
    key.update(f"{umap.__version__}-{UMAP_EPOCHS}-{UMAP_SEED}".encode())
    path = cache / f"umap-mnist{len(digits.labels)}-{key.hexdigest()[:16]}.npy"
    if path.is_file():
        return np.load(path), f"UMAP trajectory read from the cache {path}"
    log(f"fitting UMAP on {len(digits.labels):,} MNIST digits, {UMAP_EPOCHS} epochs (~1 min, once)")
    started = time.perf_counter()
    reducer = umap.UMAP(n_epochs=list(range(UMAP_EPOCHS + 1)), random_state=UMAP_SEED)
    reducer.fit(digits.features)
    snapshots = np.stack(reducer.embedding_list_[:-1]).astype(np.float32)
    seconds = time.perf_counter() - started
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.npy")
    np.save(partial, snapshots)
    partial.replace(path)
    return snapshots, f"UMAP fitted in {seconds:.0f} s (incl. numba compilation), cached in {path}"


def stand_in_snapshots(digits: Digits, count: int) -> np.ndarray:
    """A cheap UMAP look-alike for smoke tests: from a random layout to the digits' PCA layout,
    (count, n, 2) float32. Not a real embedding; used by ``--quick`` only."""
    x = digits.features - digits.features.mean(axis=0)
    _, _, vt = np.linalg.svd(x[:2000], full_matrices=False)
    final = (x @ vt[:2].T) * 3.0
    start = np.random.default_rng(0).uniform(0, 10, final.shape)
    t = np.linspace(0, 1, count)[:, None, None] ** 0.5
    return ((1 - t) * start + t * final).astype(np.float32)


def tile(snapshots: np.ndarray, points: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """snapshots (S, n, 2) repeated to points points; (tiled snapshots, source index per point).

    The first copy is the original; each further copy is shifted by a fixed random offset of
    JITTER times the snapshot's spread, so the copies do not sit exactly on top of each other
    and every point still moves smoothly from snapshot to snapshot.
    """
    n = snapshots.shape[1]
    source = np.arange(points) % n
    out = snapshots[:, source, :].astype(np.float32)  # (S, points, 2)
    copies = source != np.arange(points)
    if copies.any():
        offsets = np.random.default_rng(seed).standard_normal((int(copies.sum()), 2))
        spread = snapshots.std(axis=1).mean(axis=1)  # (S,)
        out[:, copies, :] += (JITTER * spread[:, None, None] * offsets[None]).astype(np.float32)
    return out, source


# --- synthetic motion -------------------------------------------------------------------------


def cluster_snapshots(points: int, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """10 Gaussian clusters that drift from a shared blob to a ring and contract as they go.

    Returns (snapshots (count, points, 2) float32, labels (points,) int64 0..9). Each point keeps
    its own offset from its cluster's centre, so it moves smoothly.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, points)
    offsets = rng.standard_normal((points, 2)).astype(np.float32)
    angles = np.linspace(0, 2 * np.pi, 10, endpoint=False) + rng.uniform(0, 0.3, 10)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 10.0
    start = rng.normal(0, 1.5, (10, 2))
    out = np.empty((count, points, 2), np.float32)
    for s, t in enumerate(np.linspace(0, 1, count)):
        ease = t * t * (3 - 2 * t)
        swirl = np.array([[np.cos(ease), -np.sin(ease)], [np.sin(ease), np.cos(ease)]]) * 0.5
        centres = (1 - ease) * start + ease * ring @ swirl.T * 2
        width = np.float32(4.0 * (1 - ease) + 0.8 * ease)
        np.multiply(offsets, width, out=out[s])
        out[s] += centres[labels].astype(np.float32)
    return out, labels.astype(np.int64)


def images_for(labels: np.ndarray, digits: Digits, seed: int = 0) -> np.ndarray:
    """One real MNIST image per label, drawn at random from the digits of that class."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(labels), *digits.images.shape[1:]), np.uint8)
    for digit in range(10):
        mine = np.flatnonzero(labels == digit)
        pool = np.flatnonzero(digits.labels == digit)
        out[mine] = digits.images[rng.choice(pool, len(mine))]
    return out


# --- files ------------------------------------------------------------------------------------


def write_scene(
    folder: Path,
    name: str,
    snapshots: np.ndarray,
    labels: np.ndarray,
    images: np.ndarray | None,
    note: str,
    epochs: int | None = None,
) -> Scene:
    """Write dataset, trajectory and spec of a scene into folder.

    The dataset .npz holds ``X`` (features: the images' pixels if there are images, else the
    final layout: specanim never fits, so any features will do), ``y`` and maybe ``images``. The
    trajectory .npz holds ``snapshots`` and ``epochs``. The spec is specs/mnist_umap.yaml with its
    dataset and reducer replaced (and, without images, the digit grid left out).
    """
    folder.mkdir(parents=True, exist_ok=True)
    count, points, _ = snapshots.shape
    dataset = folder / f"{name}_data.npz"
    trajectory = folder / f"{name}_trajectory.npz"
    arrays: dict[str, np.ndarray] = {"y": labels}
    if images is not None:
        arrays["X"] = images.reshape(len(images), -1)
        arrays["images"] = images
    else:
        arrays["X"] = snapshots[-1]
    np.savez(dataset, **arrays)  # type: ignore[arg-type]
    steps = np.arange(count)
    np.savez(trajectory, snapshots=snapshots, epochs=steps)
    spec = scene_spec(dataset.name, trajectory.name, digit_grid=images is not None)
    if name != "seed":  # as much text to draw as the seed scene's, but no claim about MNIST
        spec["title"] = "Synthetic points in ten moving clusters (a specanim benchmark scene)"
        spec["subtitle"] = "Each point is one synthetic sample"
    path = folder / f"{name}.yaml"
    header = f"# specanim benchmark scene '{name}': {note}\n"
    path.write_text(header + yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    # On disk before anything is timed: while the kernel wrote a million points' 250 MB back,
    # the first render's start-up took 0.4-0.5 s instead of 0.3.
    os.sync()
    total = int(epochs if epochs is not None else steps.max())
    return Scene(name, path, dataset, trajectory, points, count, total, note)


def scene_spec(dataset: str, trajectory: str, digit_grid: bool = True) -> dict[str, Any]:
    """specs/mnist_umap.yaml with a ``file`` dataset and a ``precomputed`` reducer (paths
    relative to the spec); without digit_grid, the digit grid and its layout column go."""
    spec: dict[str, Any] = yaml.safe_load(SEED_SPEC.read_text(encoding="utf-8"))
    spec["dataset"] = {"type": "file", "path": dataset}
    spec["reducer"] = {"type": "precomputed", "path": trajectory}
    spec["output"] = {k: v for k, v in spec.get("output", {}).items() if k != "path"}
    if not digit_grid:
        spec["panels"] = [p for p in spec["panels"] if p.get("type") != "digit-grid"]
        row = spec.get("layout", {}).get("row")
        if row:  # keep the titled column, now the whole frame
            titled = next(part for part in row if isinstance(part, dict))
            spec["layout"] = titled
    return spec


def describe(scene: Scene) -> dict[str, Any]:
    """A scene as plain JSON-able values."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in scene.__dict__.items()}


if __name__ == "__main__":  # print the spec the seed scene uses
    print(json.dumps(scene_spec("seed_data.npz", "seed_trajectory.npz"), indent=2))
