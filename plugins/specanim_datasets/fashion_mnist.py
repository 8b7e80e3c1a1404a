"""``fashion-mnist``: Zalando's 28x28 images of clothing in ten classes, MNIST's file format.

Read like ``mnist`` (a local folder, or downloaded once through pooch into the cache). The
authors publish the MD5 of each ``.gz`` file, and nothing of the uncompressed content, so a
download is checked against those; files in a local folder are checked only against the
`checksums` a spec gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from specanim.sdk import Dataset, hookimpl

from .mnist import Mnist, MnistOptions

DEFAULT_URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
# As published in the Fashion-MNIST README (zalandoresearch/fashion-mnist), and by torchvision.
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
}
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class FashionMnistOptions(MnistOptions):
    """Options of the ``fashion-mnist`` dataset: those of ``mnist``, with its own defaults."""

    url: str = Field(
        DEFAULT_URL, description="The address the missing files are downloaded from: a folder URL."
    )
    checksums: dict[str, str] = Field(
        default_factory=dict,
        description="The SHA-256 of each file's uncompressed content (`gunzip -c FILE | "
        "sha256sum`), by file name; none by default, as the authors publish none.",
    )
    download_hashes: dict[str, str] = Field(
        default_factory=lambda: dict(PUBLISHED_MD5),
        description="The hash of each file as the server publishes it (md5:HEX or sha256:HEX), "
        "checked on download; the default is the MD5s the authors publish.",
    )


class FashionMnist(Mnist):
    """Zalando's 70,000 28x28 clothing images in ten classes, from a folder or downloaded once.

    The classes: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag and
    Ankle boot."""

    name = "fashion-mnist"
    Options = FashionMnistOptions
    classes = CLASSES


@hookimpl
def register_datasets(register: Callable[[type[Dataset[Any]]], None]) -> None:
    """Register the fashion-mnist dataset."""
    register(FashionMnist)
