"""Fixtures and helpers for the dataset tests: IDX files and a local HTTP file server."""

from __future__ import annotations

import gzip
import hashlib
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def idx_bytes(array: np.ndarray) -> bytes:
    """array (uint8, 1-D labels or 3-D images) in the IDX format MNIST uses."""
    magic = 0x800 + array.ndim  # unsigned bytes, then the number of dimensions
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> str:
    """Write array as an IDX file (gzip-compressed if compress); its content's SHA-256."""
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass
class FileServer:
    """An HTTP server on 127.0.0.1 that serves the files in root and records the paths asked."""

    root: Path
    server: ThreadingHTTPServer
    requests: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self) -> None:
        """Stop serving: later requests to url are refused."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def file_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """A running FileServer whose root is an empty folder the test fills."""
    for name in ("no_proxy", "NO_PROXY"):  # a proxy in the environment must not see 127.0.0.1
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    root = tmp_path / "served"
    root.mkdir()
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    served = FileServer(root, server, requests)
    yield served
    if server.socket.fileno() != -1:
        served.stop()
