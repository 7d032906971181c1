"""What the app needs from the rest of the program, injected by tui/launch.py (and by tests).

The app never builds clients itself: launch.make_services builds the real ones from Settings; tests build the
same record around the fake iTunes server, a temporary library and a recording player.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..core.models import JobState, Track


class Catalogue(Protocol):
    """The online catalogue (core/itunes.py ItunesClient)."""

    def search(self, term: str, limit: int = 50, country: str = "US") -> list[Track]: ...


class Previews(Protocol):
    """The preview cache (core/fetch.py PreviewCache): `.fetch(track).path` is a complete local file."""

    def fetch(self, track: Track) -> Any: ...


class Pipeline(Protocol):
    """The ingest pipeline (ingest/ IngestPipeline): enqueue, then run until the queue is empty."""

    def enqueue(self, tracks: Sequence[Track]) -> Any: ...

    def run(self, cancel: threading.Event | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Similar:
    """One neighbour as the Similar pane shows it."""

    rank: int
    score: float
    track: Track
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IngestUpdate:
    """An ingest event reduced to what the Ingest pane shows."""

    job_id: int | None
    track: Track | None
    state: JobState | None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    rate: float | None = None


#: (library, seed track ids, k, exclude_artist) -> ranked neighbours
Recommender = Callable[[Any, Sequence[int], int, bool], list[Similar]]
#: (on_event) -> a fresh pipeline whose events are passed to on_event from worker threads
PipelineFactory = Callable[[Callable[[Any], None]], Pipeline]
#: (source path, title, track) -> a playback QueueItem
QueueItemFactory = Callable[[str, str, Track], Any]
#: (url) -> image bytes (artwork), raising MusicrecError/OSError when it cannot
Downloader = Callable[[str], bytes]


@dataclass(slots=True)
class Services:
    """Everything the app talks to. `open_library` is called in a worker; the rest are used from workers."""

    open_library: Callable[[], Any]
    catalogue: Catalogue
    previews: Previews
    player: Any
    make_pipeline: PipelineFactory
    recommend: Recommender
    queue_item: QueueItemFactory
    extractor: str | None = None
    download: Downloader | None = None
    artwork_dir: Path | None = None
    country: str = "US"
    search_limit: int = 50
    extra: dict[str, Any] = field(default_factory=dict)


def ingest_update(event: Any) -> IngestUpdate:
    """Read an IngestEvent (or anything shaped like one) into an IngestUpdate, tolerating missing fields."""
    state = getattr(event, "state", None)
    if state is not None and not isinstance(state, JobState):
        try:
            state = JobState(str(state))
        except ValueError:
            state = None
    counts_raw = getattr(event, "counts", None) or {}
    counts = {str(getattr(k, "value", k)): int(v) for k, v in dict(counts_raw).items()}
    job = getattr(event, "job", None)
    job_id = getattr(event, "job_id", None) or getattr(job, "id", None)
    track = getattr(event, "track", None) or getattr(job, "track", None)
    error = getattr(event, "error", None) or getattr(event, "reason", None)
    rate = getattr(event, "rate", None)
    return IngestUpdate(job_id=job_id, track=track, state=state, error=error, counts=counts,
                        rate=float(rate) if rate is not None else None)
