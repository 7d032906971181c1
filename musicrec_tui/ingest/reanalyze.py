"""Recompute vectors from previews already on disk (no downloads), e.g. after an extractor's version changed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from ..core import features
from ..core.models import FeatureVector, JobState, Track
from ..store.protocol import Library
from .analysis import analyse_file, warm_up
from .events import EventKind, IngestEvent, IngestSummary

NOT_CACHED = "preview not cached: ingest the track again to download it"


def reanalyze(library: Library, extractor: str | None = None, *, workers: int = 1, everything: bool = False,
              on_event: Callable[[IngestEvent], None] | None = None,
              cancel: threading.Event | None = None) -> IngestSummary:
    """Analyse every track lacking a current vector of `extractor` (all tracks with `everything`) from its
    cached preview or local file, in a process pool; each vector is written as soon as it is ready."""
    ext = features.get(extractor)
    cancel = cancel or threading.Event()
    tracks = library.list_tracks() if everything else library.tracks_without_vector(ext.name, ext.version)
    summary = IngestSummary()
    started = time.perf_counter()
    emit = on_event or (lambda _e: None)

    def event(track: Track, state: JobState, error: str | None = None) -> None:
        emit(IngestEvent(EventKind.JOB, track=track, state=state, error=error, track_id=track.id,
                         progress=summary.progress(len(tracks), time.perf_counter() - started)))

    todo: list[tuple[Track, str]] = []
    for track in tracks:
        path = track.preview_path
        if not path or not Path(path).is_file():
            summary.failed.append((track, NOT_CACHED))
            event(track, JobState.FAILED, NOT_CACHED)
        else:
            todo.append((track, path))
    if todo:
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(todo))), mp_context=get_context("spawn"),
                                 initializer=warm_up, initargs=(ext.name,)) as pool:
            futures = {pool.submit(analyse_file, path, ext.name): track for track, path in todo}
            for future in as_completed(futures):
                track = futures[future]
                if cancel.is_set():
                    pool.shutdown(wait=False, cancel_futures=True)
                    summary.cancelled = True
                    break
                result = future.result()
                if result.values is None:
                    summary.failed.append((track, result.error or "analysis failed"))
                    event(track, JobState.FAILED, result.error)
                    continue
                assert track.id is not None
                library.put_vectors([(track.id, FeatureVector(ext.name, ext.version, result.values))])
                summary.done += 1
                summary.timings_ms["decode"].append(result.decode_ms)
                summary.timings_ms["analysis"].append(result.analysis_ms)
                event(track, JobState.DONE)
    summary.elapsed_s = time.perf_counter() - started
    return summary
