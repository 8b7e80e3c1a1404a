"""``extends: base.yaml``: a spec written as the changes to another.

The base is read (and itself may extend another), then the spec is merged over it: mappings key
by key; lists, and the ``layout`` (a tree that means nothing half merged), replaced; except
``panels``, merged by panel key (``id:``, else ``type:``), a new key appended. ``null`` is an
ordinary value, not a deletion. Every merged value keeps the origin it had in its own file, so
errors name the file and line it came from.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from specanim.errors import Location, SpecError
from specanim.spec.migrations import upgrade
from specanim.spec.source import PathKey, Source, parse_source, read_source

REPLACED = {("layout",)}  # mappings a child replaces as a whole
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # what every key of a spec's top level is


def read_spec(file: Path) -> Source:
    """Read a spec file, bring it to the current format and merge it over what it extends."""
    return _read(file, ())


def parse_spec(text: str, file: Path) -> Source:
    """As read_spec, for spec text that is not in a file: file names it in messages, and its
    folder is where relative paths (and ``extends:``) start."""
    return _extend(parse_source(text, file), file, ())


def _read(file: Path, chain: tuple[tuple[Path, str], ...]) -> Source:
    return _extend(read_source(file), file, chain)


def _extend(source: Source, file: Path, chain: tuple[tuple[Path, str], ...]) -> Source:
    _check_is_spec(source)
    upgrade(source)
    data = source.data
    if not isinstance(data, dict) or "extends" not in data:
        return source
    target = data.pop("extends")
    if not isinstance(target, str) or not target.strip():
        raise source.error(("extends",), "expected the path of the spec file this one extends")
    base_file = file.parent / target
    chain = (*chain, (file.resolve(), source.name))
    seen = [path for path, _ in chain]
    if base_file.resolve() in seen:
        names = [name for _, name in chain[seen.index(base_file.resolve()) :]]
        cycle = " -> ".join([*names, names[0]])
        raise source.error(("extends",), f"'{target}' is already in the chain, a cycle: {cycle}")
    if not base_file.is_file():
        problem = (
            f"'{base_file}' is not a regular file: nothing to extend"
            if base_file.exists()
            else f"no spec file '{base_file}' to extend"
        )
        raise source.error(("extends",), problem)
    return merge(_read(base_file, chain), source)


def _check_is_spec(source: Source) -> None:
    """SpecError unless the document is a mapping of names, as every spec is. The message shows
    nothing of the file: ``extends: /etc/shadow`` would otherwise print it line by line."""
    data = source.data
    if not isinstance(data, dict):
        kind = (
            "a list" if isinstance(data, list) else "a text" if isinstance(data, str) else "a value"
        )
        raise SpecError(
            Location(source.name, 1, ""),
            f"not a scene spec: the file holds {kind}, not a mapping of keys such as dataset:",
        )
    for key in data:
        if not _NAME.fullmatch(key):
            line = source.origin((key,), key=True).line
            raise SpecError(
                Location(source.name, line, ""),
                "not a scene spec: a key at the top level that is not a name "
                "(such as dataset: or panels:)",
            )


def merge(base: Source, child: Source) -> Source:
    """The child's document merged over the base's, with every value's origin."""
    out = Source(child.file, None)
    out.data = _merge(base, (), base.data, child, (), child.data, out, ())
    return out


def panel_key(entry: Any) -> Any:
    """The name a panel entry is known by: its ``id``, else its ``type``."""
    return (entry.get("id") or entry.get("type")) if isinstance(entry, dict) else None


def _merge(
    base: Source,
    bpath: PathKey,
    bval: Any,
    child: Source,
    cpath: PathKey,
    cval: Any,
    out: Source,
    opath: PathKey,
) -> Any:
    if isinstance(bval, dict) and isinstance(cval, dict) and opath not in REPLACED:
        out.origins[opath] = child.origin(cpath)
        merged: dict[str, Any] = {}
        for key in [*bval, *(k for k in cval if k not in bval)]:
            at = (*opath, key)
            if key not in cval:
                out.key_origins[at] = base.origin((*bpath, key), key=True)
                merged[key] = _copy(base, (*bpath, key), bval[key], out, at)
                continue
            out.key_origins[at] = child.origin((*cpath, key), key=True)
            b = bval.get(key)
            merged[key] = _merge(base, (*bpath, key), b, child, (*cpath, key), cval[key], out, at)
        return merged
    if opath == ("panels",) and isinstance(bval, list) and isinstance(cval, list):
        return _merge_panels(base, bval, child, cval, out)
    return _copy(child, cpath, cval, out, opath)


def _merge_panels(
    base: Source, bval: list[Any], child: Source, cval: list[Any], out: Source
) -> list[Any]:
    out.origins[("panels",)] = child.origin(("panels",))
    keys = [panel_key(entry) for entry in bval]
    matched: dict[int, int] = {}  # base index -> child index
    for j, entry in enumerate(cval):
        key = panel_key(entry)
        if key is not None and key in keys and keys.index(key) not in matched:
            matched[keys.index(key)] = j
    merged: list[Any] = []
    for i, entry in enumerate(bval):
        at = ("panels", i)
        if i in matched:
            j = matched[i]
            merged.append(_merge(base, at, entry, child, ("panels", j), cval[j], out, at))
        else:
            merged.append(_copy(base, at, entry, out, at))
    for j, entry in enumerate(cval):
        if j not in matched.values():
            merged.append(_copy(child, ("panels", j), entry, out, ("panels", len(merged))))
    return merged


def _copy(source: Source, path: PathKey, value: Any, out: Source, at: PathKey) -> Any:
    """Place a value from source's path at out's path, with the origins of everything in it."""
    n = len(path)
    for table, target in ((source.origins, out.origins), (source.key_origins, out.key_origins)):
        for sub, origin in table.items():
            if sub[:n] == path and (sub != path or table is source.origins):
                target[(*at, *sub[n:])] = origin
    return copy.deepcopy(value)
