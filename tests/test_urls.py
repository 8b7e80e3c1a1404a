"""No Vega-Lite reaches vl-convert with a URL or a file other than inline data.

Every case is tried against real files in the test's folder and a real HTTP server on
127.0.0.1, in another process (vl-convert holds the GIL while it fetches, so a server thread in
this process could not answer), that records every request: nothing may be read.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image
from specanim_executors.local import Local, LocalOptions

from specanim import engine, hookimpl
from specanim.camera import Box
from specanim.components import Panel
from specanim.draw.vlconvert import rasterize
from specanim.errors import ExternalURL
from specanim.options import Options
from specanim.plugins import load_registry
from specanim.spec.validate import load_plan
from specanim.values import Frame, View

from .conftest import Run

SERVER = textwrap.dedent(
    """
    import http.server, sys
    png, log = open(sys.argv[1], "rb").read(), open(sys.argv[2], "a")
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            log.write(self.path + "\\n"); log.flush()
            body = png if self.path.endswith(".png") else b"a,b\\n1,2\\n3,4\\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)
RED = (255, 0, 0)


def red_png(size: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), RED).save(out, format="PNG")
    return out.getvalue()


def red_pixels(rgb: np.ndarray) -> int:
    return int(((rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)).sum())


class Server(SimpleNamespace):
    port: int
    log: Path

    def requests(self) -> list[str]:
        return self.log.read_text().splitlines()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    (folder / "red.png").write_bytes(red_png())
    log = folder / "requests.log"
    log.touch()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(folder / "red.png"), str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield Server(port=int(process.stdout.readline()), log=log)
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def local(tmp_path: Path) -> Path:
    """A folder with a red PNG and a CSV in it, the files a hostile spec would read."""
    (tmp_path / "red.png").write_bytes(red_png())
    (tmp_path / "data.csv").write_text("a,b\n1,2\n3,4\n")
    return tmp_path


IMAGE = {"type": "image", "width": 40, "height": 40, "align": "left", "baseline": "top"}
AT_ORIGIN = {"x": {"value": 0}, "y": {"value": 0}}


def image_view(url: str) -> dict[str, Any]:
    """An image mark showing url, at the top left."""
    return {
        "mark": IMAGE,
        "data": {"values": [{}]},
        "encoding": {"url": {"value": url}, **AT_ORIGIN},
    }


def data_view(url: str) -> dict[str, Any]:
    """Red squares at the points of a CSV at url."""
    return {
        "data": {"url": url, "format": {"type": "csv"}},
        "mark": {"type": "square", "color": "red", "size": 400, "filled": True, "opacity": 1},
        "encoding": {"x": {"field": "a", "type": "quantitative"}},
    }


def urls(server: Server, local: Path, name: str) -> dict[str, str]:
    return {
        "file-url": (local / name).as_uri(),
        "absolute-path": str(local / name),
        "relative-path": name,
        "http": f"http://127.0.0.1:{server.port}/{name}",
    }


# Where a hostile URL can stand in one view: (what, view made from a URL, file it names).
PLACES: dict[str, tuple[Callable[[str], dict[str, Any]], str]] = {
    "data-url": (data_view, "data.csv"),
    "image-encoding": (image_view, "red.png"),
    "image-mark": (
        lambda url: {
            "mark": {**IMAGE, "url": url},
            "data": {"values": [{}]},
            "encoding": AT_ORIGIN,
        },
        "red.png",
    ),
    "image-from-data": (
        lambda url: {
            "mark": IMAGE,
            "data": {"values": [{"u": url}]},
            "encoding": {"url": {"field": "u"}, **AT_ORIGIN},
        },
        "red.png",
    ),
    "image-from-expression": (
        lambda url: {
            "mark": {**IMAGE, "url": {"expr": json.dumps(url)}},
            "data": {"values": [{}]},
            "encoding": AT_ORIGIN,
        },
        "red.png",
    ),
    "href": (lambda url: {**data_view(_inline_csv()), "mark": {"type": "point", "href": url}}, ""),
    "lookup": (
        lambda url: {
            **data_view(_inline_csv()),
            "transform": [{"lookup": "a", "from": {"data": {"url": url}, "key": "a"}}],
        },
        "data.csv",
    ),
}


def _inline_csv() -> str:
    return "data:text/csv;base64," + base64.b64encode(b"a,b\n1,2\n").decode()


def frame_spec(view: dict[str, Any]) -> dict[str, Any]:
    return {"width": 80, "height": 80, "background": "black", **view}


def test_vl_convert_alone_reads_the_files_and_the_server(server: Server, local: Path) -> None:
    """The control: without specanim's checks these URLs are read, so the tests below mean it."""
    import vl_convert as vlc

    before = len(server.requests())
    for url in (urls(server, local, "red.png")["file-url"], urls(server, local, "red.png")["http"]):
        png = vlc.vegalite_to_png(json.dumps(frame_spec(image_view(url))))
        assert red_pixels(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))) > 1000
    vlc.vegalite_to_png(json.dumps(frame_spec(data_view(urls(server, local, "x.csv")["http"]))))
    assert server.requests()[before:] == ["/red.png", "/x.csv"]


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("kind", ["file-url", "absolute-path", "relative-path", "http"])
def test_a_view_that_names_a_file_or_url_is_refused(
    server: Server, local: Path, place: str, kind: str
) -> None:
    make, name = PLACES[place]
    url = urls(server, local, name or "page.html")[kind]
    before = len(server.requests())
    with pytest.raises(ExternalURL) as info:
        rasterize(
            frame_spec({"hconcat": [{"width": 10, "height": 10, "mark": "point"}, make(url)]})
        )
    message = str(info.value)
    assert "\n" not in message
    # The SVG shows a file URL as its path, and a relative path behind Vega's default base URL.
    refused = message.partition("refused the URL '")[2].partition("'")[0]
    assert refused.endswith(url.removeprefix("file://")), message
    assert server.requests()[before:] == []


@pytest.mark.parametrize(
    "config",
    [
        {"image": {"url": "URL"}},
        {"mark": {"href": "URL"}},
        {"point": {"href": "URL"}},
    ],
    ids=["config.image.url", "config.mark.href", "config.point.href"],
)
@pytest.mark.parametrize("kind", ["file-url", "http"])
def test_the_frame_config_cannot_name_a_url(
    server: Server, local: Path, config: dict[str, Any], kind: str
) -> None:
    url = urls(server, local, "red.png")[kind]
    spec = frame_spec(image_view(_red_data_url()))
    spec["config"] = json.loads(json.dumps(config).replace("URL", url))
    before = len(server.requests())
    with pytest.raises(ExternalURL, match=r"^frame spec config\.\w+\.(url|href): refused"):
        rasterize(spec)
    assert server.requests()[before:] == []


@pytest.mark.parametrize("kind", ["file-url", "http"])
def test_top_level_data_and_datasets_cannot_name_a_url(
    server: Server, local: Path, kind: str
) -> None:
    url = urls(server, local, "data.csv")[kind]
    spec = frame_spec(
        {
            "data": {"url": url},
            "datasets": {"rows": [{"a": 1}]},
            "vconcat": [{"mark": "point", "encoding": {"x": {"field": "a"}}}],
        }
    )
    before = len(server.requests())
    with pytest.raises(ExternalURL, match=r"^frame spec data\.url: refused"):
        rasterize(spec)
    assert server.requests()[before:] == []


def _red_data_url() -> str:
    return "data:image/png;base64," + base64.b64encode(red_png()).decode()


def test_inline_data_urls_still_render() -> None:
    rgb = rasterize(frame_spec(image_view(_red_data_url())))
    assert red_pixels(rgb) == 40 * 40
    squares = rasterize(frame_spec(data_view(_inline_csv())))
    assert red_pixels(squares) > 0


def test_the_refusal_names_the_view_and_survives_a_pickle() -> None:
    view = {**image_view("file:///etc/hostname.png"), "name": "legend"}
    with pytest.raises(ExternalURL) as info:
        rasterize(frame_spec({"vconcat": [view]}))
    assert str(info.value) == (
        "frame spec vconcat[0].encoding.url.value (view 'legend'): refused the URL "
        "'file:///etc/hostname.png': a frame may use inline data (data: URLs) only, "
        "never files or the network"
    )
    assert str(pickle.loads(pickle.dumps(info.value))) == str(info.value)


# --- a panel plugin's view, through the whole engine -----------------------------------------


class Hostile(Panel):
    """A third-party panel whose view the spec writes."""

    name = "hostile"

    class Options(Options):
        view: dict[str, Any]

    def view(self, frame: Frame, box: Box) -> View:
        return dict(self.options.view)  # type: ignore[attr-defined]


@hookimpl
def register_panels(register: Callable[[type[Panel]], None]) -> None:
    register(Hostile)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_panel_plugin_cannot_make_a_frame_read_a_file_or_url(
    server: Server, local: Path, workers: int
) -> None:
    registry = load_registry([("hostile", sys.modules[__name__])])
    http = urls(server, local, "red.png")["http"]
    view = {
        "data": {"values": [{"u": http}, {"u": (local / "red.png").as_uri()}]},
        "mark": {"type": "image", "width": 40, "height": 40},
        "encoding": {"url": {"field": "u"}, "x": {"value": 0}, "y": {"value": 0}},
    }
    spec = local / "scene.yaml"
    spec.write_text(
        json.dumps(
            {
                "width": 200,
                "height": 100,
                "dataset": {"type": "sklearn-digits", "limit": 50},
                "reducer": {"type": "pca"},
                "panels": [{"type": "hostile", "view": view}],
                "timeline": {"hold_end": 0.2},
            }
        )
    )
    out = local / "out.gif"
    before = len(server.requests())
    # Refused while preparing (the first frame is drawn to see how its boxes draw) or rendering.
    with pytest.raises(ExternalURL, match=f"refused the URL '{http}'"):
        prepared = engine.prepare(load_plan(spec, registry, out))
        with Local(LocalOptions(workers=workers)) as executor:
            engine.render(prepared, executor=executor)
    assert server.requests()[before:] == []
    assert not out.exists()


# --- a spec's vega_lite: pass-through, through the real CLI --------------------------------

SCENE = """
width: 200
height: 120
dataset: {{type: sklearn-digits, limit: 60}}
reducer: {{type: pca}}
panels:
  - type: scatter
    render: raster
{panel}
{frame}
timeline: {{hold_end: 0.2}}
"""


@pytest.mark.parametrize(
    ("panel", "frame", "where"),
    [
        ("    vega_lite: {mark: {url: 'URL'}}", "", ":9: panels[0].vega_lite.mark.url"),
        ("", "vega_lite: {config: {image: {url: 'URL'}}}", ":10: vega_lite.config.image.url"),
        (
            "    vega_lite: {transform: [{lookup: digit, from: {data: {url: 'URL'}, key: a}}]}",
            "",
            ":9: panels[0].vega_lite.transform[0].from.data.url",
        ),
        (
            "  - type: progress-bar\n    vega_lite: {mark: {type: image, width: 20, height: 20,"
            " url: {expr: \"'URL'\"}}}",
            "",
            ": frame (an image or link made from data or an expression)",
        ),
    ],
    ids=["panel-mark", "frame-config", "panel-lookup", "panel-expression"],
)
@pytest.mark.parametrize("kind", ["file-url", "http"])
def test_a_spec_s_vega_lite_cannot_read_a_file_or_url(
    server: Server, local: Path, specanim: Run, panel: str, frame: str, where: str, kind: str
) -> None:
    url = urls(server, local, "red.png")[kind]
    spec = local / "scene.yaml"
    spec.write_text(SCENE.format(panel=panel, frame=frame).replace("URL", url))
    before = len(server.requests())
    result = specanim("render", spec, "-o", "out.gif", "-w", "2")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    shown = url.removeprefix("file://") if "expression" in where else url
    # Written in the spec: located there before anything is fitted; else found in the frame.
    located = where[1].isdigit()
    assert line.startswith(f"{spec}{where}" if located else where.removeprefix(": ")), line
    assert f"refused the URL '{shown}'" in line
    assert server.requests()[before:] == []
    assert not (local / "out.gif").exists()
