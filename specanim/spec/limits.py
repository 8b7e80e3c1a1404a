"""Bounds on a spec, so that a hostile file, base or ``--set`` cannot take unbounded time or
memory, nor abort the process that draws its text.

A YAML alias names a node written once, but every use of it is a full copy once the document
is turned into values: a few kilobytes of nested aliases (a "billion laughs" document) expand
to hundreds of millions of values. ``check_expansion`` measures that size on the composed node
graph, where aliases are still shared, before anything is expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

# A scene spec is a few kilobytes with a few hundred values. PyYAML scans and composes slowly
# (in Python): these limits, far above any real spec, bound the time the worst file takes to
# read.
MAX_BYTES = 1024 * 1024
MAX_NODES = 50_000  # values after alias expansion
MAX_DEPTH = 64  # nesting of mappings and sequences
MAX_TEXT = 1000  # characters in one text (a title, a path, a key): a title this long is 7,000 px
MAX_INT = 2**63 - 1  # integers lie within 64 bits, as numpy and the libraries take them
# Python refuses to read integers of over 4,300 digits, and reads long ones slowly: an integer
# written with more characters than this is out of range without being read.
_MAX_INT_TEXT = 40
MAX_FRAMES = 100_000  # frames of one animation: an hour at about 28 fps
MAX_PADDING = 1000  # pixels a side of ``vega_lite: {padding: ...}``
# The largest picture vl-convert is asked to paint, in pixels a side and in all (an 8192 x 8192
# frame and more): past it, it asks for memory it cannot have and aborts the process.
MAX_CANVAS_SIDE = 16_384
MAX_CANVAS_PIXELS = 8192 * 8192 * 2


_too_long = f"the spec is larger than {MAX_BYTES // 1024 // 1024} MB"
_too_deep = f"values nested more than {MAX_DEPTH} levels deep"
_too_many = f"the spec holds more than {MAX_NODES:,} values (aliases counted at every use)"


# vl-convert aborts the whole process (a Rust panic, "NonXmlChar") on text that holds a
# character XML 1.0 does not allow: anything drawn must be made of these.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def bad_character(text: str) -> str | None:
    """What is wrong with text's characters for a frame, or None if nothing is."""
    found = _NOT_XML.search(text)
    return None if found is None else _undrawable(found.group())


def _undrawable(character: str) -> str:
    return (
        f"the character U+{ord(character):04X} cannot be drawn: text holds no control "
        "characters but tab and newline, nor U+FFFE or U+FFFF"
    )


def drawable(text: str) -> str:
    """text with every character a frame cannot draw replaced by U+FFFD (the replacement
    character)."""
    return _NOT_XML.sub("\ufffd", text)


_too_big = f"an integer beyond the 64-bit range (at most {MAX_INT:,} either side of 0)"


def problems(value: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Where (path within value) and what is wrong with the plain values of a document, by
    the limits a spec file's values are held to: text length and characters, integer range,
    nesting, number of values (a value used twice counts twice). Keys are checked as texts,
    at their mapping's path."""
    count = 0

    def walk(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
        nonlocal count
        count += 1
        if len(path) >= MAX_DEPTH or count > MAX_NODES:
            yield path, _too_deep if len(path) >= MAX_DEPTH else _too_many
            return
        if isinstance(node, str):
            yield from ((path, p) for p in text_problems(node))
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INT:
            yield path, _too_big
        elif isinstance(node, dict):
            for key, item in node.items():
                if isinstance(key, str):
                    yield from ((path, f"a key: {p}") for p in text_problems(key))
                yield from walk(item, (*path, key))
                if count > MAX_NODES:
                    return
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, (*path, i))
                if count > MAX_NODES:
                    return

    yield from walk(value, ())


def text_problems(text: str) -> list[str]:
    """What is wrong with one text of a spec: its length, its characters."""
    too_long = f"a text of {len(text):,} characters: at most {MAX_TEXT:,} are allowed"
    found = [too_long] if len(text) > MAX_TEXT else []
    bad = bad_character(text)
    return [*found, bad] if bad else found


class Refused(Exception):
    """A spec beyond one of the limits, or with a tag that builds objects; line is 1-based."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


def read_bounded(file: Path) -> str:
    """The text of file, refused past MAX_BYTES without reading more than that."""
    with open(file, "rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise Refused(_too_long)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # a binary file: say where, show none of it
        line = raw.count(b"\n", 0, exc.start) + 1
        raise Refused("not a spec: the file is not UTF-8 text", line) from None


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no tags that build objects) that refuses deep nesting.

    Composing is recursive: without a bound, a few thousand nested brackets would end in a
    RecursionError deep inside PyYAML.
    """

    def __init__(self, stream: str) -> None:
        try:
            super().__init__(stream)
        except yaml.reader.ReaderError as exc:
            # PyYAML refuses control characters in the text itself, before any node is read.
            line = stream.count("\n", 0, exc.position) + 1
            raise Refused(_undrawable(chr(exc.character)), line) from None
        self._length = len(stream)
        self._depth = 0
        self._nodes = 0

    def get_single_node(self) -> yaml.Node | None:
        """The document's root node, refused (Refused) past any of the limits."""
        if self._length > MAX_BYTES:
            raise Refused(_too_long)
        node: yaml.Node | None = super().get_single_node()
        check_expansion(node)
        return node

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH or self._nodes > MAX_NODES:
                line = self.peek_event().start_mark.line + 1
                raise Refused(_too_deep if self._depth > MAX_DEPTH else _too_many, line)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def _bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """A YAML integer, refused beyond MAX_INT (a long one without reading it)."""
    text = str(node.value).replace("_", "")
    value = 0 if len(text) > _MAX_INT_TEXT else loader.construct_yaml_int(node)
    if len(text) > _MAX_INT_TEXT or abs(value) > MAX_INT:
        raise Refused(_too_big, _line(node))
    return value


BoundedLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def load_value(text: str) -> Any:
    """One YAML value given as text (a ``--set`` value), within the limits of a spec file;
    Refused past them, yaml.YAMLError if it is not YAML."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def check_expansion(root: yaml.Node | None) -> None:
    """Raise Refused if the document, aliases expanded, holds more than MAX_NODES values,
    nests deeper than MAX_DEPTH, or contains itself (a recursive alias)."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded values, expanded height)
    open_: set[int] = set()

    def measure(node: yaml.Node, level: int) -> tuple[int, int]:
        key = id(node)
        known = sizes.get(key)
        if level + (known[1] if known else 1) - 1 > MAX_DEPTH:
            raise Refused(_too_deep, _line(node))
        if known:
            return known
        if key in open_:
            raise Refused("an alias refers to a value that contains it", _line(node))
        _check_tag(node)
        values, height = 1, 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            open_.add(key)
            children = (
                [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode)
                else node.value
            )
            for child in children:
                v, h = measure(child, level + 1)
                values += v
                height = max(height, h + 1)
                if values > MAX_NODES:
                    raise Refused(_too_many, _line(child))
            open_.discard(key)
        sizes[key] = (values, height)
        return values, height

    if root is not None:
        measure(root, 1)


# The tags whose values the spec reader builds: plain YAML scalars, mappings and sequences.
_SCALAR_TAGS = {
    t for t in yaml.SafeLoader.yaml_constructors if t and t.startswith("tag:yaml.org,2002:")
} - {"tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs", "tag:yaml.org,2002:set"}
_SCALAR_TAGS.add("tag:yaml.org,2002:merge")  # the '<<' key, resolved when values are built
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _check_tag(node: yaml.Node) -> None:
    """Refuse tags that ask for other objects (``!!python/object``, ``!!set``, ``!local``)."""
    allowed = _SCALAR_TAGS if isinstance(node, yaml.ScalarNode) else _COLLECTION_TAGS
    if node.tag not in allowed:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise Refused(
            f"the YAML tag '{tag}' is not allowed: a spec holds plain values", _line(node)
        )


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1
