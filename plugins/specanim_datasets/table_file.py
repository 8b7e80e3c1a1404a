"""``file``: points from a table (CSV, TSV, Parquet) or an array file (.npy, .npz).

A table has feature columns (any numbers, or one column per pixel: ``pixel1``, ``pixel2``, ...),
maybe a label column, and maybe other numeric columns to colour points by. An array file holds
pixels when they are images (n x h x w) or ``image_shape`` is given, else features that are
used as they are.
"""

from __future__ import annotations

import fnmatch
import math
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import Field, PositiveInt

from specanim.sdk import (
    Data,
    Dataset,
    InputError,
    Options,
    bad_features,
    did_you_mean,
    hookimpl,
)

from ._common import ONE_CLASS, Limit, encode_labels, existing_file, resolve, scale_pixels, take

TABLES = (".csv", ".tsv", ".parquet")
SUFFIXES = (*TABLES, ".npy", ".npz")
LABEL_COLUMNS = ("digit", "label")  # the default label column: the first one the table has
FEATURE_KEYS = ("X", "data")  # the default arrays of an .npz file, likewise
LABEL_KEYS = ("y", "labels")
IMAGE_KEYS = ("images",)
CLASS_KEYS = ("classes",)
# Options that only some file types read: setting one for another type is a mistake.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "label": TABLES,
    "pixels": TABLES,
    "features": TABLES,
    "columns": (*TABLES, ".npz"),
    "dropna": TABLES,
    "labels": (".npy",),
    "features_key": (".npz",),
    "labels_key": (".npz",),
    "images_key": (".npz",),
    "classes_key": (".npz",),
}


class TableFileOptions(Options):
    """Options of the ``file`` dataset."""

    path: Path = Field(
        description="The file, relative to the spec file: a table (.csv, .tsv, .parquet) with a "
        "column per feature (or per pixel: pixel1, pixel2, ...) and maybe a label column, or an "
        "array file (.npy, .npz)."
    )
    label: str | None = Field(
        None,
        description="Tables: the column of class labels (default: 'digit' or 'label' if the "
        "table has one); null, or no such column: no labels, every point of one class 'all'.",
    )
    features: list[str] | str | None = Field(
        None,
        description="Tables: the feature columns, as a list of names or one glob pattern "
        'matched against the column names ("petal_*", "PC[0-9]*"). Default: the pixel '
        "columns if there are any, else every numeric column except the label and `columns`.",
    )
    columns: list[str] | None = Field(
        None,
        description="Tables: numeric columns kept for the scatter's `color: {field: ...}` and "
        "not used as features unless `features` names them. Default: every numeric column that "
        "is not a feature, and the label if it is a number. .npz files: arrays of one number "
        "per row kept likewise (default: none).",
    )
    sep: str | None = Field(
        None,
        min_length=1,
        max_length=1,
        description="CSV and TSV tables: the character between values (default: ',' for .csv, "
        "a tab for .tsv); ';' reads the tables spreadsheets write in many countries.",
    )
    dropna: bool = Field(
        False,
        description="Tables: leave out rows with an empty or non-finite feature value (by "
        "default they are an error that names the columns).",
    )
    pixels: str = Field(
        "pixel",
        description="Tables: the prefix of the pixel columns, each followed by its number "
        "(pixel1, pixel2, ...); the pixels are ordered by that number.",
    )
    image_shape: tuple[PositiveInt, PositiveInt] | None = Field(
        None,
        description="[height, width] of the images. Tables default to a square when the pixel "
        "count is a square number, else no images; a 2-D array is pixels only when this is set.",
    )
    labels: Path | None = Field(
        None,
        description=".npy files: a file with one label per row: a .npy, or a text file with one "
        "label a line.",
    )
    features_key: str | None = Field(
        None, description=".npz files: the array of features or pixels (default: 'X' or 'data')."
    )
    labels_key: str | None = Field(
        None, description=".npz files: the array of labels (default: 'y' or 'labels')."
    )
    images_key: str | None = Field(
        None, description=".npz files: an array of images, n x h x w (default: 'images', if any)."
    )
    classes_key: str | None = Field(
        None,
        description=".npz files: the class names in their order, when the labels are indices "
        "into them (default: 'classes', if any); without it classes are sorted naturally.",
    )
    limit: Limit = None


@dataclass(frozen=True)
class Content:
    """What a file holds, before limiting, scaling and shaping."""

    values: np.ndarray  # (n, d) or (n, h, w)
    labels: np.ndarray | None  # (n,), any dtype; None: no labels (one class)
    pixels: bool  # values are pixel intensities, 0..1 or 0..255
    images: np.ndarray | None = None  # (n, h, w) images beside features, from an .npz
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # numbers to colour by
    classes: tuple[str, ...] | None = None  # the class names when labels index them


class TableFile(Dataset):
    """Points and labels from a CSV, TSV or Parquet table, or a .npy or .npz array file."""

    name = "file"
    Options = TableFileOptions
    options: TableFileOptions

    def load(self) -> Data:
        """The first ``limit`` rows of the file, labels' classes sorted naturally."""
        path = existing_file(resolve(self.base_dir, self.options.path), key="path")
        suffix = path.suffix.lower()
        readers: dict[str, Callable[[Path], Content]] = {
            ".csv": self._read_table,
            ".tsv": self._read_table,
            ".parquet": self._read_table,
            ".npy": self._read_npy,
            ".npz": self._read_npz,
        }
        if suffix not in readers:
            raise InputError(
                f"unsupported file type '{suffix or path.name}': "
                f"expected one of {', '.join(SUFFIXES)}",
                key="path",
            )
        for key, suffixes in APPLIES_TO.items():
            if key in self.options.model_fields_set and suffix not in suffixes:
                raise InputError(
                    f"'{key}' applies to {', '.join(suffixes)} files only, not {suffix}", key=key
                )
        return self._data(readers[suffix](path))

    # --- tables ----------------------------------------------------------------------------

    def _read_table(self, path: Path) -> Content:
        """The feature, label and colour columns of a CSV, TSV or Parquet table."""
        import pandas as pd  # imported when used: importing pandas would slow every command

        parquet = path.suffix.lower() == ".parquet"
        sep = self.options.sep or ("\t" if path.suffix.lower() == ".tsv" else ",")
        with _reading(path):
            if parquet:
                table = pd.read_parquet(path)
                if self.options.limit is not None:
                    table = table.iloc[: self.options.limit]
            else:
                table = pd.read_csv(path, sep=sep, nrows=self.options.limit)
        columns = [str(c) for c in table.columns]
        table.columns = columns
        label = self._label_column(path, columns)
        numeric = [c for c in columns if pd.api.types.is_numeric_dtype(table[c])]
        kept = self._kept_columns(path, columns, numeric, label)
        features, pixels = self._feature_columns(path, columns, numeric, label, kept)
        text = [c for c in features if c not in numeric]
        if text:
            raise InputError(
                f"feature {_columns(text)} of {path.name} {_hold(text)} text, expected "
                "numbers: leave them out of 'features'",
                key="features" if self.options.features is not None else "path",
            )
        if self.options.columns is None:  # the default: every other number, and the label
            kept = [c for c in numeric if c not in features or c == label]
        values = table[features].to_numpy(np.float64)  # float32 would turn 1e300 into inf
        complete = self._complete_rows(path, values, features)
        if complete is not None:
            if not complete.any():
                raise InputError(
                    f"{path.name}: every one of its {len(values)} rows has an empty, non-finite "
                    "or too large feature value, so dropna leaves none",
                    key="dropna",
                )
            table, values = table[complete], values[complete]
        values = values.astype(np.float32)
        labels = table[label].to_numpy() if label is not None else None
        colour = {c: table[c].to_numpy(np.float64) for c in kept}
        return Content(values, labels, pixels=pixels, columns=colour)

    def _complete_rows(
        self, path: Path, values: np.ndarray, features: list[str]
    ) -> np.ndarray | None:
        """None if every feature value is a finite number, else the rows that are complete
        (dropna), else an InputError naming the columns with gaps."""
        rows, problem = bad_features(values, features)
        if not problem:
            return None
        if self.options.dropna:
            complete: np.ndarray = ~rows
            return complete
        raise InputError(
            f"{path.name} has {problem}: fill them in, or set 'dropna: true' to leave those "
            "rows out",
            key="path",
        )

    def _label_column(self, path: Path, columns: Sequence[str]) -> str | None:
        """The label column: the one the options name, else the first default the table has,
        else none (``label: null`` asks for none)."""
        if self.options.label is not None:
            if self.options.label not in columns:
                raise InputError(_no_column(path, self.options.label, columns), key="label")
            return self.options.label
        if "label" in self.options.model_fields_set:
            return None
        return next((name for name in LABEL_COLUMNS if name in columns), None)

    def _named(self, path: Path, columns: Sequence[str], names: Sequence[str], key: str) -> None:
        """InputError at key unless every one of names is a column."""
        for name in names:
            if name not in columns:
                raise InputError(_no_column(path, name, columns), key=key)

    def _kept_columns(
        self, path: Path, columns: Sequence[str], numeric: Sequence[str], label: str | None
    ) -> list[str]:
        """The columns the options keep for colouring (checked: they exist and are numbers)."""
        kept = list(self.options.columns or [])
        self._named(path, columns, kept, "columns")
        text = [c for c in kept if c not in numeric]
        if text:
            raise InputError(
                f"{_columns(text)} of {path.name} {_hold(text)} text: only numbers can colour "
                "points",
                key="columns",
            )
        return kept

    def _feature_columns(
        self,
        path: Path,
        columns: Sequence[str],
        numeric: Sequence[str],
        label: str | None,
        kept: Sequence[str],
    ) -> tuple[list[str], bool]:
        """The feature columns, and whether they are pixels: those the options name or match,
        else the pixel columns, else every numeric column but the label and the kept ones."""
        chosen = self.options.features
        if isinstance(chosen, list):
            self._named(path, columns, chosen, "features")
            return list(chosen), False
        if isinstance(chosen, str):
            matched = [c for c in columns if fnmatch.fnmatchcase(c, chosen) and c != label]
            if not matched:
                raise InputError(
                    f"no column of {path.name} matches '{chosen}': its columns are "
                    f"{_some(columns)}",
                    key="features",
                )
            return matched, False
        pixels = self._pixel_columns(columns)
        if pixels:
            return pixels, True
        if "pixels" in self.options.model_fields_set:
            raise InputError(
                f"{path.name} has no pixel columns {self.options.pixels}1, "
                f"{self.options.pixels}2, ...: its columns are {_some(columns)}",
                key="pixels",
            )
        features = [c for c in numeric if c != label and c not in kept]
        if not features:
            raise InputError(
                f"{path.name} has no numeric columns besides the label: its columns are "
                f"{_some(columns)}; set 'features' to the columns to embed",
                key="path",
            )
        return features, False

    def _pixel_columns(self, columns: Sequence[str]) -> list[str]:
        """The pixel columns, ordered by the number after their prefix (none: [])."""
        pattern = re.compile(re.escape(self.options.pixels) + r"(\d+)")
        numbered = [(int(m[1]), c) for c in columns if (m := pattern.fullmatch(c))]
        return [column for _, column in sorted(numbered)]

    # --- arrays ------------------------------------------------------------------------------

    def _read_npy(self, path: Path) -> Content:
        """The features or pixels of a .npy file, with labels from the ``labels`` file."""
        if self.options.labels is None:
            raise InputError(
                f"{path.name} holds no labels: set 'labels' to a .npy or .txt file "
                "with one label per row",
                key="labels",
            )
        values = _load_npy(path, key="path")
        labels_path = existing_file(resolve(self.base_dir, self.options.labels), key="labels")
        if labels_path.suffix.lower() == ".npy":
            labels = _load_npy(labels_path, key="labels")
        else:
            with _reading(labels_path, key="labels"):
                labels = np.array(labels_path.read_text(encoding="utf-8").splitlines())
        _check_rows(path.name, values, labels_path.name, labels, key="labels")
        pixels = values.ndim == 3 or self.options.image_shape is not None
        return Content(values, labels, pixels=pixels)

    def _read_npz(self, path: Path) -> Content:
        """Features (or pixels), labels and maybe images from the arrays of an .npz file."""
        if not zipfile.is_zipfile(path):
            raise InputError(f"{path} is not an .npz file (a zip archive of arrays)", key="path")
        with _reading(path), np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            images_name = self._array_name(path, names, "images_key", IMAGE_KEYS, required=False)
            features_name = self._array_name(
                path, names, "features_key", FEATURE_KEYS, required=images_name is None
            )
            labels_name = self._array_name(path, names, "labels_key", LABEL_KEYS)
            classes_name = self._array_name(path, names, "classes_key", CLASS_KEYS, required=False)
            for column in self.options.columns or []:
                if column not in names:
                    raise InputError(
                        f"{path.name} has no array '{column}'{did_you_mean(column, names)}: "
                        f"its arrays are {_some(names)}",
                        key="columns",
                    )
            images = npz[images_name] if images_name else None
            labels = npz[labels_name]
            values = npz[features_name] if features_name else None
            class_names = npz[classes_name] if classes_name else None
            columns = {c: npz[c] for c in self.options.columns or []}
        if values is None:  # images alone: their pixels are the features
            assert images is not None
            values, images = images, None
            pixels = True
        else:
            pixels = values.ndim == 3 or self.options.image_shape is not None
        name = f"'{features_name or images_name}' in {path.name}"
        _check_rows(name, values, f"'{labels_name}'", labels, key="path")
        if images is not None and (images.ndim != 3 or len(images) != len(values)):
            raise InputError(
                f"{name} has {len(values)} rows, so '{images_name}' must be {len(values)} "
                f"images (n x height x width), but it has shape {images.shape}",
                key="images_key",
            )
        for column, numbers in columns.items():
            if numbers.shape != (len(values),) or numbers.dtype.kind not in "biuf":
                raise InputError(
                    f"{name} has {len(values)} rows, so '{column}' must be {len(values)} "
                    f"numbers, but it holds {numbers.dtype} values of shape {numbers.shape}",
                    key="columns",
                )
        classes = None
        if class_names is not None:
            classes = _class_names(labels, class_names, f"'{labels_name}'", f"'{classes_name}'")
        colour = {c: numbers.astype(np.float64) for c, numbers in columns.items()}
        return Content(
            values, labels, pixels=pixels, images=images, columns=colour, classes=classes
        )

    def _array_name(
        self,
        path: Path,
        names: list[str],
        key: str,
        defaults: tuple[str, ...],
        required: bool = True,
    ) -> str | None:
        """The array that option key names, else the first default the file has."""
        given: str | None = getattr(self.options, key)
        if given is not None:
            if given not in names:
                raise InputError(
                    f"{path.name} has no array '{given}'{did_you_mean(given, names)}: "
                    f"its arrays are {_some(names)}",
                    key=key,
                )
            return given
        found = next((name for name in defaults if name in names), None)
        if found is None and required:
            raise InputError(
                f"{path.name} has no array {' or '.join(map(repr, defaults))}: its arrays are "
                f"{_some(names)}; set '{key}' to the one to use",
                key=key,
            )
        return found

    # --- the points ---------------------------------------------------------------------------

    def _data(self, content: Content) -> Data:
        """Data from a file's content: the first limit rows, scaled and shaped."""
        if len(content.values) == 0:
            raise InputError(f"{self.options.path} holds no rows", key="path")
        n = take(len(content.values), self.options.limit)
        values = _real(content.values[:n].reshape(n, -1), "path")
        if content.labels is None:
            indices, classes = np.zeros(n, np.int64), ONE_CLASS
        else:
            labels = content.labels[:n]
            empty = int(_missing(labels).sum()) if labels.dtype.kind in "fO" else 0
            if empty:
                raise InputError(
                    f"{empty} of the {n} labels are empty: every row needs a label", key="path"
                )
            if content.classes is None:
                indices, classes = encode_labels(labels)
            else:
                indices, classes = labels.astype(np.int64), content.classes
        images = None
        if content.pixels:
            features, pixels = scale_pixels(values, key="path")
            shape = self._image_shape(content.values.shape)
            if shape is not None:
                images = pixels.reshape(n, *shape)
        else:
            with np.errstate(over="ignore"):  # beyond float32 becomes inf, refused just below
                features = values.astype(np.float32)
            if not np.isfinite(features).all():
                raise InputError(
                    "features must be numbers, found empty, NaN, infinite or too large values",
                    key="path",
                )
            if content.images is not None:
                images = scale_pixels(_real(content.images[:n], "images_key"), "images_key")[1]
        columns = {name: values[:n] for name, values in content.columns.items()}
        return Data(
            features=features, labels=indices, classes=classes, images=images, columns=columns
        )

    def _image_shape(self, shape: tuple[int, ...]) -> tuple[int, int] | None:
        """(height, width) for pixels read as shape: from the options, the array, or a square."""
        pixels = math.prod(shape[1:])
        if self.options.image_shape is not None:
            height, width = self.options.image_shape
            if height * width != pixels:
                raise InputError(
                    f"an image of {height} x {width} has {height * width} pixels, "
                    f"but the file has {pixels} per row",
                    key="image_shape",
                )
            return height, width
        if len(shape) == 3:
            return shape[1], shape[2]
        side = math.isqrt(pixels)
        return (side, side) if side * side == pixels else None


def _check_rows(
    name: str, values: np.ndarray, labels_name: str, labels: np.ndarray, key: str
) -> None:
    """InputError unless values are rows (2-D) or images (3-D) with one label per row."""
    if values.ndim not in (2, 3):
        raise InputError(
            f"{name} must be a 2-D array of features or a 3-D array of images, "
            f"found shape {values.shape}",
            key="path",
        )
    if labels.ndim != 1:
        raise InputError(
            f"{labels_name} must hold one label per row (1-D), found shape {labels.shape}", key=key
        )
    if len(labels) != len(values):
        raise InputError(
            f"{name} has {len(values)} rows but {labels_name} has {len(labels)} labels", key=key
        )


def _class_names(
    labels: np.ndarray, names: np.ndarray, labels_name: str, classes_name: str
) -> tuple[str, ...]:
    """The class names that labels index, in order; InputError unless labels are indices
    into names."""
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise InputError(
            f"{classes_name} must hold one class name per class (1-D text), found "
            f"{names.dtype} values of shape {names.shape}",
            key="classes_key",
        )
    if labels.dtype.kind not in "iu" or (
        len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < len(names)
    ):
        raise InputError(
            f"{labels_name} must be indices 0 to {len(names) - 1} into the {len(names)} class "
            f"names of {classes_name}",
            key="classes_key",
        )
    return tuple(str(name) for name in names.astype(str).tolist())


def _load_npy(path: Path, key: str) -> np.ndarray:
    """The array in a .npy file; InputError at key if it is not one."""
    with _reading(path, key=key):
        with path.open("rb") as file:
            if file.read(6) != b"\x93NUMPY":
                raise InputError(f"{path} is not a .npy file", key=key)
        array: np.ndarray = np.load(path, allow_pickle=False)
        return array


def _no_column(path: Path, name: str, columns: Sequence[str]) -> str:
    """The message for a column the table lacks: the columns it has, and, when its header read
    as one column holding another separator, the sep option that reads it."""
    message = f"{path.name} has no column '{name}'{did_you_mean(name, columns)}: "
    message += f"its columns are {_some(columns)}"
    other = [c for c in ";\t|" if len(columns) == 1 and c in columns[0]]
    if other:
        message += f" (its values seem separated by {other[0]!r}: set sep: {other[0]!r})"
    return message


def _some(names: Sequence[str], most: int = 8) -> str:
    """The first few names, quoted, for a message."""
    shown = ", ".join(f"'{name}'" for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "") or "none"


def _columns(names: Sequence[str]) -> str:
    """'column 'a'' or 'columns 'a', 'b''."""
    return f"column{'s' if len(names) > 1 else ''} {_some(names)}"


def _hold(names: Sequence[str]) -> str:
    return "hold" if len(names) > 1 else "holds"


def _missing(labels: np.ndarray) -> np.ndarray:
    """Where labels are empty (NaN, None)."""
    import pandas as pd

    return np.asarray(pd.isna(labels))


def _broken_file_errors() -> tuple[type[BaseException], ...]:
    import pyarrow  # only asked for once a reader has failed

    return (ValueError, OSError, EOFError, zipfile.BadZipFile, pyarrow.ArrowException)


@contextmanager
def _reading(path: Path, key: str = "path") -> Iterator[None]:
    """Turn a reader's complaint about a broken file into a one-line InputError at key."""
    try:
        yield
    except _broken_file_errors() as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {path}: {detail}", key=key) from None


@hookimpl
def register_datasets(register: Callable[[type[Dataset]], None]) -> None:
    """Register the file dataset."""
    register(TableFile)


def _real(values: np.ndarray, key: str) -> np.ndarray:
    """values, if they are real numbers (booleans, integers, floats); else InputError at key."""
    if values.dtype.kind not in "biuf":
        raise InputError(f"values must be real numbers, found {values.dtype} values", key=key)
    return values
