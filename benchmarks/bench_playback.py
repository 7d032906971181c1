"""How long the audio callback and `load` take, against baselines measured in the same run.

Callback: median time per 1024-frame stereo block (the budget is one block, 23.2 ms at 44.1 kHz) for steady
gain, a volume ramp and pause, against a bare `np.copyto` of the same block. Load: a 30 s AAC preview decoded
at 44.1 kHz and laid out as stereo, against `core.audio.decode` alone.

    .venv/bin/python benchmarks/bench_playback.py   (from a worktree: python -m benchmarks.bench_playback)
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from musicrec_tui.core import synth
from musicrec_tui.core.audio import Audio, decode
from musicrec_tui.playback import SoundDevicePlayer
from musicrec_tui.playback.testing import FakeOutput

RATE = 44100
REPEATS = 2000


def per_block(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1000.0  # microseconds


def main() -> None:
    x = synth.chord((220.0, 277.2, 329.6), seconds=30.0, rate=RATE)
    player = SoundDevicePlayer(samplerate=RATE, stream_factory=FakeOutput())
    player.load(Audio(x, RATE))
    block = player.blocksize
    out = np.empty((block, 2), dtype=np.float32)
    buf = player._shared.buffer
    assert buf is not None
    budget_us = block / RATE * 1e6

    baseline = per_block(lambda: np.copyto(out, buf[1000:1000 + block]))
    player.play()  # opens the (stepped, idle) fake stream; we drive the callback directly below
    player.seek(1.0)

    def steady() -> None:
        player._callback(out, block, None, 0)
        if player._pos > buf.shape[0] - 2 * block:
            player.seek(1.0)

    steady_us = per_block(steady)
    flip = [0.5, 1.0]

    def ramp() -> None:
        flip.reverse()
        player.set_volume(flip[0])
        steady()

    ramp_us = per_block(ramp)
    player.pause()
    paused_us = per_block(steady)
    player.close()

    print(f"block {block} frames = {budget_us:.0f} us of audio at {RATE} Hz")
    print(f"baseline np.copyto        {baseline:8.1f} us")
    for name, value in (("steady gain", steady_us), ("volume ramp", ramp_us), ("paused", paused_us)):
        print(f"callback {name:<16} {value:8.1f} us  x{value / baseline:5.1f} baseline  "
              f"{100 * value / budget_us:5.2f}% of the block budget")

    data = synth.encode(x, RATE, "m4a")
    decode_s = statistics.median(_timed(lambda: decode(data, RATE)) for _ in range(5))
    with SoundDevicePlayer(samplerate=RATE, stream_factory=FakeOutput()) as p:
        load_s = statistics.median(_timed(lambda: p.load(data)) for _ in range(5))
    print(f"decode 30 s AAC           {decode_s * 1000:8.1f} ms")
    print(f"player.load 30 s AAC      {load_s * 1000:8.1f} ms  x{load_s / decode_s:4.2f} decode")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
