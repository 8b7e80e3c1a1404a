"""Two-pass validation: the document against ``SceneSpec``, then each component entry against
the ``Options`` model of the plugin its ``type:`` names. Every error is located in the file."""

from __future__ import annotations

import traceback
import types
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ValidationError

from specanim.components import Component, Dataset, Encoder, Executor, Kind, Panel, Reducer
from specanim.errors import (
    ComponentError,
    ExternalURL,
    InputError,
    PluginError,
    SpecanimError,
    SpecError,
    SpecErrors,
    UserError,
    describe_exception,
    did_you_mean,
    shortened,
)
from specanim.options import Options
from specanim.plugins import LocalPlugin, Plugin, Registry, UnknownComponent, with_local
from specanim.spec import limits, urls, vega_lite
from specanim.spec.extends import read_spec
from specanim.spec.models import Layer, LayoutNode, OutputEntry, SceneSpec, Split
from specanim.spec.overrides import Override, apply_overrides
from specanim.spec.source import PathKey, Source, format_path
from specanim.spec.template import FIELDS_CONTEXT, FRAME_FIELDS

C = TypeVar("C", bound=Component)

DEFAULT_ENCODER = "mp4"


@dataclass(frozen=True)
class Resolved(Generic[C]):
    """A component entry after both passes: its class, its validated options, where it stands
    and the plugin that registered its class."""

    cls: type[C]
    options: Options
    source: Source
    path: PathKey
    plugin: str = ""

    @contextmanager
    def blame(self, call: str = "") -> Iterator[None]:
        """Name this entry in an error raised inside: an InputError becomes a SpecError at the
        entry (the input's fault, exit 2); any other exception that is not a SpecanimError
        becomes a ComponentError naming the entry, the plugin and ``call`` (``"view()"``), the
        plugin's fault (exit 1). SpecanimErrors pass unchanged."""
        try:
            yield
        except InputError as exc:
            path = (*self.path, exc.key) if exc.key else self.path
            raise self.source.error(path, exc.message) from None
        except SpecanimError:
            raise
        except Exception as exc:
            raise failure(self.cls, self.plugin, self.source, self.path, call, exc) from exc

    def fault(self, message: str, detail: str = "") -> ComponentError:
        """An error of this entry's plugin: ``file:line: panels[2]: panel 'x' (plugin 'y') ...``."""
        return fault(self.cls, self.plugin, self.source, self.path, message, detail)

    @property
    def base_dir(self) -> Path:
        """The folder the entry's relative paths are relative to: that of the file which wrote
        its first path option (the current folder for ``--set``), else of the spec."""
        for name, field in type(self.options).model_fields.items():
            if name in self.options.model_fields_set and Path in _unwrap(field.annotation):
                return self.source.origin((*self.path, name)).base_dir
        return self.source.base_dir


def fault(
    cls: type[Component], plugin: str, source: Source, path: PathKey, message: str, detail: str = ""
) -> ComponentError:
    """An error of the plugin's component cls at the entry at path (see ``Resolved.fault``)."""
    what = f"{cls.kind} '{cls.name}' (plugin '{plugin}')"
    return ComponentError(source.locate(path), f"{what} {message}", detail)


def failure(
    cls: type[Component], plugin: str, source: Source, path: PathKey, call: str, exc: Exception
) -> ComponentError:
    """exc, raised by the plugin's code in call, as an error of its entry with its traceback."""
    where = f" in {call}" if call else ""
    detail = "".join(traceback.format_exception(exc))
    return fault(cls, plugin, source, path, f"failed{where}: {describe_exception(exc)}", detail)


# What a validator of an options model that raises something other than ValueError or
# AssertionError (which pydantic turns into located validation errors) failed in.
VALIDATOR = "an options validator"


def validated(
    cls: type[Component],
    plugin: str,
    source: Source,
    path: PathKey,
    raw: Any,
    context: dict[str, Any] | None = None,
) -> Options:
    """raw validated by cls's options model; ValidationError for a bad value, ComponentError
    (the plugin's fault, exit 1) naming the entry if a validator raises anything else, as
    pydantic lets every other exception through unchanged: a KeyError is a bug in the
    validator, not a verdict on the value."""
    try:
        return cls.Options.model_validate(raw, context=context)
    except ValidationError:
        raise
    except Exception as exc:
        raise failure(cls, plugin, source, path, VALIDATOR, exc) from exc


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
    plugins: tuple[LocalPlugin, ...] = ()  # the spec's local plugins, for the render workers
    executor: Resolved[Executor] | None = None  # the spec's executor entry, if it has one

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


def spec_registry(file: Path, registry: Registry) -> Registry:
    """The registry plus the local plugins a spec lists, without validating the rest of it."""
    source = read_spec(file)
    data = source.data if isinstance(source.data, dict) else {}
    errors: list[SpecError] = []
    _, registry = _local_plugins(source, data.get("plugins"), registry, errors)
    if errors:
        raise SpecErrors(errors)
    return registry


def validate(source: Source, registry: Registry, output: Path | None = None) -> Plan:
    """Validate a parsed spec; output (from the command line) overrides ``output.path``."""
    # The document as a whole, wherever its values came from (a file, a base, --set, Python),
    # within the limits a spec file is read with; past them, nothing else is looked at.
    beyond = [source.error(path, message) for path, message in limits.problems(source.data)]
    if beyond:
        raise SpecErrors(beyond)
    errors: list[SpecError] = []
    spec: SceneSpec | None = None
    data = source.data if isinstance(source.data, dict) else {}
    local, registry = _local_plugins(source, data.get("plugins"), registry, errors)
    raw_reducers = _raw_reducers(data)
    context = {FIELDS_CONTEXT: _frame_fields(raw_reducers.values(), registry, source)}
    try:
        spec = SceneSpec.model_validate(source.data, context=context)
    except ValidationError as exc:
        errors += _located(exc, source, (), SceneSpec)

    def entry(kind: Kind, path: PathKey, raw: Any, skip: tuple[str, ...]) -> Resolved[Any] | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            return None  # the first pass reported it
        try:
            reg = registry.lookup(kind, raw["type"])
        except UnknownComponent as exc:
            errors.append(source.error((*path, "type"), str(exc)))
            return None
        cls, options = reg.cls, {k: v for k, v in raw.items() if k not in skip}
        try:
            valid = validated(cls, reg.plugin, source, path, options, context)
            return Resolved(cls, valid, source, path, reg.plugin)
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
    executor = entry("executor", ("executor",), data.get("executor"), ("type",))
    errors += _check_vega_lite(source, data)
    encoder, output_path = _output(source, data.get("output"), registry, output, errors)
    layout: LayoutNode | None = None
    if spec is not None and all(panels):  # an unknown panel type would only echo in the layout
        layout = _check_layout(spec, source, errors)
    if spec is not None and encoder is not None:
        try:
            encoder.cls.check_size(spec.width, spec.height)
        except InputError as exc:
            errors.append(source.error((exc.key or "width",), exc.message))
    if spec is not None:
        _check_trajectories(spec, source, errors)

    resolved = {name: r for name, r in reducers.items() if r is not None}
    if errors or spec is None or dataset is None or not resolved or encoder is None:
        raise SpecErrors(errors)
    assert layout is not None and output_path is not None and len(resolved) == len(reducers)
    resolved_panels = {p.key: r for p, r in zip(spec.panels, panels, strict=True) if r}
    return Plan(
        source,
        spec,
        dataset,
        resolved,
        resolved_panels,
        layout,
        encoder,
        output_path,
        local,
        executor,
    )


def _local_plugins(
    source: Source, raw: Any, registry: Registry, errors: list[SpecError]
) -> tuple[tuple[LocalPlugin, ...], Registry]:
    """Load the spec's ``plugins:`` (paths relative to the spec) into a copy of the registry.
    One that fails is an error at its entry and stays in the registry as broken, so an
    unknown ``type:`` names it."""
    loaded: list[LocalPlugin] = []
    for i, name in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(name, str):
            continue  # the first pass reported it
        try:
            # Relative to the file that wrote it (a spec may extend another).
            plugin = LocalPlugin.at(name, source.origin(("plugins", i)).base_dir)
            if any(p.path == plugin.path for p in loaded):
                raise PluginError(f"plugin '{name}' is listed twice")
            registry = with_local(registry, plugin)
        except PluginError as exc:
            errors.append(source.error(("plugins", i), str(exc)))
            problem = f"see plugins[{i}]"  # that line says what is wrong
            registry = registry.extended(Plugin(name, status="broken", error=problem))
        else:
            loaded.append(plugin)
    return tuple(loaded), registry


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
    ] + [
        source.error((*path, *sub), ExternalURL.refusal(url))
        for path, fragment, _ in places
        for url, sub, _ in urls.external(fragment)
    ]


def _frame_fields(
    raws: Iterable[tuple[PathKey, Any]], registry: Registry, source: Source
) -> tuple[str, ...]:
    """The fields templates may use: every frame's, and those the spec's reducers declare."""
    fields = list(FRAME_FIELDS)
    for path, raw in raws:
        try:
            reg = registry.lookup("reducer", raw["type"])
            options = reg.cls.Options.model_validate(raw_options(raw))
        except Exception:  # noqa: BLE001  # a bad type or options: reported where it stands
            continue
        try:
            declared = cast("type[Reducer]", reg.cls).frame_values(options)
        except Exception as exc:
            raise failure(reg.cls, reg.plugin, source, path, "frame_values()", exc) from exc
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
    """The encoder and the output path.

    The spec's ``output`` entry is validated against its own encoder (``type``, else its
    path's ending, else the default) whatever the command line says. The command line's path
    then picks the format by its ending; the spec's options apply only if that is the same.
    """
    raw = raw if isinstance(raw, dict) else {}
    try:
        entry = OutputEntry.model_validate(raw)
    except ValidationError:
        return None, None  # the first pass reported it
    path = Path(entry.path) if entry.path else None
    by_path = _encoder_by_ending(registry, path, source, ("output", "path"), errors)
    name = entry.type or by_path or DEFAULT_ENCODER
    try:
        reg = registry.lookup("encoder", name)
    except UnknownComponent as exc:
        errors.append(source.error(("output", "type"), str(exc)))
        return None, None
    cls = cast("type[Encoder]", reg.cls)
    if entry.type and path and path.suffix and by_path and by_path != entry.type:
        errors.append(
            source.error(
                ("output", "path"),
                f"'{path}' is a {by_path} file's name, but 'type' says {entry.type}",
            )
        )
        return None, None
    try:
        options = validated(cls, reg.plugin, source, ("output",), entry.options())
        resolved = Resolved(cls, options, source, ("output",), reg.plugin)
    except ValidationError as exc:
        errors.extend(_located(exc, source, ("output",), cls.Options, ("type", "path")))
        return None, None
    if override is None:
        return resolved, path or Path(
            source.file.stem + (cls.extensions[0] if cls.extensions else "")
        )
    chosen = _encoder_by_ending(registry, override, None, (), errors)
    if chosen is None or chosen == cls.name:
        return resolved, override  # the spec's own format, with its options
    other_reg = registry.lookup("encoder", chosen)
    other = cast("type[Encoder]", other_reg.cls)
    try:
        defaults = validated(other, other_reg.plugin, source, ("output",), {})
    except ValidationError:
        raise UserError(
            f"{override}: {chosen} needs options: give them in the spec's output entry "
            f"with 'type: {chosen}'"
        ) from None
    return Resolved(other, defaults, source, ("output",), other_reg.plugin), override


def _encoder_by_ending(
    registry: Registry,
    path: Path | None,
    source: Source | None,
    at: PathKey,
    errors: list[SpecError],
) -> str | None:
    """The encoder path's ending picks; an unknown ending is an error (located in source when
    the path came from the spec, else about the command line's path)."""
    if path is None:
        return None
    name = registry.encoder_for_extension(path.suffix)
    if name is not None or not path.suffix:
        return name
    endings = sorted(
        e for n in registry.names("encoder") for e in registry.encoder(n).extensions if e
    )
    message = (
        f"no encoder writes '{path.suffix}' files "
        f"(known: {', '.join(endings)}; no ending: a folder of PNG frames)"
    )
    if source is None:
        raise UserError(f"{path}: {message}")
    errors.append(source.error(at, message))
    return None


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
            error = source.error(path, error_message(err))
        if str(error.location) not in seen:  # a union reports each member: keep the first
            seen.add(str(error.location))
            out.append(error)
    return out


def error_message(err: Any) -> str:
    """A pydantic error as the end of a line: its message, lower case, and the value given."""
    msg: str = err["msg"]
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    msg = msg[0].lower() + msg[1:]
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return f"{msg}, got {shortened(repr(value))}"
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
