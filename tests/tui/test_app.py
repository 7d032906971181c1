"""App behaviour around the journey: errors, first run, keys, help, palette, persisted UI state, playback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from textual.widgets import Static

from musicrec_tui.config import load_ui_state
from musicrec_tui.core.models import Track
from musicrec_tui.playback import NullPlayer, PlayerState
from musicrec_tui.store import open_library
from musicrec_tui.tui.commands import ActionsProvider, all_commands
from musicrec_tui.tui.screens import ConfirmScreen, HelpScreen, UnavailableScreen
from tests.fake_itunes import FakeItunes
from tests.tui.conftest import AppFactory, settle
from tests.tui.support import stepped_player


def seed_library(url: str, n: int) -> None:
    with open_library(url) as lib:
        lib.upsert_tracks(Track("itunes", str(10_000 + i), f"Title {i:05d}", f"Artist {i % 7}", f"Album {i % 13}",
                                "Rock" if i % 2 else "Jazz", 200_000 + i) for i in range(n))


async def test_throttled_search_is_a_status_line_and_a_notification(build_app: AppFactory,
                                                                    fake_itunes: FakeItunes) -> None:
    fake_itunes.add_tracks(3)
    fake_itunes.throttle(3600)
    app = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"song", "enter")
        await settle(app, pilot)
        status = str(app.search_pane.query_one("#search-status", Static).content)
        assert "search failed" in status.lower() and "throttl" in status.lower()
        assert "failed: iTunes search failed" not in status  # said once
        assert any("throttl" in n.message.lower() for n in app._notifications)
        assert app.search_pane.results == []
        assert app.is_running  # no crash: search again once the API answers
        fake_itunes.reset()
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(app.search_pane.results) == 3


async def test_unreachable_database_is_a_clear_screen(build_app: AppFactory) -> None:
    app = build_app(db_url="mysql://u:hunter2@127.0.0.1:9/x")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, UnavailableScreen)
        text = str(app.screen.query_one("#unavailable-message", Static).content)
        assert "127.0.0.1:9" in text and "hunter2" not in text
        await pilot.press("r")  # retry: still down, the screen comes back
        await settle(app, pilot)
        assert isinstance(app.screen, UnavailableScreen)
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_empty_library_greets_a_new_user(build_app: AppFactory) -> None:
    app = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        welcome = app.search_pane.query_one("#welcome", Static)
        assert welcome.display and "library is empty" in str(welcome.content)
        assert app.focused is not None and app.focused.id == "search-input"
        await pilot.press("2")
        await settle(app, pilot)
        assert app.library_pane.query_one("#library-empty").display


async def test_library_filter_sort_and_delete(build_app: AppFactory, tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    seed_library(url, 3000)
    app = build_app(db_url=url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        table = app.library_pane.table
        assert table.total == 3000
        assert table.page_loads <= 2  # only what is on screen came from the store
        await pilot.press("G")
        await settle(app, pilot)
        assert table.cursor == 2999 and table.current is not None and table.current.title == "Title 02999"

        await pilot.press("slash", *"jazz")
        await pilot.pause(0.3)  # the debounce timer (not a wall-clock assertion)
        await settle(app, pilot)
        assert table.search == "jazz" and table.total == 1500
        assert "1,500 of 3,000" in str(app.library_pane.query_one("#library-status", Static).content)

        await pilot.press("escape", "o", "o")  # sort by title
        await settle(app, pilot)
        assert table.sort == "artist"
        await pilot.press("O")
        await settle(app, pilot)
        assert table.descending and table.current is not None and table.current.artist == "Artist 6"

        victim = table.current
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(app, pilot)
        assert app.session.library.get_track(victim.id) is not None
        await pilot.press("d", "y")
        await settle(app, pilot)
        await pilot.pause(0.6)  # the batched reload timer
        await settle(app, pilot)
        assert app.session.library.get_track(victim.id) is None
        assert table.total == 1499


async def test_help_lists_every_binding_and_keymap_remaps(build_app: AppFactory) -> None:
    app = build_app(keymap={"app.help": "f1", "player.stop": "x"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        ids = [c.id for c in all_commands(app)]
        assert len(ids) == len(set(ids)) > 30  # every binding has its own id
        assert all(c.binding.id for c in all_commands(app))
        app.set_focus(None)
        await pilot.press("question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)  # ? was remapped away
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = {row[2]: row[0] for _, rows in app.screen.sections for row in rows}
        assert set(ids) <= set(shown)
        assert shown["app.help"] == "f1" and shown["player.stop"] == "x"
        await pilot.press("escape")


async def test_palette_offers_every_action(build_app: AppFactory) -> None:
    app = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        provider = ActionsProvider(app.screen)
        titles = [hit.text async for hit in provider.discover()]
        expected = [c for c in all_commands(app) if c.section not in ("In lists", "In a text field")]
        assert len(titles) == len(expected)
        assert "3 Similar: Export" in titles and "Quit" in titles
        hits = [hit async for hit in provider.search("ingest pane")]
        assert hits
        await hits[0].command()
        await settle(app, pilot)
        assert app.active_pane == "ingest"


async def test_ui_state_persists_across_runs(build_app: AppFactory) -> None:
    app = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("escape", "3", "e", "right_square_bracket")  # out of the search input first
        await settle(app, pilot)
        app.theme = "nord"
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
    state = load_ui_state(app.settings)
    assert (state.ui_pane, state.ui_exclude_artist, state.ui_k, state.ui_theme) == ("library", True, 15, "nord")
    again = build_app()
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(again, pilot)
        assert again.similar_pane.k == 15 and again.similar_pane.exclude_artist and again.theme == "nord"


async def test_player_keys_drive_the_injected_player(build_app: AppFactory, fake_itunes: FakeItunes) -> None:
    fake_itunes.add_tracks(2)
    player, output = stepped_player()
    app = build_app(player=player)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"song", "enter")
        await settle(app, pilot)
        await pilot.press("l")  # preview a search result without ingesting it
        await settle(app, pilot)
        assert player.state is PlayerState.PLAYING and app.session.library.count_tracks() == 0
        assert player.snapshot().key.title == "Song 0"
        await pilot.press("space")
        assert player.state is PlayerState.PAUSED
        await pilot.press("space")
        assert player.state is PlayerState.PLAYING
        await pilot.press("f", "b", "f")  # the fake previews are 6 s long
        assert player.position == 5.0
        await pilot.press("minus", "minus", "plus")
        assert round(player.volume, 2) == 0.95
        await pilot.press("s")
        assert player.state is PlayerState.STOPPED and player.position == 0.0
        await pilot.press("space")  # a loaded track plays again from the start
        assert player.state is PlayerState.PLAYING
        output.stream.step(round(3.2 * 44100 / 1024))  # 3.2 s of audio through the real callback
        await pilot.pause(0.3)  # a few position polls
        bar = str(app.player_bar.query_one("#player-progress", Static).content)
        assert bar.startswith("0:03 ") and bar.endswith(" 0:06")
        assert "Song 0" in str(app.player_bar.query_one("#now-playing", Static).content)


async def test_playback_off_says_why_once(build_app: AppFactory) -> None:
    reason = "playback off: no audio output device"
    app = build_app(player=NullPlayer(reason))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.5)  # several poll ticks
        assert str(app.player_bar.query_one("#now-playing", Static).content).endswith(f"{reason}[/dim]") or \
            reason in str(app.player_bar.query_one("#now-playing", Static).content)
        assert sum(reason in n.message for n in app._notifications) == 1
        assert app.player_bar.has_class("off")


def test_librosa_waits_until_analysis_is_requested(tmp_path: Path, isolated_env: Path) -> None:
    """In a fresh interpreter: no librosa after the first frame and browsing; librosa once Analysis draws."""
    script = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from tests.fake_itunes import FakeItunes, Previews, FakeClock
        from tests.tui.support import make_settings, make_services, stepped_player
        from musicrec_tui.core.models import Track
        from musicrec_tui.store import open_library
        from musicrec_tui.tui.app import MusicrecApp

        async def settle(app, pilot):  # as tests/tui/conftest.py: the library opens once the panes are built
            await asyncio.wait_for(app.panes_ready.wait(), timeout=30)
            for _ in range(3):
                await app.workers.wait_for_complete(); await pilot.pause()

        async def main():
            tmp = Path({str(tmp_path)!r})
            with FakeItunes(Previews(), clock=FakeClock()) as srv:
                srv.add_track(7, "Seven", "Someone", preview="drums:120")
                settings = make_settings(tmp)
                with open_library(settings.db_url) as lib:
                    lib.upsert_track(Track("itunes", "7", "Seven", "Someone", preview_url=srv.url + "/previews/7.m4a"))
                app = MusicrecApp(settings, make_services(settings, srv.url, stepped_player()[0]))
                async with app.run_test(size=(100, 30)) as pilot:
                    await settle(app, pilot)
                    print("after-start", "librosa" in sys.modules, app.active_pane)
                    await pilot.press("j", "k", "3", "4", "2")
                    await settle(app, pilot)
                    print("before-analysis", "librosa" in sys.modules)
                    await pilot.press("5")
                    await settle(app, pilot)
                    print("after-analysis", "librosa" in sys.modules)
                    art = app.analysis_pane.query_one("#analysis-spectrogram").content
                    print("spectrogram-lines", len(str(art).splitlines()))
        asyncio.run(main())
    """)
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert lines["after-start"] == "False library"
    assert lines["before-analysis"] == "False"
    assert lines["after-analysis"] == "True"
    assert int(lines["spectrogram-lines"]) == 12


async def test_the_launch_factory_builds_a_working_app(isolated_env: Path, tmp_path: Path,
                                                       fake_itunes: FakeItunes) -> None:
    """launch.make_app with the real services (lazy client, cache, player, pipeline, index) over the fake API."""
    from musicrec_tui.config import load_settings
    from musicrec_tui.tui.launch import make_app

    fake_itunes.add_tracks(2)
    settings = load_settings(env={}, flags={"db_url": f"sqlite://{tmp_path / 'lib.sqlite3'}",
                                            "itunes_base_url": fake_itunes.url, "data_dir": tmp_path / "d",
                                            "cache_dir": tmp_path / "c"})
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.session.is_open and app.player_bar.player is app.session.player
        await pilot.press(*"song", "enter")
        await settle(app, pilot)
        assert [t.title for t in app.search_pane.results] == ["Song 0", "Song 1"]
        await pilot.press("a")
        for _ in range(200):
            await settle(app, pilot, 1)
            if not app._ingest_running and app.session.library.count_tracks() == 2:
                break
        assert app.session.library.count_tracks() == 2
        assert len(list(settings.paths.previews_dir.glob("*.m4a"))) == 2  # kept in the configured cache
    app.session.player.close()


async def test_library_reload_keeps_rows_on_screen_until_fresh_ones_arrive(build_app: AppFactory,
                                                                          tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    seed_library(url, 50)
    app = build_app(db_url=url)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        table = app.library_pane.table
        loads = table.page_loads
        table.reload()  # what an ingest's "done" triggers
        assert table.row(3) is not None and table.row(3).title == "Title 00003"  # old page, no "…" flash
        await settle(app, pilot)
        assert table.page_loads > loads
        table.set_query(search="Title 0004")  # a new filter starts clean
        assert table.row(0) is None
        await settle(app, pilot)
        assert table.total == 10 and table.row(0).title == "Title 00040"
