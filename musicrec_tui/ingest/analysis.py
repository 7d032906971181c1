"""The CPU-bound half of ingest: decode a preview and run the extractor, in a worker process."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from ..core import features
from ..core.audio import check_analysable, load_for_analysis
from ..core.errors import MusicrecError


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """A vector, or the one-line reason there is none. Plain data, so it crosses process boundaries.

    `extra` holds the vectors of secondary extractors (the explainer) computed from the same decode; one that
    fails is left out rather than failing the track.
    """

    values: np.ndarray | None
    error: str | None
    decode_ms: float
    analysis_ms: float
    seconds: float = 0.0
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    explain_ms: float = 0.0


def analyse_file(path: str, extractor_name: str, extra: tuple[str, ...] = ()) -> AnalysisResult:
    """Decode `path` once at the extractor's rate and compute its vector (and the `extra` extractors' vectors).

    Never raises for bad audio: the reason comes back in `error`."""
    extractor = features.get(extractor_name)
    t0 = time.perf_counter()
    try:
        audio = load_for_analysis(path, extractor.rate)
        check_analysable(audio)
    except MusicrecError as exc:
        return AnalysisResult(None, exc.one_line(), (time.perf_counter() - t0) * 1000, 0.0)
    t1 = time.perf_counter()
    try:
        values = extractor(audio.samples, audio.rate)
    except MusicrecError as exc:
        return AnalysisResult(None, exc.one_line(), (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000)
    t2 = time.perf_counter()
    extras: dict[str, np.ndarray] = {}
    for name in extra:
        other = features.get(name)
        if other.rate != audio.rate:
            continue
        with contextlib.suppress(MusicrecError):
            extras[name] = other(audio.samples, audio.rate)
    return AnalysisResult(values, None, (t1 - t0) * 1000, (t2 - t1) * 1000, audio.seconds, extras,
                          (time.perf_counter() - t2) * 1000)


def warm_up(extractor_name: str, extra: tuple[str, ...] = ()) -> None:
    """Process-pool initializer: one thread of BLAS per process, and any JIT compiled before the first track."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)  # one process per core already; BLAS threads on top would only contend
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    for name in (extractor_name, *extra):
        extractor = features.get(name)
        # a warm-up failure shows again, with its reason, on the first real track
        with contextlib.suppress(MusicrecError):
            extractor((0.1 * rng.standard_normal(extractor.rate * 6)).astype(np.float32), extractor.rate)
