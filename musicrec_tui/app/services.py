"""What the faces talk to: `Services` (the collaborators, built lazily by app/factory.py or by tests) and
`Session` (the use-cases over one open library). No Textual here: the TUI runs these in thread workers, the CLI
calls them directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeAlias, TypeVar

from ..core.errors import StoreUnavailable

if TYPE_CHECKING:  # the use-cases' modules load on first use, in a worker: the TUI's first frame waits for none
    from ..core.models import FeatureVector, Job, Track
    from ..ingest.audio import Previews, TrackAudio
    from ..ingest.events import IngestEvent, IngestSummary
    from ..playback.base import Player
    from ..store.protocol import Library
    from .audio import PlayQueue

    # discover pulls numpy and the analysis in: imported when first used, not at start-up
    from .discover import Discoverer, DiscoverOptions, DiscoverResult
    from .discover import EventSink as DiscoverSink
    from .jobs import JobAction, JobOutcome
    from .recommend import Groups, Recommendation, Recommender
    from .search import Catalogue, SearchResult

T = TypeVar("T", covariant=True)


class Lazy(Generic[T]):
    """Builds the wrapped object on its first `get()`, in whichever thread asks first (a worker, by design):
    the imports and probing it costs (requests, PortAudio) then happen after the TUI's first frame."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._obj: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._obj is None:
                self._obj = self._build()
            return self._obj


class Pipeline(Protocol):
    """The ingest pipeline (ingest/pipeline.py IngestPipeline): enqueue, then run until the queue is empty."""

    def enqueue(self, tracks: Sequence[Track]) -> list[Job]: ...

    def run(self, cancel: threading.Event | None = None) -> IngestSummary: ...

    def close(self) -> None: ...


EventSink: TypeAlias = "Callable[[IngestEvent], None]"
#: (library, on_event) -> a pipeline over that library whose events reach on_event from worker threads
PipelineFactory: TypeAlias = "Callable[[Library, EventSink], Pipeline]"
#: (url) -> image bytes (artwork), raising MusicrecError/OSError when it cannot
Downloader = Callable[[str], bytes]


@dataclass(slots=True)
class Services:
    """Everything the app layer talks to. `open_library` is called in a worker; the rest are used from workers."""

    open_library: Callable[[], Library]
    catalogue: Lazy[Catalogue]
    previews: Lazy[Previews]
    player: Lazy[Player]
    make_pipeline: PipelineFactory
    recommender: Recommender
    download: Downloader | None = None
    artwork_dir: Path | None = None
    country: str = "US"
    search_limit: int = 50
    #: (library) -> the Discoverer over it (app/discover.py); None: Discover is not available
    make_discoverer: Callable[[Library], Discoverer] | None = None


class Session:
    """The use-cases both faces call, over one open library. Every method may block: call it from a worker."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._library: Library | None = None
        self._discoverer: Discoverer | None = None
        self._discover_lock = threading.Lock()

    # ---- the library
    def open(self) -> Library:
        """Open (or reopen) the library; StoreUnavailable and friends say why it cannot be."""
        self._library = self.services.open_library()
        with self._discover_lock:  # a Discoverer works over one library: the next discovery builds a new one
            discoverer, self._discoverer = self._discoverer, None
        if discoverer is not None:
            discoverer.close()
        return self._library

    @property
    def is_open(self) -> bool:
        return self._library is not None

    @property
    def library(self) -> Library:
        if self._library is None:
            raise StoreUnavailable("the library is not open yet")
        return self._library

    def close(self) -> None:
        with self._discover_lock:
            discoverer, self._discoverer = self._discoverer, None
        if discoverer is not None:
            discoverer.close()  # stops its analysis processes
        library, self._library = self._library, None
        if library is not None:
            library.close()

    @property
    def player(self) -> Player:
        return self.services.player.get()

    # ---- use-cases
    def search(self, term: str, cancel: threading.Event | None = None,
               on_wait: Callable[[float, str], None] | None = None) -> list[SearchResult]:
        """The catalogue's songs for `term`, flagged with what the library holds (when it is open). With
        `cancel`, a wait to retry (throttling) is reported to `on_wait(seconds, reason)` and `cancel` ends it
        (ItunesCancelled), when the catalogue supports it (ItunesClient.interruptible)."""
        from contextlib import nullcontext

        from .search import search as search_catalogue

        s = self.services
        catalogue = s.catalogue.get()
        interruptible = getattr(catalogue, "interruptible", None)
        guard = interruptible(cancel, on_wait) if cancel is not None and interruptible else nullcontext()
        with guard:
            return search_catalogue(catalogue, self._library, term, s.search_limit, s.country)

    def lookup(self, ids: list[int]) -> list[Track]:
        return self.services.catalogue.get().lookup(ids)

    def audio(self, track: Track) -> TrackAudio:
        """A local file with `track`'s audio: its own file, or its preview (downloaded into the cache)."""
        from .audio import track_audio

        return track_audio(track, self._library, self.services.previews.get(), self.lookup)

    def play_queue(self, tracks: Sequence[Track], start: int = 0) -> PlayQueue:
        from .audio import play_queue

        return play_queue(tracks, start, self.audio)

    def play(self, tracks: Sequence[Track], start: int = 0) -> PlayQueue:
        """Resolve the tracks' audio and hand the player the queue (nothing happens when none can play)."""
        queue = self.play_queue(tracks, start)
        if queue.items:
            player = self.player
            player.set_queue(queue.items, queue.start)
            player.play()
        return queue

    def recommend(self, seeds: Sequence[Track], k: int, exclude_artist: bool) -> Recommendation:
        """The k tracks most like the seeds (several seeds: a radio), explained."""
        return self.services.recommender.for_library(self.library).recommendation(seeds, k, exclude_artist)

    def explain(self, seeds: Sequence[Track], track: Track) -> Groups:
        """Why `track` is like the seeds (the explanation a recommendation carries)."""
        index = self.services.recommender.for_library(self.library)
        return index.explain([int(t.id or 0) for t in seeds], int(track.id or 0))

    def discover(self, seeds: Sequence[Track], options: DiscoverOptions | None = None, *,
                 on_event: DiscoverSink | None = None, cancel: threading.Event | None = None) -> DiscoverResult:
        """New songs from the catalogue around `seeds`, ranked by sound (app/discover.py); nothing is added to the
        library. Options default to the [discover] settings. `on_event` gets progress and the ranking so far,
        from this (worker) thread."""
        with self._discover_lock:
            if self._discoverer is None:
                if self.services.make_discoverer is None:
                    raise StoreUnavailable("Discover is not available here")
                self._discoverer = self.services.make_discoverer(self.library)
            discoverer = self._discoverer
        return discoverer.run(list(seeds), options, on_event=on_event, cancel=cancel)

    def jobs(self) -> list[Job]:
        return self.library.list_jobs()

    def control_jobs(self, action: JobAction) -> JobOutcome:
        from .jobs import control_jobs

        return control_jobs(self.library, action)

    def current_vector(self, track: Track) -> FeatureVector | None:
        """`track`'s stored vector when it is of the current version of the extractor that ingest and recommend
        use (re-analysing would change nothing); None when the track has none, or an older one."""
        from ..core import features

        stored = self.library.find_track(*track.key) if track.id is None else track
        if stored is None or stored.id is None:
            return None
        extractor = features.get(self.services.recommender.extractor)
        vector = self.library.get_vector(int(stored.id), extractor.name)
        return vector if vector is not None and vector.version == extractor.version else None

    def delete_track(self, track: Track) -> bool:
        return self.library.delete_track(int(track.id or 0))

    def make_pipeline(self, on_event: EventSink) -> Pipeline:
        return self.services.make_pipeline(self.library, on_event)

    def export(self, path: Path, rec: Recommendation) -> Path:
        from .export import write_export

        return write_export(path, rec)
