"""BrowserPlayer: the Player contract for a served app, turned into commands for the page's <audio> element."""

from __future__ import annotations

import subprocess
import sys

from musicrec_tui.core.models import SOURCE_FILE, SOURCE_ITUNES, Track
from musicrec_tui.playback.base import Player, PlayerState, QueueItem
from musicrec_tui.playback.browser import BrowserPlayer, audio_url


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def itunes(tid: int, library_id: int | None = None, cached: bool = False) -> Track:
    return Track(source=SOURCE_ITUNES, external_id=str(tid), title=f"T{tid}", artist="A", id=library_id,
                 preview_url=f"https://audio.example/{tid}.m4a",
                 preview_path="/cache/x.m4a" if cached else None)


def test_audio_url_prefers_the_servers_endpoint_for_local_audio() -> None:
    assert audio_url(itunes(5)) == "https://audio.example/5.m4a", "a search result: its preview URL"
    assert audio_url(itunes(5, library_id=7)) == "/api/tracks/7/audio", "a library track: the server's endpoint"
    assert audio_url(itunes(5, library_id=7, cached=True)) == "/api/tracks/7/audio"
    local = Track(source=SOURCE_FILE, external_id="/music/a.flac", title="a", artist="B", id=9, duration_ms=200_000)
    assert audio_url(local) == "/api/tracks/9/audio"
    assert audio_url(None) is None


def test_commands_reach_the_page_and_state_follows() -> None:
    sent: list[dict] = []
    clock = Clock()
    player = BrowserPlayer(sent.append, clock=clock)
    assert isinstance(player, Player) and player.available
    assert player.state is PlayerState.IDLE
    local = Track(source=SOURCE_FILE, external_id="/music/a.flac", title="a", artist="B", id=9, duration_ms=60_000)
    player.set_queue([QueueItem("/cache/1.m4a", "one", itunes(1, 1, cached=True)), QueueItem("/music/a.flac", "a",
                                                                                             local)])
    player.play()
    assert sent[-1] == {"type": "musicrec_audio", "action": "play", "url": "/api/tracks/1/audio", "title": "one",
                        "volume": 1.0}
    clock.now += 10
    snap = player.snapshot()
    assert snap.state is PlayerState.PLAYING and snap.position == 10 and snap.duration == 30 and snap.index == 0
    player.toggle()
    assert player.state is PlayerState.PAUSED and sent[-1]["action"] == "pause"
    clock.now += 50
    assert player.position == 10, "paused: the clock does not run"
    player.seek(5, relative=True)
    assert sent[-1] == {"type": "musicrec_audio", "action": "seek", "position": 15.0}
    player.resume()
    player.volume_down(0.25)
    assert sent[-1] == {"type": "musicrec_audio", "action": "volume", "volume": 0.75}
    clock.now += 20  # past the preview's end: on to the next item, a local file of 60 s
    snap = player.snapshot()
    assert snap.index == 1 and snap.duration == 60 and sent[-1]["url"] == "/api/tracks/9/audio"
    clock.now += 61
    assert player.state is PlayerState.ENDED
    assert player.previous() and sent[-1]["action"] == "play" and player.snapshot().index == 0
    player.stop()
    assert player.state is PlayerState.STOPPED and sent[-1]["action"] == "stop"


def test_a_failing_page_never_breaks_the_app() -> None:
    def broken(message: dict) -> None:
        raise RuntimeError("page gone")

    player = BrowserPlayer(broken)
    player.load("/x.m4a", "x", itunes(3))
    player.play()
    assert player.state is PlayerState.PLAYING


def test_the_server_loads_neither_textual_nor_librosa() -> None:
    code = ("import sys\n"
            "import musicrec_tui.web.server, musicrec_tui.web.api, musicrec_tui.playback.browser\n"
            "print(sorted(m for m in ('textual', 'librosa', 'numba') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
