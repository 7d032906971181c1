"""Device discovery and the reasons playback is off; no sound card needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from musicrec_tui.playback import NO_PORTAUDIO, NullPlayer, PlayerState, make_player, probe_output
from musicrec_tui.playback.device import NO_SOUNDDEVICE, OutputDevice, resolve_device

ROOT = Path(__file__).resolve().parents[1]

DEVICES = [
    OutputDevice(0, "HDA Intel PCH: ALC892 Analog (hw:0,0)", "ALSA", 2, 48000.0),
    OutputDevice(3, "HDA Intel PCH: HDMI 0 (hw:0,3)", "ALSA", 8, 48000.0),
    OutputDevice(7, "pulse", "ALSA", 32, 44100.0),
    OutputDevice(8, "default", "ALSA", 32, 44100.0, is_default=True),
]


def no_portaudio() -> object:
    raise OSError("PortAudio library not found")  # the exact error sounddevice raises at import


def no_package() -> object:
    raise ModuleNotFoundError("No module named 'sounddevice'")


def test_missing_portaudio_gives_the_install_hint() -> None:
    assert NO_PORTAUDIO == "playback off: PortAudio not installed -- apt install libportaudio2"
    report = probe_output(loader=no_portaudio)
    assert report == (False, NO_PORTAUDIO, [])
    assert (report.available, report.reason, report.devices) == (False, NO_PORTAUDIO, [])
    player = make_player(loader=no_portaudio)
    assert isinstance(player, NullPlayer)
    assert player.state is PlayerState.OFF and player.reason == NO_PORTAUDIO
    assert player.snapshot().reason == NO_PORTAUDIO


def test_missing_package_gives_the_pip_hint() -> None:
    assert probe_output(loader=no_package) == (False, NO_SOUNDDEVICE, [])


@pytest.mark.parametrize(
    ("wanted", "index"),
    [(None, 8), ("", 8), (3, 3), ("7", 7), ("PULSE", 7), ("hdmi", 3), ("default", 8)],
)
def test_resolve_device_picks_by_index_or_name(wanted: str | int | None, index: int) -> None:
    chosen, reason = resolve_device(wanted, DEVICES)
    assert reason == "" and chosen is not None and chosen.index == index


@pytest.mark.parametrize(
    ("wanted", "reason"),
    [
        (5, "playback off: no output device with index 5 (0: HDA Intel PCH: ALC892 Analog (hw:0,0), "
            "3: HDA Intel PCH: HDMI 0 (hw:0,3), 7: pulse, 8: default)"),
        ("hda", "playback off: output device 'hda' is ambiguous (0: HDA Intel PCH: ALC892 Analog (hw:0,0), "
                "3: HDA Intel PCH: HDMI 0 (hw:0,3))"),
        ("usb dac", "playback off: no output device matches 'usb dac' (0: HDA Intel PCH: ALC892 Analog "
                    "(hw:0,0), 3: HDA Intel PCH: HDMI 0 (hw:0,3), 7: pulse, 8: default)"),
    ],
)
def test_resolve_device_explains_a_bad_choice(wanted: str | int, reason: str) -> None:
    assert resolve_device(wanted, DEVICES) == (None, reason)


def test_without_a_default_the_first_output_is_used() -> None:
    devices = [OutputDevice(2, "a", "ALSA", 2, 44100.0), OutputDevice(4, "b", "ALSA", 2, 44100.0)]
    chosen, _ = resolve_device(None, devices)
    assert chosen is devices[0]
    assert "(default)" in DEVICES[3].describe() and "48000 Hz" in DEVICES[0].describe()


def test_importing_playback_does_not_load_portaudio() -> None:
    code = ("import sys, musicrec_tui.playback, musicrec_tui.cli.play; "
            "print('sounddevice' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
