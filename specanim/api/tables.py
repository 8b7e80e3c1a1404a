"""Text tables: the batch summary, and the command's listings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def aligned(
    rows: Sequence[Sequence[str]], notes: Mapping[int, Sequence[str]] | None = None
) -> list[str]:
    """rows as lines of left-aligned columns two spaces apart, the last column left ragged;
    notes[n]: lines set under row n, indented past the last column's start."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    indent = " " * (sum(widths) + 2 * len(widths) + 2)
    lines = []
    for n, row in enumerate(rows):
        cells = [f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        lines += [f"{indent}{note}" for note in (notes or {}).get(n, ())]
    return lines
