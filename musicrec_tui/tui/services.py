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


class Lazy:
    """Builds the wrapped object on its first use, in whichever thread touches it first (a worker, by design).

    launch.py wraps the iTunes client, the preview cache and the player in it: their imports (requests,
    PortAudio) and device probing then happen after the first frame, not before it."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._obj: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._obj is None:
                self._obj = self._build()
            return self._obj

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


@dataclass(frozen=True, slots=True)
class Similar:
    """One neighbour as the Similar pane shows it."""

    rank: int
    score: float
    track: Track
    groups: tuple[tuple[str, float], ...] = ()  # (feature group, share of what made it similar), largest first


@dataclass(frozen=True, slots=True)
class IngestUpdate:
    """An ingest event (ingest/events.py IngestEvent) reduced to what the Ingest pane shows."""

    kind: str
    job_id: int | None
    track: Track | None
    state: JobState | None
    error: str | None = None
    rate_per_min: float | None = None


#: (library, seed track ids, k, exclude_artist) -> ranked neighbours
Recommender = Callable[[Any, Sequence[int], int, bool], list[Similar]]
#: (library, on_event) -> a pipeline over that library whose events reach on_event from worker threads
PipelineFactory = Callable[[Any, Callable[[Any], None]], Pipeline]
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
    extractor: str | None = None
    download: Downloader | None = None
    artwork_dir: Path | None = None
    country: str = "US"
    search_limit: int = 50
    extra: dict[str, Any] = field(default_factory=dict)


def ingest_update(event: Any) -> IngestUpdate:
    """Read an IngestEvent: kind "job" (a state change), "already" (nothing to do) or "error" (run stopped)."""
    progress = getattr(event, "progress", None) or {}
    rate = progress.get("rate")
    return IngestUpdate(kind=str(getattr(event, "kind", "job")), job_id=getattr(event, "job_id", None),
                        track=getattr(event, "track", None), state=getattr(event, "state", None),
                        error=getattr(event, "error", None),
                        rate_per_min=float(rate) * 60.0 if rate is not None else None)
