"""examples/quickstart.ipynb, executed headless in a real Jupyter kernel: every cell runs and the
renders show inline as a video, an animated image and stills."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def test_the_quickstart_notebook_runs_and_shows_its_renders(tmp_path: Path) -> None:
    # The notebook reads ../specs and writes out/: run it from a copy beside a link to specs/.
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "quickstart.ipynb", tmp_path / "examples")
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    notebook = nbformat.read(tmp_path / "examples" / "quickstart.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path / "examples")}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    videos = [h for h in html if "<video" in h and "data:video/mp4;base64," in h]
    assert len(videos) == 2  # the spec's render and the panel defined in a cell
    assert any("data:image/gif;base64," in h for h in html)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the stills
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "\x1b[" not in streams  # progress is HTML here, not terminal escape codes
    assert "<progress" in "".join(html)
    spec = tmp_path / "examples" / "out" / "pca.yaml"
    assert spec.exists() and (tmp_path / "examples" / "out" / "pca.data.npz").exists()


def test_interrupting_the_kernel_stops_the_render_and_leaves_no_file(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    printed: list[str] = []
    try:
        setup = (
            "import specanim, multiprocessing\n"
            "scene = specanim.load('dataset: {type: sklearn-digits}\\nreducer: {type: pca}\\n"
            "panels: [{type: scatter, render: vector}]\\ntimeline: {duration: 300}\\n')\n"
            "len(scene)\n"
        )
        shown: list[str] = []
        reply = client.execute_interactive(
            setup, timeout=300, output_hook=lambda m: shown.append(str(m["content"]))
        )
        assert reply["content"]["status"] == "ok"
        loading = [m for m in shown if "loading" in m and "<progress" in m]
        assert 'value="1" max="1"' in loading[-1]  # a stage of unknown length ends full
        started = client.execute("scene.render('long.mp4', workers=2)")
        # Wait until frames are being rendered: the progress bar counts them in the output.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            message = client.get_iopub_msg(timeout=120)
            shown = str(message["content"])
            if message["parent_header"].get("msg_id") == started and "<progress" in shown:
                if 'value="0"' not in shown:
                    break
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        last = ""  # the progress bar as the render left it
        while (message := client.get_iopub_msg(timeout=60))["content"].get("execution_state") != (
            "idle"
        ):
            if message["parent_header"].get("msg_id") == started and "<progress" in str(message):
                last = str(message["content"])
        assert "interrupted" in last
        check = client.execute_interactive(
            "print(len(multiprocessing.active_children()))",
            timeout=60,
            output_hook=lambda m: printed.append(m["content"].get("text", "")),
        )
        assert check["content"]["status"] == "ok"
        assert "".join(printed).strip() == "0"  # no worker left
        assert sorted(p.name for p in tmp_path.iterdir()) == []  # no video, no partial file
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_mistake_shows_as_one_line_in_a_notebook_and_other_errors_as_tracebacks(
    tmp_path: Path,
) -> None:
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    errors: list[dict[str, Any]] = []

    def run(code: str) -> str:
        def keep(message: dict[str, Any]) -> None:
            if message["msg_type"] == "error":
                errors.append(message["content"])

        reply = client.execute_interactive(code, timeout=300, output_hook=keep)
        status: str = reply["content"]["status"]
        return status

    try:
        mistake = "import numpy as np, specanim\nspecanim.animate(np.zeros((5, 2)), labels=[1, 2])"
        assert run(mistake) == "error"  # still an error: a notebook run stops there
        assert errors.pop()["traceback"] == [
            "UserError: animate(labels=...): 2 labels for 5 points"
        ]
        assert run("1 / 0") == "error"  # not specanim's: the usual traceback
        assert len(errors.pop()["traceback"]) > 1
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
