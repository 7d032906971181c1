"""The one rule for outside text (core/text.py) and its widget form (tui/text.py)."""

from __future__ import annotations

import json
import unicodedata

import pytest
from rich.text import Text

from musicrec_tui.core.text import cell_width, clean, ellipsize, fit, for_terminal
from musicrec_tui.tui.text import plain, plain_cut


@pytest.mark.parametrize(("raw", "expected"), [
    ("Real Song [live] [feat. Someone] (Remastered)", "Real Song [live] [feat. Someone] (Remastered)"),
    ("[@click=app.quit]SHOT[/]", "[@click=app.quit]SHOT[/]"),
    ("oops [/]", "oops [/]"),
    ("\x1b[31mred\x1b[0m", "[31mred[0m"),
    ("\x1b]8;;https://evil.example\x07x\x1b]8;;\x07", "]8;;https://evil.examplex]8;;"),
    ("a\x9bb\x85c\x7fd", "abcd"),
    ("line\none\ttab\rcr", "line one tab cr"),
    ("\u202eevil\u202c txt", "evil txt"),
    ("zero\u200bwidth\ufeff", "zerowidth"),
    ("\ud800x", "\ufffdx"),
    ("\udcff.mp3", "\ufffd.mp3"),
    ("Cafe\u0301", "Café"),
    ("👩\u200d🎤", "👩\u200d🎤"),
    ("", ""),
])
def test_clean_keeps_text_and_removes_only_what_is_documented(raw: str, expected: str) -> None:
    assert clean(raw) == expected
    assert clean(clean(raw)) == clean(raw), "idempotent: a stored value shows as stored"
    clean(raw).encode("utf-8")  # never a UnicodeEncodeError downstream
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in clean(raw))


def test_clean_decodes_bytes_and_other_values() -> None:
    assert clean(b"caf\xc3\xa9 \xff") == "café \ufffd"
    assert clean(None) == ""
    assert for_terminal(42) == "42"
    assert json.dumps(clean("a\x00b\x1fc")) == '"abc"'


@pytest.mark.parametrize(("text", "cells"), [("abc", 3), ("夜に駆ける", 10), ("Café", 4), ("Cafe\u0301", 4),
                                             ("🎸", 2), ("\u200d", 0)])
def test_cell_width_counts_terminal_cells(text: str, cells: int) -> None:
    assert cell_width(text) == cells


def test_ellipsize_and_fit_measure_cells() -> None:
    assert ellipsize("short", 10) == "short"
    assert ellipsize("a longer title", 8) == "a longe…"
    assert cell_width(ellipsize("夜に駆ける夜に駆ける", 7)) <= 7 and ellipsize("夜に駆ける", 7).endswith("…")
    assert ellipsize("anything", 0) == "" and ellipsize("anything", 1) == "…"
    for width in range(0, 14):
        assert cell_width(fit("坂本龍一 — Energy Flow", width)) == width


def test_plain_is_never_markup() -> None:
    text = plain("[link=https://evil.example]x[/link] [@click=app.quit]q[/] \x1b[2J")
    assert isinstance(text, Text)
    assert text.plain == "[link=https://evil.example]x[/link] [@click=app.quit]q[/] [2J"
    assert not text.spans, "no style, link or action was parsed out of the string"
    assert plain_cut("Real Song [live]", 10).plain == "Real Song…"
