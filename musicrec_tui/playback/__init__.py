"""Local preview playback: a Player contract, a sounddevice backend, a null backend for no audio.

Importing this package never imports sounddevice (and so never loads PortAudio); `make_player` does, lazily.
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
from .device import NO_DEVICE, NO_PORTAUDIO, OutputDevice, load_sounddevice, make_player, probe_output
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
