"""`musicrec play ID` end to end: real CLI process, real PortAudio on ALSA's null device (samples captured),
real SQLite library, the fake iTunes server over HTTP for on-demand previews."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_tui.app.audio import find_track, parse_play_id, playable
from musicrec_tui.core import synth
from musicrec_tui.core.audio import decode
from musicrec_tui.core.errors import ConfigError, NotFound
from musicrec_tui.core.fetch import CachedPreview
from musicrec_tui.core.models import Track
from musicrec_tui.playback import NO_DEVICE, NO_PORTAUDIO
from musicrec_tui.playback.sd_player import blocksize_for
from musicrec_tui.store import open_library

from .fake_itunes import FakeItunes
from .test_cli import run
from .test_playback_real import CAPTURE_ASOUNDRC, played_part, read_capture

RATE = 44100  # ALSA's default device through PortAudio


def capture_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(CAPTURE_ASOUNDRC % (tmp_path / "PLAYED.raw"))
    return home


def play(home: Path, db: Path, *args: str, itunes: str = "http://127.0.0.1:9"):
    proc = run(["--db", f"sqlite://{db}", "play", *args], home, {"MUSICREC_ITUNES_URL": itunes})
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    if proc.returncode == 2 and last == NO_PORTAUDIO:
        pytest.skip("libportaudio2 is not installed on this machine (CI installs it): " + last)
    if proc.returncode == 2 and last == NO_DEVICE and (home / ".asoundrc").exists():
        pytest.skip("ALSA's null device is not usable through PortAudio here: " + last)
    return proc


def assert_played(tmp_path: Path, audio_file: Path) -> None:
    expected = decode(audio_file, RATE).samples
    played = played_part(read_capture(tmp_path / "PLAYED.raw", 2), expected.shape[0])
    assert played.shape[0] == expected.shape[0]
    block = blocksize_for(RATE)
    assert np.array_equal(played[block:, 0], expected[block:])
    assert np.array_equal(played[block:, 1], expected[block:])


def test_play_a_library_file_track(tmp_path: Path) -> None:
    song = tmp_path / "tone.flac"
    song.write_bytes(synth.encode(synth.chord((262.0, 330.0), seconds=2.0) + 0.05, RATE, "flac"))
    db = tmp_path / "lib.sqlite3"
    with open_library(f"sqlite://{db}") as lib:
        lib.upsert_track(Track("file", str(song), "Tone", "Synth"))
    proc = play(capture_home(tmp_path), db, "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "played Synth — Tone (0:02/0:02)"
    assert_played(tmp_path, song)


def test_play_an_itunes_id_downloads_the_preview_once(tmp_path: Path, fake_itunes: FakeItunes) -> None:
    fake_itunes.add_track(123, "Song", "Artist", preview="chord:1")
    db = tmp_path / "lib.sqlite3"
    home = capture_home(tmp_path)
    proc = play(home, db, "itunes:123", itunes=fake_itunes.url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "played Artist — Song (0:06/0:06)"
    cached = home / "cache" / "musicrec-tui" / "previews" / "itunes-123.m4a"  # XDG_CACHE_HOME=HOME/cache
    assert cached.is_file()
    assert_played(tmp_path, cached)
    assert len(fake_itunes.hits("/previews/123")) == 1
    proc = play(home, db, "itunes:123", itunes=fake_itunes.url)
    assert proc.returncode == 0, proc.stderr
    assert len(fake_itunes.hits("/previews/123")) == 1  # played from the cache the second time


def test_a_library_itunes_track_records_its_downloaded_preview(tmp_path: Path, fake_itunes: FakeItunes) -> None:
    item = fake_itunes.add_track(124, "Other", "Band", preview="drums:120")
    db = tmp_path / "lib.sqlite3"
    with open_library(f"sqlite://{db}") as lib:
        lib.upsert_track(Track("itunes", "124", "Other", "Band", preview_url=item["previewUrl"]))
    proc = play(capture_home(tmp_path), db, "1", itunes=fake_itunes.url)
    assert proc.returncode == 0, proc.stderr
    assert fake_itunes.hits("/lookup") == []  # known to the library: no catalogue call
    with open_library(f"sqlite://{db}") as lib:
        track = lib.get_track(1)
    assert track is not None and track.preview_path is not None
    assert Path(track.preview_path).name == "itunes-124.m4a" and track.preview_sha256


@pytest.mark.parametrize(
    ("ident", "message"),
    [("99", "musicrec: error: no track with id 99 in the library"),
     ("itunes:555", "musicrec: error: no song with iTunes id 555"),
     ("itunes:abc", "musicrec: error: not an iTunes track id: 'abc' (use itunes:<trackId>)"),
     ("nosuch.mp3", "musicrec: error: 'nosuch.mp3' is not a library id, itunes:<trackId> or an audio file")],
)
def test_unknown_ids_are_one_line_errors(tmp_path: Path, fake_itunes: FakeItunes, ident: str,
                                         message: str) -> None:
    proc = play(capture_home(tmp_path), tmp_path / "lib.sqlite3", ident, itunes=fake_itunes.url)
    assert (proc.returncode, proc.stderr.strip().splitlines()[-1]) == (2, message)
    assert "Traceback" not in proc.stderr


def test_playback_off_is_said_before_anything_else(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()  # no .asoundrc and no sound card: no output device
    proc = play(home, tmp_path / "lib.sqlite3", "itunes:1")
    if proc.returncode == 0 or "playback off" not in proc.stderr:
        pytest.skip(f"this machine has an audio output device: {proc.stderr.strip()[-200:]}")
    assert (proc.returncode, proc.stderr.strip().splitlines()[-1]) == (2, NO_DEVICE)


def test_parse_play_id(tmp_path: Path) -> None:
    song = tmp_path / "a.wav"
    song.write_bytes(b"RIFF")
    assert parse_play_id("0042") == ("library", "42")
    assert parse_play_id(" ITUNES:00123 ") == ("itunes", "123")
    assert parse_play_id(str(song)) == ("path", str(song.resolve()))
    with pytest.raises(ConfigError):
        parse_play_id("itunes:")
    with pytest.raises(NotFound):
        parse_play_id(str(tmp_path / "missing.wav"))


class NoDownloads:
    """A preview cache that must not be asked: files play from where they are."""

    def fetch(self, track: Track) -> CachedPreview:
        raise AssertionError(f"no download expected for {track}")


def test_a_bare_file_and_a_vanished_file_track(tmp_path: Path) -> None:
    song = tmp_path / "b.ogg"
    song.write_bytes(b"OggS")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with open_library(f"sqlite://{tmp_path / 'lib.sqlite3'}") as lib:
        assert find_track(str(song), lib) is None
        item = playable(str(song), lib, None, NoDownloads())
        assert (item.path, item.title, item.track) == (song.resolve(), "b.ogg", None)
        with pytest.raises(NotFound, match="is not an audio file"):
            playable(str(text), lib, None, NoDownloads())
        lib.upsert_track(Track("file", str(tmp_path / "gone.mp3"), "Gone", "Nobody"))
        with pytest.raises(NotFound, match=r"file not found: .*gone\.mp3"):
            playable("1", lib, None, NoDownloads())
