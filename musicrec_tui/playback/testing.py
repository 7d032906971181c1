"""A stand-in for sounddevice.OutputStream for tests (playback's own and the TUI's): no device needed.

A driver thread calls the player's callback block by block, like PortAudio's audio thread, and records every
frame written. `outdata` is filled with NaN before each call, as real output buffers hold garbage, so a
callback that leaves samples unwritten shows up in the recording. Driving is either free-running (optionally
paced like a real device) or stepped (`step(n)` runs exactly n callbacks on the driver thread and waits).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np


class FakeStreamError(RuntimeError):
    """Raised by a fake stream told to fail at start (a busy device)."""


class FakeOutputStream:
    """Implements the part of sounddevice.OutputStream the player uses: start, stop, abort, close, active."""

    def __init__(self, owner: FakeOutput, *, samplerate: float, blocksize: int, channels: int,
                 callback: Callable[..., None], finished_callback: Callable[[], None] | None = None,
                 dtype: str = "float32", device: Any = None, **_: Any) -> None:
        if dtype != "float32":
            raise ValueError(f"fake stream only does float32, not {dtype}")
        self.owner = owner
        self.samplerate = float(samplerate)
        self.blocksize = int(blocksize)
        self.channels = int(channels)
        self.device = device
        self._callback = callback
        self._finished_callback = finished_callback
        self._blocks: list[np.ndarray] = []
        # owner.outdata_channels simulates a misbehaving driver handing out buffers of another width.
        width = owner.outdata_channels or self.channels
        self._outdata = np.empty((self.blocksize, width), dtype=np.float32)
        self._cond = threading.Condition()
        self._requested = 0  # stepped mode: callbacks still to run
        self._running = False
        self._thread: threading.Thread | None = None
        self.started = False
        self.closed = False
        self.failed: str | None = None
        self.stopped_by: str | None = None
        self.callbacks = 0

    # ---------------------------------------------------------------- sounddevice API
    @property
    def active(self) -> bool:
        return self._running

    def start(self) -> None:
        if self.owner.start_error is not None:
            raise FakeStreamError(self.owner.start_error)
        if self.closed:
            raise FakeStreamError("stream is closed")
        with self._cond:
            if self._running:
                return
            self._running = True
        self.started = True
        self._thread = threading.Thread(target=self._drive, name="fake-audio", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopped_by = "stop"
        self._halt(notify=True)

    def abort(self) -> None:
        self.stopped_by = "abort"
        self._halt(notify=True)

    def close(self) -> None:
        self._halt(notify=True)
        self.closed = True

    # ---------------------------------------------------------------- test controls
    def step(self, blocks: int = 1, timeout: float = 10.0) -> None:
        """Stepped mode: run exactly `blocks` callbacks on the driver thread, return when they are done."""
        with self._cond:
            if not self._running:
                raise RuntimeError("stream is not running")
            self._requested += blocks
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._requested == 0 or not self._running, timeout):
                raise TimeoutError("fake stream driver did not finish the requested blocks")

    def fail(self, message: str = "device unplugged") -> None:
        """Simulate the device dying mid-play: no more callbacks, then finished_callback, like PortAudio."""
        self.failed = message
        self._halt(notify=True)

    @property
    def written(self) -> np.ndarray:
        """Every frame the callback wrote, in order, shape (frames, channels)."""
        with self._cond:
            blocks = list(self._blocks)
        if not blocks:
            return np.zeros((0, self.channels), dtype=np.float32)
        return np.concatenate(blocks)

    # ---------------------------------------------------------------- driver thread
    def _halt(self, notify: bool) -> None:
        with self._cond:
            was_running = self._running
            self._running = False
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        if was_running and notify and self._finished_callback is not None:
            self._finished_callback()

    def _drive(self) -> None:
        pace = self.owner.pace * self.blocksize / self.samplerate
        while True:
            with self._cond:
                if self.owner.autorun:
                    if not self._running:
                        return
                else:
                    self._cond.wait_for(lambda: self._requested > 0 or not self._running)
                    if not self._running:
                        return
                self._run_one()
                if not self.owner.autorun:
                    self._requested -= 1
                    self._cond.notify_all()
            if pace:
                time.sleep(pace)

    def _run_one(self) -> None:
        self._outdata.fill(np.nan)
        self._callback(self._outdata, self.blocksize, None, self.owner.status_flags)
        self.callbacks += 1
        if self.owner.record:
            self._blocks.append(self._outdata.copy())


class FakeOutput:
    """A stream factory for SoundDevicePlayer(stream_factory=...): records the streams it made.

    autorun=False: stepped driving (`stream.step(n)`); autorun=True: free-running, `pace` = fraction of real
    time per block (0 = as fast as possible, 1 = like a device). `start_error` makes start() raise (busy).
    record=False keeps no frames (long-running TUI tests).
    """

    def __init__(self, *, autorun: bool = False, pace: float = 0.0, start_error: str | None = None,
                 status_flags: Any = 0, outdata_channels: int | None = None, record: bool = True) -> None:
        self.autorun = autorun
        self.pace = pace
        self.start_error = start_error
        self.status_flags = status_flags
        self.outdata_channels = outdata_channels
        self.record = record  # False for long-running UI tests: count callbacks, keep no frames
        self.streams: list[FakeOutputStream] = []

    def __call__(self, **kwargs: Any) -> FakeOutputStream:
        stream = FakeOutputStream(self, **kwargs)
        self.streams.append(stream)
        return stream

    @property
    def stream(self) -> FakeOutputStream:
        """The most recently opened stream."""
        if not self.streams:
            raise LookupError("no stream was opened")
        return self.streams[-1]

    @property
    def written(self) -> np.ndarray:
        """Frames written across every stream opened so far."""
        parts = [s.written for s in self.streams]
        return np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.float32)
