"""The anndata dataset: .h5ad files the tests write with anndata, rendered through the engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from specanim import engine
from specanim.errors import InputError, SpecError
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

anndata = pytest.importorskip("anndata")  # the optional extra; CI installs it
pd = pytest.importorskip("pandas")
sparse = pytest.importorskip("scipy.sparse")

from specanim_datasets.anndata_file import AnnDataFile  # noqa: E402

# anndata itself reads a pandas option that pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")

# Category order differs from the alphabetical one on purpose: colours follow the categories.
CELL_TYPES = ["T cell", "B cell", "NK"]
SCANPY_COLORS = ["#ff0000", "#0000ff", "#00ff00"]  # as scanpy stores uns['cell_type_colors']


def write_h5ad(path: Path, colors: list[str] | None = SCANPY_COLORS) -> Path:
    """60 cells of three types in three clusters; X sparse, an X_pca in obsm, obs columns."""
    rng = np.random.default_rng(0)
    kinds = np.repeat([0, 1, 2], 20)
    centres = np.array([[0, 0, 8, 0], [8, 0, 0, 0], [0, 8, 0, 0]], float)
    x = np.clip(centres[kinds] + rng.normal(0, 0.5, (60, 4)), 0, None)
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical.from_codes(kinds, CELL_TYPES),
            "n_counts": np.arange(60, dtype=float),
            "batch": np.array(["a", "b"] * 30, dtype=object),
        },
        # object, not pandas' string dtype, which anndata writes only when told to
        index=pd.Index([f"cell{i}" for i in range(60)], dtype=object),
    )
    var = pd.DataFrame(index=pd.Index([f"gene{j}" for j in range(4)], dtype=object))
    adata = anndata.AnnData(X=sparse.csr_matrix(x.astype(np.float32)), obs=obs, var=var)
    adata.obsm["X_pca"] = x[:, :2] * 2
    if colors is not None:
        adata.uns["cell_type_colors"] = np.array(colors, dtype=object)
    adata.write_h5ad(path)
    return path


def load(path: Path, **options: Any) -> Any:
    return AnnDataFile(
        AnnDataFile.Options.model_validate({"path": str(path), **options}), path.parent
    ).load()


def input_error(path: Path, **options: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        load(path, **options)
    return caught.value


def test_features_from_sparse_x_or_obsm_and_labels_from_obs(tmp_path: Path) -> None:
    path = write_h5ad(tmp_path / "cells.h5ad")
    data = load(path, label="cell_type")
    assert data.features.shape == (60, 4) and data.features.dtype == np.float32
    assert data.classes == tuple(CELL_TYPES)  # the categories' order
    assert data.labels.tolist() == [0] * 20 + [1] * 20 + [2] * 20
    assert data.colors == tuple(SCANPY_COLORS)
    assert sorted(data.columns) == ["n_counts"]  # numeric obs columns, for colour
    pca = load(path, features="X_pca", label="cell_type", limit=10)
    assert pca.features.shape == (10, 2) and len(pca.columns["n_counts"]) == 10
    plain = load(path)
    assert plain.classes == ("all",) and plain.colors is None
    assert load(path, label="batch").classes == ("a", "b")  # not categorical: sorted


def test_errors_name_what_the_file_has(tmp_path: Path) -> None:
    path = write_h5ad(tmp_path / "cells.h5ad")
    error = input_error(path, features="X_pac")
    assert error.key == "features" and "no obsm 'X_pac' (did you mean 'X_pca'?)" in error.message
    error = input_error(path, label="cell_typ")
    assert error.key == "label" and "(did you mean 'cell_type'?)" in error.message
    error = input_error(path, columns=["batch"])
    assert error.key == "columns" and "holds text" in error.message
    wrong = write_h5ad(tmp_path / "wrong.h5ad", colors=["#ff0000"])
    error = input_error(wrong, label="cell_type")
    assert "holds 1 colours for the 3 categories" in error.message
    (tmp_path / "bad.h5ad").write_bytes(b"not hdf5")
    assert "cannot read" in input_error(tmp_path / "bad.h5ad").message


def spec(dataset: str, palette: str = "") -> str:
    return f"""
        version: 1
        width: 320
        height: 200
        {palette}
        dataset: {{type: anndata, path: cells.h5ad, {dataset}}}
        reducer: {{type: pca}}
        panels:
          - {{type: scatter, render: raster, point_size: 6, opacity: 1}}
          - type: legend
        layout: {{row: [scatter, legend], sizes: [2, 1]}}
        timeline: {{fps: 1, hold_end: 0}}
        """


def count(pixels: np.ndarray, color: tuple[int, int, int]) -> int:
    return int((np.abs(pixels.astype(int) - color) <= 30).all(axis=2).sum())


def test_a_scene_uses_the_files_colours_unless_the_spec_sets_a_palette(
    tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    write_h5ad(tmp_path / "cells.h5ad")
    plan = load_plan(write_spec(spec("label: cell_type")), default_registry())
    pixels = engine.still(engine.prepare(plan, cache="off"), -1)
    for rgb in ((255, 0, 0), (0, 0, 255), (0, 255, 0)):
        assert count(pixels, rgb) > 50
    plan = load_plan(
        write_spec(spec("label: cell_type", "palette: [yellow, cyan, magenta]")),
        default_registry(),
    )
    pixels = engine.still(engine.prepare(plan, cache="off"), -1)
    assert count(pixels, (255, 0, 0)) == 0 and count(pixels, (255, 255, 0)) > 50


def test_an_unknown_obs_column_is_a_located_error(
    tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    write_h5ad(tmp_path / "cells.h5ad")
    plan = load_plan(write_spec(spec("label: celltype")), default_registry())
    with pytest.raises(SpecError) as caught:
        engine.prepare(plan, cache="off")
    assert str(caught.value).endswith(
        "scene.yaml:5: dataset.label: cells.h5ad has no obs column 'celltype' (did you mean "
        "'cell_type'?): its obs columns are cell_type, n_counts, batch"
    )
