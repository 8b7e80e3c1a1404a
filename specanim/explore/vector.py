"""The vector parts of the page: every frame's Vega-Lite as one template the page compiles once,
and per frame the values that differ from it.

Frames of a scene usually differ only in values: a title's text (``{epoch}``), a progress bar's
data, a re-sampled image. Where frame 0 and another frame differ, the template takes, at the
nearest ``data.values`` above the difference, a named dataset (``{"name": ...}``), and at an
encoding's ``value``, a parameter (``{"expr": ...}``); the page sets those per frame
(``view.data``, ``view.signal``) instead of compiling a spec per frame. A frame that differs
anywhere else is kept whole, and the page embeds it as it is: its picture is right, only slower.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str | int, ...]
PREFIX = "specanim_v"  # names of the template's datasets and parameters


@dataclass
class Vector:
    """The template, the name of each place that varies, and per frame its values (or the
    frame's whole spec where it differs beyond them)."""

    template: dict[str, Any]
    datasets: dict[Path, str] = field(default_factory=dict)
    params: dict[Path, str] = field(default_factory=dict)
    frames: list[dict[str, Any]] = field(default_factory=list)


def vary(specs: list[dict[str, Any]]) -> Vector:
    """The template of specs (frame 0 with its varying places named) and each frame's values."""
    first = specs[0]
    places: set[Path] = set()
    whole: set[int] = set()
    for k, spec in enumerate(specs[1:], 1):
        found: list[Path] = []
        _differences(first, spec, (), found)
        lifted = [_place(first, p) for p in found]
        if any(p is None for p in lifted):
            whole.add(k)
        else:
            places.update(p for p in lifted if p is not None)
    ordered = sorted(places, key=repr)
    datasets = {p: f"{PREFIX}{i}" for i, p in enumerate(ordered) if p[-1] == "values"}
    params = {p: f"{PREFIX}{i}" for i, p in enumerate(ordered) if p[-1] != "values"}
    template = copy.deepcopy(first)
    for p, name in datasets.items():
        _set(template, p[:-1], {"name": name})
        template.setdefault("datasets", {})[name] = _get(first, p)
    for p, name in params.items():
        _set(template, p, {"expr": name})
    declared = [{"name": name, "value": _get(first, p)} for p, name in params.items()]
    if declared:
        template["params"] = [*template.get("params", []), *declared]
    vector = Vector(template, datasets, params)
    for k, spec in enumerate(specs):
        if k in whole:
            vector.frames.append({"spec": spec})
            continue
        values = {name: _get(spec, p) for p, name in {**datasets, **params}.items()}
        vector.frames.append({"values": values})
    return vector


def _differences(a: Any, b: Any, path: Path, found: list[Path]) -> None:
    if type(a) is not type(b):
        found.append(path)
    elif isinstance(a, dict):
        if a.keys() != b.keys():
            found.append(path)
            return
        for key in a:
            _differences(a[key], b[key], (*path, key), found)
    elif isinstance(a, list):
        if len(a) != len(b):
            found.append(path)
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _differences(x, y, (*path, i), found)
    elif a != b:
        found.append(path)


def _place(spec: dict[str, Any], path: Path) -> Path | None:
    """Where a difference at path of spec is set from outside: the data.values above it (rows,
    not text to parse, alone in its data), or the encoding value it is; None: anywhere else."""
    for i in range(len(path) - 1):
        if path[i] == "data" and path[i + 1] == "values":
            data = _get(spec, path[: i + 1])
            rows = isinstance(data.get("values"), list) and set(data) == {"values"}
            return path[: i + 2] if rows else None
    if len(path) >= 3 and path[-1] == "value" and path[-3] == "encoding":
        return path
    return None


def _get(spec: Any, path: Path) -> Any:
    for key in path:
        spec = spec[key]
    return spec


def _set(spec: Any, path: Path, value: Any) -> None:
    _get(spec, path[:-1])[path[-1]] = value
