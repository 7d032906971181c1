"""The one place that says which numbers the app accepts: ids, k, limits and offsets.

Both faces and the store check numbers here, so SQLite and MySQL see the same values and a bad one is one
line (exit 2 in the CLI) instead of an `OverflowError` from the SQLite driver or an SQL error from MySQL.
Every bound fits a signed 64-bit integer, which is what both databases store and accept in LIMIT/OFFSET.

- a library id is 1 .. 2**63 - 1; an iTunes track id 1 .. 2**63 - 1 (digits only);
- `k` (how many similar tracks) is 1 .. MAX_K;
- a page `limit` is 1 .. MAX_PAGE; an `offset` is 0 .. MAX_OFFSET.

Numbers read from outside data (a catalogue's trackTimeMillis, a tag's track number) go through
`int_field`: anything that is not a whole number in range becomes None rather than failing a write.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

MAX_INT64 = 2**63 - 1
MAX_ID = MAX_INT64
MAX_K = 1000
MAX_PAGE = 1_000_000
MAX_OFFSET = MAX_INT64
MAX_DIGITS = 19  # len(str(MAX_INT64)); longer digit strings are rejected before int() sees them


class LimitError(ConfigError):
    """A number out of its range or not a whole number: one line, exit 2."""


def _show(value: Any) -> str:
    text = str(value)
    if len(text) > 24:
        text = text[:23] + "…"
    return repr(text)


def whole(value: Any, what: str, lo: int, hi: int) -> int:
    """`value` (an int, or a string of decimal digits with an optional sign) as an int in lo..hi."""
    if isinstance(value, bool):
        raise LimitError(f"{what} must be a whole number from {lo} to {hi}, got {_show(value)}")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        digits = text[1:] if text[:1] in "+-" else text
        if not digits.isascii() or not digits.isdigit() or len(digits.lstrip("0")) > MAX_DIGITS:
            raise LimitError(f"{what} must be a whole number from {lo} to {hi}, got {_show(value)}")
        number = int(text)
    if not lo <= number <= hi:
        raise LimitError(f"{what} must be a whole number from {lo} to {hi}, got {_show(value)}")
    return number


def track_id(value: Any) -> int:
    """A library track id."""
    return whole(value, "a track id", 1, MAX_ID)


def itunes_id(value: Any) -> int:
    """An iTunes track id (digits only, no sign)."""
    text = str(value).strip()
    if text[:1] in "+-":
        raise LimitError(f"not an iTunes track id: {_show(value)}")
    return whole(text, "an iTunes track id", 1, MAX_ID)


def k(value: Any) -> int:
    """How many similar tracks to return."""
    return whole(value, "k", 1, MAX_K)


def limit(value: Any, hi: int = MAX_PAGE) -> int:
    """How many rows a page holds."""
    return whole(value, "the limit", 1, hi)


def offset(value: Any) -> int:
    """How many rows to skip."""
    return whole(value, "the offset", 0, MAX_OFFSET)


def int_field(value: Any, lo: int = 0, hi: int = MAX_INT64) -> int | None:
    """A number from outside data (JSON, a tag) if it is a whole number in lo..hi, else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if not isinstance(value, int):
        text = str(value).strip()
        if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > MAX_DIGITS:
            return None
        value = int(text)
    return value if lo <= value <= hi else None
