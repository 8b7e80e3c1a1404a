"""The preview's web server: the standard library's threading HTTP server, on loopback unless
asked otherwise, serving only its own page, its state and the frames.

Routes (anything else is 404, and nothing is ever read from a path in a request):

- ``/``, ``/page.js``, ``/page.css``: the page, package data;
- ``/state``: JSON the page polls (the scene's digest and frame count, errors, the stage of
  work);
- ``/frame/DIGEST/N.png``: frame N of the scene named DIGEST, drawn on demand and kept;
- ``/values/DIGEST/N``: the values that frame's titles can show, as JSON.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import re
import socket
import sys
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from specanim.errors import UserError, describe_exception
from specanim.preview.session import Session, failure_lines
from specanim.preview.watch import Watcher
from specanim.spec.extends import read_spec
from specanim.store.trajectories import CacheMode

PAGES = {"/": "page.html", "/page.js": "page.js", "/page.css": "page.css"}
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
FRAME = re.compile(r"/frame/([0-9a-f]{16})/([0-9]{1,9})\.png")
VALUES = re.compile(r"/values/([0-9a-f]{16})/([0-9]{1,9})")
LOOPBACK_NAMES = {"localhost"}


def serve(
    spec: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    overrides: tuple[str, ...] = (),
    cache: CacheMode = "use",
    said: Callable[[str], None] = print,
) -> None:
    """Serve a preview of spec until the process is interrupted; said(line) is told the URL,
    then one line per reload. UserError if there is no spec file or the port cannot be had."""
    if not spec.is_file():  # nothing to preview or watch: the line every command prints
        read_spec(spec)
    session = Session(spec, overrides, cache)
    server = _bind(host, port)
    server.session, server.said = session, said
    server.hosts = _allowed_hosts(host, server.server_address[1])
    watcher = Watcher(session, said)
    watcher.start()
    try:
        url_host = f"[{host}]" if ":" in host else host
        said(f"previewing {spec} at http://{url_host}:{server.server_address[1]}/ (Ctrl-C ends)")
        server.serve_forever()
    finally:
        watcher.stopping.set()
        server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a page left open does not keep the process alive
    session: Session
    hosts: set[str] | None  # the Host headers accepted; None: any
    said: Callable[[str], None]  # tells the terminal

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, ConnectionError):  # not a page closed early
            self.said(f"error: answering {client_address}: {describe_exception(exc)}")


def _bind(host: str, port: int) -> _Server:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("_Bound", (_Server,), {"address_family": family})
    try:
        server: _Server = server_class((host, port), _Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(
                f"--port {port}: another program listens on it; choose another port, or 0 for "
                "a free one"
            ) from None
        where = f"--host {host} --port {port}"
        raise UserError(f"{where}: cannot listen there: {exc.strerror}") from None
    return server


def _allowed_hosts(host: str, port: int) -> set[str] | None:
    """The Host headers a server on host accepts: on loopback only loopback names, so a page of
    another site that a DNS name points to this machine cannot read the preview; elsewhere
    (asked for) any."""
    try:
        loopback = host in LOOPBACK_NAMES or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return None
    names = {"localhost", "127.0.0.1", "[::1]", f"[{host}]" if ":" in host else host}
    return {*names, *(f"{name}:{port}" for name in names)}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "specanim-preview"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows one line per reload, not one per request

    def _answer(self, body: bool) -> None:
        hosts = self.server.hosts
        if hosts is not None and self.headers.get("Host", "").lower() not in hosts:
            return self._send(HTTPStatus.BAD_REQUEST, b"not a loopback host\n", "text/plain", body)
        path = self.path.partition("?")[0]
        session = self.server.session
        if path in PAGES:
            name = PAGES[path]
            content = resources.files(__package__).joinpath(name).read_bytes()
            return self._send(HTTPStatus.OK, content, TYPES[Path(name).suffix], body)
        if path == "/state":
            return self._send(HTTPStatus.OK, _json(session.state()), "application/json", body)
        if match := FRAME.fullmatch(path):
            try:
                png = session.frame_png(match[1], int(match[2]))
            except Exception as exc:  # shown in the page as the command prints it
                text = "\n".join(failure_lines(exc)).encode()
                return self._send(HTTPStatus.UNPROCESSABLE_ENTITY, text, "text/plain", body)
            if png is not None:
                return self._send(HTTPStatus.OK, png, "image/png", body, cached=True)
        elif match := VALUES.fullmatch(path):
            values = session.frame_values(match[1], int(match[2]))
            if values is not None:
                return self._send(HTTPStatus.OK, _json(values), "application/json", body)
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", body)

    def _send(
        self, status: HTTPStatus, content: bytes, kind: str, body: bool, cached: bool = False
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(content)))
        # A frame's URL names its scene's digest: its bytes never change.
        self.send_header("Cache-Control", "max-age=3600, immutable" if cached else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if body:
            self.wfile.write(content)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()
