"""The real sounddevice/PortAudio backend against ALSA's null device, in subprocesses with a temporary HOME.

PortAudio enumerates ALSA devices when sounddevice is imported, so the .asoundrc must exist before that: each
test runs Python in a subprocess whose HOME holds it. The `file` plugin in front of `null` captures every
sample PortAudio wrote (raw float32), so the test can compare it with what the player was asked to play.
ALSA's null device is not paced in real time: a preview plays in well under a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musicrec_tui.core import synth
from musicrec_tui.core.audio import decode
from musicrec_tui.playback import NO_DEVICE, NO_PORTAUDIO
from musicrec_tui.playback.sd_player import blocksize_for

ROOT = Path(__file__).resolve().parents[1]

CAPTURE_ASOUNDRC = """\
pcm.!default { type file; slave.pcm "null"; file "%s"; format "raw" }
ctl.!default { type hw card 0 }
"""

PLAY_AUDIO = """
import json, sys
import numpy as np
from musicrec_tui.core.audio import Audio
from musicrec_tui.playback import make_player, probe_output
available, reason, devices = probe_output()
if not available:
    print(json.dumps({"skip": reason})); sys.exit(0)
player = make_player()
rate = player.rate
t = np.arange(rate) / rate
x = (0.25 + 0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
player.load(Audio(x, rate), "probe")
player.play()
finished = player.wait(30)
snap = player.snapshot()
player.close()
print(json.dumps({"rate": rate, "blocksize": player.blocksize, "channels": player.channels,
                  "finished": finished, "state": snap.state.value, "position": snap.position,
                  "duration": snap.duration, "reason": snap.reason, "device": snap.device,
                  "devices": [d.describe() for d in devices]}))
"""

PROBE = """
import json
from musicrec_tui.playback import probe_output
from musicrec_tui.playback.device import probe
available, reason, devices = probe_output()
chosen = probe().selected
print(json.dumps({"available": available, "reason": reason, "devices": [d.describe() for d in devices],
                  "rate": chosen and int(chosen.default_rate),
                  "channels": chosen and min(2, chosen.channels)}))
"""

RUN_PLAY = """
import sys
from musicrec_tui.cli.play import run_play
sys.exit(run_play(sys.argv[1], "tone", None))
"""


def run_with_home(home: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def capture_home(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    home.mkdir()
    raw = tmp_path / "PLAYED.raw"
    (home / ".asoundrc").write_text(CAPTURE_ASOUNDRC % raw)
    return home, raw


def skip_unless_real(reason: str) -> None:
    if reason == NO_PORTAUDIO:
        pytest.skip("libportaudio2 is not installed on this machine (CI installs it): " + reason)
    pytest.skip("ALSA's null device is not usable through PortAudio here: " + reason)


def read_capture(raw: Path, channels: int) -> np.ndarray:
    data = np.fromfile(raw, dtype="<f4")
    if data.size == 0 or data.size % channels:
        pytest.skip(f"the ALSA file plugin captured {data.size} floats: capture does not work here")
    if not np.all(np.isfinite(data)) or float(np.max(np.abs(data))) > 1.0:
        pytest.skip("the captured stream is not float32 (ALSA converted the format): cannot compare samples")
    return data.reshape(-1, channels)


def played_part(frames: np.ndarray, length: int) -> np.ndarray:
    """Strip the silence PortAudio primes the device with; the source never starts at exactly 0."""
    nonzero = np.flatnonzero(np.any(frames != 0, axis=1))
    assert nonzero.size, "nothing but silence was captured"
    return frames[nonzero[0]:nonzero[0] + length]


def test_real_output_stream_plays_exactly_the_samples(tmp_path: Path) -> None:
    home, raw = capture_home(tmp_path)
    done = run_with_home(home, PLAY_AUDIO)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in result:
        skip_unless_real(result["skip"])
    assert result["finished"] and result["state"] == "ended", result
    assert result["reason"] == ""
    # the position only moves inside the PortAudio callback: reaching the end proves real callbacks ran
    assert result["position"] == result["duration"] == 1.0
    rate, block, channels = result["rate"], result["blocksize"], result["channels"]
    t = np.arange(rate) / rate
    x = (0.25 + 0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    played = played_part(read_capture(raw, channels), rate)
    assert played.shape == (rate, channels)
    gains = played[:block, 0] / x[:block]
    np.testing.assert_allclose(gains, (np.arange(block) + 1) / block, rtol=0, atol=1e-6)  # the ramp-in
    for ch in range(channels):
        assert np.array_equal(played[block:, ch], x[block:])


def test_cli_without_a_tty_plays_a_preview_to_the_end(tmp_path: Path) -> None:
    home, raw = capture_home(tmp_path)
    preview = tmp_path / "tone.m4a"
    preview.write_bytes(synth.encode(synth.chord((330.0, 415.3), seconds=2.0) + 0.05, 44100, "m4a"))
    done = run_with_home(home, RUN_PLAY, str(preview))
    if done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith("playback off"):
        skip_unless_real(done.stderr.strip().splitlines()[-1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "played tone (0:02/0:02)"
    probe = json.loads(run_with_home(home, PROBE).stdout.strip().splitlines()[-1])
    rate, channels = probe["rate"], probe["channels"]
    expected = decode(preview, rate).samples  # the same decoder, at the device's rate
    played = played_part(read_capture(raw, channels), expected.shape[0])
    assert played.shape[0] == expected.shape[0]
    block = blocksize_for(rate)
    for ch in range(channels):
        assert np.array_equal(played[block:, ch], expected[block:])  # past the one-block ramp-in


def test_probe_lists_the_null_device(tmp_path: Path) -> None:
    home, _ = capture_home(tmp_path)
    result = json.loads(run_with_home(home, PROBE).stdout.strip().splitlines()[-1])
    if not result["available"]:
        skip_unless_real(result["reason"])
    assert result["reason"] == ""
    assert any("default" in d and "(default)" in d for d in result["devices"])


def test_no_output_device_is_reported(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()  # no .asoundrc: on a machine without a sound card, ALSA offers nothing
    result = json.loads(run_with_home(home, PROBE).stdout.strip().splitlines()[-1])
    if result["reason"] == NO_PORTAUDIO:
        skip_unless_real(result["reason"])
    if result["available"]:
        pytest.skip(f"this machine has a real output device: {result['devices']}")
    assert (result["available"], result["reason"], result["devices"]) == (False, NO_DEVICE, [])
    play = run_with_home(home, RUN_PLAY, "/nonexistent.m4a")
    assert play.returncode == 2
    assert play.stderr.strip().splitlines()[-1] == NO_DEVICE
