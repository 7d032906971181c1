"""The app starts on the default store and says plainly when the library cannot be opened."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from musicrec_tui.config import load_settings
from musicrec_tui.tui.app import MusicrecApp


async def test_app_starts_and_shows_library(isolated_env: Path) -> None:
    app = MusicrecApp(load_settings(env={}))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "0 tracks in the library" in str(app.query_one("#status", Static).content)
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_unreachable_database_is_a_clear_screen(isolated_env: Path) -> None:
    settings = load_settings(env={}, flags={"db_url": "mysql://u:hunter2@127.0.0.1:9/x"})
    app = MusicrecApp(settings)
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = str(app.query_one("#status", Static).content)
        assert "Cannot open the library" in text and "127.0.0.1:9" in text and "hunter2" not in text
