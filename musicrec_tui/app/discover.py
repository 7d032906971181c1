"""Discover: songs the user does not have yet, found in the iTunes catalogue around seed tracks and ranked by
how they sound.

1. **Candidates** (`candidates.generate`): around the seeds, within a budget of catalogue requests, from the
   sources in `DiscoverOptions.sources`: the seeds' artists' other songs (`lookup?id=ARTIST&entity=song`), songs
   of the seeds' genres (`search?attribute=genreIndex`), songs of other artists met in those searches, and
   searches for the seeds' album and artist names. De-duplicated against the library and each other (same
   trackId, or the same normalised title + artist). Every request goes through the iTunes client: its token
   bucket, its backoff on throttling and errors, and a sleep that a cancel interrupts.
2. **Scoring**: up to `budget` previews are downloaded into the normal preview cache and analysed by the ingest
   pipeline's own analysis processes (`ingest.workers.AnalysisWorkers`) into the candidates store (not
   the library). Candidates analysed by an earlier discovery are reused without a download. They are ranked
   against the seeds by `core.recommend.recommend` over one SimilarityIndex holding the library's and the
   candidates' vectors: the same standardisation, distance and hubness correction as `musicrec recommend`,
   with statistics from library + candidates. Only this discovery's candidates are listed.

Bad input never stops a discovery: a candidate without a preview, or whose preview is gone, undecodable, silent
or too short, is skipped with a counted reason; a failed request is counted and the next source is tried;
throttling slows the requests down (each backoff is reported as a `throttled` event) and, when the client gives
up after its retries, discovery stops asking the catalogue, says so, and scores what it has. A cancelled
discovery keeps every candidate it analysed (in the store, and in its partial result). Nothing enters the
library: adding a candidate is the user's choice, through the normal ingest queue.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

import numpy as np

from ..config import Settings
from ..core import features
from ..core.errors import AnalysisError, DownloadError, MusicrecError, NotFound
from ..core.fetch import PreviewCache
from ..core.index import SimilarityIndex
from ..core.itunes import CatalogueSong, ItunesClient
from ..core.models import FeatureVector, Neighbour, Track, VectorMatrix
from ..core.recommend import recommend
from ..ingest.analysis import AnalysisResult
from ..ingest.events import reason_key
from ..ingest.workers import AnalysisTimeout, AnalysisWorkers, PoolClosed, WorkerCrashed
from ..store.protocol import Library
from .candidates import CandidateStore, index_id
from .recommend import Recommendation, resolve_track
from .sources import (
    ALL_SOURCES,
    Cancelled,
    Candidate,
    CandidatePool,
    RequestLog,
    Source,
    generate,
)

__all__ = ["ALL_SOURCES", "Cancelled", "DiscoverEvent", "DiscoverOptions", "DiscoverProgress", "DiscoverResult",
           "Discovered", "Discoverer", "Source", "discovery_json"]


@dataclass(frozen=True, slots=True)
class DiscoverOptions:
    """What one discovery does. `budget`: previews to download and analyse (reused analyses are free);
    `requests`: catalogue requests for finding candidates; `per_request`: songs asked for per request."""

    k: int = 20
    budget: int = 50
    requests: int = 12
    exclude_artist: bool = False
    genre: str | None = None
    sources: tuple[Source, ...] = ALL_SOURCES
    per_request: int = 50
    country: str = "US"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> DiscoverOptions:
        base = cls(k=settings.discover_k, budget=settings.discover_budget, requests=settings.discover_requests,
                   sources=tuple(Source(s) for s in settings.discover_sources), country=settings.itunes_country)
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


@dataclass(slots=True)
class DiscoverProgress:
    """Running figures of one discovery (what the CLI's progress line and the TUI pane show)."""

    request_budget: int = 0
    budget: int = 0
    requests: int = 0          # catalogue requests made (each may have been retried)
    calls: int = 0             # HTTP calls sent, retries included
    throttled: int = 0         # answers that were throttling (403/429)
    backoff_s: float = 0.0     # seconds spent waiting in backoff
    candidates: int = 0        # distinct new songs found
    analysed: int = 0          # previews downloaded and analysed by this discovery (budget used)
    reused: int = 0            # candidates analysed by an earlier discovery
    scored: int = 0            # candidates with a vector, ranked
    skipped: Counter[str] = field(default_factory=Counter)
    failed_requests: list[str] = field(default_factory=list)
    stopped_asking: str | None = None   # why discovery stopped asking the catalogue early
    cancelled: bool = False
    elapsed_s: float = 0.0

    def copy(self) -> DiscoverProgress:
        return replace(self, skipped=Counter(self.skipped), failed_requests=list(self.failed_requests))

    def to_json(self) -> dict[str, object]:
        return {"requests": self.requests, "request_budget": self.request_budget, "calls": self.calls,
                "throttled": self.throttled, "backoff_s": round(self.backoff_s, 1), "candidates": self.candidates,
                "analysed": self.analysed, "budget": self.budget, "reused": self.reused, "scored": self.scored,
                "skipped": dict(self.skipped.most_common()), "failed_requests": list(self.failed_requests),
                "stopped_asking": self.stopped_asking, "cancelled": self.cancelled,
                "elapsed_s": round(self.elapsed_s, 3)}


@dataclass(frozen=True, slots=True)
class Discovered:
    """One ranked candidate: the recommendation (rank, score, cosine, groups; its track has no library id),
    the catalogue ids, and how it was found ("artist:<name>", "genre:<name>", "related:<artist>", "term:<text>")."""

    neighbour: Neighbour
    song: CatalogueSong
    found_by: tuple[str, ...]

    @property
    def track(self) -> Track:
        return self.neighbour.track


@dataclass(frozen=True, slots=True)
class DiscoverResult:
    """A discovery's ranking as the one recommendation type (`recommend`'s: seeds, neighbours, index, ...), each
    neighbour's catalogue side (`results`, same order), and the discovery's figures."""

    recommendation: Recommendation
    results: tuple[Discovered, ...]
    progress: DiscoverProgress

    @property
    def seeds(self) -> tuple[Track, ...]:
        return self.recommendation.seeds

    @property
    def extractor(self) -> str:
        return self.recommendation.index.extractor

    @property
    def extractor_version(self) -> int:
        return self.recommendation.index.version

    @property
    def hubness(self) -> str:
        return self.recommendation.index.hubness

    def to_json(self) -> dict[str, object]:
        """`recommend --json`'s object (Recommendation.to_json) where each result also carries `in_library`
        (false), `itunes_artist_id`, `itunes_collection_id`, `genre`, `preview_url` and `found_by`; plus
        "discovery": the figures (requests, throttling, budget, skipped by reason ...)."""
        data = self.recommendation.to_json()
        rows = data["results"]
        assert isinstance(rows, list)
        for row, found in zip(rows, self.results, strict=True):
            track = found.track
            row.update(in_library=False, itunes_artist_id=found.song.artist_id,
                       itunes_collection_id=found.song.collection_id, genre=track.genre,
                       preview_url=track.preview_url, found_by=list(found.found_by))
        data["discovery"] = self.progress.to_json()
        return data


@dataclass(frozen=True, slots=True)
class DiscoverEvent:
    """`kind`: "status" (a step begins: `message`), "throttled" (a backoff: `message`, `delay_s`),
    "candidates" (candidates found so far), "skipped" (`message` = track, `reason`), "scored" (the ranking
    so far in `results`, best first), "done". Every event carries a snapshot of the progress."""

    kind: str
    progress: DiscoverProgress
    message: str = ""
    reason: str = ""
    delay_s: float = 0.0
    results: tuple[Discovered, ...] = ()


EventSink = Callable[[DiscoverEvent], None]


class Discoverer:
    """Runs discoveries over one library. The collaborators are built from Settings unless given (tests)."""

    def __init__(self, settings: Settings, library: Library, *, store: CandidateStore | None = None,
                 cache: PreviewCache | None = None,
                 client_factory: Callable[[Callable[[float], None]], ItunesClient] | None = None,
                 workers: int | None = None, download_threads: int = 4) -> None:
        self.settings = settings
        self.library = library
        self.extractor = features.get(settings.extractor)
        explain = settings.explainer
        self.explainer = features.get(explain) if explain and explain != self.extractor.name else None
        self._store = store
        self._cache = cache
        self._client_factory = client_factory
        self.workers = max(1, workers or settings.analysis_workers)
        self.download_threads = max(1, download_threads)
        self._procs: AnalysisWorkers | None = None
        self._procs_lock = threading.Lock()

    # ---- collaborators ---------------------------------------------------------------------------------
    def store(self) -> CandidateStore:
        if self._store is None:
            from .candidates import open_candidate_store

            self._store = open_candidate_store(self.settings)
        return self._store

    def cache(self) -> PreviewCache:
        if self._cache is None:
            from .factory import make_cache

            self._cache = make_cache(self.settings)
        return self._cache

    def client(self, sleep: Callable[[float], None]) -> ItunesClient:
        if self._client_factory is not None:
            return self._client_factory(sleep)
        from .factory import make_itunes_client

        return make_itunes_client(self.settings, sleep=sleep)

    def analysis_pool(self) -> AnalysisWorkers:
        """The analysis processes (the ingest pipeline's AnalysisWorkers), started on first use and kept for
        later discoveries: starting them and warming the extractors up costs seconds. A worker that dies is
        replaced by the pool itself."""
        with self._procs_lock:
            if self._procs is None:
                extra = (self.explainer.name,) if self.explainer else ()
                self._procs = AnalysisWorkers(self.workers, self.extractor.name, extra)
            procs = self._procs
        procs.start()  # idempotent; warms up in the background while the first previews download
        return procs

    def close(self) -> None:
        """Stop the analysis processes and close the candidates store (the Discoverer can be used again)."""
        with self._procs_lock:
            procs, self._procs = self._procs, None
        if procs is not None:
            procs.close()
        if self._store is not None:
            self._store.close()
            self._store = None

    # ---- seeds -----------------------------------------------------------------------------------------
    def resolve(self, ref: str | int) -> Track:
        """A library track from an id, or `itunes:<trackId>`; NotFound otherwise."""
        return resolve_track(self.library, ref)

    # ---- the use-case ----------------------------------------------------------------------------------
    def run(self, seeds: Sequence[Track | str | int], options: DiscoverOptions | None = None, *,
            on_event: EventSink | None = None, cancel: threading.Event | None = None) -> DiscoverResult:
        """Find, analyse and rank candidates around `seeds` (library tracks, ids or `itunes:<trackId>`)."""
        opts = options or DiscoverOptions.from_settings(self.settings)
        cancel = cancel or threading.Event()
        run = _Run(self, [s if isinstance(s, Track) else self.resolve(s) for s in seeds], opts, cancel, on_event)
        return run.execute()


class _Run:
    """One discovery's state; the Discoverer stays reusable."""

    def __init__(self, owner: Discoverer, seeds: list[Track], opts: DiscoverOptions, cancel: threading.Event,
                 on_event: EventSink | None) -> None:
        if not seeds:
            raise NotFound("no seed track given")
        self.owner = owner
        self.seeds = list({t.id: t for t in seeds}.values())
        self.opts = opts
        self.cancel = cancel
        self.on_event = on_event
        self.progress = DiscoverProgress(request_budget=max(0, opts.requests), budget=max(0, opts.budget))
        self.lock = threading.Lock()
        self.started = time.perf_counter()
        self.index: SimilarityIndex | None = None
        self.explainer_index: SimilarityIndex | None = None
        self.pool: dict[int, Candidate] = {}       # index id → candidate of this discovery (with a vector)
        self.ranking: tuple[Discovered, ...] = ()

    # ---- events --------------------------------------------------------------------------------------
    def emit(self, kind: str, **fields: object) -> None:
        if self.on_event is None:
            return
        with self.lock:
            self.progress.elapsed_s = time.perf_counter() - self.started
            snapshot = self.progress.copy()
        self.on_event(DiscoverEvent(kind, snapshot, **fields))  # type: ignore[arg-type]

    def skip(self, track: Track, reason: str) -> None:
        with self.lock:
            self.progress.skipped[skip_reason(reason)] += 1
        self.emit("skipped", message=_name(track), reason=reason)

    # ---- steps ---------------------------------------------------------------------------------------
    def execute(self) -> DiscoverResult:
        ext = self.owner.extractor
        seed_ids = [int(t.id or 0) for t in self.seeds]
        self.index = self._build_index(ext.name, ext.version, ext.groups, self.owner.settings.hubness)
        missing = [s for s in seed_ids if self.index.rows_of([s])[0] < 0]
        if missing:
            raise NotFound(f"track {missing[0]} has no {ext.name} vector yet",
                           hint="ingest it, or run `musicrec reanalyze`")
        if self.owner.explainer is not None:
            expl = self.owner.explainer
            self.explainer_index = self._build_index(expl.name, expl.version, expl.groups, "none")
        try:
            candidates = self._find()
            self._score(candidates)
        except Cancelled:
            pass
        if self.cancel.is_set():
            self.progress.cancelled = True
        # the live rankings used the statistics of the start (add() keeps them fixed); the final one is fitted
        # on library + every candidate, as a later discovery (or recommend) would be
        for index in (self.index, self.explainer_index):
            if index is not None and index.stale:
                index.refresh()
        self.ranking = self._rank()
        self.progress.elapsed_s = time.perf_counter() - self.started
        self.emit("done", results=self.ranking)
        explained_by = self.owner.explainer.name if self.owner.explainer else ext.name
        rec = Recommendation(tuple(self.seeds), tuple(d.neighbour for d in self.ranking), self.index,
                             explained_by, self.opts.k, self.opts.exclude_artist)
        return DiscoverResult(rec, self.ranking, self.progress.copy())

    def _build_index(self, name: str, version: int, groups: Sequence[str], hubness: str) -> SimilarityIndex:
        """Library + every fresh stored candidate: the standardisation and hubness statistics see both."""
        lib = self.owner.library.load_matrix(name, version)
        cand = self.owner.store().load_matrix(name, version)
        parts = [m for m in (lib, cand) if len(m)]
        if not parts:
            matrix = VectorMatrix(name, version, np.zeros(0, np.int64), np.zeros((0, len(groups)), np.float32))
        else:
            matrix = VectorMatrix(name, version, np.concatenate([m.ids for m in parts]),
                                  np.vstack([m.matrix for m in parts]).astype(np.float32))
        return SimilarityIndex(matrix, groups, hubness=hubness)

    def _find(self) -> list[Candidate]:
        """Candidate generation (sources.generate) with the client's counters and backoff reported."""
        def sleep(seconds: float) -> None:
            if self.cancel.wait(seconds):
                raise Cancelled()

        client = self.owner.client(sleep)
        before = client.counters.snapshot()

        def on_retry(reason: str, delay: float, throttled: bool) -> None:
            self._sync_counters(client, before)
            what = "throttled by the catalogue" if throttled else f"catalogue error ({reason})"
            self.emit("throttled" if throttled else "status", message=f"{what}: retrying in {delay:.0f} s",
                      delay_s=delay)

        previous_hook = client.on_retry
        client.on_retry = on_retry
        log = RequestLog(self.opts.requests, self.cancel, on_request=self._on_request)
        try:
            pool = CandidatePool(self.owner.library, self.opts, self.seeds)
            found = generate(client, self.seeds, self.opts, log, pool, on_found=self._on_found)
        finally:
            client.on_retry = previous_hook
            self._sync_counters(client, before)
            with self.lock:
                self.progress.requests = log.made
                self.progress.failed_requests = list(log.failures)
                self.progress.stopped_asking = log.stopped
        for track, reason in pool.skipped:
            self.skip(track, reason)
        with self.lock:
            self.progress.candidates = len(found)
        self.emit("candidates", message=f"{len(found)} candidates")
        return found

    def _sync_counters(self, client: ItunesClient, before: object) -> None:
        from ..core.itunes import ItunesCounters

        assert isinstance(before, ItunesCounters)
        delta = client.counters.since(before)
        with self.lock:
            self.progress.calls = delta.calls
            self.progress.throttled = delta.throttled
            self.progress.backoff_s = delta.backoff_s

    def _on_request(self, what: str, made: int) -> None:
        with self.lock:
            self.progress.requests = made
        self.emit("status", message=f"asking the catalogue: {what}")

    def _on_found(self, count: int) -> None:
        with self.lock:
            self.progress.candidates = count
        self.emit("candidates", message=f"{count} candidates")

    def _score(self, candidates: list[Candidate]) -> None:
        """Reuse stored analyses, then download and analyse up to `budget` previews, ranking as they come."""
        store = self.owner.store()
        ext = self.owner.extractor
        stored = store.get_many(c.itunes_id for c in candidates)
        known_vectors = store.load_matrix(ext.name, ext.version, [c.itunes_id for c in candidates])
        have = {int(i) for i in known_vectors.ids}
        todo: list[Candidate] = []
        for cand in candidates:
            entry = stored.get(cand.itunes_id)
            if entry is not None and entry.analysed and index_id(cand.itunes_id) in have:
                self.pool[index_id(cand.itunes_id)] = cand
                with self.lock:
                    self.progress.reused += 1
                    self.progress.scored += 1
            elif entry is not None and not entry.analysed:
                self.skip(cand.song.track, entry.error or "preview unusable")
            else:
                todo.append(cand)
        if self.pool:
            self._publish()
        budget = max(0, self.opts.budget)
        over = todo[budget:]
        todo = todo[:budget]
        if over:
            with self.lock:
                self.progress.skipped["over the preview budget"] += len(over)
        if todo and not self.cancel.is_set():
            self._analyse(todo)

    def _analyse(self, todo: list[Candidate]) -> None:
        self.emit("status", message=f"analysing up to {len(todo)} previews")
        procs = self.owner.analysis_pool()
        threads = ThreadPoolExecutor(max_workers=min(self.owner.download_threads, len(todo)),
                                     thread_name_prefix="discover-dl")
        try:
            futures: dict[Future[tuple[AnalysisResult | None, str | None]], Candidate] = {
                threads.submit(self._one, cand, procs): cand for cand in todo}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    self._finish(futures[fut], fut)
                if self.cancel.is_set():
                    for fut in pending:
                        fut.cancel()
                    break
        finally:
            threads.shutdown(wait=not self.cancel.is_set(), cancel_futures=True)

    def _one(self, cand: Candidate, procs: AnalysisWorkers) -> tuple[AnalysisResult | None, str | None]:
        """Download (thread) and analyse (process) one preview: (result, None) or (None, reason)."""
        if self.cancel.is_set():
            return None, None
        with self.lock:
            self.progress.analysed += 1
        try:
            preview = self.owner.cache().fetch(cand.song.track)
        except DownloadError as exc:
            return None, exc.one_line()
        except MusicrecError as exc:  # DecodeError: the cache's probe refused it
            return None, exc.one_line()
        if self.cancel.is_set():
            return None, None
        try:
            result = procs.analyse(str(preview.path), self.cancel)
        except PoolClosed:  # cancelled, or the Discoverer closed: nothing to count
            return None, None
        except AnalysisTimeout as exc:
            return None, exc.one_line()
        except WorkerCrashed:  # the pool has already replaced the worker
            return (None, None) if self.cancel.is_set() else (None, "analysis process crashed")
        except AnalysisError as exc:  # the analysis process could not start
            return None, exc.one_line()
        return result, None

    def _finish(self, cand: Candidate, fut: Future[tuple[AnalysisResult | None, str | None]]) -> None:
        if fut.cancelled():
            return
        try:
            result, reason = fut.result()
        except Exception as exc:  # a bug in one candidate never loses the others' analyses
            result, reason = None, f"analysis failed: {exc}"
        store = self.owner.store()
        track = cand.song.track
        if result is None and reason is None:
            return  # cancelled before it ran
        if result is None or result.values is None:
            why = reason or (result.error if result else None) or "analysis failed"
            if _permanent(why):
                store.save_failed(cand.song, cand.found_by, why)
            self.skip(track, why)
            return
        ext = self.owner.extractor
        vectors = [FeatureVector(ext.name, ext.version, result.values)]
        vectors += [FeatureVector(name, features.get(name).version, v) for name, v in result.extra.items()]
        store.save_analysed(cand.song, cand.found_by, vectors)
        key = index_id(cand.itunes_id)
        assert self.index is not None
        self.index.add([key], result.values[None, :])
        if self.explainer_index is not None and self.owner.explainer is not None:
            values = result.extra.get(self.owner.explainer.name)
            if values is not None:
                self.explainer_index.add([key], values[None, :])
        self.pool[key] = cand
        with self.lock:
            self.progress.scored += 1
        self._publish()

    def _publish(self) -> None:
        self.ranking = self._rank()
        self.emit("scored", results=self.ranking)

    # ---- ranking -------------------------------------------------------------------------------------
    def _rank(self) -> tuple[Discovered, ...]:
        """This discovery's candidates ranked against the seeds by `recommend` (filters, duplicate collapsing,
        explanations), over the index of library + candidates; library tracks and other stored candidates are
        excluded."""
        index = self.index
        if index is None or not self.pool:
            return ()
        tracks: dict[int, Track] = {int(t.id or 0): t for t in self.seeds}
        tracks.update({key: c.song.track for key, c in self.pool.items()})
        banned = [int(i) for i in index.ids if int(i) not in self.pool]
        seed_ids = [int(t.id or 0) for t in self.seeds]
        found = recommend(index, tracks, seed_ids, k=self.opts.k, exclude_artist=self.opts.exclude_artist,
                          exclude_ids=banned, explainer=self.explainer_index)
        by_track = {id(c.song.track): c for c in self.pool.values()}
        return tuple(Discovered(n, by_track[id(n.track)].song, by_track[id(n.track)].found_by) for n in found)


def skip_reason(reason: str) -> str:
    """The kind of a one-line failure, for counting: "audio is silent", "cannot decode audio", "preview gone
    (HTTP 404)" ..."""
    for status in ("404", "410"):
        if f"HTTP {status}" in reason:
            return f"preview gone (HTTP {status})"
    return reason_key(reason)


def _permanent(reason: str) -> bool:
    """Reasons worth remembering in the candidates store (the preview itself is unusable); network failures
    are tried again by the next discovery."""
    text = reason.lower()
    return any(word in text for word in ("decode", "silent", "too short", "http 404", "http 410", "no preview",
                                         "larger than cap", "no audio"))


def _name(track: Track) -> str:
    return f"{track.artist} — {track.title}" if track.artist else track.title


def discovery_json(result: DiscoverResult) -> dict[str, object]:
    """What `musicrec discover --json` prints (DiscoverResult.to_json)."""
    return result.to_json()
