"""The sounddevice backend: the whole preview decoded once, fed to an OutputStream by a non-blocking callback.

Threads and the handoff between them
------------------------------------
* Control threads (UI, CLI, workers) call the public methods. They serialise on `self._lock` (an RLock) and
  publish everything the audio callback needs as ONE immutable `_Shared` object, swapped in by a single
  attribute assignment. Under the GIL a reference assignment is atomic, so the callback always sees either the
  old or the new object, never a half-written state, and it never takes a lock: a lock-free handoff.
* The audio callback (PortAudio's thread) reads `self._shared` once per block and owns a few attributes that
  only it writes while a stream runs (`_pos`, `_gain`, `_applied_seek` ...). A seek is a request
  (`seek_serial`, `seek_frame`) the callback applies at the start of its next block, so a seek can never be
  lost to a read-modify-write race with the callback advancing the position.
* Audio -> control: the callback posts small tuples to a `queue.SimpleQueue` (`put` never blocks) and a player
  thread ("musicrec-player") consumes them: end of track (advance the queue, decoding the next item off both
  the audio and the UI thread), output faded to silence (pause: the stream is stopped, so nothing more is
  written to the device while paused; resume opens a new one at the held frame), stream finished unexpectedly,
  or callback failure.
The callback never blocks, never allocates more than a few small array views, and never calls user code.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..core.audio import Audio, decode
from ..core.errors import DecodeError
from .base import (
    VOLUME_STEP,
    PlayerSnapshot,
    PlayerState,
    QueueItem,
    Source,
    TrackEnd,
    TrackEndCallback,
    clamp_volume,
)

StreamFactory = Callable[..., Any]

_STOP_EVENT = ("close",)


def blocksize_for(rate: int) -> int:
    """The largest power of two <= rate/40: ~23 ms at 44.1/48 kHz, so position updates arrive at >= 40 Hz."""
    size = 256
    while size * 2 <= rate / 40:
        size *= 2
    return size


@dataclass(frozen=True, slots=True)
class _Shared:
    """Everything the callback reads, plus the status a snapshot shows; replaced, never mutated."""

    buffer: np.ndarray | None = None  # (frames, channels) float32 at the stream rate
    token: int = 0  # bumped for every newly loaded track
    playing: bool = False
    volume: float = 1.0
    seek_serial: int = 0
    seek_frame: int = 0
    state: PlayerState = PlayerState.IDLE
    reason: str = ""
    title: str = ""
    key: object = None
    index: int = -1
    queue_length: int = 0


class SoundDevicePlayer:
    """Plays decoded previews through an output stream (sounddevice.OutputStream unless one is injected).

    `stream_factory(**kwargs)` receives samplerate, blocksize, channels, dtype, device, callback and
    finished_callback and returns an object with start(), stop() and close(), like sounddevice.OutputStream.
    """

    def __init__(
        self,
        *,
        samplerate: int,
        channels: int = 2,
        device: int | str | None = None,
        device_name: str = "",
        stream_factory: StreamFactory | None = None,
        blocksize: int | None = None,
        volume: float = 1.0,
        on_track_end: TrackEndCallback | None = None,
        loader: Callable[[], ModuleType] | None = None,
    ) -> None:
        if samplerate <= 0 or channels <= 0:
            raise ValueError("samplerate and channels must be positive")
        self.rate = int(samplerate)
        self.channels = int(channels)
        self.blocksize = int(blocksize or blocksize_for(self.rate))
        self._device = device
        self._device_name = device_name
        self._factory = stream_factory
        self._loader = loader
        self._on_track_end = on_track_end
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._queue: list[QueueItem] = []
        self._version = 0  # bumped by every control command; lets the player thread detect user actions
        self._stream: Any = None
        self._stream_serial = 0
        self._closed = False
        self._shared = _Shared(volume=clamp_volume(volume))
        # Preallocated for the callback: a linear ramp 1..N and a scratch column for per-frame gains.
        cap = self.blocksize * 8
        self._ramp = np.arange(1, cap + 1, dtype=np.float32).reshape(-1, 1)
        self._gains = np.empty((cap, 1), dtype=np.float32)
        # Owned by the audio callback while a stream runs.
        self._pos = 0
        self._gain = 0.0
        self._applied_seek = 0
        self._token = 0
        self._ended_posted = False
        self._quiet_posted = False
        self._xruns = 0
        self._callback_failed = False
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run_events, name="musicrec-player", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ reading
    @property
    def available(self) -> bool:
        return True

    @property
    def state(self) -> PlayerState:
        return self._shared.state

    @property
    def reason(self) -> str:
        return self._shared.reason

    @property
    def volume(self) -> float:
        return self._shared.volume

    @property
    def duration(self) -> float:
        buf = self._shared.buffer
        return 0.0 if buf is None else buf.shape[0] / self.rate

    @property
    def position(self) -> float:
        return self._position_frames(self._shared) / self.rate

    @property
    def queue(self) -> tuple[QueueItem, ...]:
        return tuple(self._queue)

    def _position_frames(self, shared: _Shared) -> int:
        # Read `_applied_seek` before `_pos`: the callback writes `_pos` first, so a matching serial means
        # `_pos` already reflects the seek. An unapplied seek is reported as its target.
        if self._applied_seek != shared.seek_serial:
            return shared.seek_frame
        return self._pos

    def snapshot(self) -> PlayerSnapshot:
        shared = self._shared
        buf = shared.buffer
        frames = 0 if buf is None else buf.shape[0]
        pos = min(max(self._position_frames(shared), 0), frames)
        return PlayerSnapshot(
            state=shared.state,
            position=pos / self.rate,
            duration=frames / self.rate,
            volume=shared.volume,
            reason=shared.reason,
            title=shared.title,
            key=shared.key,
            index=shared.index,
            queue_length=shared.queue_length,
            device=self._device_name,
            xruns=self._xruns,
        )

    # ------------------------------------------------------------------ queue and loading
    def load(self, source: Source, title: str = "", key: object = None) -> None:
        """Replace the queue with one item and load it (STOPPED). Raises DecodeError; then nothing changes."""
        self.set_queue([QueueItem(source, title, key)])

    def set_queue(self, items: Sequence[QueueItem], start: int = 0) -> None:
        """Replace the queue and load `items[start]`, skipping undecodable items after it (see reason).

        Raises DecodeError, changing nothing, when no item from `start` on can be decoded.
        """
        items = list(items)
        if not items:
            with self._lock:
                self._close_stream()
                self._queue = []
                self._version += 1
                self._publish(buffer=None, token=self._shared.token + 1, playing=False,
                              state=PlayerState.IDLE, reason="", title="", key=None, index=-1, queue_length=0,
                              **self._seek_fields(0))
            return
        start = min(max(start, 0), len(items) - 1)
        index, buffer, skipped = self._decode_from(items, start, step=1)
        if buffer is None:
            raise DecodeError(skipped[-1] if skipped else "nothing to play")
        with self._lock:
            self._queue = items
            self._version += 1
            self._install(index, buffer, playing=False, reason=_skipped_reason(skipped))

    def enqueue(self, item: QueueItem) -> None:
        """Append to the queue; an empty player loads it."""
        with self._lock:
            if self._queue:
                self._queue.append(item)
                self._publish(queue_length=len(self._queue))
                return
        self.set_queue([item])

    def next(self) -> bool:
        """Go to the next decodable item (keeps playing if playing). False at the end of the queue."""
        return self._step(+1)

    def previous(self) -> bool:
        """Go to the previous decodable item; at the first item, restart it. False when nothing is loaded."""
        with self._lock:
            if self._shared.index == 0:
                self._seek_frames(0)
                return True
        return self._step(-1)

    def _step(self, step: int) -> bool:
        with self._lock:
            items, current, version = list(self._queue), self._shared.index, self._version
        if current < 0 or not 0 <= current + step < len(items):
            return False
        index, buffer, skipped = self._decode_from(items, current + step, step=step)
        with self._lock:
            if buffer is None:
                self._publish(reason=_skipped_reason(skipped))
                return False
            if self._version != version:
                return False  # another command won the race; do not undo it
            self._version += 1
            playing = self._shared.state is PlayerState.PLAYING
            self._install(index, buffer, playing=playing, reason=_skipped_reason(skipped))
            if playing:
                self._ensure_stream()
            return True

    def _decode_from(
        self, items: Sequence[QueueItem], start: int, step: int
    ) -> tuple[int, np.ndarray | None, list[str]]:
        """Decode items[start], items[start+step] ... until one works. Runs outside the lock."""
        skipped: list[str] = []
        i = start
        while 0 <= i < len(items):
            try:
                return i, self._prepare(items[i].source), skipped
            except DecodeError as exc:
                skipped.append(f"cannot play {items[i].label!r}: {exc.one_line()}")
            i += step
        return -1, None, skipped

    def _prepare(self, source: Source) -> np.ndarray:
        """Decode to mono at the stream rate (soxr when needed), laid out as (frames, channels)."""
        if isinstance(source, Audio):
            mono = np.asarray(source.samples, dtype=np.float32).reshape(-1)
            if source.rate != self.rate:
                import soxr

                mono = soxr.resample(mono, source.rate, self.rate, "HQ").astype(np.float32, copy=False)
        elif isinstance(source, str | Path | bytes | bytearray):
            mono = decode(bytes(source) if isinstance(source, bytearray) else source, self.rate).samples
        else:
            raise DecodeError(f"cannot play a {type(source).__name__}")
        if mono.shape[0] == 0:
            raise DecodeError("no audio frames decoded")
        if not np.all(np.isfinite(mono)):
            raise DecodeError("audio contains invalid samples")
        out = np.empty((mono.shape[0], self.channels), dtype=np.float32)
        out[:] = mono[:, None]
        return out

    def _install(self, index: int, buffer: np.ndarray, *, playing: bool, reason: str) -> None:
        """Make queue[index] current (under the lock): new token, position 0."""
        item = self._queue[index]
        state = PlayerState.PLAYING if playing else PlayerState.STOPPED
        self._publish(buffer=buffer, token=self._shared.token + 1, playing=playing, state=state,
                      reason=reason, title=item.label, key=item.key, index=index, queue_length=len(self._queue),
                      **self._seek_fields(0))

    # ------------------------------------------------------------------ transport
    def play(self) -> None:
        """Start or resume. From ENDED, restart the current item; from ERROR, reopen the device."""
        with self._lock:
            shared = self._shared
            if shared.buffer is None or self._closed or shared.state is PlayerState.PLAYING:
                return
            self._version += 1
            extra: dict[str, Any] = {}
            if shared.state is PlayerState.ENDED:
                extra = self._seek_fields(0)
            self._publish(playing=True, state=PlayerState.PLAYING, reason="", **extra)
            self._ensure_stream()

    def resume(self) -> None:
        self.play()

    def pause(self) -> None:
        """Fade out over one block and hold the position; then the stream is stopped (nothing is written to the
        device while paused) and resume opens a new one that starts at the held frame."""
        with self._lock:
            if self._shared.state is PlayerState.PLAYING:
                self._version += 1
                self._publish(playing=False, state=PlayerState.PAUSED)

    def toggle(self) -> None:
        with self._lock:
            if self._shared.state is PlayerState.PLAYING:
                self.pause()
            else:
                self.play()

    def stop(self) -> None:
        """Stop, rewind to 0 and release the output device."""
        with self._lock:
            shared = self._shared
            if shared.buffer is None:
                return
            self._version += 1
            self._close_stream()
            self._publish(playing=False, state=PlayerState.STOPPED, **self._seek_fields(0))

    def seek(self, seconds: float, *, relative: bool = False) -> None:
        """Jump to `seconds` (or by `seconds` when relative), clamped to [0, duration]. At the end while
        playing, the track ends and the queue advances."""
        with self._lock:
            shared = self._shared
            if shared.buffer is None or seconds != seconds:  # nothing loaded, or NaN
                return
            base = self._position_frames(shared) if relative else 0
            self._seek_frames(base + round(seconds * self.rate))

    def _seek_frames(self, frame: int) -> None:
        shared = self._shared
        if shared.buffer is None:
            return
        self._version += 1
        extra: dict[str, Any] = {}
        if shared.state is PlayerState.ENDED:
            extra["state"] = PlayerState.STOPPED
        self._publish(**self._seek_fields(min(max(frame, 0), shared.buffer.shape[0])), **extra)

    def _seek_fields(self, frame: int) -> dict[str, int]:
        return {"seek_serial": self._shared.seek_serial + 1, "seek_frame": int(frame)}

    def set_volume(self, volume: float) -> None:
        """Linear gain in [0, 1]; the change is ramped over the next block."""
        with self._lock:
            self._publish(volume=clamp_volume(volume))

    def volume_up(self, step: float = VOLUME_STEP) -> None:
        with self._lock:
            self.set_volume(round(self._shared.volume + step, 6))

    def volume_down(self, step: float = VOLUME_STEP) -> None:
        with self._lock:
            self.set_volume(round(self._shared.volume - step, 6))

    def set_on_track_end(self, callback: TrackEndCallback | None) -> None:
        """Called on the player thread (never the audio thread) after each track ends and the queue moved on.
        A UI must hop to its own thread (Textual: `app.call_from_thread`)."""
        self._on_track_end = callback

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the player is not PLAYING (ended, stopped, paused, error). False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._shared.state is not PlayerState.PLAYING, timeout)

    def close(self) -> None:
        """Release the device and stop the player thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._version += 1  # a queue advance decoding right now must not install its track
            self._close_stream()
            self._publish(playing=False, state=PlayerState.STOPPED if self._shared.buffer is not None
                          else PlayerState.IDLE)
        self._events.put(_STOP_EVENT)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SoundDevicePlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ control-side internals (under the lock)
    def _publish(self, **changes: Any) -> None:
        old = self._shared
        self._shared = replace(old, **changes)
        if self._shared.state is not old.state or self._shared.playing is not old.playing:
            self._changed.notify_all()

    def _open_stream(self) -> Any:
        if self._factory is not None:
            factory = self._factory
        else:
            from .device import load_sounddevice

            factory = (self._loader or load_sounddevice)().OutputStream
        serial = self._stream_serial

        def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            self._callback(outdata, frames, time_info, status, serial)

        return factory(samplerate=self.rate, blocksize=self.blocksize, channels=self.channels,
                       dtype="float32", device=self._device, callback=callback,
                       finished_callback=lambda: self._events.put(("finished", serial)))

    def _ensure_stream(self) -> None:
        if self._stream is not None or self._closed:
            return
        self._stream_serial += 1
        self._gain = 0.0  # no stream runs: the control thread may reset the callback's state
        self._callback_failed = False
        self._quiet_posted = False
        stream = None
        try:
            stream = self._open_stream()
            stream.start()
        except Exception as exc:  # PortAudioError, OSError, ValueError ...: the app goes on
            if stream is not None:
                with contextlib.suppress(Exception):  # best effort on a stream that never started
                    stream.close()
            self._stream_serial += 1
            self._publish(playing=False, state=PlayerState.ERROR,
                          reason=f"playback off: cannot start audio output: {_one_line(exc)}")
            return
        self._stream = stream

    def _close_stream(self, abort: bool = False) -> None:
        """Stop (letting queued buffers play) or, for a failed device, abort (not waiting on it), then close."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._stream_serial += 1  # its finished_callback is now expected and ignored
        # The callback never takes the lock, so waiting for it here cannot deadlock.
        with contextlib.suppress(Exception):  # a dead device may refuse to stop; it is gone anyway
            stream.abort() if abort else stream.stop()
        with contextlib.suppress(Exception):
            stream.close()

    def _fail(self, reason: str) -> None:
        with self._lock:
            self._version += 1
            self._close_stream(abort=True)
            self._publish(playing=False, state=PlayerState.ERROR, reason=reason)

    # ------------------------------------------------------------------ audio thread
    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any, serial: int = 0) -> None:
        try:
            self._render(outdata, frames, status, serial)
        except Exception as exc:  # escaping, it would kill the stream with a traceback
            outdata.fill(0)
            if not self._callback_failed:
                self._callback_failed = True
                self._events.put(("error", f"playback off: audio callback failed: {_one_line(exc)}"))

    def _render(self, outdata: np.ndarray, frames: int, status: Any, serial: int) -> None:
        shared = self._shared  # one atomic read: a consistent view for the whole block
        if status:
            self._xruns += 1
        if shared.seek_serial != self._applied_seek:
            if shared.token != self._token:
                self._token = shared.token
                self._gain = 0.0  # a new track ramps in over its first block
            self._pos = shared.seek_frame
            self._applied_seek = shared.seek_serial
            self._ended_posted = False
        buf = shared.buffer
        g0 = self._gain
        g1 = shared.volume if shared.playing else 0.0
        if shared.playing:
            self._quiet_posted = False
        elif not self._quiet_posted:  # this block fades out (or is silent): ask for the stream to be stopped
            self._quiet_posted = True
            self._events.put(("quiet", serial))
        if buf is None or (not shared.playing and g0 == 0.0):  # faded out, the stop under way: hold the position
            outdata.fill(0)
            self._gain = g1
            return
        pos = self._pos
        count = max(0, min(frames, buf.shape[0] - pos))
        if count:
            src = buf[pos:pos + count]
            dst = outdata[:count]
            if g0 == g1:
                np.multiply(src, np.float32(g1), out=dst)
            elif count <= self._ramp.shape[0]:
                # gain(i) = g0 + (g1 - g0) * (i + 1) / frames: linear across the block, exactly g1 at its end
                gains = self._gains[:count]
                np.multiply(self._ramp[:count], np.float32((g1 - g0) / frames), out=gains)
                np.add(gains, np.float32(g0), out=gains)
                np.multiply(src, gains, out=dst)
            else:  # a huge block (never with a fixed blocksize): allocate, do not fail
                ramp = np.arange(1, count + 1, dtype=np.float32).reshape(-1, 1)
                np.multiply(src, ramp * np.float32((g1 - g0) / frames) + np.float32(g0), out=dst)
        if count < frames:
            outdata[count:].fill(0)
        self._pos = pos + count
        self._gain = g1
        if shared.playing and self._pos >= buf.shape[0] and not self._ended_posted:
            self._ended_posted = True
            self._events.put(("ended", shared.token))

    # ------------------------------------------------------------------ player thread
    def _run_events(self) -> None:
        while True:
            event = self._events.get()
            kind = event[0]
            if kind == "close":
                return
            if kind == "ended":
                self._advance(event[1])
            elif kind == "quiet":
                with self._lock:  # paused (or loaded while playing) and faded out: release the device
                    if self._stream is not None and event[1] == self._stream_serial and not self._shared.playing:
                        self._close_stream()
            elif kind == "finished":
                with self._lock:
                    unexpected = self._stream is not None and event[1] == self._stream_serial
                if unexpected:
                    self._fail("playback off: the audio device stopped (disconnected or failed)")
            elif kind == "error":
                self._fail(event[1])

    def _advance(self, token: int) -> None:
        with self._lock:
            shared = self._shared
            if (shared.token != token or shared.state is not PlayerState.PLAYING or shared.buffer is None
                    or self._applied_seek != shared.seek_serial or self._pos < shared.buffer.shape[0]):
                return  # stale: the user loaded, seeked or paused since the callback posted
            items, version, finished_index = list(self._queue), self._version, shared.index
        finished = items[finished_index]
        index, buffer, skipped = (
            self._decode_from(items, finished_index + 1, step=1) if finished_index + 1 < len(items)
            else (-1, None, [])
        )
        with self._lock:
            if self._version != version or self._shared.token != token:
                return
            self._version += 1
            if buffer is None:
                self._close_stream()
                self._publish(playing=False, state=PlayerState.ENDED, reason=_skipped_reason(skipped))
            else:
                self._install(index, buffer, playing=True, reason=_skipped_reason(skipped))
        callback = self._on_track_end
        if callback is None:
            return
        try:
            callback(TrackEnd(finished, finished_index, None if buffer is None else index, self.snapshot()))
        except Exception as exc:  # a faulty listener must not stop the player thread (no more advancing)
            with self._lock:
                self._publish(reason=f"track-end callback failed: {_one_line(exc)}")


def _skipped_reason(skipped: list[str]) -> str:
    if not skipped:
        return ""
    more = f" (+{len(skipped) - 1} more skipped)" if len(skipped) > 1 else ""
    return skipped[0] + more


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
