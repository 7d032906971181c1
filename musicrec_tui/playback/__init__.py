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

from .base import (
    SEEK_STEP,
    VOLUME_STEP,
    Player,
    PlayerSnapshot,
    PlayerState,
    QueueItem,
    TrackEnd,
)
from .device import (
    NO_DEVICE,
    NO_PORTAUDIO,
    OutputDevice,
    load_sounddevice,
    make_player,
    probe_output,
)
from .null import NullPlayer
from .sd_player import SoundDevicePlayer

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
