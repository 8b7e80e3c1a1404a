"""The built-in datasets: sklearn-digits, mnist (local, cached, downloaded) and file."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.datasets import load_digits

from specanim.components import Dataset
from specanim.errors import InputError
from specanim.plugins import load_registry
from specanim.store.paths import CACHE_ENV
from specanim.values import Data
from specanim_datasets.mnist import CHECKSUMS, SPLITS, Mnist
from specanim_datasets.sklearn_digits import SklearnDigits, read_digits, shipped_file
from specanim_datasets.table_file import TableFile

from .datasets_fixtures import FileServer, file_server, idx_bytes, write_idx

__all__ = ["file_server"]  # a fixture: imported for pytest to find

# The canonical MNIST test split: how many of each digit it holds.
TEST_DIGIT_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def load(cls: type[Dataset], base_dir: Path = Path("."), /, **options: Any) -> Data:
    """Validate options the way a spec entry is validated, and load."""
    return cls(cls.Options.model_validate(options), base_dir).load()


def input_error(cls: type[Dataset], base_dir: Path = Path("."), /, **options: Any) -> InputError:
    """The InputError that loading with options raises (failing the test if none does)."""
    with pytest.raises(InputError) as caught:
        load(cls, base_dir, **options)
    message = caught.value.message
    assert "\n" not in message and message[:1] == message[:1].lower(), message
    return caught.value


# --- every dataset -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"), [("sklearn-digits", SklearnDigits), ("mnist", Mnist), ("file", TableFile)]
)
def test_datasets_are_registered_through_their_entry_points(name: str, cls: type[Dataset]) -> None:
    assert load_registry().dataset(name) is cls


REQUIRED: dict[type[Dataset], dict[str, Any]] = {
    SklearnDigits: {},
    Mnist: {},
    TableFile: {"path": "x.csv"},
}


@pytest.mark.parametrize("cls", list(REQUIRED))
def test_every_option_is_described_and_unknown_options_are_refused(cls: type[Dataset]) -> None:
    assert all(field.description for field in cls.Options.model_fields.values())
    assert cls.summary()
    cls.Options.model_validate(REQUIRED[cls])
    with pytest.raises(ValidationError, match="no_such_option"):
        cls.Options.model_validate(REQUIRED[cls] | {"no_such_option": 1})


@pytest.mark.parametrize("cls", list(REQUIRED))
def test_limit_must_be_positive(cls: type[Dataset]) -> None:
    with pytest.raises(ValidationError, match="limit"):
        cls.Options.model_validate(REQUIRED[cls] | {"limit": 0})


# --- sklearn-digits ----------------------------------------------------------------------------


def test_sklearn_digits_are_the_1797_digits_scaled_to_0_255() -> None:
    data = load(SklearnDigits)
    digits = load_digits()
    assert len(data) == 1797
    assert data.features.dtype == np.float32 and data.features.shape == (1797, 64)
    np.testing.assert_allclose(data.features, digits.data / 16, rtol=1e-6)
    assert data.images is not None and data.images.dtype == np.uint8
    assert data.images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(data.images, np.rint(digits.images * 255 / 16))
    assert data.images.min() == 0 and data.images.max() == 255
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.labels, digits.target)
    assert data.classes == tuple("0123456789")


def test_sklearn_digits_read_from_the_wheel_file_are_load_digits_exactly() -> None:
    path = shipped_file()
    assert path is not None, "scikit-learn ships sklearn/datasets/data/digits.csv.gz"
    digits = load_digits()
    for images, targets in (read_digits(path), read_digits(None)):
        np.testing.assert_array_equal(images, digits.images)
        np.testing.assert_array_equal(targets, digits.target)
        assert images.dtype == digits.images.dtype


def test_sklearn_digits_load_without_importing_scikit_learn() -> None:
    # Importing scikit-learn takes over a second: the README's first commands do not pay it.
    code = (
        "import sys; from specanim_datasets.sklearn_digits import SklearnDigits as D; "
        "D(D.Options(), '.').load(); print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sklearn_digits_limit_keeps_the_first_and_all_ten_classes() -> None:
    data = load(SklearnDigits, limit=5)
    full = load(SklearnDigits)
    assert len(data) == 5
    np.testing.assert_array_equal(data.features, full.features[:5])
    assert data.classes == tuple("0123456789")  # digits 5..9 are missing, their colours are not


def test_sklearn_digits_limit_beyond_the_data_warns_and_uses_all() -> None:
    with pytest.warns(UserWarning, match="limit 5000 is more than the 1797 points"):
        data = load(SklearnDigits, limit=5000)
    assert len(data) == 1797


# --- mnist: local folders ----------------------------------------------------------------------


def write_split(
    folder: Path, split: str, images: np.ndarray, labels: np.ndarray, compress: bool = True
) -> dict[str, str]:
    """Write one split's IDX files into folder; the checksums of their content, by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    image_file, label_file = (
        name if compress else name.removesuffix(".gz") for name in SPLITS[split]
    )
    return {
        SPLITS[split][0]: write_idx(folder / image_file, images, compress),
        SPLITS[split][1]: write_idx(folder / label_file, labels, compress),
    }


def tiny_images(n: int, first: int = 0) -> np.ndarray:
    """n distinct 4x5 images."""
    return ((np.arange(n * 20).reshape(n, 4, 5) + first) % 256).astype(np.uint8)


Tiny = tuple[Path, dict[str, str]]  # a folder of MNIST files and their checksums


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Tiny:
    """A folder with a 6-digit train split and a 4-digit test split; their checksums."""
    folder = tmp_path / "tiny"
    checksums = write_split(folder, "train", tiny_images(6), np.arange(6, dtype=np.uint8))
    checksums |= write_split(folder, "test", tiny_images(4, 7), np.arange(6, 10, dtype=np.uint8))
    return folder, checksums


def test_mnist_reads_the_real_test_split_and_it_has_the_canonical_content(mnist_dir: Path) -> None:
    # The default checksums are those of the canonical files' content: loading proves it.
    data = load(Mnist, path=str(mnist_dir), split="test")
    assert len(data) == 10_000
    assert data.images is not None and data.images.shape == (10_000, 28, 28)
    assert data.images.dtype == np.uint8 and data.images.max() == 255
    assert data.features.dtype == np.float32 and data.features.shape == (10_000, 784)
    np.testing.assert_array_equal(data.features * 255, data.images.reshape(10_000, -1))
    assert data.classes == tuple("0123456789")
    assert data.labels.dtype == np.int64
    assert np.bincount(data.labels).tolist() == TEST_DIGIT_COUNTS
    assert data.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits


def test_mnist_path_is_relative_to_the_spec_folder(mnist_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(mnist_dir)
    data = load(Mnist, tmp_path, path="data", split="test", limit=3)
    assert data.labels.tolist() == [7, 2, 1]


@pytest.mark.parametrize("split", ["all", "train"])
def test_mnist_without_train_files_names_them(mnist_dir: Path, split: str) -> None:
    error = input_error(Mnist, path=str(mnist_dir), split=split)
    assert error.key == "path"
    assert "train-images-idx3-ubyte.gz" in error.message
    assert "train-labels-idx1-ubyte.gz" in error.message
    assert "t10k" not in error.message
    assert "split: test" in error.message  # the folder has the test files: say so


def test_mnist_all_is_train_then_test(tiny_mnist: Tiny) -> None:
    folder, checksums = tiny_mnist
    data = load(Mnist, path=str(folder), checksums=checksums)
    assert data.labels.tolist() == list(range(10))
    assert data.images is not None
    np.testing.assert_array_equal(data.images[:6], tiny_images(6))
    np.testing.assert_array_equal(data.images[6:], tiny_images(4, 7))
    assert load(Mnist, path=str(folder), split="train", checksums={}).labels.tolist() == [*range(6)]
    assert load(Mnist, path=str(folder), split="test", checksums={}).labels.tolist() == [6, 7, 8, 9]


def test_mnist_limit(tiny_mnist: Tiny) -> None:
    folder, _ = tiny_mnist
    assert load(Mnist, path=str(folder), checksums={}, limit=8).labels.tolist() == [*range(8)]
    with pytest.warns(UserWarning, match="limit 50 is more than the 10 points there are"):
        assert len(load(Mnist, path=str(folder), checksums={}, limit=50)) == 10


def test_mnist_reads_uncompressed_files(tmp_path: Path) -> None:
    labels = np.array([3, 1, 4], np.uint8)
    checksums = write_split(tmp_path, "test", tiny_images(3), labels, compress=False)
    data = load(Mnist, path=str(tmp_path), split="test", checksums=checksums)
    assert data.labels.tolist() == [3, 1, 4]


def test_mnist_default_checksums_refuse_other_data(tiny_mnist: Tiny) -> None:
    folder, _ = tiny_mnist
    error = input_error(Mnist, path=str(folder), split="test")
    assert error.key == "path"
    assert "t10k-images-idx3-ubyte.gz" in error.message and "SHA-256" in error.message
    assert CHECKSUMS["t10k-images-idx3-ubyte.gz"] in error.message
    assert "checksums: {}" in error.message


def test_mnist_a_checksum_of_another_file_is_refused(
    tiny_mnist: Tiny,
) -> None:
    folder, checksums = tiny_mnist
    swapped = checksums | {"t10k-labels-idx1-ubyte.gz": checksums["train-labels-idx1-ubyte.gz"]}
    error = input_error(Mnist, path=str(folder), split="test", checksums=swapped)
    assert "t10k-labels-idx1-ubyte.gz" in error.message and "SHA-256" in error.message


def corrupt(folder: Path, how: str) -> None:
    """Break the test split in folder in one of several ways."""
    images = folder / SPLITS["test"][0]
    packed = images.read_bytes()
    if how == "truncated gzip":
        images.write_bytes(packed[: len(packed) // 2])
    elif how == "flipped byte":
        broken = bytearray(packed)
        broken[len(broken) // 2] ^= 0xFF
        images.write_bytes(bytes(broken))
    elif how == "not an idx file":
        images.write_bytes(b"<html>not found</html>")
    elif how == "labels for images":
        shutil.copy(folder / SPLITS["test"][1], images)
    elif how == "short data":
        images.write_bytes(gzip.compress(gzip.decompress(packed)[:-7]))
    elif how == "count mismatch":
        write_idx(folder / SPLITS["test"][1], np.arange(3, dtype=np.uint8))


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("truncated gzip", "truncated"),
        ("flipped byte", "corrupt gzip"),
        ("not an idx file", "not an IDX file of images: its magic number is"),
        ("labels for images", "magic number is 2049, expected 2051"),
        ("short data", "header promises 4 x 4 x 5 = 80"),
        ("count mismatch", "holds 4 images but t10k-labels-idx1-ubyte.gz holds 3 labels"),
    ],
)
def test_mnist_broken_files_are_clear_errors(tiny_mnist: Tiny, how: str, says: str) -> None:
    folder, _ = tiny_mnist
    corrupt(folder, how)
    error = input_error(Mnist, path=str(folder), split="test", checksums={})
    assert error.key == "path"
    assert says in error.message


def test_mnist_path_must_be_a_folder(tmp_path: Path) -> None:
    error = input_error(Mnist, path=str(tmp_path / "nowhere"))
    assert error.key == "path"
    assert error.message.endswith(f"{tmp_path / 'nowhere'} does not exist")
    (tmp_path / "file").write_text("x")
    assert "is a file" in input_error(Mnist, path=str(tmp_path / "file")).message


@pytest.mark.parametrize("key", ["url", "cache"])
def test_mnist_download_options_conflict_with_path(tiny_mnist: Tiny, key: str) -> None:
    folder, _ = tiny_mnist
    error = input_error(Mnist, path=str(folder), **{key: "elsewhere"})
    assert error.key == key and "has no effect together with 'path'" in error.message


def test_mnist_checksums_option_is_validated() -> None:
    suggestion = re.escape("did you mean 't10k-images-idx3-ubyte.gz'")
    with pytest.raises(ValidationError, match=suggestion):
        Mnist.Options.model_validate({"checksums": {"t10k-images-idx3-ubyte": "0" * 64}})
    with pytest.raises(ValidationError, match="64 hex digits"):
        Mnist.Options.model_validate({"checksums": {"t10k-images-idx3-ubyte.gz": "abc"}})
    upper = Mnist.Options.model_validate({"checksums": {"t10k-images-idx3-ubyte.gz": "AB" * 32}})
    assert upper.checksums == {"t10k-images-idx3-ubyte.gz": "ab" * 32}


# --- mnist: downloads into the cache ----------------------------------------------------------


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder mnist downloads into by default: $SPECANIM_CACHE_DIR/mnist."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "mnist"


def test_mnist_downloads_into_the_cache_once(
    mnist_dir: Path, file_server: FileServer, cache: Path
) -> None:
    for name in SPLITS["test"]:
        shutil.copy(mnist_dir / name, file_server.root / name)
    first = load(Mnist, split="test", url=file_server.url)
    assert sorted(file_server.requests) == sorted(f"/{name}" for name in SPLITS["test"])
    assert sorted(p.name for p in cache.iterdir()) == sorted(SPLITS["test"])
    for name in SPLITS["test"]:  # kept as downloaded
        assert (cache / name).read_bytes() == (mnist_dir / name).read_bytes()
    file_server.stop()
    second = load(Mnist, split="test", url=file_server.url)
    assert second.fingerprint() == first.fingerprint()
    assert len(second) == 10_000 and np.bincount(second.labels).tolist() == TEST_DIGIT_COUNTS


def test_mnist_url_may_lack_the_final_slash_and_cache_is_relative(
    tiny_mnist: Tiny, file_server: FileServer, tmp_path: Path
) -> None:
    folder, checksums = tiny_mnist
    shutil.copytree(folder, file_server.root / "mnist")
    data = load(Mnist, tmp_path, url=file_server.url + "mnist", cache="here", checksums=checksums)
    assert data.labels.tolist() == list(range(10))
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == sorted(checksums)


@pytest.fixture
def tiny_server(tiny_mnist: Tiny, file_server: FileServer) -> tuple[FileServer, dict[str, str]]:
    """The file server, serving the tiny MNIST files; their checksums."""
    folder, checksums = tiny_mnist
    shutil.copytree(folder, file_server.root, dirs_exist_ok=True)
    return file_server, checksums


def test_mnist_download_with_the_wrong_checksum_is_not_kept(
    tiny_server: tuple[FileServer, dict[str, str]], cache: Path
) -> None:
    file_server, _ = tiny_server
    error = input_error(Mnist, split="test", url=file_server.url)  # the canonical checksums
    assert error.key == "url"
    assert f"{file_server.url}t10k-images-idx3-ubyte.gz" in error.message
    assert "SHA-256" in error.message and "it was not kept" in error.message
    assert list(cache.iterdir()) == []


def test_mnist_truncated_download_is_not_kept(
    tiny_server: tuple[FileServer, dict[str, str]], cache: Path
) -> None:
    file_server, checksums = tiny_server
    corrupt(file_server.root, "truncated gzip")
    error = input_error(Mnist, split="test", url=file_server.url, checksums=checksums)
    assert error.key == "url" and "truncated" in error.message
    assert list(cache.iterdir()) == []


def test_mnist_missing_download_is_a_clear_error(file_server: FileServer, cache: Path) -> None:
    error = input_error(Mnist, split="test", url=file_server.url)
    assert error.key == "url"
    assert error.message.startswith(
        f"cannot download {file_server.url}t10k-images-idx3-ubyte.gz: HTTP 404"
    )
    assert "set 'path'" in error.message
    assert list(cache.iterdir()) == []


def test_mnist_unreachable_server_is_a_clear_error(file_server: FileServer, cache: Path) -> None:
    file_server.stop()
    error = input_error(Mnist, split="test", url=file_server.url)
    assert error.key == "url" and error.message.startswith(f"cannot download {file_server.url}")


def test_mnist_corrupt_cached_file_is_downloaded_again(
    tiny_server: tuple[FileServer, dict[str, str]], cache: Path
) -> None:
    file_server, checksums = tiny_server
    cache.mkdir(parents=True)
    (cache / SPLITS["test"][0]).write_bytes(idx_bytes(np.zeros(1, np.uint8)))  # a labels file
    with pytest.warns(UserWarning, match="downloading it again"):
        data = load(Mnist, split="test", url=file_server.url, checksums=checksums)
    assert data.labels.tolist() == [6, 7, 8, 9]
    served = file_server.root / SPLITS["test"][0]
    assert (cache / SPLITS["test"][0]).read_bytes() == served.read_bytes()


# --- file: tables ------------------------------------------------------------------------------


def expected_pixels() -> np.ndarray:
    """The six 3x3 images of digit_table, 0..255."""
    return (np.arange(54).reshape(6, 3, 3) * 7 % 256).astype(np.uint8)


def digit_table(label: str = "digit", prefix: str = "pixel") -> pd.DataFrame:
    """The images of expected_pixels, a column per pixel in a shuffled order, and labels."""
    pixels = expected_pixels().reshape(6, -1).astype(np.int64)
    columns = {f"{prefix}{i + 1}": pixels[:, i] for i in range(9)}
    order = np.random.default_rng(0).permutation(list(columns))
    table = pd.DataFrame({name: columns[name] for name in order})
    table.insert(2, label, [10, 2, 1, 2, 10, 1])
    return table


def write_table(table: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        table.to_parquet(path)
    else:
        table.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_file_reads_pixel_tables(tmp_path: Path, suffix: str) -> None:
    path = write_table(digit_table(), tmp_path / f"digits{suffix}")
    data = load(TableFile, tmp_path, path=path.name)
    assert data.images is not None and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images, expected_pixels())  # pixel2 before pixel10
    assert data.features.dtype == np.float32
    np.testing.assert_allclose(data.features, expected_pixels().reshape(6, -1) / 255, rtol=1e-6)
    assert data.classes == ("1", "2", "10")  # by value, not as text
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [2, 1, 0, 1, 2, 0]


def test_csv_and_parquet_give_the_same_data(tmp_path: Path) -> None:
    table = digit_table()
    csv = load(TableFile, path=str(write_table(table, tmp_path / "d.csv")))
    parquet = load(TableFile, path=str(write_table(table, tmp_path / "d.parquet")))
    assert csv.fingerprint() == parquet.fingerprint()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_limit(tmp_path: Path, suffix: str) -> None:
    path = write_table(digit_table(), tmp_path / f"d{suffix}")
    data = load(TableFile, path=str(path), limit=4)
    assert len(data) == 4 and data.images is not None
    np.testing.assert_array_equal(data.images, expected_pixels()[:4])
    with pytest.warns(UserWarning, match="limit 9 is more than the 6 points there are"):
        assert len(load(TableFile, path=str(path), limit=9)) == 6


def test_file_label_column_defaults_to_label_and_can_be_named(tmp_path: Path) -> None:
    path = write_table(digit_table(label="label"), tmp_path / "d.csv")
    assert load(TableFile, path=str(path)).classes == ("1", "2", "10")
    path = write_table(digit_table(label="class"), tmp_path / "e.csv")
    assert load(TableFile, path=str(path), label="class").classes == ("1", "2", "10")


def test_file_without_a_label_column_has_one_class(tmp_path: Path) -> None:
    path = write_table(digit_table(label="lable"), tmp_path / "d.csv")
    data = load(TableFile, path=str(path))
    assert data.classes == ("all",) and data.labels.tolist() == [0] * 6
    assert data.images is not None  # the pixels are still images
    data = load(TableFile, path=str(write_table(digit_table(), tmp_path / "e.csv")), label=None)
    assert data.classes == ("all",)  # label: null leaves out even a 'digit' column
    error = input_error(TableFile, path=str(path), label="labl")
    assert error.key == "label"
    assert error.message.startswith("d.csv has no column 'labl' (did you mean 'lable'?): ")
    assert "its columns are 'pixel5', 'pixel6', 'lable', " in error.message


def test_file_with_another_separator_says_so_and_reads_with_sep(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("f0;f1;cls\n1;2;a\n3;4;b\n5;6;a\n", encoding="utf-8")
    error = input_error(TableFile, path=str(path), label="cls")
    assert error.key == "label"
    assert error.message == (
        "d.csv has no column 'cls': its columns are 'f0;f1;cls' (its values seem separated by "
        "';': set sep: ';')"
    )
    data = load(TableFile, path=str(path), label="cls", sep=";")
    assert data.classes == ("a", "b") and data.features.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_file_pixel_prefix(tmp_path: Path) -> None:
    path = write_table(digit_table(prefix="px"), tmp_path / "d.csv")
    data = load(TableFile, path=str(path))  # px1.. are plain numeric features then
    assert data.images is None and data.features.shape == (6, 9)
    error = input_error(TableFile, path=str(path), pixels="pix")
    assert error.key == "pixels" and "no pixel columns pix1, pix2" in error.message
    assert "'px" in error.message  # shows the columns it has
    data = load(TableFile, path=str(path), pixels="px")
    assert data.images is not None
    np.testing.assert_array_equal(data.images, expected_pixels())


def test_file_text_labels_sort_naturally(tmp_path: Path) -> None:
    table = digit_table()
    table["digit"] = ["item10", "item2", "Item1", "item2", "item10", "Item1"]
    data = load(TableFile, path=str(write_table(table, tmp_path / "d.parquet")))
    assert data.classes == ("Item1", "item2", "item10")
    assert data.labels.tolist() == [2, 1, 0, 1, 2, 0]


def test_file_image_shape(tmp_path: Path) -> None:
    table = digit_table().drop(columns=["pixel9"])  # 8 pixels: not a square
    path = write_table(table, tmp_path / "d.csv")
    data = load(TableFile, path=str(path))
    assert data.images is None and data.features.shape == (6, 8)
    data = load(TableFile, path=str(path), image_shape=[2, 4])
    assert data.images is not None and data.images.shape == (6, 2, 4)
    error = input_error(TableFile, path=str(path), image_shape=[3, 3])
    assert error.key == "image_shape"
    assert error.message == "an image of 3 x 3 has 9 pixels, but the file has 8 per row"


def test_file_pixels_from_0_to_1_are_kept(tmp_path: Path) -> None:
    table = digit_table()
    pixel_columns = [c for c in table.columns if c.startswith("pixel")]
    table[pixel_columns] = table[pixel_columns] / 255
    data = load(TableFile, path=str(write_table(table, tmp_path / "d.parquet")))
    assert data.images is not None
    np.testing.assert_array_equal(data.images, expected_pixels())
    np.testing.assert_allclose(data.features, expected_pixels().reshape(6, -1) / 255, rtol=1e-6)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (300, "pixel values must lie in 0..1 or 0..255, found 0..300"),
        (-2, "pixel values must lie in 0..1 or 0..255, found -2.."),
        (
            np.nan,
            "d.csv has empty, NaN, infinite or too large (beyond float32, ±3.4e38) values in "
            "feature column 'pixel5' (1 row)",
        ),
        ("dark", "feature column 'pixel5' of d.csv holds text, expected numbers"),
    ],
)
def test_file_bad_pixels(tmp_path: Path, value: Any, says: str) -> None:
    table = digit_table().astype({"pixel5": object})
    table.loc[3, "pixel5"] = value
    error = input_error(TableFile, path=str(write_table(table, tmp_path / "d.csv")))
    assert error.key == "path" and says in error.message


def test_file_empty_labels(tmp_path: Path) -> None:
    table = digit_table().astype({"digit": object})
    table.loc[1, "digit"] = None
    for suffix in (".csv", ".parquet"):
        error = input_error(TableFile, path=str(write_table(table, tmp_path / f"d{suffix}")))
        assert error.message == "1 of the 6 labels are empty: every row needs a label"


# --- file: arrays ------------------------------------------------------------------------------


def test_file_npy_features_with_a_labels_file(tmp_path: Path) -> None:
    features = np.random.default_rng(1).normal(size=(5, 3))  # not pixels: used as they are
    np.save(tmp_path / "x.npy", features)
    np.save(tmp_path / "y.npy", np.array([3, 1, 3, 2, 1]))
    data = load(TableFile, tmp_path, path="x.npy", labels="y.npy")
    np.testing.assert_allclose(data.features, features.astype(np.float32))
    assert data.images is None
    assert data.classes == ("1", "2", "3") and data.labels.tolist() == [2, 0, 2, 1, 0]
    (tmp_path / "y.txt").write_text("b\na\nb\nc\na\n")
    data = load(TableFile, tmp_path, path="x.npy", labels="y.txt")
    assert data.classes == ("a", "b", "c") and data.labels.tolist() == [1, 0, 1, 2, 0]


def test_file_npy_images(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", expected_pixels())
    np.save(tmp_path / "y.npy", np.arange(6))
    data = load(TableFile, tmp_path, path="x.npy", labels="y.npy")
    assert data.images is not None
    np.testing.assert_array_equal(data.images, expected_pixels())
    assert data.features.shape == (6, 9) and data.features.max() <= 1
    np.save(tmp_path / "flat.npy", expected_pixels().reshape(6, 9))
    data = load(TableFile, tmp_path, path="flat.npy", labels="y.npy", image_shape=[3, 3])
    assert data.images is not None
    np.testing.assert_array_equal(data.images, expected_pixels())


def test_file_npy_label_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    error = input_error(TableFile, tmp_path, path="x.npy")
    assert error.key == "labels" and "x.npy holds no labels: set 'labels'" in error.message
    np.save(tmp_path / "y.npy", np.arange(4))
    error = input_error(TableFile, tmp_path, path="x.npy", labels="y.npy")
    assert (error.key, error.message) == ("labels", "x.npy has 5 rows but y.npy has 4 labels")
    error = input_error(TableFile, tmp_path, path="x.npy", labels="missing.npy")
    assert error.key == "labels" and "file not found" in error.message
    np.save(tmp_path / "y2.npy", np.zeros((5, 2)))
    error = input_error(TableFile, tmp_path, path="x.npy", labels="y2.npy")
    assert error.key == "labels" and "one label per row (1-D), found shape (5, 2)" in error.message


@pytest.mark.parametrize(
    ("arrays", "options"),
    [
        ({"X": np.eye(4), "y": np.arange(4)}, {}),
        ({"data": np.eye(4), "labels": np.arange(4)}, {}),
        ({"feats": np.eye(4), "cls": np.arange(4)}, {"features_key": "feats", "labels_key": "cls"}),
    ],
)
def test_file_npz(tmp_path: Path, arrays: dict[str, Any], options: dict[str, str]) -> None:
    np.savez(tmp_path / "d.npz", **arrays)
    data = load(TableFile, tmp_path, path="d.npz", **options)
    np.testing.assert_array_equal(data.features, np.eye(4, dtype=np.float32))
    assert data.labels.tolist() == [0, 1, 2, 3] and data.images is None


def test_file_npz_with_images(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.eye(6), y=np.arange(6), images=expected_pixels())
    data = load(TableFile, tmp_path, path="d.npz")
    np.testing.assert_array_equal(data.features, np.eye(6, dtype=np.float32))
    assert data.images is not None
    np.testing.assert_array_equal(data.images, expected_pixels())
    np.savez(tmp_path / "only.npz", pics=expected_pixels() / 255, y=np.arange(6))
    data = load(TableFile, tmp_path, path="only.npz", images_key="pics")
    assert data.images is not None and data.features.shape == (6, 9)
    np.testing.assert_array_equal(data.images, expected_pixels())


def test_file_npz_errors(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.eye(4), lables=np.arange(4))
    error = input_error(TableFile, tmp_path, path="d.npz")
    assert error.key == "labels_key"
    assert "d.npz has no array 'y' or 'labels'" in error.message and "'lables'" in error.message
    error = input_error(TableFile, tmp_path, path="d.npz", labels_key="lable")
    assert error.message.startswith("d.npz has no array 'lable' (did you mean 'lables'?)")
    np.savez(tmp_path / "e.npz", X=np.eye(4), y=np.arange(3))
    error = input_error(TableFile, tmp_path, path="e.npz")
    assert error.message == "'X' in e.npz has 4 rows but 'y' has 3 labels"
    np.savez(tmp_path / "f.npz", X=np.eye(4), y=np.arange(4), images=np.zeros((3, 2, 2)))
    error = input_error(TableFile, tmp_path, path="f.npz")
    assert error.key == "images_key" and "has shape (3, 2, 2)" in error.message


# --- file: the file itself ---------------------------------------------------------------------


def test_file_not_found_and_folders(tmp_path: Path) -> None:
    error = input_error(TableFile, tmp_path, path="nope.csv")
    assert (error.key, error.message) == ("path", f"file not found: {tmp_path / 'nope.csv'}")
    (tmp_path / "dir.csv").mkdir()
    assert "found a folder" in input_error(TableFile, tmp_path, path="dir.csv").message


def test_file_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "d.xlsx").write_bytes(b"x")
    error = input_error(TableFile, tmp_path, path="d.xlsx")
    assert error.key == "path"
    assert error.message == (
        "unsupported file type '.xlsx': expected one of .csv, .tsv, .parquet, .npy, .npz"
    )


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("d.parquet", b"PAR1 not really", "cannot read"),
        ("d.csv", b"", "cannot read"),
        ("d.npz", b"not a zip", "is not an .npz file"),
        ("d.npy", b"garbage", "is not a .npy file"),
        ("d.npy", b"\x93NUMPY\x01\x00garbage", "cannot read"),
    ],
)
def test_file_unreadable_files(tmp_path: Path, name: str, content: bytes, says: str) -> None:
    (tmp_path / name).write_bytes(content)
    (tmp_path / "y.npy").write_bytes(b"")
    extra = {"labels": "y.npy"} if name.endswith(".npy") else {}
    error = input_error(TableFile, tmp_path, path=name, **extra)
    assert error.key == "path" and says in error.message


@pytest.mark.parametrize(
    ("path", "key"),
    [("d.csv", "features_key"), ("d.csv", "labels"), ("d.npz", "label"), ("d.npz", "pixels")],
)
def test_file_options_for_another_file_type_are_refused(
    tmp_path: Path, path: str, key: str
) -> None:
    write_table(digit_table(), tmp_path / "d.csv")
    np.savez(tmp_path / "d.npz", X=np.eye(2), y=np.arange(2))
    error = input_error(TableFile, tmp_path, path=path, **{key: "x"})
    assert error.key == key and "applies to" in error.message


# --- file: tables of any features ---------------------------------------------------------------


def measurements() -> pd.DataFrame:
    """A table as a user has it: numeric features, a species column and a numeric age."""
    return pd.DataFrame(
        {
            "sepal_length": [5.1, 7.0, 6.3, 4.9, 6.4, 5.8],
            "species": ["setosa", "versicolor", "virginica", "setosa", "versicolor", "virginica"],
            "sepal_width": [3.5, 3.2, 3.3, 3.0, 3.2, 2.7],
            "age": [1, 2, 3, 4, 5, 6],
            "site": ["a", "b", "a", "b", "a", "b"],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_file_reads_numeric_features_with_a_label(tmp_path: Path, suffix: str) -> None:
    path = write_table(measurements(), tmp_path / f"m{suffix}")
    data = load(TableFile, tmp_path, path=path.name, label="species")
    # Every numeric column but the label: age too, as nothing set it aside for colour.
    assert data.features.dtype == np.float32 and data.features.shape == (6, 3)
    np.testing.assert_allclose(data.features[1], [7.0, 3.2, 2.0], rtol=1e-6)
    assert data.classes == ("setosa", "versicolor", "virginica")
    assert data.labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert data.images is None and dict(data.columns) == {}


def test_file_features_by_list_or_glob_and_columns_for_colour(tmp_path: Path) -> None:
    path = write_table(measurements(), tmp_path / "m.csv")
    data = load(TableFile, path=str(path), label="species", columns=["age"])
    assert data.features.shape == (6, 2)  # age is kept for colour, not embedded
    np.testing.assert_array_equal(data.columns["age"], [1, 2, 3, 4, 5, 6])
    data = load(TableFile, path=str(path), label="species", features="sepal_*")
    np.testing.assert_allclose(data.features[0], [5.1, 3.5], rtol=1e-6)
    assert sorted(data.columns) == ["age"]  # the other numbers, by default
    data = load(TableFile, path=str(path), label="age", features=["sepal_width"])
    assert data.features.shape == (6, 1) and data.classes == tuple("123456")
    assert sorted(data.columns) == ["age", "sepal_length"]  # a numeric label is kept too
    assert (
        data.fingerprint()
        == load(
            TableFile, path=str(path), label="age", features=["sepal_width"], columns=[]
        ).fingerprint()
    )


def test_file_feature_errors_name_the_columns(tmp_path: Path) -> None:
    path = write_table(measurements(), tmp_path / "m.csv")
    error = input_error(TableFile, path=str(path), features=["sepal_length", "species", "site"])
    assert error.key == "features"
    assert error.message == (
        "feature columns 'species', 'site' of m.csv hold text, expected numbers: "
        "leave them out of 'features'"
    )
    error = input_error(TableFile, path=str(path), features=["sepal_lenght"])
    assert error.key == "features" and "no column 'sepal_lenght' (did you mean" in error.message
    error = input_error(TableFile, path=str(path), features="petal_*")
    assert error.key == "features" and "no column of m.csv matches 'petal_*'" in error.message
    error = input_error(TableFile, path=str(path), columns=["site"])
    assert error.key == "columns" and "column 'site' of m.csv holds text" in error.message
    text_only = write_table(measurements()[["species", "site"]], tmp_path / "t.csv")
    error = input_error(TableFile, path=str(text_only), label="species")
    assert "has no numeric columns besides the label" in error.message


def test_file_missing_values_are_named_or_dropped(tmp_path: Path) -> None:
    table = measurements()
    table.loc[[1, 4], "sepal_width"] = np.nan
    table.loc[2, "sepal_length"] = np.inf
    path = write_table(table, tmp_path / "m.csv")
    error = input_error(TableFile, path=str(path), label="species")
    assert error.key == "path"
    assert error.message == (
        "m.csv has empty, NaN, infinite or too large (beyond float32, ±3.4e38) values in feature "
        "columns 'sepal_length' (1 row), 'sepal_width' (2 rows): fill them in, or set "
        "'dropna: true' to leave those rows out"
    )
    data = load(TableFile, path=str(path), label="species", dropna=True, columns=["age"])
    assert len(data) == 3 and data.labels.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(data.columns["age"], [1, 4, 6])  # the same rows


def test_file_values_beyond_32_bit_floats_are_named_without_a_numpy_warning(
    tmp_path: Path,
) -> None:
    table = measurements()
    table["sepal_length"] = 1e300  # finite in the file, beyond what float32 holds
    path = write_table(table, tmp_path / "m.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's overflow warning would fail the test
        error = input_error(TableFile, path=str(path), label="species")
        assert "(beyond float32, ±3.4e38) values in feature column 'sepal_length' (" in (
            error.message
        )
        error = input_error(TableFile, path=str(path), label="species", dropna=True)
    assert error.key == "dropna"
    assert error.message == (
        f"m.csv: every one of its {len(table)} rows has an empty, non-finite or too large "
        "feature value, so dropna leaves none"
    )


def test_file_table_without_labels_is_one_class(tmp_path: Path) -> None:
    table = measurements().drop(columns=["species", "site"])
    data = load(TableFile, path=str(write_table(table, tmp_path / "m.parquet")))
    assert data.classes == ("all",) and set(data.labels.tolist()) == {0}
    assert data.features.shape == (6, 3)
