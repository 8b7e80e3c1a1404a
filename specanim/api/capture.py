"""Callbacks that capture a reduction's layouts as it learns, in a user's own code.

For openTSNE::

    capture = specanim.capture.opentsne(every=2)
    embedding = TSNE(callbacks=capture, callbacks_every_iters=capture.every).fit(X)
    scene = specanim.from_snapshots(capture.finish(embedding), labels=y)
"""

from __future__ import annotations

import numpy as np

from specanim.values import Step, Trajectory

EXAGGERATION, EMBEDDING = "exaggeration", "embedding"  # openTSNE's two phases, in order


class OpenTsneCapture:
    """An openTSNE callback that keeps every layout it is shown, with its phase and iteration.

    openTSNE calls it before the update of every ``every``-th iteration of both phases (early
    exaggeration, then the embedding), always with the same float64 array: each layout is
    copied as float32. A snapshot's iteration counts the updates done in its phase, its epoch
    those done in both; they are exact when ``every`` divides each phase's length. The final
    layout reaches no callback: pass ``fit()``'s result to ``finish``. Calling ``finish`` again
    (a notebook cell run again) sets the final layout again rather than adding one, and a new
    fit shown a finished capture starts it over.
    """

    def __init__(self, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.every = every
        self._start()

    def _start(self) -> None:
        """Hold nothing captured."""
        self.snapshots: list[np.ndarray] = []
        self.steps: list[Step] = []
        self.phases = 0
        self._before = 0  # updates done in the phases before this one
        self._final: tuple[np.ndarray, Step] | None = None  # fit()'s result, from finish()

    def optimization_about_to_start(self) -> None:
        """openTSNE: a phase begins (of a new fit, if this capture was finished: start over)."""
        if self._final is not None:
            self._start()
        if self.steps:  # the last callback came before the phase's last update
            self._before = self.steps[-1].epoch + 1
        self.phases += 1

    def __call__(self, iteration: int, error: float, embedding: np.ndarray) -> bool:
        """openTSNE: the 1-based ``iteration`` of the phase is about to run."""
        self._add(embedding, iteration - 1)
        return False  # never stop the optimisation

    def _add(self, embedding: np.ndarray, done: int) -> None:
        self.snapshots.append(np.array(embedding, np.float32))
        self.steps.append(self._step(done))

    def _step(self, done: int) -> Step:
        phase = EXAGGERATION if self.phases <= 1 else EMBEDDING
        return Step(self._before + done, done, phase)

    def finish(self, embedding: np.ndarray) -> OpenTsneCapture:
        """Set the final layout (``fit()``'s result), after those captured; returns self, for
        from_snapshots."""
        if not self.steps:
            raise ValueError("no layout was captured: pass the capture as TSNE(callbacks=...)")
        self._final = (np.array(embedding, np.float32), self._step(self.steps[-1].iteration + 1))
        return self

    def trajectory(self) -> Trajectory:
        """Everything captured so far, and the final layout if finished, as a trajectory."""
        if not self.snapshots:
            raise ValueError("no layout was captured: pass the capture as TSNE(callbacks=...)")
        snapshots, steps = list(self.snapshots), list(self.steps)
        if self._final is not None:
            snapshots.append(self._final[0])
            steps.append(self._final[1])
        return Trajectory(np.stack(snapshots), tuple(steps), steps[-1].epoch)


def opentsne(every: int = 1) -> OpenTsneCapture:
    """A callback for ``openTSNE.TSNE(callbacks=..., callbacks_every_iters=every)``."""
    return OpenTsneCapture(every)
