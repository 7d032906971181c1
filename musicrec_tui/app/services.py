"""What the faces talk to: `Services` (the collaborators, built lazily by app/factory.py or by tests) and
`Session` (the use-cases over one open library). No Textual here: the TUI runs these in thread workers, the CLI
calls them directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from ..core.errors import StoreUnavailable
from ..core.models import Job, Track
from ..ingest.audio import Previews, TrackAudio
from ..ingest.events import IngestEvent, IngestSummary
from ..playback.base import Player
from ..store.protocol import Library
from .audio import PlayQueue, play_queue, track_audio
from .export import write_export
from .jobs import JobAction, JobOutcome, control_jobs
from .recommend import Groups, Recommendation, Recommender
from .search import Catalogue, SearchResult
from .search import search as search_catalogue

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


EventSink = Callable[[IngestEvent], None]
#: (library, on_event) -> a pipeline over that library whose events reach on_event from worker threads
PipelineFactory = Callable[[Library, EventSink], Pipeline]
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


class Session:
    """The use-cases both faces call, over one open library. Every method may block: call it from a worker."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._library: Library | None = None

    # ---- the library
    def open(self) -> Library:
        """Open (or reopen) the library; StoreUnavailable and friends say why it cannot be."""
        self._library = self.services.open_library()
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
        library, self._library = self._library, None
        if library is not None:
            library.close()

    @property
    def player(self) -> Player:
        return self.services.player.get()

    # ---- use-cases
    def search(self, term: str) -> list[SearchResult]:
        """The catalogue's songs for `term`, flagged with what the library holds (when it is open)."""
        s = self.services
        return search_catalogue(s.catalogue.get(), self._library, term, s.search_limit, s.country)

    def lookup(self, ids: list[int]) -> list[Track]:
        return self.services.catalogue.get().lookup(ids)

    def audio(self, track: Track) -> TrackAudio:
        """A local file with `track`'s audio: its own file, or its preview (downloaded into the cache)."""
        return track_audio(track, self._library, self.services.previews.get(), self.lookup)

    def play_queue(self, tracks: Sequence[Track], start: int = 0) -> PlayQueue:
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

    def jobs(self) -> list[Job]:
        return self.library.list_jobs()

    def control_jobs(self, action: JobAction) -> JobOutcome:
        return control_jobs(self.library, action)

    def delete_track(self, track: Track) -> bool:
        return self.library.delete_track(int(track.id or 0))

    def make_pipeline(self, on_event: EventSink) -> Pipeline:
        return self.services.make_pipeline(self.library, on_event)

    def export(self, path: Path, rec: Recommendation) -> Path:
        return write_export(path, rec)
