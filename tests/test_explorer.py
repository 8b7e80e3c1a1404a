"""The explorer page (``-o scene.html``): one self-contained file that plays the animation in a
real browser, offline, and lets the reader scrub, hover, zoom and highlight a class."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser import Visit
from tests.commands import run_specanim

SCENE = """
title: "Digits, epoch {epoch} of {epochs}"
width: 320
height: 200
palette: paired
dataset: {type: sklearn-digits}
reducer: {type: precomputed, path: traj.npz}
panels:
  - type: progress-bar
  - type: scatter
    point_size: 4
  - type: digit-grid
timeline: {fps: 10, hold_end: 0.3}
"""
SNAPSHOTS = 6
# Mean absolute difference, per channel (0-255), between the page's picture of a frame and
# `specanim still` of it. The page composites the points one over another in the order of the
# data; the still composites them independently of order (optical depths add), so crowded
# pixels mix colours differently, and Chromium's text antialiasing is not resvg's. Measured:
# 1.6 on this scene.
TOLERANCE = 4.0
HANG = 60_000  # milliseconds: only a guard against a hang


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real `specanim` command in a new process."""
    return run_specanim(cwd, *args)


def write_scene(folder: Path, text: str = SCENE) -> Path:
    """A scene of the 1,797 digits walking randomly over SNAPSHOTS snapshots."""
    walk = np.cumsum(np.random.default_rng(1).normal(size=(SNAPSHOTS, 1797, 2)), axis=0)
    np.savez(folder / "traj.npz", walk.astype(np.float32))
    spec = folder / "scene.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page of the scene, rendered once by the command line."""
    folder = tmp_path_factory.mktemp("explorer")
    write_scene(folder)
    done = run("render", "scene.yaml", "-o", "scene.html", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "scene.html"


def opened(visit: Visit, path: Path) -> None:
    """The page at path, opened and ready."""
    visit.page.goto(path.as_uri())
    visit.page.wait_for_function("window.specanim !== undefined", timeout=HANG)
    visit.page.evaluate("window.specanim.ready")


def drawn(visit: Visit) -> bytes:
    """The pixels of the page's point canvases."""
    return visit.page.evaluate(
        "Array.from(document.querySelectorAll('canvas.points')).map((c) => c.toDataURL()).join()"
    ).encode()


def test_the_page_opens_offline_and_plays(visit: Visit, page_file: Path) -> None:
    opened(visit, page_file)
    assert visit.outside(page_file.as_uri(), "data:") == []
    assert visit.errors == []
    first = drawn(visit)
    frames = visit.page.evaluate("window.specanim.frames")
    assert frames == SNAPSHOTS + 3  # the last snapshot held 0.3 s more at 10 fps
    visit.page.click("#play")
    visit.page.wait_for_function("window.specanim.state.frame >= 3", timeout=HANG)
    visit.page.click("#play")  # pause
    assert drawn(visit) != first
    assert visit.page.text_content("#play") == "play"
    assert visit.errors == []


def test_scrubbing_shows_that_frame_with_its_vega_parts(visit: Visit, page_file: Path) -> None:
    opened(visit, page_file)
    visit.page.fill("#scrub", "4")  # an input event, as dragging the scrubber sends
    visit.page.wait_for_function("window.specanim.state.frame === 4", timeout=HANG)
    assert "frame 5 / 9" in visit.page.text_content("#where")
    # Vega shows the frame's title: the template, compiled once, with frame 4's values set
    assert visit.page.evaluate("window.specanim.vegaSignal('specanim_v0')") == (
        "Digits, epoch 4 of 5"
    )
    assert visit.page.evaluate("window.specanim.frameSpec(4).params[0].value") == (
        "Digits, epoch 4 of 5"
    )
    assert visit.errors == []


def test_a_frame_of_the_page_looks_like_the_still(visit: Visit, page_file: Path) -> None:
    folder = page_file.parent
    done = run("still", "scene.yaml", "--frame", "4", "-o", "still.png", cwd=folder)
    assert done.returncode == 0, done.stderr
    opened(visit, page_file)
    visit.page.evaluate("window.specanim.show(4)")
    shot = visit.page.locator("#stage").screenshot()
    page = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), np.float64)
    still = np.asarray(Image.open(folder / "still.png").convert("RGB"), np.float64)
    assert page.shape == still.shape
    assert np.abs(page - still).mean() < TOLERANCE


def test_hovering_a_point_shows_its_class_index_and_image(visit: Visit, page_file: Path) -> None:
    opened(visit, page_file)
    where = visit.page.evaluate(
        "(() => { const b = window.specanim.boxes[0], r = b.canvas.getBoundingClientRect();"
        " return [r.left + b.xy[20], r.top + b.xy[21]]; })()"
    )
    visit.page.mouse.move(*where)
    visit.page.wait_for_selector("#tip:not([hidden])", timeout=HANG)
    hovered = visit.page.evaluate("window.specanim.hovered")
    assert hovered["distance"] <= 1.0  # point 10, or one drawn on top of it
    text = visit.page.text_content("#tip-text") or ""
    assert f"point {hovered['index']}" in text and "epoch" in text
    assert hovered["label"] in text
    assert visit.page.is_visible("#tip-image")


def test_a_class_clicked_in_the_legend_is_highlighted(visit: Visit, page_file: Path) -> None:
    opened(visit, page_file)
    before = drawn(visit)
    visit.page.click("#legend button:nth-child(4)")
    assert visit.page.evaluate("[...window.specanim.state.highlight]") == [3]
    assert drawn(visit) != before
    visit.page.click("#legend button:nth-child(4)")
    assert drawn(visit) == before


def test_zoom_and_pan_move_the_points_and_reset_puts_them_back(
    visit: Visit, page_file: Path
) -> None:
    opened(visit, page_file)
    before = drawn(visit)
    box = visit.page.locator("canvas.points").first.bounding_box()
    assert box is not None
    visit.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    visit.page.mouse.wheel(0, -300)
    visit.page.wait_for_function("window.specanim.boxes[0].zoom > 1", timeout=HANG)
    zoomed = drawn(visit)
    assert zoomed != before
    visit.page.mouse.down()
    visit.page.mouse.move(box["x"] + 10, box["y"] + 10)
    visit.page.mouse.up()
    assert drawn(visit) not in (before, zoomed)
    visit.page.click("#reset")
    assert drawn(visit) == before


def test_the_same_scene_gives_the_same_page(page_file: Path, tmp_path: Path) -> None:
    write_scene(tmp_path)
    done = run("render", "scene.yaml", "-o", "again.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "again.html").read_bytes() == page_file.read_bytes()


def test_an_html_output_replaces_only_a_previous_page(tmp_path: Path) -> None:
    write_scene(tmp_path)
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>", encoding="utf-8")
    done = run("render", "scene.yaml", "-o", "notes.html", cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert mine.read_text(encoding="utf-8") == "<p>my notes</p>"
    for _ in range(2):  # the second replaces the first: a previous page, its manifest beside it
        done = run("render", "scene.yaml", "-o", "page.html", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "page.html.manifest.json").is_file()


def test_output_type_html_in_the_spec_writes_the_page(tmp_path: Path) -> None:
    write_scene(tmp_path, SCENE + "output: {type: html}\n")
    done = run("render", "scene.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "scene.html").read_text(encoding="utf-8").startswith("<!doctype html>")


def test_frames_cannot_go_with_a_page(tmp_path: Path) -> None:
    write_scene(tmp_path)
    done = run("render", "scene.yaml", "-o", "scene.html", "--frames", "0:2", cwd=tmp_path)
    assert done.returncode == 2
    assert "--frames" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "scene.html").exists()


SIDE_BY_SIDE = """
title: "Two walks"
width: 400
height: 220
palette: paired
dataset: {type: sklearn-digits}
reducers:
  short: {type: precomputed, path: traj.npz}
  long: {type: precomputed, path: long.npz}
panels:
  - {id: short, type: scatter, trajectory: short, title: "short, epoch {epoch}", point_size: 3}
  - {id: long, type: scatter, trajectory: long, title: "long, epoch {epoch}", point_size: 3,
     view: {mode: follow}}
layout: {row: [short, long]}
timeline: {fps: 10, every: 2}
"""


def test_side_by_side_scenes_play_in_step(visit: Visit, tmp_path: Path) -> None:
    write_scene(tmp_path, SIDE_BY_SIDE)
    walk = np.cumsum(np.random.default_rng(2).normal(size=(3 * SNAPSHOTS, 1797, 2)), axis=0)
    np.savez(tmp_path / "long.npz", walk.astype(np.float32))
    done = run("render", "scene.yaml", "-o", "scene.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    frame = 4
    done = run("still", "scene.yaml", "--frame", str(frame), "-o", "still.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    opened(visit, tmp_path / "scene.html")
    assert visit.page.evaluate("window.specanim.boxes.length") == 2
    visit.page.evaluate(f"window.specanim.show({frame})")
    shot = visit.page.locator("#stage").screenshot()
    page = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), np.float64)
    still = np.asarray(Image.open(tmp_path / "still.png").convert("RGB"), np.float64)
    assert np.abs(page - still).mean() < TOLERANCE
    assert visit.errors == []


def test_the_page_puts_the_points_where_the_video_does(visit: Visit, tmp_path: Path) -> None:
    from specanim import engine
    from specanim.plugins import default_registry
    from specanim.spec.validate import load_plan

    # 13 frames over 5 steps of the trajectory, eased: most frames lie between two snapshots
    scene = SCENE.replace("hold_end: 0.3", "duration: 1.3, easing: ease-in-out")
    write_scene(tmp_path, scene + "output: {type: html}\n")
    done = run("render", "scene.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    plan = load_plan(tmp_path / "scene.yaml", default_registry())
    prepared = engine.prepare(plan)
    box = prepared.composer.boxes()["scatter"]
    opened(visit, tmp_path / "scene.html")
    between = 0
    for frame in range(prepared.frames):
        seen = prepared.frame(prepared.shot_of(frame))
        between += seen.position != int(seen.position)
        expected = box.camera.to_pixels(seen.coords, seen.position)
        drawn = np.asarray(visit.page.evaluate(f"window.specanim.positions(0, {frame})"))
        # the page's steps: 1/16383 of a snapshot's range, a few hundredths of a pixel here
        assert np.abs(drawn.reshape(-1, 2) - expected).max() < 0.05
    assert between >= 8


def test_the_page_recovers_every_snapshot_exactly(visit: Visit, page_file: Path) -> None:
    snapshots = np.load(page_file.parent / "traj.npz")["arr_0"].astype(np.float64)
    opened(visit, page_file)
    name = visit.page.evaluate("Object.keys(window.specanim.data.trajectories)[0]")
    ranges = visit.page.evaluate(f"window.specanim.data.trajectories['{name}'].ranges")
    for s, snapshot in enumerate(snapshots):
        expected = np.empty_like(snapshot)
        for axis in range(2):  # the snapshot in whole steps of its range, as the page stores it
            lo, step = ranges[s][2 * axis : 2 * axis + 2]
            steps = np.clip(np.floor((snapshot[:, axis] - lo) / step + 0.5), 0, 16383)
            expected[:, axis] = lo + steps * step
        recovered = visit.page.evaluate(f"window.specanim.coordinates('{name}', {s})")
        assert np.array_equal(np.reshape(recovered, (-1, 2)), expected.astype(np.float32))


def test_explore_shows_the_page_inline_in_a_notebook(visit: Visit, tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    write_scene(tmp_path)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import specanim\nspecanim.load('scene.yaml').explore()")
    ]
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = notebook.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "error"]
    (shown,) = (o["data"]["text/html"] for o in outputs if o.output_type == "execute_result")
    assert shown.startswith("<iframe srcdoc=")
    visit.page.set_content(shown)
    inner = visit.page.frames[1]
    inner.wait_for_function("window.specanim !== undefined", timeout=HANG)
    inner.evaluate("window.specanim.ready")
    assert inner.evaluate("window.specanim.frames") == SNAPSHOTS + 3
    assert inner.evaluate("document.querySelectorAll('canvas.points').length") == 1
    assert visit.outside("about:", "data:") == []
    assert visit.errors == []


def test_above_its_limit_the_page_draws_a_fixed_sample_and_says_so(tmp_path: Path) -> None:
    import json
    import re

    from specanim.explore.page import MAX_POINTS

    n = MAX_POINTS + 1
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "data.npz", X=rng.normal(size=(n, 2)), y=rng.integers(0, 3, n))
    np.savez(tmp_path / "traj.npz", rng.normal(size=(2, n, 2)).astype(np.float32))
    (tmp_path / "scene.yaml").write_text(
        "width: 200\nheight: 150\ndataset: {type: file, path: data.npz}\n"
        "reducer: {type: precomputed, path: traj.npz}\npanels: [{type: scatter}]\n",
        encoding="utf-8",
    )
    pages = []
    for name in ("a.html", "b.html"):
        done = run("render", "scene.yaml", "-o", name, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"a sample of {MAX_POINTS:,} of the {n:,} points" in done.stderr
        pages.append((tmp_path / name).read_text(encoding="utf-8"))
    assert pages[0] == pages[1]  # the same sample every time
    found = re.search(r'id="specanim-data">(.*?)</script>', pages[0], re.S)
    assert found is not None
    data = json.loads(found.group(1).replace("<\\/", "</"))
    assert (data["points"], data["of"]) == (MAX_POINTS, n)


def test_render_to_html_from_python_writes_the_page(page_file: Path, tmp_path: Path) -> None:
    import specanim

    write_scene(tmp_path)
    result = specanim.load(tmp_path / "scene.yaml").render(tmp_path / "python.html")
    assert result.frames == SNAPSHOTS + 3
    assert (tmp_path / "python.html").read_bytes() == page_file.read_bytes()
    assert (tmp_path / "python.html.manifest.json").is_file()


def test_a_batch_of_specs_writes_a_page_each(tmp_path: Path) -> None:
    write_scene(tmp_path)
    (tmp_path / "other.yaml").write_text(SCENE.replace("Digits", "Other"), encoding="utf-8")
    done = run("render", "scene.yaml", "other.yaml", "-o", "{spec}.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name, title in (("scene", "Digits"), ("other", "Other")):
        page = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        assert page.startswith("<!doctype html>") and f"<title>{title}" in page


LEGEND = """
width: 360
height: 200
palette: paired
dataset: {type: sklearn-digits}
reducer: {type: precomputed, path: traj.npz}
panels:
  - type: scatter
  - type: legend
layout: {row: [scatter, legend], sizes: [3, 1]}
timeline: {fps: 10}
"""
# Where Vega drew a mark whose datum names the class: its centre, in page pixels.
WHERE_IN_VEGA = """(name) => {
  const view = window.specanim.view();
  const found = [];
  const walk = (node) => {
    for (const item of node.items || []) {
      if (item.datum && item.datum.t === name && item.mark.marktype === "text") found.push(item);
      walk(item);
    }
  };
  walk(view.scenegraph().root);
  const item = found[0];
  let x = (item.bounds.x1 + item.bounds.x2) / 2, y = (item.bounds.y1 + item.bounds.y2) / 2;
  for (let group = item.mark.group; group; group = group.mark && group.mark.group) {
    x += group.x || 0; y += group.y || 0;
  }
  const rect = document.querySelector("#vega canvas").getBoundingClientRect();
  const [ox, oy] = view.origin();
  return [rect.left + ox + x, rect.top + oy + y];
}"""


def test_a_class_clicked_in_a_legend_panel_is_highlighted(visit: Visit, tmp_path: Path) -> None:
    write_scene(tmp_path, LEGEND)
    done = run("render", "scene.yaml", "-o", "scene.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    opened(visit, tmp_path / "scene.html")
    before = drawn(visit)
    visit.page.mouse.click(*visit.page.evaluate(WHERE_IN_VEGA, "3"))
    assert visit.page.evaluate("[...window.specanim.state.highlight]") == [3]
    assert drawn(visit) != before
    assert visit.errors == []
