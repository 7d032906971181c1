"""Full-length local files: a fixed number of excerpt windows found by seeking, so time and memory are bounded
whatever the length; what cannot be decoded is a per-track failure with its reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from musicrec_tui.core import synth
from musicrec_tui.core.audio import (
    EXCERPT_WINDOW_S,
    EXCERPT_WINDOWS,
    decode,
    excerpt_starts,
    load_for_analysis,
)
from musicrec_tui.core.errors import DecodeError
from musicrec_tui.core.models import JobState
from musicrec_tui.store import open_library
from tests.procwatch import descendants, peak_rss_mib

RATE = 22050


def sweep_hz(t: np.ndarray, seconds: float) -> np.ndarray:
    """The instantaneous frequency of the test sweep at time t: 200 Hz at the start, 1,400 Hz at the end."""
    return 200.0 + 1200.0 * t / seconds


def write_sweep(path: Path, seconds: float, rate: int = RATE, fmt: str = "wav") -> None:
    """A slow linear sweep: each moment of the file has its own frequency, so a window tells where it came from."""
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * (200.0 * t + 600.0 * t**2 / seconds)
    path.write_bytes(synth.encode((0.3 * np.sin(phase)).astype(np.float32), rate=rate, fmt=fmt))


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.shape[0])))
    return float(np.fft.rfftfreq(samples.shape[0], 1.0 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("fmt", ["wav", "m4a", "mp3", "ogg", "flac"])
def test_windows_come_from_where_the_plan_says(tmp_path: Path, fmt: str) -> None:
    seconds = 600.0
    path = tmp_path / f"ten-minutes.{fmt}"
    write_sweep(path, seconds, rate=44100 if fmt in ("m4a", "mp3") else 48000 if fmt == "ogg" else RATE, fmt=fmt)
    audio = load_for_analysis(path, RATE)
    n = round(EXCERPT_WINDOW_S * RATE)
    assert audio.samples.shape[0] == EXCERPT_WINDOWS * n, "exactly the windows, nothing else was kept"
    for k, start in enumerate(excerpt_starts(seconds)):
        window = audio.samples[k * n:(k + 1) * n]
        middle = start + EXCERPT_WINDOW_S / 2
        expected = float(sweep_hz(np.array([middle]), seconds)[0])
        # the sweep moves 12 Hz in 6 s; a window from anywhere else in the file would be >= 100 Hz off
        assert abs(dominant_hz(window, RATE) - expected) < 15.0, (k, dominant_hz(window, RATE), expected)


def test_a_preview_length_file_is_analysed_whole(tmp_path: Path) -> None:
    path = tmp_path / "preview.m4a"
    path.write_bytes(synth.encode(synth.chord((220.0, 277.0, 330.0), seconds=30.0)))
    whole = decode(path, RATE)
    assert np.array_equal(load_for_analysis(path, RATE).samples, whole.samples)


def test_an_undecodable_file_is_one_clear_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.ogg"
    path.write_bytes(b"OggS" + os.urandom(50_000))
    with pytest.raises(DecodeError, match=r"cannot decode audio|no audio"):
        load_for_analysis(path, RATE)


def write_long_wav(path: Path, hours: float, rate: int = 8000) -> None:
    """A mono 16-bit WAV of `hours`, written block by block (never whole in memory): chords changing every
    10 s over quiet noise."""
    rng = np.random.default_rng(1)
    blocks = []
    for i in range(6):
        root = 110.0 * 2 ** (i / 6)
        clip = synth.chord((root, root * 1.25, root * 1.5), seconds=10.0, rate=rate, seed=i)
        clip = clip + 0.01 * rng.standard_normal(clip.shape[0]).astype(np.float32)
        blocks.append((np.clip(clip, -1, 1) * 32767).astype("<i2").tobytes())
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        for i in range(int(hours * 3600 / 10)):
            out.writeframes(blocks[i % len(blocks)])


def run_ingest(tmp_path: Path, db_url: str, target: Path) -> tuple[int, str, str, float]:
    """Exit code, stdout, stderr, and the largest peak RSS (MiB) of any process of the run, sampled from /proc
    while it runs (VmHWM only grows, so sampling misses nothing but a spike in a process's last instant)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSICREC_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "musicrec_tui", "--db", db_url, "--cache-dir",
                                 str(tmp_path / "cache"), "--data-dir", str(tmp_path / "data"), "ingest", "--path",
                                 str(target), "--json", "--workers", "1"], stdout=out, stderr=err, text=True, env=env)
        peaks: dict[int, float] = {}
        ends = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < ends:
            for pid in [proc.pid, *descendants(proc.pid)]:
                peaks[pid] = max(peaks.get(pid, 0.0), peak_rss_mib(pid))
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), max(peaks.values(), default=0.0)


def test_a_three_hour_wav_is_ingested_in_bounded_memory(tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    long_wav = music / "three-hours.wav"
    write_long_wav(long_wav, hours=3.0)
    assert long_wav.stat().st_size > 170_000_000
    (music / "not-audio.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + os.urandom(20_000))
    (music / "truncated.wav").write_bytes(long_wav.read_bytes()[:30])
    db_url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    code, out, err, peak_mib = run_ingest(tmp_path, db_url, music)
    assert "Traceback" not in err
    events = [json.loads(line) for line in out.splitlines()]
    summary = events[-1]
    assert summary["event"] == "summary" and summary["done"] == 1 and summary["failed"] == 2, summary
    assert code == 1, "some tracks failed"
    failures = {Path(e["external_id"]).name: e["error"] for e in events if e.get("state") == "failed"}
    assert set(failures) == {"not-audio.mp3", "truncated.wav"}
    assert all(reason.startswith(("cannot decode audio", "no audio")) for reason in failures.values()), failures
    # the old path decoded all 3 hours (345 MB as float32 at 8 kHz, 33 GB asked by the network): bounded now
    assert 50 < peak_mib < 600, f"peak RSS of a process of the run: {peak_mib:.0f} MiB"
    with open_library(db_url) as lib:
        counts = lib.job_counts()
        assert counts[JobState.DONE] == 1 and counts[JobState.FAILED] == 2
        assert counts[JobState.ANALYSING] == counts[JobState.DOWNLOADING] == counts[JobState.QUEUED] == 0
        (track,) = lib.list_tracks()
        assert track.title == "three-hours" and lib.get_vector(track.id, "musicnn") is not None
