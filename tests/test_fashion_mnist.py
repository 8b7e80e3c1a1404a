"""fashion-mnist: tiny IDX files of its format, read from a folder or served from 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from specanim.errors import InputError
from specanim.store.paths import CACHE_ENV
from specanim_datasets.fashion_mnist import CLASSES, PUBLISHED_MD5, FashionMnist
from specanim_datasets.mnist import SPLITS

from .datasets_fixtures import FileServer, file_server, write_idx

__all__ = ["file_server"]  # a fixture: imported for pytest to find


def load(base_dir: Path = Path("."), /, **options: Any) -> Any:
    return FashionMnist(FashionMnist.Options.model_validate(options), base_dir).load()


def input_error(**options: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        load(**options)
    return caught.value


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder with a 3-image train split and a 2-image test split; the MD5 of each file."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    images = (np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256).astype(np.uint8)
    labels = np.array([0, 9, 3, 8, 1], np.uint8)
    for split, rows in (("train", slice(0, 3)), ("test", slice(3, 5))):
        write_idx(folder / SPLITS[split][0], images[rows])
        write_idx(folder / SPLITS[split][1], labels[rows])
    md5 = {
        name: "md5:" + hashlib.md5((folder / name).read_bytes()).hexdigest()
        for name in PUBLISHED_MD5
    }
    return folder, md5


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder fashion-mnist downloads into by default."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "fashion-mnist"


def test_reads_a_local_folder_with_the_class_names(tiny: tuple[Path, dict[str, str]]) -> None:
    folder, _ = tiny
    data = load(path=str(folder))
    assert data.classes == CLASSES and data.classes[9] == "Ankle boot"
    assert data.labels.tolist() == [0, 9, 3, 8, 1]
    assert data.images is not None and data.images.shape == (5, 28, 28)
    assert len(load(path=str(folder), split="test")) == 2


def test_downloads_through_pooch_into_its_cache_once(
    tiny: tuple[Path, dict[str, str]], file_server: FileServer, cache: Path
) -> None:
    folder, md5 = tiny
    shutil.copytree(folder, file_server.root, dirs_exist_ok=True)
    first = load(url=file_server.url, download_hashes=md5)
    assert sorted(file_server.requests) == sorted(f"/{name}" for name in PUBLISHED_MD5)
    assert sorted(p.name for p in cache.iterdir()) == sorted(PUBLISHED_MD5)
    file_server.stop()
    again = load(url=file_server.url, download_hashes=md5)  # from the cache, no server
    assert again.fingerprint() == first.fingerprint() and again.classes == CLASSES


def test_the_published_md5_refuses_other_files_and_nothing_is_kept(
    tiny: tuple[Path, dict[str, str]], file_server: FileServer, cache: Path
) -> None:
    folder, _ = tiny
    shutil.copytree(folder, file_server.root, dirs_exist_ok=True)
    error = input_error(url=file_server.url, split="test", retries=0)
    assert error.key == "url"
    assert (
        f"the file downloaded from {file_server.url}t10k-images-idx3-ubyte.gz was not kept"
        in error.message
    )
    assert PUBLISHED_MD5["t10k-images-idx3-ubyte.gz"].removeprefix("md5:") in error.message
    assert not cache.exists() or not any(p.name.endswith(".gz") for p in cache.iterdir())


def test_a_failed_download_is_tried_again(file_server: FileServer, cache: Path) -> None:
    error = input_error(url=file_server.url, split="test", retries=1)
    assert error.message.startswith(
        f"cannot download {file_server.url}t10k-images-idx3-ubyte.gz: HTTP 404"
    )
    assert file_server.requests == ["/t10k-images-idx3-ubyte.gz"] * 2


def test_download_hashes_are_validated() -> None:
    with pytest.raises(ValidationError, match="md5:<32 hex digits> or sha256:<64 hex digits>"):
        FashionMnist.Options.model_validate({"download_hashes": {SPLITS["test"][0]: "abc"}})
    with pytest.raises(ValidationError, match="unknown file"):
        FashionMnist.Options.model_validate({"download_hashes": {"x.gz": "md5:" + "0" * 32}})
