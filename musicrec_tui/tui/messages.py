"""Messages the panes and workers send to the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # annotations only: the first frame imports neither the job use-cases nor the ingest events
    from ..app.jobs import JobAction
    from ..core.models import JobState, Track
    from ..ingest.events import EventKind, IngestEvent


@dataclass(frozen=True, slots=True)
class IngestUpdate:
    """An ingest event (ingest/events.py IngestEvent) reduced to what the Ingest pane shows."""

    kind: EventKind
    job_id: int | None
    track: Track | None
    state: JobState | None
    error: str | None = None
    rate_per_min: float | None = None  # over the pipeline's sliding window (0 until two jobs finished)
    run_done: int = 0  # this run's figures (events/progress), not the whole history of the queue
    run_failed: int = 0
    run_total: int = 0

    @classmethod
    def of(cls, event: IngestEvent) -> IngestUpdate:
        """Kind "job" (a state change), "already" (nothing to do) or "error" (the run stopped)."""
        p = event.progress
        rate = p.get("rate")
        return cls(kind=event.kind, job_id=event.job_id, track=event.track, state=event.state, error=event.error,
                   rate_per_min=float(rate) * 60.0 if rate is not None else None,
                   run_done=int(p.get("done", 0)), run_failed=int(p.get("failed", 0)),
                   run_total=int(p.get("total", 0)))


class IngestRequested(Message):
    """Someone asked for these tracks to be ingested."""

    def __init__(self, tracks: list[Track]) -> None:
        super().__init__()
        self.tracks = tracks


class IngestProgress(Message):
    """An ingest event arrived from the pipeline's worker threads."""

    def __init__(self, update: IngestUpdate) -> None:
        super().__init__()
        self.update = update


class IngestFinished(Message):
    """A pipeline run ended (queue empty, cancelled, or failed with `error`)."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class PlayRequested(Message):
    """Play these tracks in order (one track: a preview)."""

    def __init__(self, tracks: list[Track], start: int = 0) -> None:
        super().__init__()
        self.tracks = tracks
        self.start = start


class ShowSimilar(Message):
    """Open the Similar pane seeded with these library tracks."""

    def __init__(self, seeds: list[Track]) -> None:
        super().__init__()
        self.seeds = seeds


class TrackFocused(Message):
    """A library track is the one the person is looking at (the Analysis pane follows it)."""

    def __init__(self, track: Track) -> None:
        super().__init__()
        self.track = track


class LibraryChanged(Message):
    """Tracks were added or removed: tables showing the library should reload."""


class JobsRequested(Message):
    """Retry the failed ingest jobs, cancel the queued ones, or clear the finished ones."""

    def __init__(self, action: JobAction) -> None:
        super().__init__()
        self.action = action


class SeedsChanged(Message):
    """The Similar pane now shows the neighbours of these seeds (the Analysis pane compares with them)."""

    def __init__(self, seeds: list[Track]) -> None:
        super().__init__()
        self.seeds = seeds


class RememberUi(Message):
    """Persist UI choices (k, exclude_artist ...) in the UI state file."""

    def __init__(self, **values: object) -> None:
        super().__init__()
        self.values = values


class ArtworkWanted(Message):
    """The player bar wants the artwork of the track playing now (None: show none)."""

    def __init__(self, track: Track | None) -> None:
        super().__init__()
        self.track = track
