"""Recompute vectors from previews already on disk (no downloads), e.g. after an extractor's version changed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..core import features
from ..core.errors import MusicrecError
from ..core.models import FeatureVector, JobState, Track
from ..store.protocol import Library
from .analysis import AnalysisResult
from .events import EventKind, IngestEvent, IngestSummary
from .workers import AnalysisWorkers, PoolClosed

NOT_CACHED = "preview not cached: ingest the track again to download it"


def reanalyze(library: Library, extractor: str | None = None, *, workers: int = 1, everything: bool = False,
              on_event: Callable[[IngestEvent], None] | None = None,
              cancel: threading.Event | None = None) -> IngestSummary:
    """Analyse every track lacking a current vector of `extractor` (all tracks with `everything`) from its
    cached preview or local file, in analysis processes (workers.py); each vector is written as soon as
    it is ready."""
    ext = features.get(extractor)
    cancel = cancel or threading.Event()
    tracks = library.list_tracks() if everything else library.tracks_without_vector(ext.name, ext.version)
    summary = IngestSummary()
    started = time.perf_counter()
    emit = on_event or (lambda _e: None)

    def event(track: Track, state: JobState, error: str | None = None) -> None:
        now = time.perf_counter()
        summary.finished_at(now)
        emit(IngestEvent(EventKind.JOB, track=track, state=state, error=error, track_id=track.id,
                         progress=summary.progress(len(tracks), now)))

    todo: list[tuple[Track, str]] = []
    for track in tracks:
        path = track.preview_path
        if not path or not Path(path).is_file():
            summary.failed.append((track, NOT_CACHED))
            event(track, JobState.FAILED, NOT_CACHED)
        else:
            todo.append((track, path))
    if todo:
        size = max(1, min(workers, len(todo)))
        stop = threading.Event()  # ours: set when the caller cancels, or when this loop ends for any reason
        with AnalysisWorkers(size, ext.name) as pool, ThreadPoolExecutor(size) as feeders:

            def analyse(path: str) -> AnalysisResult | str:
                try:
                    return pool.analyse(path, stop)
                except PoolClosed:
                    return ""
                except MusicrecError as exc:  # the worker died on this file, or overran the deadline
                    return exc.one_line()

            futures = {feeders.submit(analyse, path): track for track, path in todo}
            try:
                for future in as_completed(futures):
                    track = futures[future]
                    if cancel.is_set():
                        stop.set()
                        summary.cancelled = True
                        break
                    result = future.result()
                    if isinstance(result, str) or result.values is None:
                        reason = result if isinstance(result, str) else result.error
                        summary.failed.append((track, reason or "analysis failed"))
                        event(track, JobState.FAILED, reason)
                        continue
                    assert track.id is not None
                    library.put_vectors([(track.id, FeatureVector(ext.name, ext.version, result.values))])
                    summary.done += 1
                    summary.timings_ms["decode"].append(result.decode_ms)
                    summary.timings_ms["analysis"].append(result.analysis_ms)
                    event(track, JobState.DONE)
            finally:  # Ctrl-C or a store error: the feeders stop taking work, the processes end now
                stop.set()
                for future in futures:
                    future.cancel()
    summary.elapsed_s = time.perf_counter() - started
    return summary
