"""Spec format versions: which the installed specanim reads, and how older specs are brought up.

Every change to the meaning of a spec raises the format version by one and registers a
``Migration`` from the version before. A migration is a function on the raw document (a mapping
as YAML gives it) that rewrites it in place; the same function upgrades a spec as it is loaded
(one warning line per migration applied) and, on a comment-keeping round-trip document, rewrites
the file for ``specanim migrate``. A spec without ``version:`` is read as version 1.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specanim.spec.source import Source, read_source
from specanim.versions import __version__

FIRST_VERSION = 1

Document = MutableMapping[str, Any]


@dataclass(frozen=True)
class Migration:
    """Rewrites a document of format ``version`` into format ``version + 1``."""

    version: int
    description: str  # one line: what changed, e.g. "timeline.hold was renamed hold_end"
    apply: Callable[[Document], None]


MIGRATIONS: list[Migration] = []


def register(version: int, description: str) -> Callable[[Callable[[Document], None]], Migration]:
    """Decorate a function as the migration from format ``version`` to ``version + 1``."""

    def add(function: Callable[[Document], None]) -> Migration:
        if version != current_version():
            raise ValueError(
                f"the next migration must start at format {current_version()}, not {version}"
            )
        migration = Migration(version, description, function)
        MIGRATIONS.append(migration)
        return migration

    return add


def current_version() -> int:
    """The format version this specanim writes and reads without migrating."""
    return MIGRATIONS[-1].version + 1 if MIGRATIONS else FIRST_VERSION


def too_new(version: int) -> str:
    """The message for a spec written for a newer format."""
    return (
        f"this spec needs format version {version}; specanim {__version__} reads versions up to "
        f"{current_version()}: upgrade specanim"
    )


def _version(source: Source) -> int | None:
    """The spec's format version, or None when it is not a number (the model reports that)."""
    data = source.data
    version = data.get("version", FIRST_VERSION) if isinstance(data, dict) else FIRST_VERSION
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    if version > current_version():
        raise source.error(("version",), too_new(version))
    if version < FIRST_VERSION:
        raise source.error(("version",), f"format versions start at {FIRST_VERSION}, got {version}")
    return version


def _pending(version: int) -> list[Migration]:
    return [m for m in MIGRATIONS if m.version >= version]


def upgrade(source: Source) -> None:
    """Bring a freshly read spec up to the current format, one warning line per migration."""
    version = _version(source)
    if version is None or not isinstance(source.data, dict):
        return
    for migration in _pending(version):
        migration.apply(source.data)
        source.data["version"] = migration.version + 1
        warnings.warn(
            f"{source.name}: format {migration.version} -> {migration.version + 1}: "
            f"{migration.description} (specanim migrate {source.name} rewrites the file)",
            stacklevel=2,
        )


def migrate_file(file: Path) -> tuple[str, list[Migration]]:
    """The text of a spec file rewritten to the current format, keeping comments and layout,
    and the migrations that did it (none: the text is unchanged)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    source = read_source(file)  # broken YAML and unsafe documents fail here, located
    version = _version(source)
    text = file.read_text(encoding="utf-8")
    pending = _pending(version) if version is not None else []
    if not pending or not isinstance(source.data, dict):
        return text, []
    yaml = YAML()  # round-trip: comments, key order, flow style and quotes survive
    yaml.preserve_quotes = True
    yaml.width = 4096  # keep long lines as written
    document, sequence, offset = load_yaml_guess_indent(text, yaml=yaml)
    for migration in pending:
        migration.apply(document)
    if "version" in document:
        document["version"] = current_version()
    else:
        document.insert(0, "version", current_version())
    mapping = _mapping_indent(text)
    yaml.indent(mapping=mapping, sequence=sequence or mapping, offset=offset or 0)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue(), pending


def _mapping_indent(text: str) -> int:
    """How far this file indents a mapping under its key (2 if it never does)."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for line, after in zip(lines, lines[1:], strict=False):
        if line.rstrip().endswith(":") and not after.lstrip().startswith("- "):
            step = (len(after) - len(after.lstrip())) - (len(line) - len(line.lstrip()))
            if step > 0:
                return step
    return 2
