"""The player used when audio output is off: every call is a harmless no-op; the reason is at hand."""

from __future__ import annotations

from collections.abc import Sequence

from .base import VOLUME_STEP, PlayerSnapshot, PlayerState, QueueItem, Source, TrackEndCallback


class NullPlayer:
    """Reports `playback off: <reason>`; never decodes, never touches a device, never raises."""

    def __init__(self, reason: str) -> None:
        self._reason = reason if reason.startswith("playback off") else f"playback off: {reason}"

    @property
    def available(self) -> bool:
        return False

    @property
    def state(self) -> PlayerState:
        return PlayerState.OFF

    @property
    def reason(self) -> str:
        return self._reason

    @property
    def position(self) -> float:
        return 0.0

    @property
    def duration(self) -> float:
        return 0.0

    @property
    def volume(self) -> float:
        return 0.0

    def snapshot(self) -> PlayerSnapshot:
        return PlayerSnapshot(state=PlayerState.OFF, volume=0.0, reason=self._reason)

    def load(self, source: Source, title: str = "", key: object = None) -> None:
        return None

    def set_queue(self, items: Sequence[QueueItem], start: int = 0) -> None:
        return None

    def enqueue(self, item: QueueItem) -> None:
        return None

    def play(self) -> None:
        return None

    def pause(self) -> None:
        return None

    def resume(self) -> None:
        return None

    def toggle(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def seek(self, seconds: float, *, relative: bool = False) -> None:
        return None

    def set_volume(self, volume: float) -> None:
        return None

    def volume_up(self, step: float = VOLUME_STEP) -> None:
        return None

    def volume_down(self, step: float = VOLUME_STEP) -> None:
        return None

    def next(self) -> bool:
        return False

    def previous(self) -> bool:
        return False

    def set_on_track_end(self, callback: TrackEndCallback | None) -> None:
        return None

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        return None

    def __enter__(self) -> NullPlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
