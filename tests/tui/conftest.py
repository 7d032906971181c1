"""Fixtures for the app's Pilot tests: settings in a temp dir, the fake iTunes server, a recording player."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from musicrec_tui.tui.app import MusicrecApp
from tests.fake_itunes import FakeItunes
from tests.tui.support import make_services, make_settings, stepped_player

AppFactory = Callable[..., MusicrecApp]


@pytest.fixture
def build_app(isolated_env: Path, tmp_path: Path, fake_itunes: FakeItunes) -> Iterator[AppFactory]:
    """build_app(db_url=None, player=None, **settings flags) -> a MusicrecApp over the fake server.

    The default player is the real SoundDevicePlayer on playback's stepped fake output stream."""
    players: list[Any] = []

    def build(db_url: str | None = None, player: Any = None, **flags: Any) -> MusicrecApp:
        from musicrec_tui.config import load_ui_state

        settings = load_ui_state(make_settings(tmp_path, db_url, **flags))
        player = player if player is not None else stepped_player()[0]
        players.append(player)
        return MusicrecApp(settings, make_services(settings, fake_itunes.url, player))

    yield build
    for player in players:
        player.close()


async def settle(app: MusicrecApp, pilot: Any, rounds: int = 3) -> None:
    """Let thread workers finish and their call_from_thread/post_message updates land (docs/ARCHITECTURE.md,
    Testing).

    First wait for the panes built just after the first frame: the library opens once they are there."""
    await asyncio.wait_for(app.panes_ready.wait(), timeout=30)
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def ingest_until_idle(app: MusicrecApp, pilot: Any, limit: int = 200) -> None:
    """Wait (in event-loop turns, never wall-clock asserts) until the ingest run has finished."""
    for _ in range(limit):
        await settle(app, pilot, 1)
        if not app._ingest_running and not app.workers._workers:
            break
    await settle(app, pilot)
