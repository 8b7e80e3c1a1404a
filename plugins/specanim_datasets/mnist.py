"""``mnist`` and ``fashion-mnist``: 28x28 images in the canonical IDX files.

The files come from a local folder (``path``) or are downloaded once into a cache folder through
pooch (a temporary file moved into place only when complete, retries, and a hash check of the
file as published where one is known). Every file read is also checked against the SHA-256 of
its uncompressed content where that is known: unlike the bytes of a ``.gz``, it does not change
when a copy is re-compressed, so any faithful copy passes (the MNIST copies many people keep are
re-compressed). Fashion-MNIST's authors publish only the MD5 of their ``.gz`` files, so those are
what a Fashion-MNIST download is checked against.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from math import prod
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from specanim.sdk import Data, Dataset, InputError, Options, cache_dir, did_you_mean, hookimpl

from ._common import DOWNLOAD_TIMEOUT, DownloadError, Limit, image_data, resolve, take

log = logging.getLogger(__name__)

IMAGES, LABELS = 0, 1
MAGIC = {IMAGES: 2051, LABELS: 2049}  # IDX: unsigned bytes, 3 dimensions / 1 dimension
KIND = {IMAGES: "images", LABELS: "labels"}
SPLITS: dict[str, tuple[str, str]] = {  # the (images, labels) files of each split
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FILES = tuple(name for pair in SPLITS.values() for name in pair)
# The SHA-256 of each canonical file's uncompressed content, as `gunzip -c FILE | sha256sum` prints.
_SHA256SUMS = """
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte.gz
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte.gz
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte.gz
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte.gz
"""
CHECKSUMS: dict[str, str] = {
    name: digest for digest, name in (line.split() for line in _SHA256SUMS.strip().splitlines())
}
DEFAULT_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
DIGITS = tuple(str(d) for d in range(10))
HASH = re.compile(r"(md5:[0-9a-fA-F]{32}|sha256:[0-9a-fA-F]{64})")  # pooch's known_hash forms
SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class MnistOptions(Options):
    """Options of the ``mnist`` dataset."""

    path: Path | None = Field(
        None,
        description="A folder holding the MNIST files (.gz or uncompressed), relative to the "
        "spec file; without it the files are downloaded from `url` into `cache`.",
    )
    split: Literal["train", "test", "all"] = Field(
        "all",
        description="train: the 60,000 training digits; test: the 10,000 test digits; "
        "all: the training digits, then the test digits.",
    )
    limit: Limit = None
    url: str = Field(
        DEFAULT_URL, description="The address the missing files are downloaded from: a folder URL."
    )
    cache: Path | None = Field(
        None, description="The folder downloaded files are kept in (default: specanim's cache)."
    )
    checksums: dict[str, str] = Field(
        default_factory=lambda: dict(CHECKSUMS),
        description="The SHA-256 of each file's uncompressed content (`gunzip -c FILE | "
        "sha256sum`), by file name; a file not listed is not checked ({} checks none). "
        "The default is the canonical MNIST files.",
    )

    download_hashes: dict[str, str] = Field(
        default_factory=dict,
        description="The hash of each file as the server publishes it (md5:HEX or sha256:HEX), "
        "checked on download; a file not listed is not checked this way. MNIST: none by default "
        "(its content checksums are checked instead).",
    )
    retries: int = Field(2, ge=0, le=10, description="How often a failed download is tried again.")

    @field_validator("download_hashes")
    @classmethod
    def _valid_hashes(cls, value: dict[str, str]) -> dict[str, str]:
        return _by_file(value, HASH, "md5:<32 hex digits> or sha256:<64 hex digits>")

    @field_validator("checksums")
    @classmethod
    def _valid_checksums(cls, value: dict[str, str]) -> dict[str, str]:
        return _by_file(value, SHA256, "64 hex digits")


def _by_file(value: dict[str, str], form: re.Pattern[str], described: str) -> dict[str, str]:
    """value with lower-case digests; ValueError for an unknown file name or a digest that is
    not of the form described."""
    for name, digest in value.items():
        if name not in FILES:
            raise ValueError(
                f"unknown file '{name}'{did_you_mean(name, FILES)}: "
                f"expected one of {', '.join(FILES)}"
            )
        if not form.fullmatch(digest):
            raise ValueError(f"the checksum of {name} must be {described}, got '{digest}'")
    return {name: digest.lower() for name, digest in value.items()}


class InvalidFile(Exception):
    """Why a file is not the IDX file it should be; ``checksum`` if only its checksum is wrong."""

    def __init__(self, reason: str, checksum: bool = False) -> None:
        super().__init__(reason)
        self.checksum = checksum


def read_idx(path: Path, kind: int, sha256: str | None) -> np.ndarray:
    """The uint8 array in an IDX file of MNIST images or labels, gzip-compressed or not.

    Raises InvalidFile if the file is corrupt, is not an IDX file of that kind, or its
    uncompressed content does not have the SHA-256 given.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidFile(f"cannot be read: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except EOFError:
            raise InvalidFile("is truncated: its gzip stream ends early") from None
        except (OSError, zlib.error) as exc:
            raise InvalidFile(f"is a corrupt gzip file ({exc})") from None
    if not raw:
        raise InvalidFile("is empty")
    found = int.from_bytes(raw[:4], "big")
    if len(raw) < 4 or found != MAGIC[kind]:
        raise InvalidFile(
            f"is not an IDX file of {KIND[kind]}: its magic number is {found}, "
            f"expected {MAGIC[kind]}"
        )
    header = 4 + 4 * raw[3]
    if len(raw) < header:
        raise InvalidFile(f"is truncated: {len(raw)} bytes, less than its {header}-byte header")
    shape = struct.unpack(f">{raw[3]}I", raw[4:header])
    if len(raw) - header != prod(shape):
        raise InvalidFile(
            f"holds {len(raw) - header} bytes of data, but its header promises "
            f"{' x '.join(map(str, shape))} = {prod(shape)}"
        )
    digest = hashlib.sha256(raw).hexdigest()
    if sha256 is not None and digest != sha256:
        raise InvalidFile(
            f"is not the expected file: the SHA-256 of its uncompressed content is {digest}, "
            f"expected {sha256}",
            checksum=True,
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


class Mnist(Dataset):
    """The MNIST handwritten digits (28x28), from a local folder or downloaded once."""

    name = "mnist"
    Options = MnistOptions
    options: MnistOptions
    classes: tuple[str, ...] = DIGITS

    def load(self) -> Data:
        """The digits of the split, train before test, each in the files' order."""
        splits = ("train", "test") if self.options.split == "all" else (self.options.split,)
        array = self._local_reader(splits) if self.options.path else self._cache_reader()
        images, labels = [], []
        for split in splits:
            image_file, label_file = SPLITS[split]
            images.append(array(image_file, IMAGES))
            labels.append(array(label_file, LABELS))
            if len(images[-1]) != len(labels[-1]):
                raise InputError(
                    f"{image_file} holds {len(images[-1])} images but {label_file} holds "
                    f"{len(labels[-1])} labels: they must be the files of one split",
                    key=self._source_key,
                )
        if len({part.shape[1:] for part in images}) > 1:
            sizes = " and ".join("x".join(map(str, part.shape[1:])) for part in images)
            raise InputError(f"the splits' images differ in size: {sizes}", key=self._source_key)
        n = take(sum(map(len, labels)), self.options.limit)
        all_labels = np.concatenate(labels)[:n].astype(np.int64)
        extra = range(len(self.classes), int(all_labels.max(initial=0)) + 1)
        classes = (*self.classes, *(str(k) for k in extra))
        return image_data(np.concatenate(images)[:n], all_labels, classes)

    @property
    def _source_key(self) -> str:
        return "path" if self.options.path else "url"

    def _local_reader(self, splits: tuple[str, ...]) -> Callable[[str, int], np.ndarray]:
        """A reader of the files in the ``path`` folder, after checking that they are all there."""
        options = self.options
        assert options.path is not None
        for key in ("url", "cache"):
            if key in options.model_fields_set:
                raise InputError(
                    f"'{key}' has no effect together with 'path': files are read from the "
                    "folder, never downloaded; remove one of the two",
                    key=key,
                )
        folder = resolve(self.base_dir, options.path)
        if not folder.is_dir():
            what = "is a file" if folder.exists() else "does not exist"
            raise InputError(
                f"expected a folder holding the MNIST files, but {folder} {what}", key="path"
            )
        missing = [name for split in splits for name in SPLITS[split] if not _find(folder, name)]
        if missing:
            present = [s for s in SPLITS if all(_find(folder, name) for name in SPLITS[s])]
            fix = (
                f"set 'split: {present[0]}' to use the {present[0]} files it has"
                if present
                else "add them, or leave out 'path' to download them"
            )
            raise InputError(
                f"{folder} has no {' or '.join(missing)}, which split '{options.split}' "
                f"needs: {fix}",
                key="path",
            )

        def array(name: str, kind: int) -> np.ndarray:
            file = _find(folder, name)
            assert file is not None
            try:
                return read_idx(file, kind, options.checksums.get(name))
            except InvalidFile as exc:
                fix = "; set 'checksums: {}' to read other data" if exc.checksum else ""
                raise InputError(f"{file} {exc}{fix}", key="path") from None

        return array

    def _cache_reader(self) -> Callable[[str, int], np.ndarray]:
        """A reader of the files in the cache folder that downloads those it lacks."""
        options = self.options
        folder = resolve(self.base_dir, options.cache) if options.cache else cache_dir(self.name)

        def array(name: str, kind: int) -> np.ndarray:
            file, url = folder / name, options.url.rstrip("/") + "/" + name
            if file.is_file():
                try:
                    return read_idx(file, kind, options.checksums.get(name))
                except InvalidFile as exc:
                    warnings.warn(f"the cached {file} {exc}: downloading it again", stacklevel=2)
                    file.unlink()
            log.info("downloading %s into %s", url, folder)
            try:
                fetched = fetch(url, file, options.download_hashes.get(name), options.retries)
            except DownloadError as exc:
                fix = "check 'url', or set 'path' to a folder with a copy of the files"
                raise InputError(f"{exc}; {fix}", key="url") from None
            except OSError as exc:
                message = f"cannot write to the cache folder {folder}: {exc}"
                raise InputError(message, key="cache") from None
            try:
                return read_idx(fetched, kind, options.checksums.get(name))
            except InvalidFile as exc:
                fetched.unlink(missing_ok=True)
                raise InputError(
                    f"the file downloaded from {url} {exc}; it was not kept", key="url"
                ) from None

        return array


def fetch(url: str, file: Path, known_hash: str | None, retries: int) -> Path:
    """Download url to file with pooch, which writes a temporary file, checks known_hash (if
    given) and only then moves it into place, trying again up to retries times.

    Raises DownloadError saying why, in one line, if the download or its hash check failed.
    """
    import pooch
    import requests

    fetcher = pooch.create(
        path=file.parent,
        base_url=url.rsplit("/", 1)[0] + "/",
        registry={file.name: known_hash},
        retry_if_failed=retries,
    )
    downloader = pooch.HTTPDownloader(timeout=DOWNLOAD_TIMEOUT, progressbar=False)
    pooch.get_logger().setLevel(logging.WARNING)  # pooch announces every download at INFO
    try:
        return Path(fetcher.fetch(file.name, downloader=downloader))
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "error"
        reason = exc.response.reason if exc.response is not None else exc
        raise DownloadError(f"cannot download {url}: HTTP {status} {reason}") from None
    except requests.RequestException as exc:
        raise DownloadError(f"cannot download {url}: {type(exc).__name__}") from None
    except ValueError as exc:  # pooch: the hash of the downloaded file is not the known one
        detail = " ".join(str(exc).split())
        raise DownloadError(f"the file downloaded from {url} was not kept: {detail}") from None


def _find(folder: Path, name: str) -> Path | None:
    """The file name in folder, or its uncompressed twin (name without .gz), if either is there."""
    for candidate in (name, name.removesuffix(".gz")):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


@hookimpl
def register_datasets(register: Callable[[type[Dataset]], None]) -> None:
    """Register the mnist dataset."""
    register(Mnist)
