"""The ingest pipeline: claim jobs from the durable queue, download in threads, analyse in processes, store.

Each job goes queued → downloading → analysing → done | failed. The queue is a table in the library, so a run
that is interrupted (Ctrl-C, kill -9) resumes where it stopped, and several processes can share one MySQL
library: claims use `FOR UPDATE SKIP LOCKED` there, SQLite's single write lock here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

from ..config import Settings
from ..core import features
from ..core.errors import DownloadError, MusicrecError, StoreError
from ..core.fetch import PreviewCache
from ..core.files import pid_alive
from ..core.models import SOURCE_FILE, SOURCE_ITUNES, FeatureVector, Job, JobState, Track
from ..store.protocol import Library
from .analysis import AnalysisResult, analyse_file, warm_up
from .audio import audio_for
from .events import EventKind, IngestEvent, IngestSummary

EventSink = Callable[[IngestEvent], None]
STALE_LEASE_S = 900.0  # a job held this long by a worker on another host is given back


def new_worker_id() -> str:
    """host:pid:random — lets a later run on this host tell a dead worker from a live one."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class IngestPipeline:
    """Runs the ingest queue of one library. Thread-safe to observe; `run` blocks until the queue is drained."""

    def __init__(self, settings: Settings, library: Library, *, cache: PreviewCache,
                 extractor: str | None = None, on_event: EventSink | None = None, workers: int | None = None,
                 download_threads: int | None = None, worker_id: str | None = None,
                 lookup: Callable[[list[int]], list[Track]] | None = None,
                 explainer: str | None = "settings") -> None:
        self.settings = settings
        self.library = library
        self.extractor = features.get(extractor or settings.extractor)
        explain = settings.explainer if explainer == "settings" else explainer
        # the explainer's vector is computed from the same decode, so results can be explained in named groups
        self.extra = (features.get(explain).name,) if explain and explain != self.extractor.name else ()
        self.cache = cache
        self.workers = max(1, workers or settings.analysis_workers)
        # enough threads to keep every analysis process fed while others download
        self.threads = max(1, download_threads or (self.workers + settings.download_workers))
        self.worker_id = worker_id or new_worker_id()
        self._on_event = on_event
        self._lookup = lookup  # iTunes lookup by trackId: a fresh preview URL when a saved one has expired
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._summary = IngestSummary()
        self._total = 0
        self._started = time.perf_counter()

    # ---- queueing -------------------------------------------------------------------------------------
    def enqueue(self, tracks: Iterable[Track]) -> list[Job]:
        """Queue tracks; those already analysed by the current extractor are counted as "already" and skipped.

        A track with no audio to analyse is recorded as a failed job with its reason. Failed jobs are retried.
        """
        todo = [track for track in tracks if not self._already(track)]
        jobs = self.library.enqueue(todo, requeue_failed=True)
        for job in jobs:
            if job.state is JobState.DONE:
                if self._already(job.track):  # finished meanwhile (another worker)
                    continue
                self.library.update_job(job.id, JobState.QUEUED)  # done once, but its track or vector is gone
            if job.state is not JobState.QUEUED and job.state is not JobState.DONE:
                continue  # in flight in another worker: it reports there
            if not job.track.ingestible:
                reason = "no preview URL in the catalogue"
                self.library.update_job(job.id, JobState.FAILED, error=reason)
                self._record_failure(job, reason)
            else:
                self._emit(IngestEvent(EventKind.JOB, track=job.track, state=JobState.QUEUED, job_id=job.id))
        return jobs

    def _already(self, track: Track) -> bool:
        """True (and reported) when the track is in the library with a vector of the current extractor."""
        stored = self.library.find_track(*track.key)
        if stored is None or stored.id is None:
            return False
        vec = self.library.get_vector(stored.id, self.extractor.name)
        if vec is None or vec.version != self.extractor.version:
            return False
        with self._lock:
            self._summary.already += 1
        self._emit(IngestEvent(EventKind.ALREADY, track=stored, track_id=stored.id))
        return True

    # ---- running --------------------------------------------------------------------------------------
    def start_pool(self) -> None:
        """Start the analysis processes now (they take a second or two to import and warm up), e.g. while a
        search is still under way; `run` otherwise starts them when there is work."""
        with self._lock:
            if self._pool is None:
                self._make_pool()

    def run(self, cancel: threading.Event | None = None) -> IngestSummary:
        """Process queued jobs (this run's and any left by an interrupted one) until none is left."""
        cancel = cancel or threading.Event()
        started = self._started = time.perf_counter()
        self._resume_orphans()
        self._total = self.library.job_counts()[JobState.QUEUED]
        threads = [threading.Thread(target=self._loop, args=(cancel,), name=f"ingest-{i}", daemon=True)
                   for i in range(self.threads)]
        try:
            if self._total and self._pool is None:
                self._make_pool()
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(timeout=0.2)
        except KeyboardInterrupt:
            cancel.set()
            self._shutdown_pool()
            self._release()
            raise
        finally:
            self._summary.elapsed_s = time.perf_counter() - started
            self._summary.cancelled = cancel.is_set()
        self._shutdown_pool()
        if cancel.is_set():
            self._release()
        return self._summary

    def close(self) -> None:
        """Stop the analysis processes (idempotent; `run` leaves them up only when it was interrupted)."""
        self._shutdown_pool()

    @property
    def summary(self) -> IngestSummary:
        return self._summary

    def _loop(self, cancel: threading.Event) -> None:
        while not cancel.is_set():
            try:
                claimed = self.library.claim_jobs(self.worker_id, limit=1)
            except StoreError as exc:
                self._emit(IngestEvent(EventKind.ERROR, error=exc.one_line()))
                cancel.set()
                return
            if not claimed:
                return
            self._process(claimed[0], cancel)

    def _process(self, job: Job, cancel: threading.Event) -> None:
        track = job.track
        timings: dict[str, float] = {}
        self._emit(IngestEvent(EventKind.JOB, track=track, state=JobState.DOWNLOADING, job_id=job.id))
        try:
            t0 = time.perf_counter()
            audio = audio_for(track, self.cache, self._lookup)
            track, path, sha256 = audio.track, audio.path, audio.sha256
            timings["download"] = (time.perf_counter() - t0) * 1000
            self.library.update_job(job.id, JobState.ANALYSING, worker=self.worker_id)
            self._emit(IngestEvent(EventKind.JOB, track=track, state=JobState.ANALYSING, job_id=job.id))
            result = self._analyse(path, cancel)
            timings["decode"], timings["analysis"] = result.decode_ms, result.analysis_ms
            if self.extra:
                timings["explain"] = result.explain_ms
            if result.values is None:
                self._discard(track)
                raise _JobFailed(result.error or "analysis failed")
            t1 = time.perf_counter()
            keep = self.settings.cache_keep_previews or track.source == SOURCE_FILE
            to_store = replace(track, preview_path=str(path) if keep else None,
                               preview_sha256=sha256 if keep else None)
            vectors = [FeatureVector(self.extractor.name, self.extractor.version, result.values)]
            vectors += [FeatureVector(name, features.get(name).version, v) for name, v in result.extra.items()]
            stored = self.library.save_analysis(to_store, vectors, job_id=job.id, worker=self.worker_id)
            timings["store"] = (time.perf_counter() - t1) * 1000
            if not keep:
                self._discard(track)
        except _Stopped:
            return
        except (_JobFailed, MusicrecError) as exc:
            reason = str(exc) if isinstance(exc, _JobFailed) else exc.one_line()
            if isinstance(exc, StoreError) and not isinstance(exc, _JobFailed):
                cancel.set()  # the library itself is failing: stop rather than fail every track
            # if the library is gone, the job stays claimed and the next run resumes it
            with contextlib.suppress(StoreError):
                self.library.update_job(job.id, JobState.FAILED, error=reason, worker=self.worker_id)
            self._record_failure(job, reason, timings)
            return
        with self._lock:
            self._summary.done += 1
            for stage, ms in timings.items():
                self._summary.timings_ms[stage].append(ms)
        self._emit(IngestEvent(EventKind.JOB, track=stored, state=JobState.DONE, job_id=job.id, track_id=stored.id,
                               timings_ms=timings))

    def _analyse(self, path: Path, cancel: threading.Event) -> AnalysisResult:
        for attempt in range(2):
            pool = self._pool or self._make_pool()
            try:
                future: Future[AnalysisResult] = pool.submit(analyse_file, str(path), self.extractor.name,
                                                             self.extra)
                return future.result()
            except (CancelledError, RuntimeError):
                if cancel.is_set():  # the run is stopping: the job goes back to the queue, not to "failed"
                    raise _Stopped() from None
                raise
            except BrokenProcessPool:
                with self._lock:
                    if self._pool is pool:
                        self._pool = self._make_pool()
                if attempt:
                    raise _JobFailed("analysis process crashed") from None
        raise _JobFailed("analysis process crashed")

    def _make_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"),
                                   initializer=warm_up, initargs=(self.extractor.name, self.extra))
        self._pool = pool
        return pool

    def _shutdown_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _discard(self, track: Track) -> None:
        if track.source == SOURCE_ITUNES:
            with contextlib.suppress(DownloadError):
                self.cache.discard(track)

    def _resume_orphans(self) -> None:
        """Give back jobs held by dead workers of this host (kill -9, crash) and long-stale ones from others."""
        host = socket.gethostname()
        for worker in self.library.inflight_workers():
            parts = worker.split(":")
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not pid_alive(int(parts[1])):
                self.library.release_jobs(worker)
        self.library.requeue_stale(STALE_LEASE_S)

    def _release(self) -> None:
        with contextlib.suppress(StoreError):
            self.library.release_jobs(self.worker_id)

    def _record_failure(self, job: Job, reason: str, timings: dict[str, float] | None = None) -> None:
        with self._lock:
            self._summary.failed.append((job.track, reason))
        self._emit(IngestEvent(EventKind.JOB, track=job.track, state=JobState.FAILED, job_id=job.id, error=reason,
                               timings_ms=timings or {}))

    def _emit(self, event: IngestEvent) -> None:
        if self._on_event is None:
            return
        with self._lock:
            progress = self._summary.progress(self._total, time.perf_counter() - self._started)
        self._on_event(replace(event, progress=progress))


class _JobFailed(Exception):
    """A reason this job cannot be ingested (already one line)."""


class _Stopped(Exception):
    """The run was cancelled while this job was in flight; it is released, not failed."""
