"""The one rule for outside text: catalogue names, tags, file names, other users' rows, server messages.

Outside text is normalised once, by `clean`, wherever it enters (HTTP bodies, tags, file names, store writes) and
again, idempotently, wherever it leaves (terminal, JSON, exports), so a value is shown exactly as it is stored:

- lone surrogates (legal in JSON, produced by `os.fsdecode` for undecodable file names) become U+FFFD;
  bytes are decoded as UTF-8 with invalid sequences replaced by U+FFFD;
- tab, newline, carriage return and the Unicode line/paragraph separators become a space (names are one line);
- every other C0 control, DEL and C1 control is removed (no escape sequence can reach a terminal);
- bidirectional overrides, embeddings, isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C)
  and invisible zero-width characters (U+200B, U+2060, U+FEFF) are removed; the zero-width joiner and non-joiner
  (emoji sequences, Indic and Persian scripts) are kept;
- the result is in Unicode NFC.

Nothing else changes: brackets, markup-like text, quotes and every printable character are kept verbatim.

Stored values (core.models.Track.normalised, applied by the store before every write, identically on SQLite
and MySQL, and by the catalogue and file readers so that what is shown is what gets stored):

- names (title, artist, album, genre, release date, country) are `clean_name`: `clean`, then capped at
  MAX_NAME_CHARS (16,384) characters, a longer one ending in `…`; a 10,000-character title is stored whole;
- URLs are `clean_url`: `clean`d; one longer than MAX_URL_CHARS (8,192) or not http(s) is dropped (None);
- ids (external ids: an iTunes trackId or a local file's path) are `clean_id`: only lone surrogates become
  U+FFFD, nothing else changes, so a path still names its file (a path that is not valid UTF-8 then fails
  its track with a reason instead of breaking the write);
- error reasons are `clean_name`d too.

JSON output (`json_line`) escapes every control, format and separator character (`\u001b`, `\u202e` ...),
so even a value that escaped normalisation cannot reach a terminal raw through `--json`.
Display code never interprets outside text as markup (the TUI wraps it in `rich.text.Text`, see tui/text.py).
Widths are measured in terminal cells (`cell_width`): wide East Asian characters count 2, combining marks 0.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_NAME_CHARS", "MAX_URL_CHARS", "REPLACEMENT", "cell_width", "clean", "clean_id", "clean_name",
           "clean_url", "ellipsize", "fit", "for_terminal", "json_line"]

MAX_NAME_CHARS = 16_384
MAX_URL_CHARS = 8_192

REPLACEMENT = "\ufffd"
_SURROGATES = re.compile("[\ud800-\udfff]")
_SPACES = re.compile("[\t\n\r\u2028\u2029]")
_REMOVED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 (but tab, LF, CR), DEL, C1
                      "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, overrides, isolates
                      "\u200b\u2060\ufeff]")  # zero-width space, word joiner, BOM
_ASCII_SAFE = re.compile(r"[\x20-\x7e]*")


def clean(value: str | bytes | bytearray | None) -> str:
    """The storage normalisation (see the module docstring); None becomes ''. Idempotent."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    elif not isinstance(value, str):
        value = str(value)
    if _ASCII_SAFE.fullmatch(value):
        return value  # the common case: printable ASCII needs nothing
    value = _SURROGATES.sub(REPLACEMENT, value)
    value = _REMOVED.sub("", _SPACES.sub(" ", value))
    return unicodedata.normalize("NFC", value)


def clean_name(value: str | bytes | bytearray | None, limit: int = MAX_NAME_CHARS) -> str:
    """`clean`, capped at `limit` characters (a longer value keeps limit - 1 and ends in `…`)."""
    text = clean(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def clean_id(value: str | None) -> str:
    """An identifier kept verbatim but storable: only lone surrogates become U+FFFD."""
    if value is None:
        return ""
    text = str(value)
    return _SURROGATES.sub(REPLACEMENT, text) if _SURROGATES.search(text) else text


def clean_url(value: str | None) -> str | None:
    """A cleaned http(s) URL, or None when there is none, it is longer than MAX_URL_CHARS or another scheme."""
    if value is None:
        return None
    text = clean(value).strip()
    if not text or len(text) > MAX_URL_CHARS or not text.lower().startswith(("http://", "https://")):
        return None
    return text


# json.dumps escapes C0 inside strings itself, so a raw newline can only be the layout of `indent`: kept.
_JSON_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
                          "\ud800-\udfff\ufff9-\ufffb]")


def json_line(obj: object, indent: int | None = None) -> str:
    """One JSON text, UTF-8 (not ASCII-escaped) but with every control, bidi, zero-width and separator
    character and any lone surrogate written as a `\\uXXXX` escape: the data is unchanged for a JSON reader,
    and nothing in it can act on a terminal."""
    import json

    text = json.dumps(obj, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def for_terminal(value: object) -> str:
    """A string safe to write to a terminal: the same normalisation as `clean` (values show as stored)."""
    return clean(value if isinstance(value, str | bytes | bytearray) or value is None else str(value))


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Cf", "Mn", "Me", "Cc"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_width(text: str) -> int:
    """Columns a string takes in a terminal (wide CJK and emoji 2, combining and format characters 0)."""
    if _ASCII_SAFE.fullmatch(text):
        return len(text)
    return sum(_char_width(ch) for ch in text)


def ellipsize(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, ending in `…` when cut (no padding). `text` is cleaned first."""
    text = clean(text)
    if width <= 0:
        return ""
    if cell_width(text) <= width:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def fit(text: str, width: int) -> str:
    """`text` cut with `…` and padded with spaces to exactly `width` cells."""
    cut = ellipsize(text, width)
    return cut + " " * max(0, width - cell_width(cut))
