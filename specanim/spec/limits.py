"""Bounds on reading a spec, so that a hostile file cannot take unbounded time or memory.

A YAML alias names a node written once, but every use of it is a full copy once the document
is turned into values: a few kilobytes of nested aliases (a "billion laughs" document) expand
to hundreds of millions of values. ``check_expansion`` measures that size on the composed node
graph, where aliases are still shared, before anything is expanded.
"""

from __future__ import annotations

from pathlib import Path

import yaml

# A scene spec is a few kilobytes with a few hundred values. PyYAML scans and composes slowly
# (in Python): these limits, far above any real spec, bound the time the worst file takes to
# read.
MAX_BYTES = 1024 * 1024
MAX_NODES = 50_000  # values after alias expansion
MAX_DEPTH = 64  # nesting of mappings and sequences


_too_long = f"the spec is larger than {MAX_BYTES // 1024 // 1024} MB"
_too_deep = f"values nested more than {MAX_DEPTH} levels deep"
_too_many = f"the spec holds more than {MAX_NODES:,} values (aliases counted at every use)"


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
    return raw.decode("utf-8")


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no tags that build objects) that refuses deep nesting.

    Composing is recursive: without a bound, a few thousand nested brackets would end in a
    RecursionError deep inside PyYAML.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
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
