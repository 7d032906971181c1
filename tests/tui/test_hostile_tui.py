"""The app over the hostile fixture set (tests/hostile.py), on SQLite and MySQL: search, ingest, the Ingest pane,
library, Similar, the player bar, help and export. The app keeps running, text appears literally, no action
runs, and what the app would write to the terminal holds no escape sequence of the data's making."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from musicrec_tui.core.models import JobState
from musicrec_tui.core.text import ellipsize
from musicrec_tui.tui.screens import HelpScreen, PathScreen
from tests import hostile
from tests.fake_itunes import FakeItunes
from tests.tui.conftest import AppFactory, ingest_until_idle, settle
from tests.tui.support import stepped_player

# What Textual itself writes: cursor moves and SGR colours (CSI ... letter). Anything else with ESC is not ours.
_TEXTUAL_CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def assert_screen_inert(app: Any, where: str) -> str:
    """Render the whole screen as the terminal would receive it and check it: no OSC (hyperlinks, titles), no
    stray ESC, no C1 or bidi override, no link style, no click bound to quit or screenshot. Returns the text."""
    update = app.screen._compositor.render_full_update()
    raw = update.render_segments(app.console)
    assert "\x1b]" not in raw, f"{where}: an OSC sequence reached the terminal"
    rest = _TEXTUAL_CSI.sub("", raw)
    assert "\x1b" not in rest, f"{where}: a stray ESC reached the terminal: {rest[rest.index(chr(27)) - 30:][:60]!r}"
    hostile.assert_inert(rest.replace("\n", " "), where)
    for line in update.strips:
        for strip in line:
            for segment in strip:
                style = segment.style
                if style is None:
                    continue
                assert not style.link, f"{where}: a hyperlink {style.link!r}"
                click = str((style.meta or {}).get("@click", ""))
                assert "quit" not in click and "screenshot" not in click, f"{where}: a click runs {click!r}"
    return rest


def cells(table: DataTable, column: int) -> list[str]:
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


def literal(cell: str, expected: str) -> bool:
    """A cell shows `expected` literally: whole, or cut to the column's width ending in `…`."""
    return cell == expected or (cell.endswith("…") and expected.startswith(cell[:-1]))


def assert_literal(shown_cells: list[str], expected: set[str]) -> None:
    """Every expected name has its own cell showing it literally (brackets kept, markup not applied)."""
    left = list(shown_cells)
    for name in sorted(expected, key=len, reverse=True):
        match = next((c for c in left if literal(c, name)), None)
        assert match is not None, f"{name[:60]!r} is not shown literally in {left}"
        left.remove(match)


async def test_hostile_names_through_every_pane(build_app: AppFactory, fake_itunes: FakeItunes, db_url: str,
                                                tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    served = hostile.add_catalogue(fake_itunes, shots)
    shown = {hostile.expected(v) for v in served.values()}
    player, _ = stepped_player()
    app = build_app(db_url=db_url, player=player, ui_k=50)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"hostile", "enter")
        await settle(app, pilot)
        pane = app.search_pane
        assert len(pane.results) == len(served) and app.is_running
        table = pane.query_one("#search-results", DataTable)
        width = table.columns[ColumnKey("title")].width  # titles are cut to their column, ending in …
        assert set(cells(table, 0)) == {ellipsize(v, width) for v in shown}  # literal: brackets kept, no markup
        assert ellipsize("Real Song [live] [feat. Someone] (Remastered)", width) in cells(table, 0)
        assert "hostile" in str(pane.query_one("#search-status", Static).content)
        text = assert_screen_inert(app, "search")
        assert "oops [/]" in text and "[@click=app.quit]QUIT[/]" in text
        for row in range(min(table.row_count, 20)):  # clicking every visible title runs nothing
            await pilot.click(table, offset=(4, row + 1))
        await settle(app, pilot)
        assert app.is_running and not shots.exists()

        await pilot.press("a")  # ingest every result
        await ingest_until_idle(app, pilot)
        assert app.session.library.job_counts()[JobState.DONE] == len(served)

        await pilot.press("4")
        await settle(app, pilot)
        ingest_table = app.ingest_pane.query_one("#ingest-table", DataTable)
        assert_literal(cells(ingest_table, 2), shown)
        assert_screen_inert(app, "ingest pane")

        await pilot.press("2")
        await settle(app, pilot)
        library = app.library_pane.table
        assert library.total == len(served)
        assert_screen_inert(app, "library")
        await pilot.press("slash", *"[link=")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert library.total == 1 and library.current is not None
        assert library.current.title == "[link=https://evil.example]x[/link]"
        await pilot.press("escape", "enter")  # similar songs of the [link=...] title: no crash, no hyperlink
        await settle(app, pilot)
        similar = app.similar_pane
        assert app.active_pane == "similar" and similar.items
        header = str(similar.query_one("#similar-header", Static).content)
        assert "Similar to [link=https://evil.example]x[/link]" in header
        text = assert_screen_inert(app, "similar")
        sim_table = similar.query_one("#similar-table", DataTable)
        for row in range(min(sim_table.row_count, 25)):
            await pilot.click(sim_table, offset=(40, row + 1))
        await settle(app, pilot)
        assert app.is_running and not shots.exists()

        await pilot.press("l")  # listen: the player bar shows the title literally
        await settle(app, pilot)
        app.player_bar.poll()
        now = str(app.player_bar.query_one("#now-playing", Static).content)
        assert similar.current().track.title[:30] in now
        assert_screen_inert(app, "player bar")

        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert_screen_inert(app, "help")
        await pilot.press("escape")

        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, PathScreen)
        target = tmp_path / "out" / "hostile.json"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
        raw = target.read_text(encoding="utf-8")
        hostile.assert_inert(raw, "export")
        data = json.loads(raw)
        assert data["query"]["title"] == "[link=https://evil.example]x[/link]"
        assert {r["title"] for r in data["results"]} <= shown
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        m3u = tmp_path / "out" / "hostile.m3u"
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one(Input).value = str(m3u)
        await pilot.press("enter")
        await settle(app, pilot)
        hostile.assert_inert(m3u.read_text(encoding="utf-8"), "m3u")
        assert all(n.markup is False for n in app._notifications), "notifications are plain text"
        assert_screen_inert(app, "after export")
        assert app.is_running and not shots.exists()


async def test_a_hostile_job_left_in_the_queue_does_not_break_the_next_start(build_app: AppFactory, db_url: str,
                                                                            tmp_path: Path) -> None:
    """`oops [/]` as a queued job's title used to crash the app at every start (the Ingest pane loads the
    queue); a failure reason holding markup and escapes shows literally."""
    from musicrec_tui.core.models import Track
    from musicrec_tui.store import open_library

    with open_library(db_url) as lib:
        jobs = lib.enqueue([Track("itunes", "1", "oops [/]", "[@click=app.quit]Q[/]", preview_url="http://x/1.m4a"),
                            Track("itunes", "2", "\x1b]8;;http://e\x07t", "a", preview_url="http://x/2.m4a")])
        lib.claim_jobs("gone", limit=2)
        lib.update_job(jobs[0].id, JobState.FAILED, error="[link=https://evil.example]HTTP 503[/link]: \x1b[2J")
        lib.update_job(jobs[1].id, JobState.FAILED, error="oops [/]")
    app = build_app(db_url=db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        table = app.ingest_pane.query_one("#ingest-table", DataTable)
        assert "oops [/]" in cells(table, 2)
        assert "[link=https://evil.example]HTTP 503[/link]: [2J" in cells(table, 3)
        for row in range(table.row_count):
            await pilot.click(table, offset=(30, row + 1))
        await settle(app, pilot)
        assert_screen_inert(app, "ingest pane at start")
        assert app.is_running
