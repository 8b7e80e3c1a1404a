"""The installed versions of libraries, for cache keys and reports."""

from __future__ import annotations

from importlib import metadata

__version__ = "0.1.0"  # specanim's own (pyproject.toml reads it from here)


def installed(*distributions: str, missing: str = "not installed") -> dict[str, str]:
    """The installed version of each named distribution, plus specanim's own."""
    found = {"specanim": __version__}
    for name in distributions:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = missing
    return found
