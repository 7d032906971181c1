"""The Discover pane in the real app: D on a library track, candidates ranked live, l plays, a adds via ingest."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from musicrec_tui.app.factory import make_cache
from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.core.models import JobState
from musicrec_tui.ingest.pipeline import IngestPipeline
from musicrec_tui.store import open_library
from musicrec_tui.tui.commands import all_commands
from musicrec_tui.tui.screens import HelpScreen
from tests.fake_itunes import FakeItunes
from tests.test_discover import CHORDS, catalogue
from tests.tui.conftest import AppFactory, ingest_until_idle, settle
from tests.tui.support import footer_keys, make_settings, stepped_player

HOSTILE = "[@click=app.quit]boom[/] [link=http://x]Song [live][/link]"


def seed_library(tmp_path: Path, fake: FakeItunes) -> str:
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    settings = make_settings(tmp_path, db)
    client = ItunesClient(fake.url, rate_per_minute=6000)
    with open_library(db) as lib:
        pipeline = IngestPipeline(settings, lib, cache=make_cache(settings), workers=1)
        pipeline.enqueue(client.lookup([10]))
        assert pipeline.run().done == 1
    return db


async def test_discover_pane_from_a_library_track(build_app: AppFactory, fake_itunes: FakeItunes,
                                                  tmp_path: Path) -> None:
    catalogue(fake_itunes)
    fake_itunes.add_track(90, HOSTILE, "Chord Band", preview="chord:2", artist_id=CHORDS,
                          primaryGenreName="Electronic", album="Harmonies")
    db = seed_library(tmp_path, fake_itunes)
    player, _ = stepped_player()
    app = build_app(db_url=db, player=player, itunes_base_url=fake_itunes.url, itunes_rate_per_minute=6000.0,
                    analysis_workers=1)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        assert app.library_pane.table.current is not None
        await pilot.press("D")
        assert app.active_pane == "discover"
        pane = app.discover_pane
        assert pane.running and [t.external_id for t in pane.seeds] == ["10"]
        assert footer_keys(app).get("escape") == "Cancel"  # offered while it runs
        await settle(app, pilot, 6)
        assert not pane.running and pane.items, "candidates were scored"
        assert [d.neighbour.rank for d in pane.items] == list(range(1, len(pane.items) + 1))
        assert all(d.track.id is None for d in pane.items), "candidates are not library tracks"
        figures = str(pane.query_one("#discover-progress", Static).render())
        assert "requests" in figures and "analysed" in figures and "/50" in figures
        assert app.session.library.count_tracks() == 1, "nothing enters the library by itself"
        # an outside title full of markup is shown literally and does nothing
        hostile = [d for d in pane.items if d.track.external_id == "90"]
        assert hostile, [d.track.title for d in pane.items]
        table = pane.query_one("#discover-table")
        cell = table.get_row(str(pane.items.index(hostile[0])))[3]
        assert str(cell) == HOSTILE
        assert app.is_running

        await pilot.press("l")  # plays the candidate's preview at once
        await settle(app, pilot)
        assert app.session.player.state.name in ("PLAYING", "PAUSED", "LOADING", "ENDED")

        first = pane.items[0].track
        await pilot.press("a")  # adds it through the normal ingest queue
        await ingest_until_idle(app, pilot)
        assert app.session.library.find_track("itunes", first.external_id) is not None
        assert app.session.library.job_counts()[JobState.DONE] >= 1
        assert first.external_id in pane.added

        await pilot.press("escape")  # nothing running: harmless
        await pilot.press("right_square_bracket")
        assert pane.budget == 60
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert pane.budget == 40
        await pilot.press("e")  # again, without the seed's artist
        await settle(app, pilot, 6)
        assert pane.exclude_artist and not pane.running
        assert pane.items and all(d.track.artist != "Chord Band" for d in pane.items)
        await pilot.press("r", "escape")  # again, cancelled at once: whatever was scored stays listed
        await settle(app, pilot, 6)
        assert not pane.running and app.is_running
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
    ids = {c.id for c in all_commands(app)}
    assert {"app.discover", "pane.discover", "discover.listen", "discover.add", "discover.cancel"} <= ids


async def test_discover_without_a_track_says_what_to_do(build_app: AppFactory, fake_itunes: FakeItunes) -> None:
    app = build_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.action_pane("discover")  # (the empty library's search input has the focus: 6 would be typed)
        await pilot.pause()
        assert app.active_pane == "discover"
        await pilot.press("D")
        await settle(app, pilot)
        assert not app.discover_pane.running
        assert any("press D" in str(n.message) for n in app._notifications)
