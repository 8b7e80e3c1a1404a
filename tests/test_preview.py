"""``specanim preview``: the real command in its own process, its page in a real browser. The
page scrubs the real frames, follows edits of the spec, of what it extends and of a local
plugin, shows a spec's error as the command prints it and recovers; the server serves only its
own pages and ends in one line."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import Visit
from tests.test_faults import alive, descendants

HANG = 120  # seconds: only a guard against a hang, never a speed requirement
URL = re.compile(r"at (http://127\.0\.0\.1:(\d+)/) \(Ctrl-C ends\)$")

BASE = """
    version: 1
    width: 240
    height: 160
    title: "{title} {{epoch}}"
    dataset: {{type: sklearn-digits, limit: 60}}
    timeline: {{fps: 5, duration: 2}}
"""

SCENE = """
    extends: base.yaml
    plugins: [scaled.py]
    reducer: {{type: scaled{more}}}
    panels:
      - type: scatter
        point_size: 3
"""

# A reducer whose layout is the data's first two features times a factor, in three steps; each
# fit appends a line to fits.log beside it.
REDUCER = """
    from pathlib import Path

    import numpy as np
    from specanim.sdk import Options, Reducer, Step, Trajectory, hookimpl

    FACTOR = {factor!r}

    class Scaled(Reducer[Options]):
        name = "scaled"

        def fit(self, data, progress):
            with open(Path(__file__).with_name("fits.log"), "a") as log:
                log.write("fit\\n")
            base = data.features[:, :2] * FACTOR
            snapshots = np.stack([base * g for g in (0.2, 0.6, 1.0)]).astype(np.float32)
            progress(2, 2)
            return Trajectory(snapshots, tuple(Step(s) for s in range(3)), 2)

    @hookimpl
    def register_reducers(register):
        register(Scaled)
"""


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def scene(folder: Path, title: str = "first", factor: float = 1.0, more: str = "") -> None:
    write(folder / "base.yaml", BASE.format(title=title))
    write(folder / "scene.yaml", SCENE.format(more=more))
    write(folder / "scaled.py", REDUCER.format(factor=factor))


class Preview:
    """``specanim preview scene.yaml`` running in its own session, its stderr read as it comes."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "specanim", "preview", "scene.yaml", *args],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def url(self) -> tuple[str, int]:
        """The page's address and port, from the line the command prints."""
        deadline = time.monotonic() + HANG
        while not (self.lines and URL.search(self.lines[0])):
            assert self.process.poll() is None or self.reader.is_alive(), self.lines
            assert time.monotonic() < deadline, f"no address printed: {self.lines}"
            time.sleep(0.05)
        match = URL.search(self.lines[0])
        assert match is not None
        return match[1], int(match[2])

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(HANG)


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[Preview]:
    scene(tmp_path)
    started = Preview(tmp_path, "--cache", "off")
    yield started
    started.end()


def fits(folder: Path) -> int:
    log = folder / "fits.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def shown(visit: Visit) -> str:
    """The digest of the scene whose frame the page shows."""
    return visit.page.eval_on_selector("#frame", "img => img.dataset.digest || ''")


def wait_for_new_frame(visit: Visit, old: str) -> float:
    """Wait until the page shows a frame of a scene other than old; the seconds it took."""
    start = time.monotonic()
    visit.page.wait_for_function(
        "old => (document.getElementById('frame').dataset.digest || old) !== old",
        arg=old,
        timeout=HANG * 1000,
    )
    return time.monotonic() - start


def test_the_page_scrubs_follows_edits_shows_errors_and_recovers(
    tmp_path: Path, preview: Preview, visit: Visit
) -> None:
    url, _ = preview.url()
    page = visit.page
    page.goto(url)
    page.wait_for_function("document.getElementById('frame').dataset.frame === '0'")
    assert page.text_content("#count") == "10"

    # Scrub to the last frame: its number, and the values its title shows.
    page.focus("#scrubber")
    page.keyboard.press("End")
    page.wait_for_function("document.getElementById('frame').dataset.frame === '9'")
    assert page.text_content("#number") == "9"
    page.wait_for_function("document.getElementById('values').textContent.includes('epoch')")
    for name, value in [("frames", "10"), ("frame", "10"), ("epoch", "2")]:
        row = page.locator("#values tr").filter(has=page.locator(f"td:text-is('{name}')"))
        assert row.locator("td").all_text_contents() == [name, value]

    # A title edit in the spec it extends: a new frame, drawn without a refit.
    before, picture = shown(visit), page.locator("#frame").screenshot()
    assert fits(tmp_path) == 1
    write(tmp_path / "base.yaml", BASE.format(title="second"))
    latency = wait_for_new_frame(visit, before)
    print(f"title edit shown after {latency:.2f} s")
    page.wait_for_function("document.getElementById('frame').dataset.frame === '9'")
    assert page.locator("#frame").screenshot() != picture
    assert fits(tmp_path) == 1, "a title edit fitted the reducer again"

    # A broken spec: the page shows exactly the line `specanim validate` prints; then fixed.
    scene_text = (tmp_path / "scene.yaml").read_text()
    write(tmp_path / "scene.yaml", SCENE.format(more=", factr: 2"))
    validate = subprocess.run(
        [sys.executable, "-m", "specanim", "validate", "scene.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert validate.returncode == 2 and len(validate.stderr.splitlines()) == 1, validate.stderr
    page.wait_for_function(
        "document.getElementById('errors').hidden === false", timeout=HANG * 1000
    )
    assert page.text_content("#errors") == validate.stderr.strip()
    (tmp_path / "scene.yaml").write_text(scene_text)
    page.wait_for_function("document.getElementById('errors').hidden", timeout=HANG * 1000)

    # An edited local plugin: the reducer's code changed, so it is fitted again.
    before, picture = shown(visit), page.locator("#frame").screenshot()
    write(tmp_path / "scaled.py", REDUCER.format(factor=-1.0))
    wait_for_new_frame(visit, before)
    page.wait_for_function("document.getElementById('frame').dataset.frame === '9'")
    assert page.locator("#frame").screenshot() != picture
    assert fits(tmp_path) == 2

    assert visit.outside(url, f"blob:{url.rstrip('/')}/") == []
    assert [e for e in visit.errors if "Failed to load resource" not in e] == []
    # One line for the address, one per reload (three edits, the broken spec and its fix).
    assert len(preview.lines) <= 5, preview.lines


# A panel that fails to draw the frames from FAIL_FROM on.
FAILING = """
    from specanim.sdk import Panel, hookimpl

    FAIL_FROM = {fail_from!r}

    class Failing(Panel):
        name = "failing"

        def view(self, frame, box):
            if not frame.layout_only and frame.index >= FAIL_FROM:
                raise RuntimeError("a made-up fault")
            return {{"data": {{"values": [{{}}]}}, "mark": "point"}}

    @hookimpl
    def register_panels(register):
        register(Failing)
"""


def test_a_frame_that_fails_to_draw_shows_the_line_the_command_prints(
    tmp_path: Path, visit: Visit
) -> None:
    scene(tmp_path)
    text = (tmp_path / "scene.yaml").read_text()
    text = text.replace("plugins: [scaled.py]", "plugins: [scaled.py, failing.py]")
    (tmp_path / "scene.yaml").write_text(text + "  - type: failing\n")
    write(tmp_path / "failing.py", FAILING.format(fail_from=5))
    still = subprocess.run(
        [sys.executable, "-m", "specanim", "still", "scene.yaml", "--frame", "9", "-o", "x.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert still.returncode == 1 and len(still.stderr.splitlines()) == 1, still.stderr
    started = Preview(tmp_path)
    try:
        url, _ = started.url()
        page = visit.page
        page.goto(url)
        page.wait_for_function("document.getElementById('frame').dataset.frame === '0'")
        page.focus("#scrubber")
        page.keyboard.press("End")
        page.wait_for_function("document.getElementById('errors').hidden === false")
        assert page.text_content("#errors") == still.stderr.strip()
        assert page.get_attribute("#frame", "data-frame") == "0"  # the last frame drawn stays
        # A frame that draws clears the error.
        page.keyboard.press("Home")
        page.wait_for_function("document.getElementById('errors').hidden")
    finally:
        started.end()


def get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    """The status and body of a GET of path, sent as written (no normalising)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG)
    try:
        headers = {"Host": host} if host is not None else {}
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_the_server_serves_only_its_own_pages(tmp_path: Path, preview: Preview) -> None:
    _, port = preview.url()
    (tmp_path / "secret.txt").write_text("do not serve this")
    assert get(port, "/")[0] == 200
    for path in [
        "/../pyproject.toml",
        "/%2e%2e/%2e%2e/pyproject.toml",
        "/..%2f..%2fpyproject.toml",
        "/secret.txt",
        "/scene.yaml",
        "/scaled.py",
        "//etc/passwd",
        "/etc/passwd",
        f"/frame/{'0' * 16}/../../secret.txt",
        f"http://127.0.0.1:{port}/scene.yaml",
        "/page.js/../scene.yaml",
    ]:
        status, body = get(port, path)
        assert status == 404, path
        assert body == b"not found\n", path
    # A name that a DNS rebinding points at loopback is refused: only loopback names are served.
    for host in ["attacker.example", f"attacker.example:{port}", "127.0.0.1.nip.io"]:
        status, body = get(port, "/state", host=host)
        assert status == 400 and b"scene" not in body, host
    assert get(port, "/state", host=f"localhost:{port}")[0] == 200


def test_ctrl_c_ends_it_in_one_line(preview: Preview) -> None:
    url, port = preview.url()
    deadline = time.monotonic() + HANG
    while b'"stage": "ready"' not in get(port, "/state")[1]:  # serving the scene
        assert time.monotonic() < deadline, "the scene never got ready"
        time.sleep(0.05)
    seen = descendants(preview.process.pid)
    preview.process.send_signal(signal.SIGINT)
    assert preview.process.wait(HANG) == 128 + signal.SIGINT
    preview.reader.join(HANG)
    assert preview.lines == [
        f"previewing scene.yaml at {url} (Ctrl-C ends)",
        "interrupted: the preview ended",
    ]
    while any(alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in seen if alive(pid)], "processes outlived the preview"


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    scene(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = subprocess.run(
            [sys.executable, "-m", "specanim", "preview", "scene.yaml", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=HANG,
        )
    assert ran.returncode == 2
    assert ran.stderr.splitlines() == [
        f"--port {port}: another program listens on it; choose another port, or 0 for a free one"
    ]


def test_a_missing_spec_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "specanim", "preview", "nowhere.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=HANG,
    )
    assert (ran.returncode, ran.stderr) == (2, "nowhere.yaml: no such spec file\n")
