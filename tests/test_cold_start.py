"""Cold start: a UMAP fit in a new process loads umap-learn's compiled functions from numba's
on-disk cache instead of compiling them again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIT = """
from pathlib import Path
import numpy as np
import umap.umap_
from specanim.values import Data
from specanim_reducers.umap import Umap, UmapOptions

points = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
data = Data(points, np.zeros(60, np.int64), ("all",))
Umap(UmapOptions(epochs=3, n_neighbors=5), Path(".")).fit(data, lambda done, total: None)
print(sum(umap.umap_.smooth_knn_dist.stats.cache_hits.values()))
"""


def test_a_second_fit_in_a_new_process_loads_umaps_compiled_code(tmp_path: Path) -> None:
    def fit() -> int:
        done = subprocess.run(
            [sys.executable, "-c", FIT], capture_output=True, text=True, cwd=tmp_path, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])

    fit()  # compiles and stores, unless an earlier fit on this installation did
    assert fit() > 0  # loaded from the cache: no compilation
