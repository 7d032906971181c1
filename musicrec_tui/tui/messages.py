"""Messages the panes and workers send to the app."""

from __future__ import annotations

from textual.message import Message

from ..core.models import Track
from .services import IngestUpdate


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
