"""``anndata``: cells from an AnnData ``.h5ad`` file, as scanpy writes them.

Features come from ``X`` (dense or sparse) or an ``obsm`` array such as ``X_pca``; labels from an
``obs`` column; class colours from ``uns['<column>_colors']``, which scanpy keeps in the order
of the column's categories. Needs the optional extra: ``pip install 'specanim[anndata]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from specanim.sdk import Data, Dataset, InputError, Options, check_color, did_you_mean, hookimpl

from ._common import ONE_CLASS, Limit, encode_labels, existing_file, resolve, take


class AnnDataOptions(Options):
    """Options of the ``anndata`` dataset."""

    path: Path = Field(description="The .h5ad file, relative to the spec file.")
    features: str = Field(
        "X",
        description="X (the expression matrix, dense or sparse) or an obsm key such as X_pca "
        "or X_umap.",
    )
    label: str | None = Field(
        None,
        description="The obs column of class labels (e.g. cell_type; categorical or not); "
        "none: every cell of one class 'all'. Its colours come from uns['<label>_colors'] when "
        "the file has them (the spec's `palette:` overrides them).",
    )
    columns: list[str] | None = Field(
        None,
        description="Numeric obs columns kept for the scatter's `color: {field: ...}` "
        "(default: every numeric obs column).",
    )
    limit: Limit = None


class AnnDataFile(Dataset[AnnDataOptions]):
    """Cells of an AnnData .h5ad file: features from X or obsm, labels from an obs column."""

    name = "anndata"

    def load(self) -> Data:
        """The first ``limit`` cells; classes in the column's category order when categorical."""
        try:
            import anndata
        except ImportError:
            raise InputError(
                "the anndata dataset needs the anndata package: pip install 'specanim[anndata]'",
                key="path",
            ) from None
        path = existing_file(resolve(self.base_dir, self.options.path), key="path")
        try:
            adata = anndata.read_h5ad(path)
        except (OSError, KeyError, ValueError, TypeError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"cannot read {path} as an .h5ad file: {detail}", key="path") from None
        n = take(adata.n_obs, self.options.limit)
        features = self._features(adata, n)
        labels, classes, colors = self._labels(adata, n)
        columns = self._columns(adata, n)
        return Data(features, labels, classes, columns=columns, colors=colors)

    def _features(self, adata: Any, n: int) -> np.ndarray:
        """(n, d) float32 features from X or the obsm key, checked to be finite."""
        import scipy.sparse

        key = self.options.features
        if key == "X":
            if adata.X is None:
                raise InputError(f"{self.options.path} has no X matrix", key="features")
            matrix = adata.X[:n]
        else:
            keys = list(adata.obsm.keys())
            if key not in keys:
                raise InputError(
                    f"{self.options.path} has no obsm '{key}'{did_you_mean(key, keys)}: "
                    f"use X or one of its obsm keys ({', '.join(keys) or 'none'})",
                    key="features",
                )
            matrix = adata.obsm[key][:n]
        if scipy.sparse.issparse(matrix):
            matrix = matrix.toarray()
        values = np.asarray(matrix, np.float32).reshape(n, -1)
        bad = int((~np.isfinite(values)).any(axis=1).sum())
        if bad:
            raise InputError(
                f"{bad} of the {n} cells have empty or non-finite values in {key}", key="features"
            )
        return values

    def _labels(self, adata: Any, n: int) -> tuple[np.ndarray, tuple[str, ...], Any]:
        """Labels, class names and the file's class colours (None when it has none)."""
        import pandas as pd

        label = self.options.label
        if label is None:
            return np.zeros(n, np.int64), ONE_CLASS, None
        if label not in adata.obs.columns:
            names = [str(c) for c in adata.obs.columns]
            raise InputError(
                f"{self.options.path} has no obs column '{label}'{did_you_mean(label, names)}: "
                f"its obs columns are {', '.join(names) or 'none'}",
                key="label",
            )
        column = adata.obs[label].iloc[:n]
        if column.isna().any():
            raise InputError(
                f"{int(column.isna().sum())} of the {n} cells have no '{label}': every cell "
                "needs a label",
                key="label",
            )
        if not isinstance(column.dtype, pd.CategoricalDtype):
            indices, classes = encode_labels(column.to_numpy())
            return indices, classes, None
        # The categories' order is the classes' order, as scanpy colours them.
        categories = column.cat.categories
        classes = tuple(str(c) for c in categories)
        indices = column.cat.codes.to_numpy().astype(np.int64)
        return indices, classes, self._colors(adata, label, len(classes))

    def _colors(self, adata: Any, label: str, count: int) -> tuple[str, ...] | None:
        """uns['<label>_colors'], one per category, if the file has a valid list of them."""
        stored = adata.uns.get(f"{label}_colors")
        if stored is None:
            return None
        colors = [str(c) for c in np.asarray(stored).tolist()]
        if len(colors) != count:
            raise InputError(
                f"uns['{label}_colors'] holds {len(colors)} colours for the {count} categories "
                f"of '{label}': set `palette:` in the spec, or fix the file",
                key="label",
            )
        for color in colors:
            try:
                check_color(color)
            except ValueError as exc:
                raise InputError(f"uns['{label}_colors']: {exc}", key="label") from None
        return tuple(colors)

    def _columns(self, adata: Any, n: int) -> dict[str, np.ndarray]:
        """The numeric obs columns kept for colouring."""
        import pandas as pd

        obs = adata.obs
        numeric = [str(c) for c in obs.columns if pd.api.types.is_numeric_dtype(obs[c])]
        wanted = numeric if self.options.columns is None else self.options.columns
        for name in wanted:
            if name not in obs.columns:
                raise InputError(
                    f"{self.options.path} has no obs column '{name}'"
                    f"{did_you_mean(name, numeric)}: its numeric obs columns are "
                    f"{', '.join(numeric) or 'none'}",
                    key="columns",
                )
            if name not in numeric:
                raise InputError(
                    f"obs column '{name}' holds text: only numbers can colour points",
                    key="columns",
                )
        return {name: obs[name].iloc[:n].to_numpy(np.float64) for name in wanted}


@hookimpl
def register_datasets(register: Callable[[type[Dataset[Any]]], None]) -> None:
    """Register the anndata dataset."""
    register(AnnDataFile)
