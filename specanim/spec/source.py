"""Reading a YAML spec into plain values while remembering the line of every key and value."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class Source:
    """A parsed spec document: its values and where each of them stands in the file."""

    file: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)  # value path -> 1-based line
    key_lines: dict[PathKey, int] = field(default_factory=dict)  # mapping key path -> its line

    @property
    def name(self) -> str:
        """The file as the user named it, for messages."""
        return str(self.file)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in this spec are resolved against."""
        return self.file.resolve().parent

    def line_of(self, path: PathKey, *, key: bool = False) -> int | None:
        """The line of the value at path (or of its key), else of its nearest ancestor."""
        table = self.key_lines if key else self.lines
        for n in range(len(path), -1, -1):
            sub = path[:n]
            if sub in table:
                return table[sub]
            if sub in self.lines:
                return self.lines[sub]
        return None

    def locate(self, path: PathKey, *, key: bool = False) -> Location:
        return Location(self.name, self.line_of(path, key=key), format_path(path))

    def error(self, path: PathKey, message: str, *, key: bool = False) -> SpecError:
        return SpecError(self.locate(path, key=key), message)


def read_source(file: Path) -> Source:
    """Parse a spec file; SpecError for a missing file or broken YAML."""
    try:
        text = read_bounded(file)
    except FileNotFoundError:
        raise SpecError(Location(str(file), None, ""), "no such spec file") from None
    except Refused as exc:
        raise SpecError(Location(str(file), None, ""), str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(Location(str(file), None, ""), f"cannot read spec: {exc}") from None
    return parse_source(text, file)


def parse_source(text: str, file: Path) -> Source:
    """Parse YAML text that came from file."""
    source = Source(file, None)
    loader = BoundedLoader(text)
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
    source.lines[path] = node.start_mark.line + 1
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
            source.key_lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, (*path, key), source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), source) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
