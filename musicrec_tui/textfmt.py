"""Plain-text formatting for the CLI: terminal-width-aware columns, durations, sizes."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence


def cell_width(text: str) -> int:
    """Columns a string takes in a terminal (wide CJK = 2, combining marks = 0)."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Cf", "Mn", "Me"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def clean(text: str) -> str:
    """Drop control characters so hostile metadata cannot move the cursor or ring the bell."""
    return "".join(ch if unicodedata.category(ch) != "Cc" else " " for ch in text)


def fit(text: str, width: int) -> str:
    """Truncate with … and pad to exactly `width` columns."""
    text = clean(text)
    if cell_width(text) <= width:
        return text + " " * (width - cell_width(text))
    out, used = [], 0
    for ch in text:
        w = cell_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…" + " " * (width - used - 1)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]], widths: Sequence[int]) -> str:
    lines = ["  ".join(fit(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(fit(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def mmss(ms: int | float | None) -> str:
    if ms is None:
        return "-"
    seconds = round(ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
