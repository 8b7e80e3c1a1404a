"""Two-pass validation: the document against ``SceneSpec``, then each component entry against
the ``Options`` model of the plugin its ``type:`` names. Every error is located in the file."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from specanim.components import Component, Dataset, Encoder, Kind, Options, Panel, Reducer
from specanim.errors import InputError, SpecError, SpecErrors, UserError, did_you_mean
from specanim.plugins import Registry, UnknownComponent
from specanim.spec import vega_lite
from specanim.spec.extends import read_spec
from specanim.spec.models import Layer, LayoutNode, OutputEntry, SceneSpec, Split
from specanim.spec.overrides import Override, apply_overrides
from specanim.spec.source import PathKey, Source, format_path
from specanim.template import FIELDS_CONTEXT, FRAME_FIELDS

C = TypeVar("C", bound=Component)

DEFAULT_ENCODER = "mp4"


@dataclass(frozen=True)
class Resolved(Generic[C]):
    """A component entry after both passes: its class, its validated options, where it stands."""

    cls: type[C]
    options: Options
    source: Source
    path: PathKey

    @contextmanager
    def blame(self) -> Iterator[None]:
        """Turn an InputError raised inside into a SpecError that names this entry."""
        try:
            yield
        except InputError as exc:
            path = (*self.path, exc.key) if exc.key else self.path
            raise self.source.error(path, exc.message) from None

    @property
    def base_dir(self) -> Path:
        """The folder the entry's relative paths are relative to: that of the file which wrote
        its first path option (the current folder for ``--set``), else of the spec."""
        for name, field in type(self.options).model_fields.items():
            if name in self.options.model_fields_set and Path in _unwrap(field.annotation):
                return self.source.origin((*self.path, name)).base_dir
        return self.source.base_dir


@dataclass(frozen=True)
class Plan:
    """A valid scene: the document and every component it names, ready to build."""

    source: Source
    spec: SceneSpec
    dataset: Resolved[Dataset]
    reducers: dict[str, Resolved[Reducer]]  # by name, in spec order; the first leads
    panels: dict[str, Resolved[Panel]]  # by layout key, in spec order
    layout: LayoutNode
    encoder: Resolved[Encoder]
    output: Path

    @property
    def reducer(self) -> Resolved[Reducer]:
        """The first reducer: the scene's only one, unless it has ``reducers:``."""
        return next(iter(self.reducers.values()))


def load_plan(
    file: Path,
    registry: Registry,
    output: Path | None = None,
    overrides: Iterable[str | Override] = (),
) -> Plan:
    """Read a spec file (with what it extends), apply overrides (``"path=value"`` as for
    ``--set``) and validate it; SpecErrors lists every problem found."""
    return validate(apply_overrides(read_spec(file), overrides), registry, output)


def validate(source: Source, registry: Registry, output: Path | None = None) -> Plan:
    """Validate a parsed spec; output (from the command line) overrides ``output.path``."""
    errors: list[SpecError] = []
    spec: SceneSpec | None = None
    data = source.data if isinstance(source.data, dict) else {}
    raw_reducers = _raw_reducers(data)
    context = {FIELDS_CONTEXT: _frame_fields(raw_reducers.values(), registry)}
    try:
        spec = SceneSpec.model_validate(source.data, context=context)
    except ValidationError as exc:
        errors += _located(exc, source, (), SceneSpec)

    def entry(kind: Kind, path: PathKey, raw: Any, skip: tuple[str, ...]) -> Resolved[Any] | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            return None  # the first pass reported it
        try:
            cls = registry.get(kind, raw["type"])
        except UnknownComponent as exc:
            errors.append(source.error((*path, "type"), str(exc)))
            return None
        options = {k: v for k, v in raw.items() if k not in skip}
        try:
            return Resolved(cls, cls.Options.model_validate(options, context=context), source, path)
        except ValidationError as exc:
            errors.extend(_located(exc, source, path, cls.Options, extra_keys=skip))
            return None

    dataset = entry("dataset", ("dataset",), data.get("dataset"), ("type",))
    reducers = {
        name: entry("reducer", path, raw, ("type",)) for name, (path, raw) in raw_reducers.items()
    }
    raw_panels = data.get("panels")
    panels = [
        entry("panel", ("panels", i), raw, PANEL_KEYS)
        for i, raw in enumerate(raw_panels if isinstance(raw_panels, list) else [])
    ]
    errors += _check_vega_lite(source, data)
    encoder, output_path = _output(source, data.get("output"), registry, output, errors)
    layout: LayoutNode | None = None
    if spec is not None and all(panels):  # an unknown panel type would only echo in the layout
        layout = _check_layout(spec, source, errors)
    if spec is not None:
        _check_trajectories(spec, source, errors)

    resolved = {name: r for name, r in reducers.items() if r is not None}
    if errors or spec is None or dataset is None or not resolved or encoder is None:
        raise SpecErrors(errors)
    assert layout is not None and output_path is not None and len(resolved) == len(reducers)
    resolved_panels = {p.key: r for p, r in zip(spec.panels, panels, strict=True) if r}
    return Plan(source, spec, dataset, resolved, resolved_panels, layout, encoder, output_path)


# The keys of a panel entry that the core reads; the others are the panel's own options.
PANEL_KEYS = ("type", "id", "trajectory", "title", "vega_lite")


def _raw_reducers(data: dict[str, Any]) -> dict[str, tuple[PathKey, Any]]:
    """Every reducer entry by name, with its path: ``reducers:``, or ``reducer:`` named by its
    type."""
    many = data.get("reducers")
    if isinstance(many, dict):
        return {str(name): (("reducers", str(name)), raw) for name, raw in many.items()}
    one = data.get("reducer")
    name = one.get("type") if isinstance(one, dict) else None
    return {name if isinstance(name, str) else "reducer": (("reducer",), one)}


def _check_trajectories(spec: SceneSpec, source: Source, errors: list[SpecError]) -> None:
    """Every panel's ``trajectory:`` names a reducer; the panels of a layer draw the same."""
    names = list(spec.reducer_entries)
    for i, panel in enumerate(spec.panels):
        if panel.trajectory is not None and panel.trajectory not in names:
            errors.append(
                source.error(
                    ("panels", i, "trajectory"),
                    f"no reducer named '{panel.trajectory}'{did_you_mean(panel.trajectory, names)}"
                    f"; reducers: {', '.join(names)}",
                )
            )


def _check_vega_lite(source: Source, data: dict[str, Any]) -> list[SpecError]:
    """The ``vega_lite:`` of the frame and of each panel, checked against Vega-Lite's schema."""
    places: list[tuple[PathKey, Any, vega_lite.Where]] = []
    if data.get("vega_lite") is not None:
        places.append((("vega_lite",), data["vega_lite"], "frame"))
    panels = data.get("panels")
    for i, raw in enumerate(panels if isinstance(panels, list) else []):
        if isinstance(raw, dict) and raw.get("vega_lite") is not None:
            places.append((("panels", i, "vega_lite"), raw["vega_lite"], "panel"))
    return [
        source.error((*path, *sub), message)
        for path, fragment, where in places
        for sub, message in vega_lite.check(fragment, where)
    ]


def _frame_fields(raws: Iterable[tuple[PathKey, Any]], registry: Registry) -> tuple[str, ...]:
    """The fields templates may use: every frame's, and those the spec's reducers declare."""
    fields = list(FRAME_FIELDS)
    for _, raw in raws:
        try:
            cls = registry.reducer(raw["type"])
            declared = cls.frame_values(cls.Options.model_validate(raw_options(raw)))
        except (KeyError, TypeError, UnknownComponent, ValidationError):
            continue  # the reducer entry's own errors are reported where it stands
        fields += [k for k in declared if k not in fields]
    return tuple(fields)


def raw_options(raw: dict[str, Any]) -> dict[str, Any]:
    """The keys of a component entry other than ``type``."""
    return {k: v for k, v in raw.items() if k != "type"}


def _output(
    source: Source,
    raw: Any,
    registry: Registry,
    override: Path | None,
    errors: list[SpecError],
) -> tuple[Resolved[Encoder] | None, Path | None]:
    """The encoder and the output path: from the command line, else the spec, else defaults."""
    raw = raw if isinstance(raw, dict) else {}
    try:
        entry = OutputEntry.model_validate(raw)
    except ValidationError:
        return None, None  # the first pass reported it
    options = entry.options()
    name = entry.type
    path = Path(entry.path) if entry.path else None
    if override is not None:
        by_extension = registry.encoder_for_extension(override.suffix)
        if by_extension is None and override.suffix:
            endings = sorted(
                e for n in registry.names("encoder") for e in registry.encoder(n).extensions if e
            )
            raise UserError(
                f"{override}: no encoder writes '{override.suffix}' files "
                f"(known: {', '.join(endings)}; no ending: a folder of PNG frames)"
            )
        if by_extension and by_extension != name:
            name, options = by_extension, {}  # the spec's options were for another format
        path = override
    if name is None:
        name = (path and registry.encoder_for_extension(path.suffix)) or DEFAULT_ENCODER
    try:
        cls = registry.encoder(name)
    except UnknownComponent as exc:
        errors.append(source.error(("output", "type"), str(exc)))
        return None, None
    try:
        opts = cls.Options.model_validate(options)
    except ValidationError as exc:
        errors.extend(_located(exc, source, ("output",), cls.Options, ("type", "path")))
        return None, None
    if path is None:
        path = Path(source.file.stem + (cls.extensions[0] if cls.extensions else ""))
    return Resolved(cls, opts, source, ("output",)), path


def _check_layout(spec: SceneSpec, source: Source, errors: list[SpecError]) -> LayoutNode:
    """Every panel key must be unique and the layout must use each exactly once."""
    keys = [p.key for p in spec.panels]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            errors.append(
                source.error(
                    ("panels", i),
                    f"a second panel named '{key}': give one of them an 'id:' to tell them apart",
                )
            )
    if spec.layout is None:
        return Split(row=list(dict.fromkeys(keys)))
    used: list[str] = []

    def walk(node: LayoutNode, path: PathKey) -> None:
        if isinstance(node, str):
            if node not in keys:
                errors.append(
                    source.error(path, f"no panel '{node}' to place{did_you_mean(node, keys)}")
                )
            elif node in used:
                errors.append(source.error(path, f"panel '{node}' is placed twice"))
            used.append(node)
            return
        if isinstance(node, Layer):
            for i, key in enumerate(node.layer):
                walk(key, (*path, "layer", i))
            if node.view is None:
                _check_shared_view(spec, node, path, source, errors)
            first = next(iter(spec.reducer_entries))
            drawn = {p.trajectory or first for p in spec.panels if p.key in node.layer}
            if len(drawn) > 1:
                errors.append(
                    source.error(
                        path,
                        f"the panels of a layer share one camera, so they draw one trajectory; "
                        f"these draw {', '.join(sorted(drawn))}",
                    )
                )
            return
        field = "row" if node.horizontal else "column"
        for i, child in enumerate(node.children):
            walk(child, (*path, field, i))

    walk(spec.layout, ("layout",))
    for i, key in enumerate(keys):
        if key not in used:
            errors.append(source.error(("panels", i), f"panel '{key}' is not placed in the layout"))
    return spec.layout


def _check_shared_view(
    spec: SceneSpec, layer: Layer, path: PathKey, source: Source, errors: list[SpecError]
) -> None:
    """The panels of a layer share one camera: at most one of them may set its ``view``."""
    setting = [
        (i, p.key)
        for i, p in enumerate(spec.panels)
        if p.key in layer.layer and isinstance(p.model_extra, dict) and "view" in p.model_extra
    ]
    if len(setting) > 1:
        names = " and ".join(f"'{key}'" for _, key in setting)
        errors.append(
            source.error(
                ("panels", setting[1][0], "view"),
                f"panels {names} share one box in {format_path(path)} and so one camera: "
                f"set 'view:' on the layer instead of on each panel",
            )
        )


# --- pydantic errors as located one-liners ---------------------------------------------------


def _located(
    exc: ValidationError,
    source: Source,
    prefix: PathKey,
    model: type[BaseModel],
    extra_keys: tuple[str, ...] = (),
) -> list[SpecError]:
    seen: set[str] = set()
    out: list[SpecError] = []
    for err in exc.errors(include_url=False):
        path = _data_path(source.data, prefix, err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(path[-1])
            known = _fields_at(model, path[len(prefix) : -1], source.data, prefix) + list(
                extra_keys if len(path) == len(prefix) + 1 else ()
            )
            error = source.error(path, f"unknown key '{key}'{did_you_mean(key, known)}", key=True)
        elif kind == "missing":
            error = source.error(path[:-1], f"missing required key '{path[-1]}'", key=True)
        else:
            error = source.error(path, _message(err))
        if str(error.location) not in seen:  # a union reports each member: keep the first
            seen.add(str(error.location))
            out.append(error)
    return out


def _message(err: Any) -> str:
    msg: str = err["msg"]
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    msg = msg[0].lower() + msg[1:]
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return f"{msg}, got {value!r}"
    return f"{msg}, got a {type(value).__name__}"


def _data_path(data: Any, prefix: PathKey, loc: tuple[Any, ...]) -> PathKey:
    """Map a pydantic error location onto the document, dropping union member tags."""
    node = data
    for part in prefix:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part]
        else:
            node = None
    path: list[str | int] = list(prefix)
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, (dict, list)) or not isinstance(part, (str, int)):
            if isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
                path.append(part)  # a missing or extra key
                node = None
            continue
        else:
            continue
        path.append(part)
    return tuple(path)


def _is_tag(part: str) -> bool:
    """Pydantic names union members in error locations: 'str', 'list[str]', 'Split'."""
    return part[:1].isupper() or "[" in part or part in {"str", "int", "float", "bool"}


def _fields_at(model: type[BaseModel], sub: PathKey, data: Any, prefix: PathKey) -> list[str]:
    """The field names of the model that validates the mapping at prefix + sub."""
    candidates: list[Any] = [model]
    for part in sub:
        nxt: list[Any] = []
        for cand in candidates:
            for t in _unwrap(cand):
                if isinstance(t, type) and issubclass(t, BaseModel) and isinstance(part, str):
                    field = t.model_fields.get(part)
                    if field is not None:
                        nxt.append(field.annotation)
                elif isinstance(part, int) and typing.get_origin(t) is list:
                    nxt.extend(typing.get_args(t))
        candidates = nxt
    names: list[str] = []
    for cand in candidates:
        for t in _unwrap(cand):
            if isinstance(t, type) and issubclass(t, BaseModel):
                names += list(t.model_fields)
    return names


def _unwrap(t: Any) -> list[Any]:
    if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
        return [u for arg in typing.get_args(t) for u in _unwrap(arg)]
    if isinstance(t, typing.ForwardRef) or isinstance(t, str):
        return []
    alias = getattr(t, "__value__", None)
    return _unwrap(alias) if alias is not None else [t]
