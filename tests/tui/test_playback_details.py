"""Playback details the player bar and the Similar pane get right: proportional volume, refusals that say why."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from tests.fake_itunes import FakeItunes
from tests.tui.conftest import AppFactory, settle
from tests.tui.test_snapshots import seed


async def test_volume_blocks_are_proportional_and_refusals_say_why(build_app: AppFactory, fake_itunes: FakeItunes,
                                                                   tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'p.sqlite3'}"
    seed(url, tmp_path / "cache", fake_itunes.url)
    app = build_app(db_url=url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("minus")  # 95 %
        await pilot.pause()
        volume = str(app.player_bar.query_one("#player-volume", Static).content)
        assert "95%" in volume and volume.count("▮") == 9 and volume.count("▯") == 1
        await pilot.press("s")  # nothing playing: said, and no ghost track comes back
        await pilot.pause()
        assert app._notifications and "Nothing is playing" in list(app._notifications)[-1].message
        await pilot.press("2", "enter")  # the Similar pane's first list
        await settle(app, pilot)
        await pilot.press("backspace")
        await pilot.pause()
        assert "first list" in list(app._notifications)[-1].message
