"""The app's Services for tests: the real pieces, pointed at the fake iTunes server and a temp library.

`stepped_player` is the real SoundDevicePlayer over playback's FakeOutput (no device; time moves on `step`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from musicrec_tui.app import factory
from musicrec_tui.app.services import Services
from musicrec_tui.config import Settings, load_settings
from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.playback import Player, SoundDevicePlayer
from musicrec_tui.playback.testing import FakeOutput


def stepped_player() -> tuple[SoundDevicePlayer, FakeOutput]:
    """The real sounddevice player on playback's fake output stream, stepped: time moves only on `step`."""
    output = FakeOutput(autorun=False, record=False)
    return SoundDevicePlayer(samplerate=44100, blocksize=1024, stream_factory=output), output


def make_settings(tmp_path: Path, db_url: str | None = None, **flags: Any) -> Settings:
    return load_settings(env={}, flags={"db_url": db_url or f"sqlite://{tmp_path / 'lib.sqlite3'}",
                                        "data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache", **flags})


def make_services(settings: Settings, itunes_url: str, player: Player) -> Services:
    """The app's own factory, with a fast-retrying client for the fake server, one analysis worker and no
    artwork downloads."""
    client = ItunesClient(itunes_url, rate_per_minute=6000, max_retries=1, backoff_base=0.01, backoff_cap=0.02,
                          timeout=5)
    return factory.make_services(settings, catalogue=client, player=player, workers=1, artwork=False)


def screen_text(app: Any, styles: bool = False) -> str:
    """What the terminal shows now, as plain text (the compositor's full frame; with `styles`, colours and
    highlights as ANSI codes too, so a moved cursor counts as a change)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True,
                      color_system="truecolor" if styles else None, force_terminal=styles,
                      legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return "\n".join(line.rstrip() for line in console.export_text(styles=styles).splitlines())


def footer_keys(app: Any) -> dict[str, str]:
    """The keys the footer offers now (shown and enabled): key -> description."""
    return {key: ab.binding.description for key, ab in app.screen.active_bindings.items()
            if ab.binding.show and ab.enabled}
