"""A table of one's own, end to end: a CSV written from scikit-learn's iris, rendered by class
with a legend, by a numeric column with a colour bar, and without labels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from specanim import engine
from specanim.errors import SpecError
from specanim.plugins import default_registry
from specanim.spec.palette import ramp, rgb
from specanim.spec.validate import load_plan

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


@pytest.fixture
def iris_csv(tmp_path: Path) -> Path:
    iris = load_iris(as_frame=True)
    table = iris.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    table["species"] = iris.target_names[iris.target]
    table["age"] = np.arange(len(table), dtype=float)  # a numeric column to colour by
    path = tmp_path / "iris.csv"
    table.to_csv(path, index=False)
    table.drop(columns=["species"]).to_csv(tmp_path / "unlabelled.csv", index=False)
    return path


def still(write_spec: Callable[..., Path], dataset: str, panels: str) -> np.ndarray:
    text = f"""
        version: 1
        width: 400
        height: 200
        background: black
        palette: ["#ff0000", "#0000ff", "#00ff00"]
        dataset: {dataset}
        reducer: {{type: pca}}
        panels:
          {panels}
        timeline: {{fps: 1, hold_end: 0}}
        """
    plan = load_plan(write_spec(text), default_registry())
    return engine.still(engine.prepare(plan, cache="off"), -1)


def count(pixels: np.ndarray, color: tuple[int, int, int], tolerance: int = 30) -> int:
    return int((np.abs(pixels.astype(int) - color) <= tolerance).all(axis=2).sum())


def test_a_csv_by_class_with_a_legend(iris_csv: Path, write_spec: Callable[..., Path]) -> None:
    pixels = still(
        write_spec,
        "{type: file, path: iris.csv, label: species, columns: [age]}",
        "- {type: scatter, point_size: 5, opacity: 1}\n          - type: legend",
    )
    scatter, legend = pixels[:, :200], pixels[:, 200:]
    for color in (RED, BLUE, GREEN):
        assert count(scatter, color) > 100 and count(legend, color) > 15
    assert (legend.min(axis=2) > 200).sum() > 100  # the species' names


def test_a_csv_by_a_numeric_column_with_a_colour_bar(
    iris_csv: Path, write_spec: Callable[..., Path]
) -> None:
    color = "{field: age, scheme: plasma}"
    pixels = still(
        write_spec,
        "{type: file, path: iris.csv, label: species, columns: [age]}",
        f"- {{type: scatter, point_size: 5, opacity: 1, color: {color}}}\n"
        f"          - {{type: legend, color: {color}}}",
    )
    scatter, legend = pixels[:, :200], pixels[:, 200:]
    assert count(scatter, RED) == count(scatter, BLUE) == 0  # no class colours
    for end in (rgb(ramp("plasma")[0]), rgb(ramp("plasma")[-1])):
        assert count(scatter, end, 12) > 5 and count(legend, end, 12) > 20


def test_a_csv_without_labels_is_one_colour(
    iris_csv: Path, write_spec: Callable[..., Path]
) -> None:
    pixels = still(
        write_spec,
        "{type: file, path: unlabelled.csv}",
        "- {type: scatter, point_size: 5, opacity: 1}\n          - type: legend",
    )
    assert count(pixels, RED) > 200 and count(pixels, BLUE) == count(pixels, GREEN) == 0


def test_a_digit_grid_of_a_table_says_it_needs_images(
    iris_csv: Path, write_spec: Callable[..., Path]
) -> None:
    with pytest.raises(SpecError, match="panels\\[1\\]: the digit-grid panel needs image data"):
        still(
            write_spec,
            "{type: file, path: iris.csv}",
            "- type: scatter\n          - type: digit-grid",
        )
    with pytest.raises(SpecError, match="panels\\[0\\].color: no column 'weight'"):
        still(
            write_spec, "{type: file, path: iris.csv}", "- {type: scatter, color: {field: weight}}"
        )
