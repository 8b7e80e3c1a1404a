"""specanim from Python: load, animate, from_snapshots, the openTSNE capture, to_yaml, and how
renders show in a notebook; equivalent calls give the frames of the equivalent spec file."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import specanim
from specanim import engine
from specanim.errors import SpecErrors, UserError
from specanim.plugins import default_registry
from specanim.spec.validate import load_plan

from .commands import run_script
from .conftest import Run

SIZE = {"width": 320, "height": 200, "margin": 0}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.rint(d.images[:300] / 16 * 255).astype(np.uint8)
    return d.data[:300].astype(np.float32), d.target[:300], images


def test_animate_gives_the_frames_of_the_equivalent_spec(
    digits: tuple[np.ndarray, np.ndarray, np.ndarray], write_spec: Callable[..., Path]
) -> None:
    X, y, images = digits
    scene = specanim.animate(X, labels=y, images=images, reducer="pca", **SIZE)
    np.savez(write_spec("", "unused.yaml").with_name("digits.npz"), X=X, labels=y, images=images)
    spec = write_spec(
        """
        width: 320
        height: 200
        margin: 0
        dataset: {type: file, path: digits.npz, labels_key: labels}
        reducer: {type: pca}
        panels: [{type: scatter}, {type: digit-grid}]
        layout: {row: [scatter, digit-grid], sizes: [3, 1]}
        """
    )
    prepared = engine.prepare(load_plan(spec, default_registry()), cache="off")
    assert len(scene) == prepared.frames
    assert np.array_equal(np.asarray(scene.still(-1)), engine.still(prepared, -1))


def test_a_dataframe_names_its_label_column(
    digits: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    import pandas as pd

    X, y, _ = digits
    table = pd.DataFrame(X[:, :10], columns=[f"f{i}" for i in range(10)])
    table["digit"] = [f"d{v}" for v in y]
    from_table = specanim.animate(table, labels="digit", reducer="pca", **SIZE)
    from_arrays = specanim.animate(
        X[:, :10], labels=table["digit"].to_numpy(), reducer="pca", **SIZE
    )
    assert np.array_equal(np.asarray(from_table.still(0)), np.asarray(from_arrays.still(0)))
    assert from_table.prepared().data.classes[:3] == ("d0", "d1", "d2")
    with pytest.raises(UserError, match=r"animate\(labels='digits'\): X has no column 'digits'"):
        specanim.animate(table, labels="digits", reducer="pca")
    numeric = table.assign(digit=y)  # labels=table["digit"]: that column is no feature
    by_name = specanim.animate(numeric, labels="digit", reducer="pca", **SIZE)
    by_series = specanim.animate(numeric, labels=numeric["digit"], reducer="pca", **SIZE)
    assert np.array_equal(np.asarray(by_series.still(0)), np.asarray(by_name.still(0)))
    import polars as pl

    polars_table = pl.from_pandas(table)
    from_polars = specanim.animate(polars_table, labels="digit", reducer="pca", **SIZE)
    assert np.array_equal(np.asarray(from_polars.still(0)), np.asarray(from_arrays.still(0)))


def label_kinds() -> dict[str, tuple[Any, tuple[str, ...]]]:
    """Labels of 6 points as users hold them, and the classes each should give, in order."""
    import pandas as pd
    import polars as pl

    text = ["b", "a", "c", "a", "b", "c"]
    order = ["c", "a", "b"]  # a categorical's own order, not the sorted one
    return {
        "list of text": (text, ("a", "b", "c")),
        "pandas Series": (pd.Series(text), ("a", "b", "c")),
        "object array": (pd.Series(text).to_numpy(), ("a", "b", "c")),
        "pandas string dtype": (pd.Series(text, dtype="string"), ("a", "b", "c")),
        "pandas Categorical": (pd.Categorical(text, categories=order), ("c", "a", "b")),
        "categorical Series": (
            pd.Series(text, dtype="category").cat.reorder_categories(order),
            ("c", "a", "b"),
        ),
        "integers": (np.array([3, 1, 2, 1, 3, 2]), ("1", "2", "3")),
        "nullable integers": (pd.Series([3, 1, 2, 1, 3, 2], dtype="Int64"), ("1", "2", "3")),
        "numbers and text": (np.array([1, "a", 1, "a", 2, 2], dtype=object), ("1", "2", "a")),
        "polars Series": (pl.Series(text), ("a", "b", "c")),
        "polars Categorical": (pl.Series(text, dtype=pl.Categorical), ("a", "b", "c")),
        "polars Enum": (pl.Series(text, dtype=pl.Enum(order)), ("c", "a", "b")),
    }


@pytest.mark.parametrize("kind", list(label_kinds()))
def test_labels_of_every_kind_give_their_classes_in_order(kind: str, tmp_path: Path) -> None:
    labels, classes = label_kinds()[kind]
    snapshots = np.random.default_rng(0).normal(size=(2, 6, 2)).astype(np.float32)
    scene = specanim.from_snapshots(snapshots, labels=labels, **SIZE)
    data = scene.prepared().data
    assert data.classes == classes
    assert [data.classes[i] for i in data.labels] == [str(v) for v in list(labels)]
    scene.to_yaml(tmp_path / "scene.yaml")  # the spec file keeps them, in the same order
    assert specanim.load(tmp_path / "scene.yaml").prepared().data.classes == classes
    import pandas as pd
    import polars as pl

    columns = {"f0": np.arange(6.0), "f1": np.arange(6.0) ** 2, "group": labels}
    table = pl.DataFrame(columns) if isinstance(labels, pl.Series) else pd.DataFrame(columns)
    from_table = specanim.animate(table, labels="group", reducer="pca", **SIZE)
    assert from_table.prepared().data.classes == classes


def test_mistakes_in_python_name_the_call_and_the_argument() -> None:
    """One line that names the function and argument, never a spec file's line the user
    never wrote (``<spec>:3: dataset.path: ...``)."""
    snapshots = np.zeros((2, 4, 2), np.float32)
    X = np.random.default_rng(0).normal(size=(4, 3))
    cases: list[tuple[Callable[[], Any], str]] = [
        (
            lambda: specanim.from_snapshots(snapshots, labels=["a", None, "b", float("nan")]),
            "from_snapshots(labels=...): 2 of the 4 labels are empty (None or NaN): every "
            "point needs a label",
        ),
        (
            lambda: specanim.animate(X, labels=["a", "b", "c"]),
            "animate(labels=...): 3 labels for 4 points",
        ),
        (
            lambda: specanim.from_snapshots(snapshots, images=np.zeros((3, 8, 8))),
            "from_snapshots(images=...): expected 4 images, one per point (points x height x "
            "width), got shape (3, 8, 8)",
        ),
        (
            lambda: specanim.animate(X, images=np.full((4, 8, 8), 300.0)),
            "animate(images=...): pixel values must lie in 0..1 or 0..255, found 300..300",
        ),
        (
            lambda: specanim.from_snapshots([snapshots[0], snapshots[1, :3]]),
            "from_snapshots(snapshots): expected layouts of numbers, all of one shape "
            "(points, 2), got shapes (3, 2), (4, 2)",
        ),
        (
            lambda: specanim.from_snapshots(np.stack([snapshots[0], snapshots[1] / 0])),
            "from_snapshots(snapshots): NaN or infinite coordinates in 1 of the 2 snapshots "
            "(the first: snapshot 1)",
        ),
        (
            lambda: specanim.animate(X, reducer="pca", panels=[{"type": "scater"}]),
            "animate(): panels[0].type: unknown panel 'scater' (did you mean 'scatter'?)",
        ),
        (
            lambda: specanim.from_snapshots(snapshots, timeline={"fps": 0}),
            "from_snapshots(): timeline.fps: input should be greater than 0, got 0",
        ),
    ]
    for call, line in cases:
        with pytest.raises(UserError) as caught, np.errstate(divide="ignore", invalid="ignore"):
            call()
        assert str(caught.value) == line


def weather(n: int = 200) -> Any:
    """A user's table: features, a text label, a number to colour by and a text column."""
    import pandas as pd

    rng = np.random.default_rng(1)
    table = pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(4)})
    table["temperature"] = rng.normal(20, 5, n)
    table["cluster"] = rng.choice(["north", "south"], n)
    table["colour"] = rng.choice(["red", "blue"], n)
    return table


BY_TEMPERATURE = [{"type": "scatter", "color": {"field": "temperature"}}]


def test_animate_colours_by_a_column_as_the_file_dataset_does(
    write_spec: Callable[..., Path],
) -> None:
    table = weather()
    features = ["f0", "f1", "f2", "f3"]
    scene = specanim.animate(
        table, labels="cluster", features=features, reducer="pca", panels=BY_TEMPERATURE, **SIZE
    )
    assert list(scene.prepared().data.columns) == ["temperature"]
    table.to_csv(write_spec("", "unused.yaml").with_name("weather.csv"), index=False)
    spec = write_spec(
        """
        width: 320
        height: 200
        margin: 0
        dataset: {type: file, path: weather.csv, label: cluster, features: [f0, f1, f2, f3]}
        reducer: {type: pca}
        panels: [{type: scatter, color: {field: temperature}}]
        """
    )
    prepared = engine.prepare(load_plan(spec, default_registry()), cache="off")
    assert np.array_equal(np.asarray(scene.still(-1)), engine.still(prepared, -1))
    # A feature colours too, when a panel names it (with the default features: every number).
    by_feature = [{"type": "scatter", "color": {"field": "f2"}}]
    scene = specanim.animate(table, labels="cluster", reducer="pca", panels=by_feature, **SIZE)
    assert sorted(scene.prepared().data.columns) == ["f2"]


def test_a_missing_colour_column_is_said_before_the_fit() -> None:
    table = weather()
    typo = [{"type": "scatter", "color": {"field": "temprature"}}]
    with pytest.raises(UserError) as caught:
        specanim.animate(table, labels="cluster", reducer="umap", panels=typo)  # no fit yet
    assert str(caught.value) == (
        "animate(panels=...): panels[0].color.field: no numeric column 'temprature' to colour "
        "by (did you mean 'temperature'?): X's numeric columns are 'f0', 'f1', 'f2', 'f3', "
        "'temperature'"
    )
    with pytest.raises(UserError, match=r"X is an array, whose columns have no names"):
        specanim.animate(table[["f0", "f1"]].to_numpy(), reducer="umap", panels=BY_TEMPERATURE)


def bad_tables() -> dict[str, tuple[Any, dict[str, Any], str]]:
    """Tables with mistakes, the arguments they are given with, and the one line each gives."""
    import pandas as pd

    table = weather()
    gaps = table.copy()
    gaps.loc[3, "f1"] = np.nan
    gaps.loc[[5, 7], "f2"] = [1e300, np.inf]  # 1e300 overflows float32
    marker = table.astype({"f3": object})
    marker.loc[4, "f3"] = "n/a"
    return {
        "NaN, 1e300, inf": (
            gaps,
            {},
            "animate(X): empty, NaN, infinite or too large values (beyond float32, 3.4e38) in "
            "feature columns 'f1' (1 row), 'f2' (2 rows) of 200 rows: fill them in, or leave "
            "those rows out (X.dropna())",
        ),
        "n/a among numbers": (
            marker,
            {},
            "animate(X): column 'f3' holds text ('n/a' in 1 of 200 rows), features must be "
            "numbers: convert it (pandas.to_numeric(..., errors='coerce') makes text NaN) or "
            "leave it out",
        ),
        "a text feature": (
            table,
            {"features": ["f0", "colour"]},
            "animate(features=...): column 'colour' holds text ('red' in 200 of 200 rows), "
            "features must be numbers: convert it (pandas.to_numeric(..., errors='coerce') "
            "makes text NaN) or leave it out",
        ),
        "a date as a feature": (
            table.assign(day=pd.date_range("2024-01-01", periods=200, unit="us")),
            {"features": ["f0", "day"]},
            "animate(features=...): column 'day' holds datetime64[us] values, features must be "
            "numbers: convert it (pandas.to_numeric(..., errors='coerce') makes text NaN) or "
            "leave it out",
        ),
        "no such feature": (
            table,
            {"features": ["f0", "f9"]},
            "animate(features=...): X has no column 'f9': its columns are 'f0', 'f1', 'f2', "
            "'f3', 'temperature', 'cluster', 'colour'",
        ),
        "no such label": (
            table,
            {"labels": "clustr"},
            "animate(labels='clustr'): X has no column 'clustr' (did you mean 'cluster'?): its "
            "columns are 'f0', 'f1', 'f2', 'f3', 'temperature', 'cluster', 'colour'",
        ),
        "an array with NaN": (
            np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]),
            {},
            "animate(X): empty, NaN, infinite or too large values (beyond float32, 3.4e38) in "
            "feature column '0' (1 row) of 3 rows: fill them in, or leave those rows out "
            "(X.dropna())",
        ),
    }


@pytest.mark.parametrize("case", list(bad_tables()))
def test_bad_data_is_one_line_naming_the_argument_and_the_column(case: str) -> None:
    import polars as pl

    X, arguments, line = bad_tables()[case]
    arguments = {"labels": "cluster", **arguments}
    if not hasattr(X, "columns"):
        arguments.pop("labels")
    with pytest.raises(UserError) as caught:
        specanim.animate(X, reducer="umap", **arguments)
    assert str(caught.value) == line
    if hasattr(X, "columns") and case != "n/a among numbers":  # polars: a column has one type
        with pytest.raises(UserError) as caught:
            specanim.animate(pl.from_pandas(X), reducer="umap", **arguments)
        assert str(caught.value) == line


def test_render_without_a_path_writes_an_animation_here_and_never_replaces_a_users_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    snapshots = np.random.default_rng(0).normal(size=(3, 50, 2)).astype(np.float32)
    small = {"width": 128, "height": 96, "timeline": {"hold_end": 0}}
    scene = specanim.from_snapshots(snapshots, **small)
    assert Path(scene.render(workers=1).path) == Path("animation.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "animation.mp4",
        "animation.mp4.manifest.json",
    ]
    scene.render(workers=1)  # a cell run again replaces its own previous output
    gif = specanim.from_snapshots(snapshots, output={"type": "gif"}, **small)
    (tmp_path / "animation.gif").write_bytes(b"mine")
    with pytest.raises(UserError) as caught:
        gif.render(workers=1)
    assert str(caught.value) == (
        "render(): animation.gif exists and is no previous output (no "
        "animation.gif.manifest.json beside it), so render() without a path does not replace "
        "it: give a path, render('out.mp4')"
    )
    assert (tmp_path / "animation.gif").read_bytes() == b"mine"
    assert Path(gif.render("mine.gif", workers=1).path) == Path("mine.gif")


def test_the_manifest_of_a_scene_made_in_python_holds_no_path_of_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots = np.random.default_rng(0).normal(size=(3, 50, 2)).astype(np.float32)
    labels = np.arange(50) % 3
    small = {"width": 128, "height": 96, "timeline": {"hold_end": 0}}
    manifests = []
    for machine in ("one", "two"):  # two caches in two places, as on two machines
        monkeypatch.setenv("SPECANIM_CACHE_DIR", str(tmp_path / machine / "cache"))
        scene = specanim.from_snapshots(snapshots, labels=labels, **small)
        output = tmp_path / machine / "out.gif"
        scene.render(output, workers=1)
        manifests.append((tmp_path / machine / "out.gif.manifest.json").read_text())
    assert manifests[0] == manifests[1]
    assert str(tmp_path) not in manifests[0]
    assert '"cache:arrays/' in manifests[0]


# A user's plain script: a DataFrame of their own, no `if __name__ == "__main__":` guard.
SCRIPT = """\
import numpy as np
import pandas as pd
import specanim

rng = np.random.default_rng(0)
table = pd.DataFrame({f"f{i}": rng.normal(size=150) for i in range(4)})
table["temperature"] = rng.normal(20, 5, 150)
table["cluster"] = pd.Categorical(rng.choice(["b", "a"], 150), categories=["b", "a"])
scene = specanim.animate(
    table, labels="cluster", features=["f0", "f1", "f2", "f3"], reducer="pca",
    panels=[{"type": "scatter", "color": {"field": "temperature"}}],
    width=128, height=96, timeline={"hold_end": 0.2},
)
print(scene.render(workers=2).path, flush=True)
"""


@pytest.mark.parametrize("given", ["as a file", "on standard input"])
def test_a_plain_script_of_a_dataframe_renders_with_two_workers(tmp_path: Path, given: str) -> None:
    """Render workers never run the user's script: neither one without a guard nor one read
    from standard input stops them."""
    (tmp_path / "mine.py").write_text(SCRIPT, encoding="utf-8")
    done = run_script(tmp_path, "mine.py", given)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "animation.mp4\n"
    assert (tmp_path / "animation.mp4").stat().st_size > 0


def test_to_yaml_writes_the_keys_in_a_spec_files_order(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    scene = specanim.animate(X, reducer="pca", timeline={"fps": 10}, title="Mine", width=320)
    for text in (scene.to_yaml(), scene.to_yaml(tmp_path / "mine.yaml")):
        keys = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
        assert keys == ["title", "width", "dataset", "reducer", "panels", "timeline"]
        assert "type: file\n  path:" in text  # an entry's keys as given, type first


def test_labels_come_with_a_legend_by_default() -> None:
    X = np.random.default_rng(0).normal(size=(60, 3))
    labels = np.repeat(["a", "b", "c"], 20)
    scenes = {
        "labels": specanim.animate(X, labels=labels, reducer="pca", **SIZE),
        "none": specanim.animate(X, reducer="pca", **SIZE),
        "images": specanim.animate(X, labels=labels, images=np.zeros((60, 4, 4)), reducer="pca"),
        "snapshots": specanim.from_snapshots(np.zeros((2, 60, 2)), labels=labels),
    }
    panels = {name: list(scene.plan.panels) for name, scene in scenes.items()}
    assert panels == {
        "labels": ["scatter", "legend"],
        "none": ["scatter"],
        "images": ["scatter", "digit-grid"],  # a sample of each class in its colour
        "snapshots": ["scatter", "legend"],
    }
    legend = np.asarray(scenes["labels"].still(-1))[:, -SIZE["width"] // 6 :]
    assert (legend.max(axis=2).astype(int) - legend.min(axis=2) > 100).any()  # the swatches


def test_to_yaml_warns_of_a_panel_defined_in_the_session(tmp_path: Path) -> None:
    from specanim.sdk import Panel

    class Blank(Panel):
        name = "blank"

        def view(self, frame: Any, box: Any) -> dict[str, Any]:
            return {"data": {"values": [{}]}, "mark": "point"}

    snapshots = np.zeros((2, 10, 2), np.float32)
    scene = specanim.from_snapshots(
        snapshots, components=[Blank], panels=[{"type": "scatter"}, {"type": "blank"}]
    )
    with pytest.warns(UserWarning, match=r"the spec names panel 'blank', defined in this session"):
        scene.to_yaml(tmp_path / "scene.yaml")
    plain = specanim.from_snapshots(snapshots, components=[Blank])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain.to_yaml()  # no component of the session in it: no warning


class Stages:
    """A progress reporter that keeps the stages it is shown, and their units."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    @contextlib.contextmanager
    def stage(self, description: str, total: int | None, unit: str = "") -> Iterator[Any]:
        self.shown.append((description, unit))
        yield lambda done, total=None: None

    def info(self, message: str) -> None:
        pass


def test_a_reused_fit_is_not_called_fitting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPECANIM_CACHE_DIR", str(tmp_path / "cache"))
    text = (
        "dataset: {type: sklearn-digits, limit: 100}\nreducer: {type: umap, epochs: 3}\n"
        "panels: [{type: scatter}]\n"
    )
    shown = []
    for cache in ("use", "use", "refresh"):
        stages = Stages()
        engine.prepare(specanim.load(text).plan, cache=cache, report=stages)
        shown.append(stages.shown[1])
    assert shown == [
        ("fitting umap", "steps"),
        ("reading the cached trajectory of umap", ""),
        ("fitting umap", "steps"),
    ]


def test_load_takes_a_path_text_or_mapping_and_overrides(
    write_spec: Callable[..., Path],
) -> None:
    text = (
        "dataset: {type: sklearn-digits, limit: 100}\nreducer: {type: pca}\n"
        "panels: [{type: scatter}]\n"
    )
    path = write_spec(text)
    from_path = specanim.load(path, reducer__random_state=3)
    from_text = specanim.load(text, **{"reducer.random_state": 3})
    from_mapping = specanim.load(
        {
            "dataset": {"type": "sklearn-digits", "limit": 100},
            "reducer": {"type": "pca"},
            "panels": [{"type": "scatter"}],
        },
        reducer__random_state=3,
    )
    for scene in (from_path, from_text, from_mapping):
        assert scene.plan.reducer.options.random_state == 3  # type: ignore[attr-defined]
    with pytest.raises(SpecErrors, match=r"timeline__fps=0: timeline.fps: input should be greater"):
        specanim.load(path, timeline__fps=0)
    with pytest.raises(SpecErrors, match=r"<spec>:2: reducer.type: unknown reducer 'pcb'"):
        specanim.load(text.replace("pca", "pcb"))
    mapping = {
        "dataset": {"type": "sklearn-digits"},
        "reducer": {"type": "pcb"},
        "panels": [{"type": "scatter"}],
    }
    with pytest.raises(SpecErrors, match=r"^load\(\): reducer.type: unknown reducer 'pcb'"):
        specanim.load(mapping)  # no lines to name: the call


def test_an_opentsne_capture_renders_with_its_phases(tmp_path: Path) -> None:
    from openTSNE import TSNE
    from sklearn.datasets import load_digits

    d = load_digits()
    capture = specanim.capture.opentsne(every=2)
    tsne = TSNE(
        early_exaggeration_iter=10,
        n_iter=20,
        callbacks=capture,
        callbacks_every_iters=capture.every,
        random_state=1,
        n_jobs=1,
    )
    embedding = tsne.fit(d.data[:200])
    for _ in range(2):  # the cell run again: the final layout is set again, not added
        scene = specanim.from_snapshots(capture.finish(embedding), labels=d.target[:200], **SIZE)
        trajectory = scene.prepared().trajectory
        assert [s.epoch for s in trajectory.steps] == [*range(1, 30, 2), 30]
        assert {s.phase for s in trajectory.steps[:5]} == {"exaggeration"}
        assert trajectory.steps[-1].phase == "embedding" and trajectory.total == 30
        assert np.array_equal(trajectory.snapshots[-1], np.asarray(embedding, np.float32))
    again = tsne.fit(d.data[:200])  # the fit's cell run again: a new fit starts over
    assert len(capture.finish(again).trajectory()) == len(trajectory)
    # written out and read back: the same frames
    scene.to_yaml(tmp_path / "tsne.yaml")
    again = specanim.load(tmp_path / "tsne.yaml")
    assert np.array_equal(np.asarray(again.still(3)), np.asarray(scene.still(3)))


def test_to_yaml_renders_the_same_frames_from_the_command_line(
    digits: tuple[np.ndarray, np.ndarray, np.ndarray],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    run: Run = request.getfixturevalue("specanim")  # the command; the name here is the package
    X, y, _ = digits
    scene = specanim.animate(
        X, labels=y, reducer="pca", timeline={"every": 1}, output={"type": "png"}, **SIZE
    )
    scene.to_yaml(tmp_path / "scene.yaml")
    assert (tmp_path / "scene.data.npz").exists()  # the arrays beside the spec
    from_python = scene.render(tmp_path / "py")
    result = run("render", "scene.yaml", "-o", "cli", "-q")
    assert result.returncode == 0, result.stderr
    py_frames = sorted(from_python.path.iterdir())
    cli_frames = sorted((tmp_path / "cli").iterdir())
    assert [p.read_bytes() for p in py_frames] == [p.read_bytes() for p in cli_frames]


def test_a_render_shows_as_a_video_in_a_notebook(tmp_path: Path) -> None:
    scene = specanim.load(
        "dataset: {type: sklearn-digits, limit: 100}\nreducer: {type: pca}\n"
        "panels: [{type: scatter}]\nwidth: 128\nheight: 96\ntimeline: {hold_end: 0.5}\n"
    )
    assert "<code>.render()</code>" in scene._repr_html_()
    result = scene.render(tmp_path / "a.mp4", workers=1)
    shown = scene._repr_html_()
    assert shown.startswith("<figure><video") and "data:video/mp4;base64," in shown
    from specanim.api.display import result_html

    linked = result_html(result, limit=10)
    assert "<video" not in linked and 'href="' in linked and "above the" in linked
    gif = scene.render(tmp_path / "a.gif", workers=1)
    assert "data:image/gif;base64," in gif._repr_html_()


def test_a_scene_loads_and_fits_once_and_a_new_one_reuses_the_fit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        "dataset: {type: sklearn-digits, limit: 200}\nreducer: {type: umap, epochs: 5}\n"
        "panels: [{type: scatter}]\nwidth: 128\nheight: 96\n"
    )
    scene = specanim.load(text)
    prepared = scene.prepared()
    scene.render(tmp_path / "a.gif", workers=1)
    scene.still(0)
    assert scene.prepared() is prepared  # the data and the trajectory, loaded once
    with caplog.at_level("INFO", logger="specanim"):
        again = specanim.load(text)
        again.prepared()
    assert any("using the cached trajectory" in r.getMessage() for r in caplog.records)
