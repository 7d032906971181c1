"""Local preview playback: a Player contract, a sounddevice backend, a null backend for no audio.

Importing this package never imports sounddevice (and so never loads PortAudio); `make_player` does, lazily.

Use from a UI (the TUI wiring):
* `player = make_player(settings.playback_device)` once; it is a NullPlayer with `.reason` when audio is off.
* `load`, `set_queue`, `next`, `previous` decode (tens of ms): run them in a thread worker.
  `pause`, `toggle`, `seek`, `volume_*` and `snapshot()` (which takes no lock) return at once; `play` may
  open the device and `stop` waits for it to drain (PortAudio's latency, ~0.1 s at most on ALSA).
* Poll `snapshot()` with `set_interval(0.1, ...)` for the progress bar; it carries state, position, duration,
  volume, title, queue index and the reason playback is off or an item was skipped.
* `set_on_track_end(cb)`: cb runs on the player's own thread; hop with `app.call_from_thread`.
* Tests: `SoundDevicePlayer(samplerate=..., stream_factory=playback.testing.FakeOutput(...))` needs no device.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .base import (
    SEEK_STEP,
    VOLUME_STEP,
    Player,
    PlayerSnapshot,
    PlayerState,
    QueueItem,
    TrackEnd,
)

if TYPE_CHECKING:
    from .device import NO_DEVICE, NO_PORTAUDIO, OutputDevice, load_sounddevice, make_player, probe_output
    from .null import NullPlayer
    from .sd_player import SoundDevicePlayer

# The backends load numpy: imported on first use, so `playback.base` stays light (the TUI's first frame)
_LAZY = {"NO_DEVICE": "device", "NO_PORTAUDIO": "device", "OutputDevice": "device", "load_sounddevice": "device",
         "make_player": "device", "probe_output": "device", "NullPlayer": "null", "SoundDevicePlayer": "sd_player"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


__all__ = [
    "NO_DEVICE",
    "NO_PORTAUDIO",
    "SEEK_STEP",
    "VOLUME_STEP",
    "NullPlayer",
    "OutputDevice",
    "Player",
    "PlayerSnapshot",
    "PlayerState",
    "QueueItem",
    "SoundDevicePlayer",
    "TrackEnd",
    "load_sounddevice",
    "make_player",
    "probe_output",
]
