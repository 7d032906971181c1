"""Local preview playback. `probe_output` tells whether audio output works here, and why not."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class OutputProbe:
    available: bool
    reason: str
    devices: list[str] = field(default_factory=list)


def probe_output(device: str | None = None) -> OutputProbe:
    """Check PortAudio and the output devices without playing anything."""
    try:
        import sounddevice as sd
    except OSError:
        return OutputProbe(False, "playback off: PortAudio not installed — apt install libportaudio2")
    try:
        devices = [d for d in sd.query_devices() if d.get("max_output_channels", 0) > 0]
    except Exception as exc:  # PortAudioError and friends: any failure here just means "off"
        return OutputProbe(False, f"playback off: {exc}")
    if not devices:
        return OutputProbe(False, "playback off: no audio output device")
    return OutputProbe(True, "", [f"{d['index']}: {d['name']}" for d in devices])
