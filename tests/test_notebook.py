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


def executed(name: str, folder: Path) -> Any:
    """The example notebook name, executed headless in a real kernel from a copy in folder/
    examples, beside a link to specs/ (the notebooks read ../specs and write out/)."""
    (folder / "examples").mkdir()
    shutil.copy(ROOT / "examples" / name, folder / "examples")
    (folder / "specs").symlink_to(ROOT / "specs")
    notebook = nbformat.read(folder / "examples" / name, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder / "examples")}},
    ).execute()
    return notebook


def test_the_quickstart_notebook_runs_and_shows_its_renders(tmp_path: Path) -> None:
    notebook = executed("quickstart.ipynb", tmp_path)
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


def test_the_notebook_of_every_python_call_runs_as_docs_python_md_says(tmp_path: Path) -> None:
    notebook = executed("python_api.ipynb", tmp_path)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    errors = [o for cell in cells for o in cell.outputs if o.output_type == "error"]
    mistake = [c for c in cells if "raises-exception" in c.metadata.get("tags", [])]
    assert [e.traceback for e in errors] == [mistake[0].outputs[-1].traceback]  # that cell's
    assert errors[0].traceback == [
        "UserError: animate(panels=...): panels[0].color.field: no numeric column 'temprature' "
        "to colour by (did you mean 'temperature'?): X's numeric columns are 'f0', 'f1', 'f2', "
        "'f3', 'f4', 'temperature'"
    ]
    data = [o["data"] for cell in cells for o in cell.outputs if "data" in o]
    assert "('small', 'medium', 'large')" in [d.get("text/plain") for d in data]  # its order
    assert any("image/png" in d for d in data)  # the still
    here = tmp_path / "examples"
    assert (here / "animation.mp4").is_file()  # render() without a path
    written = sorted(p.name for p in (here / "out").iterdir() if not p.name.endswith(".json"))
    assert written == [
        "by_class.2.gif",
        "by_class.5.gif",
        "by_class.data.npz",
        "by_class.yaml",
        "tsne.gif",
    ]


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
