"""The player contract shared by the sounddevice and null backends: states, queue items, snapshots."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Union, runtime_checkable

if TYPE_CHECKING:  # core.audio loads numpy; the backends that decode import it themselves
    from ..core.audio import Audio

VOLUME_STEP = 0.05
SEEK_STEP = 5.0

Source = Union[str, Path, bytes, "Audio"]  # a string forward reference needs Union


class PlayerState(StrEnum):
    """Where a player is. OFF and ERROR always come with a reason."""

    OFF = "off"  # no audio output on this machine (null player); permanent
    IDLE = "idle"  # nothing loaded
    STOPPED = "stopped"  # a track is loaded and not playing
    PLAYING = "playing"
    PAUSED = "paused"
    ENDED = "ended"  # the queue played to its end
    ERROR = "error"  # the output device failed; play() tries again

    @property
    def active(self) -> bool:
        """True while a track is under way (playing or paused)."""
        return self in (PlayerState.PLAYING, PlayerState.PAUSED)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """Something to play: a preview file, encoded bytes or decoded audio, with a title and a caller key."""

    source: Source
    title: str = ""
    key: object = None

    @property
    def label(self) -> str:
        if self.title:
            return self.title
        if isinstance(self.source, str | Path):
            return Path(self.source).name
        return "audio"


@dataclass(frozen=True, slots=True)
class PlayerSnapshot:
    """A consistent, immutable view of a player for a UI to render (poll it at 10 Hz or more)."""

    state: PlayerState
    position: float = 0.0
    duration: float = 0.0
    volume: float = 1.0
    reason: str = ""
    title: str = ""
    key: object = None  # the current QueueItem's key (e.g. a library track id), for a UI to highlight its row
    index: int = -1
    queue_length: int = 0
    device: str = ""
    xruns: int = 0

    @property
    def fraction(self) -> float:
        """Position as a fraction of the duration, in [0, 1]."""
        return min(1.0, max(0.0, self.position / self.duration)) if self.duration > 0 else 0.0


@dataclass(frozen=True, slots=True)
class TrackEnd:
    """Passed to the end-of-track callback: which item finished and which one (if any) plays now."""

    finished: QueueItem
    index: int
    next_index: int | None
    snapshot: PlayerSnapshot


TrackEndCallback = Callable[[TrackEnd], None]


@runtime_checkable
class Player(Protocol):
    """Local preview playback. Device trouble never raises: the state turns OFF/ERROR with a reason.

    `load`, `set_queue`, `next` and `previous` decode audio in the calling thread (tens of milliseconds):
    call them from a worker, not from a UI event handler. Every other method returns at once.
    """

    @property
    def available(self) -> bool: ...

    @property
    def state(self) -> PlayerState: ...

    @property
    def reason(self) -> str: ...

    @property
    def position(self) -> float: ...

    @property
    def duration(self) -> float: ...

    @property
    def volume(self) -> float: ...

    def snapshot(self) -> PlayerSnapshot: ...

    def load(self, source: Source, title: str = "", key: object = None) -> None: ...

    def set_queue(self, items: Sequence[QueueItem], start: int = 0) -> None: ...

    def enqueue(self, item: QueueItem) -> None: ...

    def play(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def toggle(self) -> None: ...

    def stop(self) -> None: ...

    def seek(self, seconds: float, *, relative: bool = False) -> None: ...

    def set_volume(self, volume: float) -> None: ...

    def volume_up(self, step: float = VOLUME_STEP) -> None: ...

    def volume_down(self, step: float = VOLUME_STEP) -> None: ...

    def next(self) -> bool: ...

    def previous(self) -> bool: ...

    def set_on_track_end(self, callback: TrackEndCallback | None) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def close(self) -> None: ...


def clamp_volume(volume: float) -> float:
    """Volume is a linear gain in [0, 1]; NaN counts as 0."""
    if volume != volume:  # NaN
        return 0.0
    return min(1.0, max(0.0, float(volume)))
