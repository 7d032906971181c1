"""`run_play`, the headless `musicrec play`: without a TTY, with a pseudo-terminal, and with playback off."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from musicrec_tui.cli.play import progress_line, run_play, split_keys
from musicrec_tui.core.audio import Audio
from musicrec_tui.playback import NO_PORTAUDIO, PlayerSnapshot, PlayerState, SoundDevicePlayer
from musicrec_tui.playback.testing import FakeOutput

ROOT = Path(__file__).resolve().parents[1]
RATE = 8000
BLOCK = 200


def signal(seconds: float) -> np.ndarray:
    n = int(seconds * RATE)
    return (0.1 + 0.4 * (np.arange(n) + 1) / n).astype(np.float32)


def no_portaudio() -> object:
    raise OSError("PortAudio library not found")


def test_playback_off_exits_2_with_the_reason() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run_play("/any/preview.m4a", "t", None, loader=no_portaudio, stdin=io.StringIO(), stdout=out,
                    stderr=err)
    assert code == 2
    assert err.getvalue() == NO_PORTAUDIO + "\n" and out.getvalue() == ""


def test_playback_off_when_sounddevice_cannot_load_portaudio_in_a_fresh_process() -> None:
    code = """
import sys
class NoPortAudio:  # what `import sounddevice` does when libportaudio2 is missing
    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
sys.meta_path.insert(0, NoPortAudio())
from musicrec_tui.cli.play import run_play
sys.exit(run_play("/any/preview.m4a", "t", None))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr == NO_PORTAUDIO + "\n" and done.stdout == ""


def test_without_a_tty_it_plays_to_the_end_and_exits_0() -> None:
    fake = FakeOutput(autorun=True)
    x = signal(1.0)
    out, err = io.StringIO(), io.StringIO()
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as player:
        code = run_play(Audio(x, RATE), "ramp", player=player, stdin=io.StringIO(), stdout=out, stderr=err)
        assert player.state is PlayerState.ENDED
    assert (code, out.getvalue(), err.getvalue()) == (0, "played ramp (0:01/0:01)\n", "")
    written = fake.written
    assert np.array_equal(written[BLOCK:RATE, 0], x[BLOCK:])
    assert not np.any(written[RATE:])


def test_an_undecodable_file_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.m4a"
    bad.write_bytes(b"garbage" * 100)
    out, err = io.StringIO(), io.StringIO()
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=FakeOutput()) as player:
        code = run_play(bad, "bad", player=player, stdin=io.StringIO(), stdout=out, stderr=err)
    assert code == 2
    assert err.getvalue().startswith("cannot play 'bad': cannot decode audio: ")
    assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()


def test_a_busy_device_exits_2_with_the_reason() -> None:
    fake = FakeOutput(start_error="Device or resource busy [PaErrorCode -9985]")
    out, err = io.StringIO(), io.StringIO()
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as player:
        code = run_play(Audio(signal(1.0), RATE), "x", player=player, stdin=io.StringIO(), stdout=out,
                        stderr=err)
    assert code == 2
    assert err.getvalue() == ("playback off: cannot start audio output: "
                              "Device or resource busy [PaErrorCode -9985]\n")


def test_split_keys_keeps_escape_sequences_whole() -> None:
    assert split_keys(b" \x1b[C+q\x1b[D") == [b" ", b"\x1b[C", b"+", b"q", b"\x1b[D"]


def test_progress_line_shows_time_bar_volume_and_state() -> None:
    snap = PlayerSnapshot(PlayerState.PAUSED, position=15.2, duration=30.0, volume=0.8, title="Song")
    line = progress_line(snap, width=80)
    assert line.startswith("⏸ 0:15 / 0:30 [")
    assert line.endswith("] vol  80%  paused   Song")
    bar = line[line.index("[") + 1:line.index("]")]
    assert bar.count("#") == bar.count("-") == len(bar) // 2
    assert len(progress_line(snap, width=30)) == 29


class Terminal:
    """The master side of a pseudo-terminal: collects everything written, types keys."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.output = b""

    def read_until(self, needle: bytes, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        start = len(self.output)
        while needle not in self.output[start:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never appeared; got {self.output[-300:]!r}")
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 4096)
                except OSError:  # the slave side closed
                    return

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)


def test_with_a_tty_keys_control_playback_and_the_terminal_is_restored() -> None:
    master, slave = pty.openpty()
    fake = FakeOutput(autorun=True, pace=1.0)  # a device-like pace: 25 ms per block
    term = Terminal(master)
    before = termios.tcgetattr(slave)
    result: dict[str, object] = {}
    with os.fdopen(slave, "r", closefd=False) as tin, os.fdopen(os.dup(slave), "w") as tout, \
            SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as player:
        def play() -> None:
            result["code"] = run_play(Audio(signal(20.0), RATE), "Song", player=player, stdin=tin,
                                      stdout=tout, stderr=io.StringIO())
        thread = threading.Thread(target=play)
        thread.start()
        try:
            term.read_until(b"playing")
            assert termios.tcgetattr(slave)[3] & termios.ICANON == 0  # keys arrive one by one
            term.type(b" ")
            term.read_until(b"paused")
            assert player.state is PlayerState.PAUSED
            held = player.position
            term.type(b"-")
            term.read_until(b"vol  95%")
            term.type(b"\x1b[C")
            term.read_until(b"0:0" + str(int(held) + 5).encode())
            assert player.position == pytest.approx(held + 5.0)
            term.type(b"f")
            term.read_until(b"0:" + f"{int(held) + 10:02d}".encode())
            term.type(b"b")
            term.read_until(b"0:0" + str(int(held) + 5).encode())
            term.type(b" ")
            term.read_until(b"playing")
            term.type(b"q")
            thread.join(10)
        finally:
            if thread.is_alive():
                term.type(b"q")
                thread.join(10)
        assert result["code"] == 0
        assert player.state is PlayerState.STOPPED  # quitting stops playback and releases the device
        assert fake.stream.closed
    assert termios.tcgetattr(slave) == before
    os.close(slave)
    os.close(master)


def test_ctrl_c_restores_the_terminal() -> None:
    code = """
import fcntl, json, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty becomes our controlling terminal: Ctrl-C sends SIGINT
before = termios.tcgetattr(0)
import numpy as np
from musicrec_tui.core.audio import Audio
from musicrec_tui.playback import SoundDevicePlayer
from musicrec_tui.cli.play import run_play
from musicrec_tui.playback.testing import FakeOutput
player = SoundDevicePlayer(samplerate=8000, blocksize=200, stream_factory=FakeOutput(autorun=True, pace=1.0))
rc = run_play(Audio(np.full(8000 * 20, 0.2, np.float32), 8000), "Song", player=player)
restored = termios.tcgetattr(0) == before
player.close()
print(json.dumps({"rc": rc, "restored": restored, "state": player.state.value}), file=sys.stderr)
"""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=slave, stdout=slave,
                            stderr=subprocess.PIPE, start_new_session=True)
    os.close(slave)
    term = Terminal(master)
    try:
        term.read_until(b"playing", timeout=60)
        term.type(b"\x03")
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    result = json.loads(err.decode().strip().splitlines()[-1])
    assert result == {"rc": 130, "restored": True, "state": "stopped"}
