"""A player for an app served to a web browser (`musicrec serve`): the browser tab plays, this keeps the score.

The app's process has no sound card worth using (it runs next to the server, not next to the listener), so each
command becomes a small message for the page (`{"type": "musicrec_audio", "action": "play", "url": ...}`), sent
through `send`; the page plays the URL in an <audio> element. The URL is the server's audio endpoint for a library
track (`/api/tracks/ID/audio`: its local file or cached preview), or the preview URL of a catalogue search
result. Position is estimated from the wall clock, which is what the player bar needs.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..core.models import SOURCE_FILE, Track
from .base import VOLUME_STEP, PlayerSnapshot, PlayerState, QueueItem, Source, TrackEndCallback, clamp_volume

PREVIEW_SECONDS = 30.0  # iTunes previews are ~30 s; a local file says its own length
AUDIO_MESSAGE = "musicrec_audio"

Send = Callable[[dict[str, Any]], None]
F = TypeVar("F", bound=Callable[..., Any])


def _flushing(method: F) -> F:
    """Run `method`, then send the messages it queued (outside the lock)."""

    @functools.wraps(method)
    def wrapper(self: BrowserPlayer, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self._flush()

    return wrapper  # type: ignore[return-value]


def audio_url(track: Track | None) -> str | None:
    """Where the browser fetches `track`'s audio: the server's endpoint for a library track (its local file or
    cached preview, fetched again if a preview URL expired), else the catalogue's preview URL (a search result);
    None when there is neither."""
    if track is None:
        return None
    if track.id is not None:
        return f"/api/tracks/{int(track.id)}/audio"
    return track.preview_url or None


class BrowserPlayer:
    """The Player contract, played by the browser tab: every call returns at once and never raises."""

    def __init__(self, send: Send, clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: list[QueueItem] = []
        self._index = -1
        self._state = PlayerState.IDLE
        self._volume = 1.0
        self._offset = 0.0  # seconds played before `_since`
        self._since: float | None = None  # clock at the last (re)start while playing
        self._on_end: TrackEndCallback | None = None
        self._outbox: list[dict[str, Any]] = []  # messages made under the lock, sent after it (see _flush)

    # ---- what the player bar reads ------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return True

    @property
    @_flushing
    def state(self) -> PlayerState:
        with self._lock:
            self._check_end()
            return self._state

    @property
    def reason(self) -> str:
        return ""

    @property
    def position(self) -> float:
        with self._lock:
            return self._position()

    @property
    def duration(self) -> float:
        with self._lock:
            return self._duration()

    @property
    def volume(self) -> float:
        return self._volume

    @_flushing
    def snapshot(self) -> PlayerSnapshot:
        with self._lock:
            self._check_end()
            item = self._current()
            return PlayerSnapshot(state=self._state, position=self._position(), duration=self._duration(),
                                  volume=self._volume, title=item.label if item else "",
                                  key=item.key if item else None, index=self._index,
                                  queue_length=len(self._queue), device="browser")

    # ---- the queue --------------------------------------------------------------------------------------
    def load(self, source: Source, title: str = "", key: object = None) -> None:
        self.set_queue([QueueItem(source, title, key)])

    def set_queue(self, items: Sequence[QueueItem], start: int = 0) -> None:
        with self._lock:
            self._queue = list(items)
            self._index = min(max(0, start), len(self._queue) - 1) if self._queue else -1
            self._state = PlayerState.STOPPED if self._queue else PlayerState.IDLE
            self._offset, self._since = 0.0, None

    def enqueue(self, item: QueueItem) -> None:
        with self._lock:
            self._queue.append(item)
            if self._index < 0:
                self._index = 0
                self._state = PlayerState.STOPPED

    # ---- transport ----------------------------------------------------------------------------------------
    @_flushing
    def play(self) -> None:
        with self._lock:
            self._start_current()

    @_flushing
    def pause(self) -> None:
        with self._lock:
            if self._state is PlayerState.PLAYING:
                self._offset = self._position()
                self._since = None
                self._state = PlayerState.PAUSED
                self._emit("pause")

    @_flushing
    def resume(self) -> None:
        with self._lock:
            if self._state is PlayerState.PAUSED:
                self._since = self._clock()
                self._state = PlayerState.PLAYING
                self._emit("resume")
            elif self._state in (PlayerState.STOPPED, PlayerState.ENDED):
                self._start_current()

    def toggle(self) -> None:
        if self.state is PlayerState.PLAYING:
            self.pause()
        else:
            self.resume()

    @_flushing
    def stop(self) -> None:
        with self._lock:
            if self._state in (PlayerState.PLAYING, PlayerState.PAUSED):
                self._state = PlayerState.STOPPED
                self._emit("stop")
            self._offset, self._since = 0.0, None

    @_flushing
    def seek(self, seconds: float, *, relative: bool = False) -> None:
        with self._lock:
            if self._state not in (PlayerState.PLAYING, PlayerState.PAUSED):
                return
            target = self._position() + seconds if relative else seconds
            target = min(max(0.0, target), self._duration())
            self._offset = target
            self._since = self._clock() if self._state is PlayerState.PLAYING else None
            self._emit("seek", position=round(target, 3))

    @_flushing
    def set_volume(self, volume: float) -> None:
        with self._lock:
            self._volume = clamp_volume(volume)
            self._emit("volume", volume=round(self._volume, 3))

    def volume_up(self, step: float = VOLUME_STEP) -> None:
        self.set_volume(self._volume + step)

    def volume_down(self, step: float = VOLUME_STEP) -> None:
        self.set_volume(self._volume - step)

    @_flushing
    def next(self) -> bool:
        with self._lock:
            if self._index + 1 >= len(self._queue):
                return False
            self._index += 1
            self._start_current()
            return True

    @_flushing
    def previous(self) -> bool:
        with self._lock:
            if self._index <= 0:
                return False
            self._index -= 1
            self._start_current()
            return True

    def set_on_track_end(self, callback: TrackEndCallback | None) -> None:
        self._on_end = callback

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        self.stop()

    # ---- inside the lock ----------------------------------------------------------------------------------
    def _current(self) -> QueueItem | None:
        return self._queue[self._index] if 0 <= self._index < len(self._queue) else None

    def _track(self) -> Track | None:
        item = self._current()
        return item.key if item is not None and isinstance(item.key, Track) else None

    def _duration(self) -> float:
        track = self._track()
        if track is not None and track.source == SOURCE_FILE and track.duration_ms:
            return track.duration_ms / 1000.0
        return PREVIEW_SECONDS if self._current() is not None else 0.0

    def _position(self) -> float:
        played = self._offset + (self._clock() - self._since if self._since is not None else 0.0)
        return min(played, self._duration())

    def _start_current(self) -> None:
        item = self._current()
        url = audio_url(self._track())
        if item is None or url is None:
            return
        self._offset, self._since = 0.0, self._clock()
        self._state = PlayerState.PLAYING
        self._emit("play", url=url, title=item.label, volume=round(self._volume, 3))

    def _check_end(self) -> None:
        """Past the estimated end: on to the next item, or ENDED."""
        if self._state is not PlayerState.PLAYING or self._position() < self._duration():
            return
        if self._index + 1 < len(self._queue):
            self._index += 1
            self._start_current()
        else:
            self._state = PlayerState.ENDED
            self._offset, self._since = 0.0, None

    def _emit(self, action: str, **fields: Any) -> None:
        self._outbox.append({"type": AUDIO_MESSAGE, "action": action, **fields})

    def _flush(self) -> None:
        """Send what the last call decided, outside the lock: `send` may wait for the UI thread, which may be
        waiting for a snapshot."""
        with self._lock:
            out, self._outbox = self._outbox, []
        for message in out:
            with contextlib.suppress(Exception):  # a closing page must never break the app
                self._send(message)
