"""SoundDevicePlayer through the recording fake stream: exact samples for every transport action."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from musicrec_tui.core import synth
from musicrec_tui.core.audio import Audio, decode
from musicrec_tui.core.errors import DecodeError
from musicrec_tui.playback import (
    NullPlayer,
    Player,
    PlayerState,
    QueueItem,
    SoundDevicePlayer,
    TrackEnd,
)
from musicrec_tui.playback.sd_player import blocksize_for
from musicrec_tui.playback.testing import FakeOutput

RATE = 8000
BLOCK = 200


def ramp_signal(frames: int, scale: float = 0.5, offset: int = 0) -> np.ndarray:
    """Every frame distinct and non-zero, so a recording shows which source frame was played at what gain."""
    return (scale * (np.arange(frames) + 1 + offset) / (frames + offset)).astype(np.float32)


def stereo(x: np.ndarray) -> np.ndarray:
    return np.stack([x, x], axis=1)


def fade(frames: int, g0: float, g1: float) -> np.ndarray:
    """The gain the player promises across one block: linear from g0 to exactly g1 at the last frame."""
    return (g0 + (g1 - g0) * (np.arange(frames) + 1) / frames).reshape(-1, 1)


def wait_until(predicate, timeout: float = 5.0, message=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in time {message()}")
        time.sleep(0.002)


@pytest.fixture
def fake() -> FakeOutput:
    return FakeOutput()


@pytest.fixture
def player(fake: FakeOutput):
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as p:
        yield p


def test_both_backends_satisfy_the_player_protocol(player: SoundDevicePlayer) -> None:
    assert isinstance(player, Player)
    assert isinstance(NullPlayer("no card"), Player)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000, 192000])
def test_position_updates_at_least_ten_times_a_second(rate: int) -> None:
    assert rate / blocksize_for(rate) >= 10


def test_play_ramps_in_over_the_first_block_then_delivers_exact_samples(player, fake) -> None:
    x = ramp_signal(4000)
    player.load(Audio(x, RATE), "ramp")
    assert player.state is PlayerState.STOPPED and fake.streams == []
    player.play()
    fake.stream.step(3)
    out = fake.written
    assert out.shape == (3 * BLOCK, 2)
    np.testing.assert_allclose(out[:BLOCK], stereo(x[:BLOCK]) * fade(BLOCK, 0.0, 1.0), rtol=0, atol=1e-7)
    assert np.array_equal(out[BLOCK:], stereo(x[BLOCK:3 * BLOCK]))
    snap = player.snapshot()
    assert snap.state is PlayerState.PLAYING
    assert snap.position == 3 * BLOCK / RATE
    assert snap.duration == 4000 / RATE
    assert snap.title == "ramp" and snap.index == 0 and snap.queue_length == 1


def test_pause_fades_out_holds_position_and_resume_fades_in(player, fake) -> None:
    x = ramp_signal(4000)
    player.load(Audio(x, RATE))
    player.play()
    first = fake.stream
    first.step(2)
    player.pause()
    assert player.state is PlayerState.PAUSED
    first.step(1)  # the fade-out block; then the stream is stopped
    wait_until(lambda: first.closed)
    assert first.stopped_by == "stop"
    held = player.position
    player.resume()
    assert len(fake.streams) == 2  # a new stream, from the held frame
    fake.stream.step(2)
    out = fake.written
    assert out.shape == (5 * BLOCK, 2)  # no block of silence written while paused
    np.testing.assert_allclose(out[2 * BLOCK:3 * BLOCK], stereo(x[400:600]) * fade(BLOCK, 1.0, 0.0),
                               rtol=0, atol=1e-7)
    assert held == 600 / RATE
    np.testing.assert_allclose(out[3 * BLOCK:4 * BLOCK], stereo(x[600:800]) * fade(BLOCK, 0.0, 1.0),
                               rtol=0, atol=1e-7)
    assert np.array_equal(out[4 * BLOCK:], stereo(x[800:1000]))
    assert player.position == 1000 / RATE
    player.toggle()
    assert player.state is PlayerState.PAUSED
    player.toggle()
    assert player.state is PlayerState.PLAYING


def test_nothing_is_written_while_paused_and_resume_continues_from_the_same_frame() -> None:
    """A free-running stream (like a device): once paused and faded out, no callback writes anything more."""
    fake = FakeOutput(autorun=True, pace=0.2)
    x = ramp_signal(80_000)
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as player:
        player.load(Audio(x, RATE))
        player.play()
        first = fake.stream
        wait_until(lambda: first.callbacks >= 3)
        player.pause()
        wait_until(lambda: first.closed, message=lambda: f"{first.callbacks} callbacks")
        calls, frames, held = first.callbacks, fake.written.shape[0], player.position
        time.sleep(0.15)  # ~30 blocks at this pace, were the stream still running
        assert first.callbacks == calls and fake.written.shape[0] == frames and len(fake.streams) == 1
        assert player.state is PlayerState.PAUSED and player.position == held
        at = round(held * RATE)
        # every frame written came from the buffer, but for at most one silent block the device may ask for
        # while the stop is under way (the fade-out block asks for the stop)
        assert 0 <= frames - at <= BLOCK
        assert not fake.written[at:].any()
        player.resume()
        second = fake.stream
        wait_until(lambda: second.callbacks >= 2)
        player.pause()
        wait_until(lambda: second.closed)
        resumed = second.written
        np.testing.assert_allclose(resumed[:BLOCK], stereo(x[at:at + BLOCK]) * fade(BLOCK, 0.0, 1.0),
                                   rtol=0, atol=1e-7)
        assert np.array_equal(resumed[BLOCK:2 * BLOCK], stereo(x[at + BLOCK:at + 2 * BLOCK]))


def test_seek_absolute_and_relative_lands_on_the_exact_frame(player, fake) -> None:
    x = ramp_signal(16000)
    player.load(Audio(x, RATE))
    player.seek(0.5)  # before playing: the first block starts there
    assert player.position == 0.5
    player.play()
    fake.stream.step(1)
    player.seek(1.0)
    assert player.position == 1.0  # reported at once, before the callback applied it
    fake.stream.step(1)
    player.seek(-0.25, relative=True)
    fake.stream.step(1)
    out = fake.written
    np.testing.assert_allclose(out[:BLOCK], stereo(x[4000:4200]) * fade(BLOCK, 0.0, 1.0), rtol=0, atol=1e-7)
    assert np.array_equal(out[BLOCK:2 * BLOCK], stereo(x[8000:8200]))
    assert np.array_equal(out[2 * BLOCK:], stereo(x[6200:6400]))
    assert player.position == 6400 / RATE
    player.seek(-100)
    assert player.position == 0.0
    player.seek(float("nan"))
    assert player.position == 0.0


def test_volume_change_is_a_linear_ramp_across_one_block(player, fake) -> None:
    x = ramp_signal(8000)
    player.load(Audio(x, RATE))
    player.play()
    fake.stream.step(2)
    player.set_volume(0.5)
    fake.stream.step(2)
    player.volume_up()
    player.volume_up()
    fake.stream.step(2)
    out = fake.written[:, 0]
    gains = out[2 * BLOCK:3 * BLOCK] / x[400:600]
    np.testing.assert_allclose(gains, fade(BLOCK, 1.0, 0.5)[:, 0], rtol=0, atol=1e-6)
    steps = np.diff(gains)
    np.testing.assert_allclose(steps, -0.5 / BLOCK, rtol=0, atol=1e-6)  # straight line: no click
    assert np.array_equal(out[3 * BLOCK:4 * BLOCK], x[600:800] * np.float32(0.5))
    assert player.volume == pytest.approx(0.6)
    np.testing.assert_allclose(out[4 * BLOCK:5 * BLOCK] / x[800:1000], fade(BLOCK, 0.5, 0.6)[:, 0],
                               rtol=0, atol=1e-6)
    assert np.array_equal(out[5 * BLOCK:], x[1000:1200] * np.float32(0.6))


def test_pausing_in_the_last_partial_block_fades_along_the_full_block_ramp(player, fake) -> None:
    x = ramp_signal(500)
    player.load(Audio(x, RATE))
    player.play()
    fake.stream.step(2)
    player.pause()
    fake.stream.step(1)  # 100 frames left: they fade along the first half of a 200-frame ramp, then silence
    out = fake.written
    np.testing.assert_allclose(out[400:500], stereo(x[400:]) * fade(BLOCK, 1.0, 0.0)[:100], rtol=0, atol=1e-7)
    assert np.array_equal(out[500:600], np.zeros((100, 2), np.float32))
    assert player.state is PlayerState.PAUSED and player.position == player.duration


def test_a_closed_player_stays_quiet(fake) -> None:
    p = SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake)
    p.set_queue([QueueItem(Audio(ramp_signal(400), RATE)), QueueItem(Audio(ramp_signal(400), RATE))])
    p.play()
    p.close()
    assert fake.stream.closed and p.state is PlayerState.STOPPED
    p.play()
    p.next()
    assert len(fake.streams) == 1 and all(s.closed for s in fake.streams)
    p.close()  # idempotent


def test_at_volume_zero_the_track_still_moves_and_ends(player, fake) -> None:
    player.set_volume(0.0)
    player.load(Audio(ramp_signal(500), RATE))
    player.play()
    fake.stream.step(3)
    assert player.wait(5) and player.state is PlayerState.ENDED
    assert player.position == player.duration
    assert np.array_equal(fake.written, np.zeros((600, 2), np.float32))


def test_volume_is_clamped_to_zero_one(player) -> None:
    player.set_volume(7)
    assert player.volume == 1.0
    player.volume_up()
    assert player.volume == 1.0
    player.set_volume(-3)
    assert player.volume == 0.0
    player.volume_down()
    assert player.volume == 0.0
    player.set_volume(float("nan"))
    assert player.volume == 0.0


def test_end_of_track_calls_back_and_the_queue_advances(player, fake) -> None:
    a, b = ramp_signal(1100), ramp_signal(1000, scale=-0.4)
    ends: list[TrackEnd] = []
    advanced = threading.Event()
    player.set_on_track_end(lambda end: (ends.append(end), advanced.set()))
    player.set_queue([QueueItem(Audio(a, RATE), "A", key=1), QueueItem(Audio(b, RATE), "B", key=2)])
    player.play()
    fake.stream.step(6)  # 1100 frames: the 6th block is 100 frames of A then silence
    assert advanced.wait(5)
    assert ends[0].finished.key == 1 and ends[0].index == 0 and ends[0].next_index == 1
    assert ends[0].snapshot.title == "B" and ends[0].snapshot.state is PlayerState.PLAYING
    assert ends[0].snapshot.key == 2
    advanced.clear()
    fake.stream.step(5)
    assert advanced.wait(5)
    out = fake.written
    assert np.array_equal(out[BLOCK:1100], stereo(a[BLOCK:1100]))
    assert np.array_equal(out[1100:1200], np.zeros((100, 2), np.float32))
    np.testing.assert_allclose(out[1200:1400], stereo(b[:BLOCK]) * fade(BLOCK, 0.0, 1.0), rtol=0, atol=1e-7)
    assert np.array_equal(out[1400:2200], stereo(b[BLOCK:]))
    assert ends[1].finished.key == 2 and ends[1].next_index is None
    assert player.wait(5)
    snap = player.snapshot()
    assert snap.state is PlayerState.ENDED
    assert snap.position == snap.duration == 1000 / RATE
    assert fake.stream.closed  # the device is released when the queue is done
    player.play()  # from ENDED: the last item again, from the start, on a new stream
    assert len(fake.streams) == 2
    fake.stream.step(1)
    np.testing.assert_allclose(fake.stream.written, stereo(b[:BLOCK]) * fade(BLOCK, 0, 1), rtol=0, atol=1e-7)


def test_a_seek_back_wins_over_a_stale_end_of_track(player, fake) -> None:
    a, b = ramp_signal(400), ramp_signal(400, scale=0.2)
    player.set_queue([QueueItem(Audio(a, RATE), "A"), QueueItem(Audio(b, RATE), "B")])
    player.play()
    with player._lock:  # white-box: hold the player thread off while the end-of-track event is pending
        fake.stream.step(2)  # the end of A: the callback posts the event
        player.seek(0.0)
        fake.stream.step(1)
    time.sleep(0.05)  # let the player thread look at the (now stale) event
    assert player.snapshot().title == "A" and player.position == BLOCK / RATE
    assert np.array_equal(fake.written[2 * BLOCK:], stereo(a[:BLOCK]))
    fake.stream.step(1)
    wait_until(lambda: player.snapshot().title == "B")


def test_next_and_previous(player, fake) -> None:
    items = [QueueItem(Audio(ramp_signal(2000, offset=k * 2000), RATE), f"T{k}") for k in range(3)]
    player.set_queue(items, start=1)
    assert player.snapshot().title == "T1"
    player.play()
    fake.stream.step(2)
    assert player.next()
    assert player.snapshot().title == "T2" and player.state is PlayerState.PLAYING
    assert player.position == 0.0
    assert not player.next()  # at the end: stays
    assert player.previous() and player.previous()
    assert player.snapshot().title == "T0"
    fake.stream.step(3)
    assert player.previous()  # at the first item: restart it
    assert player.snapshot().title == "T0" and player.position == 0.0
    player.pause()
    assert player.next()
    assert player.state is PlayerState.STOPPED  # paused -> the new item waits


def test_seek_beyond_the_end_ends_the_track(player, fake) -> None:
    x = ramp_signal(2000)
    player.load(Audio(x, RATE))
    player.play()
    fake.stream.step(1)
    player.pause()
    fake.stream.step(1)
    wait_until(lambda: fake.stream.closed)  # faded out: the stream is stopped while paused
    player.seek(999)
    assert player.position == player.duration == 2000 / RATE
    assert player.state is PlayerState.PAUSED  # paused at the end: nothing happens yet
    player.resume()
    fake.stream.step(1)
    assert player.wait(5)
    assert player.state is PlayerState.ENDED
    assert player.position == player.duration
    assert not np.isnan(fake.written).any()
    assert np.array_equal(fake.written[-BLOCK:], np.zeros((BLOCK, 2), np.float32))


def test_stop_rewinds_and_releases_the_device(player, fake) -> None:
    player.load(Audio(ramp_signal(4000), RATE))
    player.play()
    fake.stream.step(2)
    player.stop()
    assert player.state is PlayerState.STOPPED and player.position == 0.0
    assert fake.stream.closed and fake.stream.stopped_by == "stop"  # queued buffers drain
    player.play()
    assert len(fake.streams) == 2 and player.state is PlayerState.PLAYING


def test_corrupt_file_raises_decode_error_and_changes_nothing(player, fake, tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.m4a"
    bad.write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(range(256)) * 8)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(DecodeError):
        player.load(bad)
    assert player.snapshot().state is PlayerState.IDLE and player.duration == 0.0
    player.play()  # nothing loaded: a no-op, not an error
    assert player.state is PlayerState.IDLE and fake.streams == []
    x = ramp_signal(4000)
    player.load(Audio(x, RATE), "good")
    player.play()
    fake.stream.step(1)
    with pytest.raises(DecodeError):
        player.load(empty)
    snap = player.snapshot()
    assert snap.state is PlayerState.PLAYING and snap.title == "good" and snap.position == BLOCK / RATE
    fake.stream.step(1)
    assert np.array_equal(fake.written[BLOCK:], stereo(x[BLOCK:2 * BLOCK]))


def test_queue_skips_undecodable_items_and_says_so(player, fake, tmp_path: Path) -> None:
    bad = tmp_path / "bad.m4a"
    bad.write_bytes(b"not audio at all")
    a, c = ramp_signal(400), ramp_signal(400, scale=0.25)
    items = [QueueItem(Audio(a, RATE), "A"), QueueItem(bad, "Broken"), QueueItem(Audio(c, RATE), "C")]
    player.set_queue(items)
    player.play()
    fake.stream.step(2)
    wait_until(lambda: player.snapshot().title == "C")
    snap = player.snapshot()
    assert snap.index == 2 and snap.state is PlayerState.PLAYING
    assert snap.reason.startswith("cannot play 'Broken': cannot decode audio")
    with pytest.raises(DecodeError):
        player.set_queue([QueueItem(bad, "Broken")])


def test_real_encoded_preview_is_decoded_once_at_the_stream_rate(fake, tmp_path: Path) -> None:
    path = tmp_path / "preview.m4a"
    path.write_bytes(synth.encode(synth.chord((220.0, 277.2, 329.6), seconds=2.0), 44100, "m4a"))
    with SoundDevicePlayer(samplerate=48000, stream_factory=fake) as p:
        p.load(path)
        assert p.snapshot().title == "preview.m4a"
        expected = decode(path, 48000).samples
        assert p.duration == pytest.approx(expected.shape[0] / 48000)
        assert p.duration == pytest.approx(2.0, abs=0.06)
        p.play()
        fake.stream.step(4)
        out = fake.written
        block = p.blocksize
        assert fake.stream.samplerate == 48000 and fake.stream.blocksize == block
        assert np.array_equal(out[block:4 * block], stereo(expected[block:4 * block]))


def test_start_failure_is_an_error_state_and_play_retries(fake) -> None:
    fake.start_error = "Device unavailable [PaErrorCode -9985]"
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as p:
        p.load(Audio(ramp_signal(4000), RATE), "x")
        p.play()
        snap = p.snapshot()
        assert snap.state is PlayerState.ERROR
        assert snap.reason == ("playback off: cannot start audio output: "
                               "Device unavailable [PaErrorCode -9985]")
        fake.start_error = None
        p.play()
        assert p.state is PlayerState.PLAYING and p.reason == ""
        fake.stream.step(1)
        assert p.position == BLOCK / RATE


def test_device_failure_mid_play_turns_into_error_and_recovers(player, fake) -> None:
    player.load(Audio(ramp_signal(4000), RATE))
    player.play()
    fake.stream.step(2)
    fake.stream.fail("device unplugged")
    wait_until(lambda: player.state is PlayerState.ERROR)
    snap = player.snapshot()
    assert snap.reason == "playback off: the audio device stopped (disconnected or failed)"
    assert snap.position == 2 * BLOCK / RATE
    assert fake.stream.closed and fake.stream.stopped_by == "abort"  # a dead device is not waited on
    player.play()  # a new stream, resuming where it stopped
    assert player.state is PlayerState.PLAYING and len(fake.streams) == 2
    fake.stream.step(1)
    assert player.position == 3 * BLOCK / RATE


def test_an_exception_inside_the_callback_is_contained() -> None:
    fake = FakeOutput(outdata_channels=3)  # a driver handing out buffers of the wrong width: numpy raises
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, channels=2, stream_factory=fake) as p:
        p.load(Audio(ramp_signal(4000), RATE))
        p.play()
        fake.stream.step(1)
        wait_until(lambda: p.state is PlayerState.ERROR)
        assert p.reason.startswith("playback off: audio callback failed: ")
        assert fake.stream.closed and fake.stream.stopped_by == "abort"  # a failing stream is not drained
        assert np.array_equal(fake.written, np.zeros((BLOCK, 3), np.float32))


def test_a_fake_stream_that_does_not_record_still_drives_the_player() -> None:
    fake = FakeOutput(autorun=True, record=False)
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as p:
        p.load(Audio(ramp_signal(2000), RATE))
        p.play()
        assert p.wait(5) and p.state is PlayerState.ENDED
        assert fake.stream.callbacks >= 10 and fake.written.shape == (0, 2)


def test_xruns_are_counted(fake) -> None:
    fake.status_flags = 1  # PortAudio reports an output underflow on every block
    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as p:
        p.load(Audio(ramp_signal(4000), RATE))
        p.play()
        fake.stream.step(3)
        assert p.snapshot().xruns == 3
        assert p.state is PlayerState.PLAYING


def test_null_player_is_a_harmless_no_op() -> None:
    p = NullPlayer("no audio output device")
    assert not p.available and p.state is PlayerState.OFF
    assert p.reason == "playback off: no audio output device"
    for call in (p.play, p.pause, p.resume, p.toggle, p.stop, p.volume_up, p.volume_down, p.close):
        call()
    p.load("/nonexistent.m4a")
    p.set_queue([QueueItem("/x.m4a")])
    p.seek(10, relative=True)
    p.set_volume(0.5)
    assert p.next() is False and p.previous() is False and p.wait(0) is True
    snap = p.snapshot()
    assert snap.state is PlayerState.OFF and snap.reason == p.reason and snap.position == 0.0


def test_key_mash_from_another_thread_leaves_a_consistent_state() -> None:
    fake = FakeOutput(autorun=True, pace=0.05)
    sources = [ramp_signal(4000, scale=0.3 + 0.1 * k, offset=k) for k in range(3)]
    peak = max(float(np.max(np.abs(s))) for s in sources)
    errors: list[BaseException] = []
    interleaved: list[bool] = []
    bad_snapshots: list[object] = []
    done = threading.Event()
    valid = set(PlayerState) - {PlayerState.OFF, PlayerState.ERROR}

    with SoundDevicePlayer(samplerate=RATE, blocksize=BLOCK, stream_factory=fake) as p:
        p.set_queue([QueueItem(Audio(s, RATE), f"T{k}") for k, s in enumerate(sources)])

        def mash() -> None:
            rng = np.random.default_rng(1234)
            actions = [
                p.play, p.pause, p.toggle, p.resume, p.next, p.previous, p.volume_up, p.volume_down,
                lambda: p.seek(float(rng.uniform(-1, 1)), relative=True),
                lambda: p.seek(float(rng.uniform(-0.2, 0.7))),
                lambda: p.set_volume(float(rng.uniform(-0.5, 1.5))),
                p.stop,
            ]
            weights = np.array([4, 3, 4, 2, 2, 2, 1, 1, 3, 3, 1, 0.3])
            try:
                for step in range(1000):
                    actions[rng.choice(len(actions), p=weights / weights.sum())]()
                    if step % 20 == 0 and fake.streams and fake.stream.active:
                        seen = fake.stream.callbacks  # interleave for sure: let the callback run again
                        deadline = time.monotonic() + 2
                        while fake.stream.callbacks == seen and fake.stream.active \
                                and time.monotonic() < deadline:
                            time.sleep(0.0005)
                        interleaved.append(fake.stream.callbacks > seen)
            except BaseException as exc:  # recorded and re-raised in the test thread
                errors.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=mash)
        worker.start()
        while not done.is_set():
            snap = p.snapshot()
            if not (0.0 <= snap.position <= snap.duration and snap.state in valid and 0 <= snap.volume <= 1):
                bad_snapshots.append(snap)
            time.sleep(0.0005)
        worker.join()
        assert not errors, errors
        assert not bad_snapshots, bad_snapshots[:3]
        p.play()
        p.seek(0.1)
        wait_until(lambda: p.position > 0.1 or p.state is not PlayerState.PLAYING, message=p.snapshot)
        snap = p.snapshot()
        assert snap.state in valid and 0 <= snap.position <= snap.duration
        assert snap.reason == ""
        assert sum(interleaved) >= 10  # the callback really ran between the commands, throughout
    out = fake.written
    assert not np.isnan(out).any()  # every sample of every block was written
    assert float(np.max(np.abs(out))) <= peak + 1e-6
    assert all(s.closed for s in fake.streams)
