"""The always-visible player bar: artwork, now playing, elapsed / total with a bar, volume, queue position."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from ...core.models import Track
from ...playback.base import Player, PlayerState
from ...textfmt import clean, ellipsize
from ..messages import ArtworkWanted
from ..text import markup

POLL_SECONDS = 0.2
ICONS = {PlayerState.PLAYING: "▶", PlayerState.PAUSED: "⏸", PlayerState.STOPPED: "■", PlayerState.IDLE: "■",
         PlayerState.ENDED: "■", PlayerState.ERROR: "⚠", PlayerState.OFF: "🔇"}


def clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


def progress_text(position: float, duration: float, width: int) -> Text:
    """`0:12 ━━━━━━━╸─────── 0:30` fitted to `width` cells."""
    left, right = clock(position), clock(duration)
    room = max(4, width - len(left) - len(right) - 2)
    frac = min(1.0, max(0.0, position / duration)) if duration > 0 else 0.0
    filled = int(frac * room)
    text = Text(left + " ")
    text.append("━" * filled, style="bold")
    text.append("─" * (room - filled), style="dim")
    text.append(" " + right)
    return text


class PlayerBar(Horizontal):
    """Reads the player's snapshot on a timer; never calls anything that blocks."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.player: Player | None = None
        self._said_off = False
        self._last: tuple[object, ...] | None = None
        self._art_key: tuple[int, str] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="artwork")
        with Vertical(id="player-text"):
            yield Static("Nothing playing — [b]l[/b] listens to the highlighted song", id="now-playing")
            yield Static("", id="player-progress")
            yield Static("", id="player-volume")

    def on_mount(self) -> None:
        self.set_interval(POLL_SECONDS, self.poll)

    def attach(self, player: Player) -> None:
        self.player = player
        self.poll()

    def current_track(self) -> Track | None:
        """The track playing now: the key the app gave its queue item."""
        key = self.player.snapshot().key if self.player is not None else None
        return key if isinstance(key, Track) else None

    def poll(self) -> None:
        if self.player is None:
            return
        snap = self.player.snapshot()
        state = snap.state
        if state is PlayerState.OFF:
            if not self._said_off:
                self._said_off = True
                self.add_class("off")
                self.query_one("#now-playing", Static).update(markup("[dim]$reason[/dim]", reason=snap.reason))
                self.query_one("#player-progress", Static).update("")
                self.query_one("#player-volume", Static).update("")
                self.app.notify(clean(snap.reason), title="Playback", severity="warning", timeout=6, markup=False)
            return
        width = max(10, self.query_one("#player-progress", Static).size.width)
        key = (state, round(snap.position, 1), snap.duration, snap.volume, snap.index, snap.title, snap.reason,
               width)
        if key == self._last:
            return
        self._last = key
        art_key = (snap.index, snap.title)
        if art_key != self._art_key:
            self._art_key = art_key
            self.post_message(ArtworkWanted(self.current_track() if state is not PlayerState.IDLE else None))
        icon = ICONS.get(state, "■")
        if state in (PlayerState.PLAYING, PlayerState.PAUSED, PlayerState.STOPPED) and snap.title:
            queue = f"  [dim]{snap.index + 1}/{snap.queue_length}[/dim]" if snap.queue_length > 1 else ""
            now = markup(f"{icon} [b]$title[/b]{queue}", title=ellipsize(snap.title, 120))
        elif state is PlayerState.ERROR:
            now = markup(f"{icon} [b red]$reason[/b red]", reason=snap.reason)
        else:
            now = markup(f"{icon} Nothing playing — [b]l[/b] listens to the highlighted song")
        self.query_one("#now-playing", Static).update(now)
        self.query_one("#player-progress", Static).update(progress_text(snap.position, snap.duration, width))
        vol = round(snap.volume * 100)
        bars = round(snap.volume * 10)
        hints = "space play/pause · s stop · f/b seek · +/- volume · n/p next/prev" if width >= 90 else \
            "space · s · f/b · +/- · n/p"
        self.query_one("#player-volume", Static).update(
            f"vol {'▮' * bars}{'▯' * (10 - bars)} {vol:>3}%   [dim]{hints}[/dim]")

    def show_artwork(self, art: Text | None) -> None:
        self.query_one("#artwork", Static).update(art if art is not None else "")
