"""Full-length local files: time per track on one core, and memory whatever the length.

A 5-minute track (synthesised chords over drums) in each format is analysed as the pipeline's workers do it
(`ingest.analysis.analyse_file`: 5 windows of 6 s found by seeking, musicnn + the handcrafted explainer), on
one pinned core, median of several runs, next to the target (<= 0.5 s) and to the old path measured in the
same run (decode the whole file, analyse all of it). Real full-length files from the quality corpus's cache
are timed too when present. Then peak memory (the process's own peak RSS, VmHWM) analysing 5 minutes, 1 hour and 3
hours of WAV, each in a fresh process.

    .venv/bin/python benchmarks/bench_longfiles.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_S = 0.5
# VmHWM, not getrusage: a vforked child's ru_maxrss inherits its parent's high-water mark at exec
MEMORY_PROBE = """
import sys
from musicrec_tui.ingest.analysis import analyse_file
r = analyse_file(sys.argv[1], "musicnn", ("handcrafted",))
assert r.values is not None, r.error
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(int(hwm.split()[1]) / 1024)
"""


def five_minutes(rate: int = 44100) -> np.ndarray:
    from musicrec_tui.core import synth

    parts = []
    for i in range(10):  # 30 s sections: the windows land in different ones
        root = 110.0 * 2 ** (i / 5)
        section = synth.chord((root, root * 1.25, root * 1.5), seconds=30.0, rate=rate, seed=i)
        section = section + synth.drums(90 + 8 * i, seconds=30.0, rate=rate)
        parts.append(0.5 * section)
    return np.concatenate(parts).astype(np.float32)


def timed(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm: model loaded, caches filled
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def old_path(path: str) -> None:
    """What analysis did before windows: decode everything, analyse everything."""
    from musicrec_tui.core import features
    from musicrec_tui.core.audio import decode

    audio = decode(path)
    features.get("musicnn")(audio.samples, audio.rate)
    features.get("handcrafted")(audio.samples, audio.rate)


def write_wav(path: Path, seconds: float, rate: int = 22050) -> None:
    block = (np.clip(five_minutes(rate)[: 60 * rate], -1, 1) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        for _ in range(int(seconds // 60)):
            out.writeframes(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import av
    from threadpoolctl import threadpool_limits

    from benchmarks import corpus as corpora
    from musicrec_tui.core import synth
    from musicrec_tui.core.audio import _duration
    from musicrec_tui.ingest.analysis import analyse_file, warm_up

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    threadpool_limits(1)
    warm_up("musicnn", ("handcrafted",))
    music = five_minutes()
    load = os.getloadavg()[0]
    print(f"one pinned core; analyse_file(musicnn + handcrafted), median of {args.runs}; load average {load:.1f} "
          f"on {os.cpu_count()} cores (the figures scale with it)\n")
    print(f"{'5-minute track':<16} {'windows s':>9} {'target':>7} {'whole file s':>12} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("m4a", "mp3", "ogg", "flac", "wav"):
            rate = 48000 if fmt == "ogg" else 44100
            data = music if rate == 44100 else synth_resample(music, 44100, rate)
            path = Path(tmp) / f"five.{fmt}"
            path.write_bytes(synth.encode(data, rate=rate, fmt=fmt))
            new = timed(lambda p=str(path): analyse_file(p, "musicnn", ("handcrafted",)), args.runs)
            old = timed(lambda p=str(path): old_path(p), 1)
            print(f"{fmt:<16} {new:>9.3f} {'ok' if new <= TARGET_S else 'MISSED':>7} {old:>12.3f} {old / new:>5.1f}x")
        cached = corpora.cache_dir(None) / "extracted"
        real = []
        for pkg in sorted(cached.glob("*")) if cached.exists() else []:
            for f in corpora.music_files(pkg):
                try:
                    with av.open(str(f)) as c:
                        seconds = _duration(c, c.streams.audio[0]) if c.streams.audio else None
                except av.error.FFmpegError:
                    continue
                if seconds and seconds >= 240:
                    real.append((f, seconds))
        if real:
            times = [timed(lambda p=str(f): analyse_file(p, "musicnn", ("handcrafted",)), 3) for f, _ in real[:8]]
            lengths = [s / 60 for _, s in real[:8]]
            print(f"{'real files':<16} {statistics.median(times):>9.3f} "
                  f"{'ok' if statistics.median(times) <= TARGET_S else 'MISSED':>7}   ({len(times)} cached files of "
                  f"{min(lengths):.0f}-{max(lengths):.0f} min, {real[0][0].suffix})")
        print(f"\n{'WAV length':<16} {'peak RSS MiB':>12}  (a fresh process analysing it)")
        for label, seconds in (("5 minutes", 300.0), ("1 hour", 3600.0), ("3 hours", 10800.0)):
            path = Path(tmp) / "long.wav"
            write_wav(path, seconds)
            out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path)], capture_output=True, text=True,
                                 check=True, cwd=ROOT).stdout
            print(f"{label:<16} {float(out.strip()):>12.0f}")
            path.unlink()


def synth_resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    import soxr

    return soxr.resample(x, src, dst, "HQ").astype(np.float32)


if __name__ == "__main__":
    main()
