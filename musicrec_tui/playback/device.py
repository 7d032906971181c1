"""Finding an output device: lazy sounddevice import, the reasons playback is off, and the player factory."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

from .base import Player, TrackEndCallback
from .null import NullPlayer
from .sd_player import SoundDevicePlayer, StreamFactory

NO_PORTAUDIO = "playback off: PortAudio not installed -- apt install libportaudio2"
NO_SOUNDDEVICE = "playback off: the sounddevice package is not installed -- pip install sounddevice"
NO_DEVICE = "playback off: no audio output device"

Loader = Callable[[], ModuleType]


def load_sounddevice() -> ModuleType:
    """Import sounddevice (loading and initialising PortAudio). OSError/ImportError when it cannot."""
    return importlib.import_module("sounddevice")


@dataclass(frozen=True, slots=True)
class OutputDevice:
    """An output device as PortAudio lists it."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_rate: float
    is_default: bool = False

    def describe(self) -> str:
        mark = " (default)" if self.is_default else ""
        rate = f"{self.default_rate:.0f} Hz"
        return f"{self.index}: {self.name} [{self.hostapi}, {self.channels} ch, {rate}]{mark}"


@dataclass(frozen=True, slots=True)
class OutputProbe:
    """What probing found: the devices, the one selected, or why playback is off."""

    available: bool
    reason: str
    devices: list[OutputDevice] = field(default_factory=list)
    selected: OutputDevice | None = None
    module: ModuleType | None = None


def probe(device: str | int | None = None, loader: Loader = load_sounddevice) -> OutputProbe:
    """Load sounddevice, list output devices and pick `device` (index, exact name or unique name part)."""
    try:
        sd = loader()
    except OSError as exc:
        if "portaudio" in str(exc).lower():
            return OutputProbe(False, NO_PORTAUDIO)
        return OutputProbe(False, f"playback off: cannot load sounddevice: {_one_line(exc)}")
    except ImportError:
        return OutputProbe(False, NO_SOUNDDEVICE)
    try:
        devices = _output_devices(sd)
    except Exception as exc:  # PortAudioError (a sounddevice class we cannot name before import) or worse
        return OutputProbe(False, f"playback off: cannot list audio devices: {_one_line(exc)}", module=sd)
    if not devices:
        return OutputProbe(False, NO_DEVICE, module=sd)
    selected, reason = resolve_device(device, devices)
    if selected is None:
        return OutputProbe(False, reason, devices, module=sd)
    return OutputProbe(True, "", devices, selected, sd)


class OutputReport(NamedTuple):
    """probe_output's answer: unpacks as (available, reason, devices) or reads by name."""

    available: bool
    reason: str
    devices: list[OutputDevice]


def probe_output(device: str | int | None = None, loader: Loader = load_sounddevice) -> OutputReport:
    """For `musicrec doctor`: (available, reason playback is off or "", output devices)."""
    found = probe(device, loader)
    return OutputReport(found.available, found.reason, found.devices)


def resolve_device(device: str | int | None, devices: list[OutputDevice]) -> tuple[OutputDevice | None, str]:
    """Pick an output device: None -> the default (or first); an index; an exact or unique partial name."""
    if device is None or (isinstance(device, str) and not device.strip()):
        chosen = next((d for d in devices if d.is_default), devices[0] if devices else None)
        return (chosen, "") if chosen else (None, NO_DEVICE)
    if isinstance(device, int) or device.strip().isdigit():
        index = int(device)
        chosen = next((d for d in devices if d.index == index), None)
        if chosen is None:
            return None, f"playback off: no output device with index {index} ({_names(devices)})"
        return chosen, ""
    wanted = device.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    if exact:
        return exact[0], ""
    partial = [d for d in devices if wanted in d.name.lower()]
    if len(partial) == 1:
        return partial[0], ""
    if partial:
        return None, f"playback off: output device {device!r} is ambiguous ({_names(partial)})"
    return None, f"playback off: no output device matches {device!r} ({_names(devices)})"


def make_player(
    device: str | int | None = None,
    *,
    loader: Loader = load_sounddevice,
    stream_factory: StreamFactory | None = None,
    volume: float = 1.0,
    on_track_end: TrackEndCallback | None = None,
) -> Player:
    """The sounddevice player on the chosen device, or a NullPlayer saying why playback is off."""
    found = probe(device, loader)
    if not found.available or found.selected is None or found.module is None:
        return NullPlayer(found.reason or NO_DEVICE)
    chosen = found.selected
    return SoundDevicePlayer(
        samplerate=int(chosen.default_rate) or 44100,
        channels=min(2, chosen.channels),
        device=chosen.index,
        device_name=chosen.name,
        stream_factory=stream_factory or found.module.OutputStream,
        volume=volume,
        on_track_end=on_track_end,
    )


def _output_devices(sd: Any) -> list[OutputDevice]:
    listed = list(sd.query_devices())
    default_out = -1
    try:
        default_out = int(sd.default.device[1])
    except (TypeError, ValueError, IndexError):
        default_out = -1
    hostapis = [h["name"] for h in sd.query_hostapis()]
    out: list[OutputDevice] = []
    for i, d in enumerate(listed):
        if int(d.get("max_output_channels", 0)) <= 0:
            continue
        api = int(d.get("hostapi", -1))
        out.append(OutputDevice(
            index=int(d.get("index", i)),
            name=str(d.get("name", f"device {i}")),
            hostapi=hostapis[api] if 0 <= api < len(hostapis) else "?",
            channels=int(d["max_output_channels"]),
            default_rate=float(d.get("default_samplerate") or 44100.0),
            is_default=int(d.get("index", i)) == default_out,
        ))
    return out


def _names(devices: list[OutputDevice]) -> str:
    return ", ".join(f"{d.index}: {d.name}" for d in devices[:8]) or "none"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
