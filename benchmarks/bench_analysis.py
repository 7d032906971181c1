"""Analysis time of one 30 s preview, decode included, per extractor, against the prototype's pipeline.

Run:  python benchmarks/bench_analysis.py [--runs 15] [--all-cores]
Single-threaded (OMP/OPENBLAS/MKL/NUMBA threads = 1, pinned to one CPU unless --all-cores). For each pipeline:
  * cold: a fresh interpreter's imports + first call (numba JIT, FFmpeg and scipy loading), measured separately;
  * warm: median of --runs calls in this process, the first call excluded;
  * ratio: warm median / the prototype's warm median measured in the same run.
The prototype is `librosa.load` + 128-band mel spectrogram + power_to_db + per-band mean/std; librosa.load reads
the wav (it cannot read m4a without a system ffmpeg; the m4a is tried first and the fallback is printed).
Extractors decode the m4a with PyAV (core.audio.decode), as ingest does. Target: default < 150 ms.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import warnings  # noqa: E402

import numpy as np  # noqa: E402

from musicrec_tui.core import audio, synth  # noqa: E402
from musicrec_tui.core.features import DEFAULT_EXTRACTOR, available  # noqa: E402

PROTOTYPE = """
def prototype(path):
    import librosa, numpy as np
    y, sr = librosa.load(path, sr=22050, mono=True)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128)
    log_mel = librosa.power_to_db(mel, ref=np.max)
    return np.concatenate([log_mel.mean(axis=1), log_mel.std(axis=1)])
"""

EXTRACT = """
def extract(path, name):
    from musicrec_tui.core import audio
    from musicrec_tui.core.features import get
    decoded = audio.decode(path)
    audio.check_analysable(decoded)
    return get(name)(decoded.samples, decoded.rate)
"""


def preview(folder: Path) -> tuple[Path, Path]:
    """A 30 s mix (drums + chord) as an iTunes-style m4a, and the same audio as a 44.1 kHz wav."""
    mix = 0.6 * synth.drums(112, 30.0) + 0.5 * synth.chord((196.0, 246.94, 293.66, 392.0), 30.0)
    m4a, wav = folder / "preview.m4a", folder / "preview.wav"
    m4a.write_bytes(synth.encode(mix.astype(np.float32), 44100, "m4a"))
    wav.write_bytes(synth.encode(mix.astype(np.float32), 44100, "wav"))
    return m4a, wav


def cold_start(call: str, pin: bool) -> float:
    """Seconds for a fresh interpreter to import and make the first call (interpreter start-up excluded)."""
    code = (
        "import os, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        + (("os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n") if pin else "")
        + "t0 = time.perf_counter()\n" + PROTOTYPE + EXTRACT + f"{call}\n"
        + "print(time.perf_counter() - t0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ})
    return float(out.stdout.strip().splitlines()[-1])


def warm(fn, runs: int) -> tuple[float, float, float]:
    """(first call wall s, median wall s, median process CPU s) of `runs` calls after the first."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    walls, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return first, statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one CPU")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # librosa's audioread deprecation notices
    pin = not args.all_cores
    if pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    scope: dict[str, object] = {}
    exec(PROTOTYPE + EXTRACT, scope)  # the same code the cold-start interpreters run
    prototype, extract = scope["prototype"], scope["extract"]

    with tempfile.TemporaryDirectory() as tmp:
        m4a, wav = preview(Path(tmp))
        try:
            prototype(str(m4a))
            proto_path, note = m4a, "librosa.load reads the m4a"
        except Exception as exc:
            proto_path, note = wav, f"librosa.load cannot read m4a here ({type(exc).__name__}); it reads the wav"
        print(f"30 s preview, {'1 pinned CPU' if pin else 'all CPUs'}, threads=1; {note}")
        t0 = time.perf_counter()
        for _ in range(5):
            audio.decode(str(m4a))
        print(f"PyAV decode + soxr resample alone: {(time.perf_counter() - t0) / 5 * 1e3:.1f} ms\n")

        rows = [("prototype (librosa)", f"prototype({str(proto_path)!r})", lambda: prototype(str(proto_path)))]
        for name in sorted(available()):
            rows.append((name + (" (default)" if name == DEFAULT_EXTRACTOR else ""),
                         f"extract({str(m4a)!r}, {name!r})", lambda n=name: extract(str(m4a), n)))
        head = (f"{'pipeline':<24} {'cold ms':>9} {'1st call ms':>12} {'median ms':>10} {'ratio':>7} "
                f"{'CPU ms':>8} {'CPU ratio':>10}")
        print(head)
        print("-" * len(head))
        base = base_cpu = None
        for label, call, fn in rows:
            cold = cold_start(call, pin)
            first, med, cpu = warm(fn, args.runs)
            base, base_cpu = base or med, base_cpu or cpu
            print(f"{label:<24} {cold * 1e3:>9.0f} {first * 1e3:>12.1f} {med * 1e3:>10.1f} {med / base:>7.2f} "
                  f"{cpu * 1e3:>8.1f} {cpu / base_cpu:>10.2f}")
    print("\ncold = fresh interpreter: imports + first call (numba JIT for librosa; cached JIT after the first run);"
          "\nCPU = process CPU time, less sensitive than wall time to other jobs on a shared machine")


if __name__ == "__main__":
    main()
