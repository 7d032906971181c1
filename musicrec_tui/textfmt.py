"""Plain-text formatting for the CLI: terminal-width-aware columns, durations, sizes (outside text: core/text.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .core.text import cell_width, clean, ellipsize, fit

__all__ = ["cell_width", "clean", "ellipsize", "fit", "format_table", "human_bytes", "mmss"]


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
