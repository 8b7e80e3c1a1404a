"""``--set path=value``: change one value of a spec without editing it.

A path is keys joined by dots, with ``[i]`` for a list index (``panels[1].point_size``; the
index one past the end appends); under ``panels`` a key names a panel by its ``id`` (else its
``type``): ``panels.scatter.point_size``.
The value is YAML (``3``, ``null``, ``[1, 2]``, ``{type: pca}``). Overrides apply after
``extends:`` and before validation; what they set is located to the option, so a bad value reads
``--set timeline.fps=0: timeline.fps: ...``. Missing mappings on the way are created, so a path
into nothing is reported by validation like any unknown key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from specanim.errors import Location, SpecError, UserError, did_you_mean, shortened
from specanim.spec.extends import panel_key
from specanim.spec.limits import MAX_DEPTH, Refused, load_value, problems
from specanim.spec.source import Origin, PathKey, Source, format_path

_PART = re.compile(r"([^.\[\]=]+)|\[(\d{1,9})\]")


@dataclass(frozen=True)
class Override:
    """One value to set: its path (keys and list indices), the value, and how it was written."""

    path: PathKey
    value: Any
    text: str  # for messages, e.g. "--set timeline.fps=0"


def parse_override(text: str, label: str = "--set") -> Override:
    """Parse ``path=value`` (the value is YAML, held to the limits of a spec file); UserError
    naming the option if it is malformed."""
    shown = f"{label} {shortened(text)}"
    path_text, equals, value_text = text.partition("=")
    if not equals or not path_text.strip():
        raise UserError(f"{shown}: expected PATH=VALUE, e.g. reducer.random_state=7")
    path = _parse_path(path_text.strip(), shown)
    try:
        value = load_value(value_text)
    except Refused as exc:
        raise UserError(f"{shown}: {exc}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not a YAML value"
        raise UserError(f"{shown}: invalid value: {problem}") from None
    return Override(path, value, shown)


def override(path: str, value: Any, label: str | None = None) -> Override:
    """An override of the value at a dotted path (as for ``--set``), given from Python; label
    names it in messages (default ``path=value``)."""
    try:
        shown = label or shortened(f"{path}={value!r}")
    except ValueError:  # an integer of more digits than Python writes out
        shown = shortened(path)
    return Override(_parse_path(path.strip(), shown), value, shown)


def _parse_path(text: str, shown: str) -> PathKey:
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        if parts and text[pos] == ".":
            pos += 1
        match = _PART.match(text, pos)
        if match is None:
            raise UserError(
                f"{shown}: cannot read the path '{shortened(text)}' (e.g. panels.scatter.opacity)"
            )
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
        if len(parts) > MAX_DEPTH:
            raise UserError(f"{shown}: the path is more than {MAX_DEPTH} keys deep")
    return tuple(parts)


def apply_overrides(source: Source, overrides: Iterable[str | Override]) -> Source:
    """Set each override's value in the document, recording the option as its origin."""
    for item in overrides:
        override = parse_override(item) if isinstance(item, str) else item
        if override.path[0] == "extends":
            raise UserError(f"{override.text}: 'extends' is read from the file, not set")
        _apply(source, override)
    return source


def _apply(source: Source, override: Override) -> None:
    origin = Origin(override.text, None, Path.cwd())
    if not isinstance(source.data, dict):
        source.data = {}
    node: Any = source.data
    at: PathKey = ()
    for n, part in enumerate(override.path):
        inner = n < len(override.path) - 1
        step = _step(node, at, part, override, inner)
        if isinstance(node, list) and step == len(node):
            node.append(None)
        elif isinstance(node, dict) and step not in node:
            source.key_origins[(*at, step)] = origin
            if inner:  # a mapping on the way that is not there yet
                node[step] = {}
                source.origins[(*at, step)] = origin
        at = (*at, step)
        if inner:
            node = node[step]
    for sub, problem in problems(override.value):  # a value from Python: no YAML read it
        raise _error(override, (*at, *sub), problem)
    for table in (source.origins, source.key_origins):
        for sub in [p for p in table if p[: len(at)] == at and p != at]:
            del table[sub]
    node[at[-1]] = override.value
    _mark(source, at, override.value, origin)


def _step(node: Any, at: PathKey, part: str | int, override: Override, inner: bool) -> Any:
    """The key or index that part names in node; the index just past a list's end appends."""
    if isinstance(node, list):
        if isinstance(part, str) and at == ("panels",):
            keys = [panel_key(entry) for entry in node]
            if part in keys:
                return keys.index(part)
            known = [k for k in keys if isinstance(k, str)]
            raise _error(override, (*at, part), f"no panel '{part}'{did_you_mean(part, known)}")
        if isinstance(part, int) and (part < len(node) or (part == len(node) and not inner)):
            return part
        raise _error(
            override, (*at, part), f"no item [{part}]: {format_path(at)} has {len(node)} items"
        )
    if isinstance(node, dict):
        if isinstance(part, int):
            raise _error(override, at, f"is a mapping, not a list: cannot take item [{part}]")
        return part
    kind = "nothing" if node is None else f"a {type(node).__name__}"
    raise _error(override, at, f"is {kind}, not a mapping: cannot set '{part}' inside it")


def _error(override: Override, path: PathKey, message: str) -> SpecError:
    return SpecError(Location(override.text, None, format_path(path)), message)


def _mark(source: Source, path: PathKey, value: Any, origin: Origin) -> None:
    source.origins[path] = origin
    if isinstance(value, dict):
        for key, item in value.items():
            source.key_origins[(*path, str(key))] = origin
            _mark(source, (*path, str(key)), item, origin)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _mark(source, (*path, i), item, origin)
