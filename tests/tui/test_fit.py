"""Tables that fit: the essential columns at 80 and 120 columns, cut cells ending in an ellipsis, extra width to
the text columns (the layout itself: tui/widgets/columns.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicrec_tui.tui.widgets.columns import Col, share
from tests.fake_itunes import FakeItunes
from tests.tui.conftest import AppFactory, settle
from tests.tui.support import screen_text
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
