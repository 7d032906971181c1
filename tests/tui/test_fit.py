"""Tables that fit: the essential columns at 80 and 120 columns, cut cells ending in an ellipsis, extra width to
the text columns (the layout itself: tui/widgets/columns.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from musicrec_tui.tui.app import PANES
from musicrec_tui.tui.commands import help_sections
from musicrec_tui.tui.widgets.columns import Col, share
from tests.fake_itunes import FakeItunes
from tests.tui.conftest import AppFactory, settle
from tests.tui.support import footer_keys, screen_text
from tests.tui.test_snapshots import seed

LONG = "The Extraordinarily Long-Named Orchestra of Everything"


def test_share_drops_by_priority_and_gives_extra_to_text() -> None:
    cols = [Col("t", "Title", 10, weight=0.6), Col("a", "Artist", 10, weight=0.4), Col("g", "Genre", 8, 14,
            priority=2), Col("l", "Len", 5, 5)]
    narrow = share(cols, 36)
    assert "g" not in narrow and narrow["l"] == 5 and narrow["t"] >= 10
    wide, wider = share(cols, 120), share(cols, 200)
    assert wide["g"] == wider["g"] == 14 and wide["l"] == wider["l"] == 5  # fixed columns stop growing
    assert wider["t"] > wide["t"] and wider["a"] > wide["a"]
    assert sum(w + 2 for w in wider.values()) == 200


@pytest.mark.parametrize("width", [80, 120])
async def test_search_and_similar_show_their_essential_columns(build_app: AppFactory, fake_itunes: FakeItunes,
                                                               tmp_path: Path, width: int) -> None:
    for i in range(3):
        fake_itunes.add_track(7000 + i, f"Night Drive {i} (Extended Club Remix Version)", LONG, album=LONG,
                              trackTimeMillis=187_000)
    url = f"sqlite://{tmp_path / 'fit.sqlite3'}"
    seed(url, tmp_path / "cache", fake_itunes.url)
    app = build_app(db_url=url)
    async with app.run_test(size=(width, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("1", *"night", "enter")
        await settle(app, pilot)
        await pilot.pause(0.1)
        text = screen_text(app)
        header = next(line for line in text.splitlines() if "Title" in line)
        for label in ("Title", "Artist", "Len", "Lib", "Prev"):
            assert label in header, (label, header)
        row = next(line for line in text.splitlines() if "Night" in line and "Prev" not in line)
        assert "…" in row and "3:07" in row and "▶" in row  # cut with an ellipsis, length and preview shown
        assert all(len(line) <= width for line in text.splitlines())

        await pilot.press("2", "escape", "enter")  # Similar of the first library track
        await settle(app, pilot)
        text = screen_text(app)
        header = next(line for line in text.splitlines() if "Score" in line)
        for label in ("#", "Score", "Title", "Artist", "Why"):
            assert label in header, (label, header)
        assert any("%" in line for line in text.splitlines() if "0." in line)  # the why column's shares


def footer_cut(app: Any) -> list[str]:
    """The footer entries not wholly visible left of the command palette's key (cut or pushed off screen)."""
    footer = app.screen.query_one(Footer)
    keys = list(footer.query(FooterKey))
    palette = next((k for k in keys if k.has_class("-command-palette")), None)
    limit = palette.region.x if palette is not None else footer.region.right
    cut = []
    for key in keys:
        if key is palette:
            continue
        if key.region.width == 0 or key.region.right > limit:
            cut.append(f"{key.key_display} {key.description}")
    return cut


@pytest.mark.parametrize("pane", ["search", "library", "similar", "ingest", "analysis", "discover"])
async def test_every_footer_entry_fits_at_80_columns(build_app: AppFactory, fake_itunes: FakeItunes,
                                                     tmp_path: Path, pane: str) -> None:
    """At 80x24 each pane's footer shows its keys whole (fewer keys, short descriptions; ? lists them all)."""
    url = f"sqlite://{tmp_path / 'foot.sqlite3'}"
    seed(url, tmp_path / "cache", fake_itunes.url)
    app = build_app(db_url=url)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        if pane in ("similar", "analysis", "discover"):
            await pilot.press("2", "escape", "enter")  # a seed: the Similar pane's list of the first track
            await settle(app, pilot)
        if pane == "search":
            await pilot.press("1", *"night", "enter")
            await settle(app, pilot)
            await pilot.press("tab")  # the results list, with its own keys
        else:
            await pilot.press(str(PANES.index(pane) + 1))
        await settle(app, pilot)
        await pilot.pause(0.1)
        shown = footer_keys(app)
        assert shown, "the footer shows no key"
        assert footer_cut(app) == [], screen_text(app).splitlines()[-1]
        help_ids = {binding_id for _, rows in help_sections(app) for _, _, binding_id in rows}
        for active in app.screen.active_bindings.values():  # shown or not: ? help lists every key
            if active.binding.id and active.binding.id not in ("app.quit_field",):
                assert active.binding.id in help_ids, active.binding.id
