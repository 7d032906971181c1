"""Column widths shared out by priority, for tables that must fit 80 columns and use 200.

Each column has a minimum width and a priority; the columns that do not fit at their minimum are dropped,
least important first. What is left over goes to the text columns (weight > 0) in proportion to their weight,
so a wider terminal shows more of titles and artists, never more empty space in fixed columns. Cells are then
cut to their width with an ellipsis (tui/text.py plain_cut), never cropped mid-character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Col:
    key: str
    label: str
    min: int  # cells; fixed columns have min == max
    max: int | None = None  # None: grows without bound (a text column)
    weight: float = 0.0  # share of the extra width (text columns)
    priority: int = 0  # 0 essential; higher numbers are dropped first


def share(cols: Sequence[Col], width: int, gap: int = 2) -> dict[str, int]:
    """Width per column key for a table `width` cells wide (each column costs `gap` more: padding);
    dropped columns are absent."""
    kept = list(cols)
    while kept:
        need = sum(c.min + gap for c in kept)
        if need <= width:
            break
        worst = max(kept, key=lambda c: c.priority)
        if worst.priority == 0:
            break  # only essential columns left: they share what there is
        kept.remove(worst)
    widths = {c.key: c.min for c in kept}
    spare = width - sum(c.min + gap for c in kept)
    if spare < 0:  # narrower than the essentials: shrink the text columns, down to 3 cells
        for c in sorted(kept, key=lambda c: -c.weight):
            if c.weight > 0 and spare < 0:
                cut = min(-spare, widths[c.key] - 3)
                widths[c.key] -= cut
                spare += cut
        return widths
    grow = [c for c in kept if c.weight > 0]
    total = sum(c.weight for c in grow)
    for c in kept:  # fixed-width columns up to their natural width first
        if c.weight == 0 and c.max is not None and spare > 0:
            extra = min(spare, c.max - c.min)
            widths[c.key] += extra
            spare -= extra
    given = 0
    for c in grow:
        extra = int(spare * c.weight / total) if total else 0
        if c.max is not None:
            extra = min(extra, c.max - c.min)
        widths[c.key] += extra
        given += extra
    if grow and spare - given > 0:
        first = grow[0]
        widths[first.key] += spare - given  # rounding leftovers to the first text column
    return widths
