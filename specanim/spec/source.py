"""Reading a YAML spec into plain values while remembering where every key and value came from.

A value can come from the spec file, from a file it extends, or from a ``--set`` option; its
``Origin`` says which, so an error names the file and line (or the option) the user must edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from specanim.errors import Location, SpecError
from specanim.spec.limits import BoundedLoader, Refused, read_bounded

PathKey = tuple[str | int, ...]


def format_path(path: PathKey) -> str:
    """``("panels", 1, "type")`` -> ``panels[1].type``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class Origin:
    """Where a value was written: a file and its 1-based line, or a command-line option."""

    where: str  # the file as the user named it, or the option, e.g. "--set timeline.fps=0"
    line: int | None
    base_dir: Path  # relative paths written there are relative to this folder


@dataclass
class Source:
    """A spec document: its values and the origin of each of them.

    ``file`` is the spec that was asked for; ``origins`` maps a value path, and ``key_origins`` a
    mapping key's path, to where it was written (the file, a file it extends, or an option).
    """

    file: Path
    data: Any
    origins: dict[PathKey, Origin] = field(default_factory=dict)
    key_origins: dict[PathKey, Origin] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file as the user named it, for messages."""
        return str(self.file)

    @cached_property
    def base_dir(self) -> Path:
        """The folder relative paths in this spec are resolved against."""
        return self.file.resolve().parent

    def at(self, line: int) -> Origin:
        """The origin of a value written on a line of this file."""
        return Origin(self.name, line, self.base_dir)

    def origin(self, path: PathKey, *, key: bool = False) -> Origin:
        """Where the value at path (or its key) was written, else its nearest ancestor."""
        table = self.key_origins if key else self.origins
        for n in range(len(path), -1, -1):
            sub = path[:n]
            if sub in table:
                return table[sub]
            if sub in self.origins:
                return self.origins[sub]
        return Origin(self.name, None, self.base_dir)

    def locate(self, path: PathKey, *, key: bool = False) -> Location:
        origin = self.origin(path, key=key)
        return Location(origin.where, origin.line, format_path(path))

    def error(self, path: PathKey, message: str, *, key: bool = False) -> SpecError:
        return SpecError(self.locate(path, key=key), message)


def read_source(file: Path) -> Source:
    """Parse a spec file; SpecError for a missing file or broken YAML."""
    try:
        text = read_bounded(file)
    except FileNotFoundError:
        raise SpecError(Location(str(file), None, ""), "no such spec file") from None
    except Refused as exc:
        raise SpecError(Location(str(file), exc.line, ""), str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(Location(str(file), None, ""), f"cannot read spec: {exc}") from None
    return parse_source(text, file)


def parse_source(text: str, file: Path) -> Source:
    """Parse YAML text that came from file."""
    source = Source(file, None)
    try:
        loader = BoundedLoader(text)
    except Refused as exc:
        raise SpecError(Location(str(file), exc.line, ""), str(exc)) from None
    try:
        node = loader.get_single_node()
        source.data = {} if node is None else _build(loader, node, (), source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(Location(str(file), line, ""), f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(Location(str(file), None, ""), f"invalid YAML: {exc}") from None
    except Refused as exc:
        raise SpecError(Location(str(file), exc.line, ""), str(exc)) from None
    finally:
        loader.dispose()
    return source


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: PathKey, source: Source) -> Any:
    source.origins[path] = source.at(node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int)):
                raise SpecError(
                    source.locate(path), f"keys must be names, got {type(key).__name__}"
                )
            key = str(key)
            if key in out:
                line = key_node.start_mark.line + 1
                raise SpecError(
                    Location(source.name, line, format_path((*path, key))), "duplicate key"
                )
            source.key_origins[(*path, key)] = source.at(key_node.start_mark.line + 1)
            out[key] = _build(loader, value_node, (*path, key), source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), source) for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except Refused as exc:  # a value beyond the limits: the error names its path
        raise source.error(path, str(exc)) from None
