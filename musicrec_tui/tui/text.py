"""Outside text in widgets: always a `rich.text.Text`, never a markup string (the rule: core/text.py).

A plain `str` given to a DataTable cell, a Static, a notification or a header is parsed as Textual markup:
`[link=...]`, `[@click=app.quit]` and unbalanced `[/]` in a song title would emit hyperlinks, run actions or
crash. Every outside string goes through `plain`, which also applies the one normalisation (no controls, no
bidi overrides)."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from ..core.text import clean, ellipsize

__all__ = ["markup", "plain", "plain_cut"]


def plain(value: object, style: str = "") -> Text:
    """`value` as literal text, terminal-safe, never interpreted as markup."""
    return Text(clean(value if isinstance(value, str | bytes | bytearray) or value is None else str(value)),
                style=style, no_wrap=True, overflow="ellipsis")


def plain_cut(value: object, width: int, style: str = "") -> Text:
    """`plain`, cut to `width` terminal cells with a trailing `…` when it does not fit."""
    return Text(ellipsize(clean(None if value is None else str(value)), width), style=style, no_wrap=True)


def markup(template: str, **values: object) -> Content:
    """Trusted Textual markup with `$name` placeholders filled by outside values, which are never parsed:
    `markup("[b]$title[/b] — $artist", title=t.title, artist=t.artist)`. The values get the one
    normalisation (core/text.clean); only the template's own tags style the result."""
    return Content.from_markup(template, **{name: clean(_text_of(value)) for name, value in values.items()})


def _text_of(value: object) -> str | bytes | bytearray | None:
    return value if isinstance(value, str | bytes | bytearray) or value is None else str(value)
