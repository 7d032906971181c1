"""The whole journey through the real app: search → ingest → library → similar → play → export."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from musicrec_tui.core.models import JobState
from musicrec_tui.playback import PlayerState
from musicrec_tui.tui.panes.search import SearchPane
from musicrec_tui.tui.screens import PathScreen
from tests.fake_itunes import FakeItunes
from tests.tui.conftest import AppFactory, ingest_until_idle, settle
from tests.tui.support import stepped_player


async def test_search_ingest_library_similar_play_export(build_app: AppFactory, fake_itunes: FakeItunes,
                                                         db_url: str, tmp_path: Path) -> None:
    fake_itunes.add_tracks(6, artist="Fake Artist")
    fake_itunes.add_track(42, "No Preview Here", "Someone", preview=None)
    player, _ = stepped_player()
    app = build_app(db_url=db_url, player=player)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.session.is_open
        assert app.search_pane.query_one("#welcome").display  # empty library: the first-run text

        await pilot.press(*"song", "enter")
        await settle(app, pilot)
        pane = app.query_one(SearchPane)
        assert [t.title for t in pane.results] == [f"Song {i}" for i in range(6)]
        status = str(pane.query_one("#search-status", Static).content)
        assert "6 results" in status and "0 in library" in status

        await pilot.press("enter")  # ingest the first result
        await ingest_until_idle(app, pilot)
        assert app.session.library.count_tracks() == 1
        await pilot.press("a")  # then all of them
        await ingest_until_idle(app, pilot)
        counts = app.session.library.job_counts()
        assert counts[JobState.DONE] == 6 and counts[JobState.FAILED] == 0
        assert pane.in_library == {t.key for t in pane.results}
        ingest = app.ingest_pane
        assert ingest.counts.get("done") == 6

        await pilot.press("2")
        await settle(app, pilot)
        table = app.library_pane.table
        assert app.active_pane == "library" and table.total == 6
        assert table.current is not None and table.current.title == "Song 0"

        await pilot.press("enter")  # similar songs of Song 0
        await settle(app, pilot)
        similar = app.similar_pane
        assert app.active_pane == "similar"
        assert [s.rank for s in similar.items] == [1, 2, 3, 4, 5]
        assert all(s.track.title != "Song 0" for s in similar.items)
        scores = [s.score for s in similar.items]
        assert scores == sorted(scores, reverse=True)

        await pilot.press("P")  # play the list in order
        await settle(app, pilot)
        queued = player.queue
        assert [item.key.title for item in queued] == [s.track.title for s in similar.items]
        assert player.state is PlayerState.PLAYING and player.snapshot().index == 0
        assert all(Path(item.source).is_file() for item in queued)

        await pilot.press("x")  # export: the path dialog, then Enter
        await pilot.pause()
        assert isinstance(app.screen, PathScreen)
        target = tmp_path / "out" / "similar.m3u"
        field = app.screen.query_one(Input)
        field.value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
        lines = target.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "#EXTM3U"
        entries = lines[1:]
        assert len(entries) == 10
        for info, location in zip(entries[::2], entries[1::2], strict=True):
            assert info.startswith("#EXTINF:") and " - Song " in info
            assert Path(location).is_file()
