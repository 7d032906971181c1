"""Audio for a track: the one place that turns a Track into a local file to decode or play.

A local-file track is its own file; an iTunes track's preview comes from the cache (downloaded on demand; an
expired preview URL is refreshed by one catalogue lookup, as Apple advises). The ingest pipeline analyses what
this returns, and the application layer (app/audio.py) plays and draws it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..core.errors import MusicrecError, NotFound, PreviewGone
from ..core.files import sha256_file
from ..core.models import SOURCE_FILE, Track

if TYPE_CHECKING:  # core.fetch imports requests: not on the TUI's start-up path
    from ..core.fetch import CachedPreview

#: iTunes trackIds -> the catalogue's current Tracks (ItunesClient.lookup)
Lookup = Callable[[list[int]], list[Track]]


class Previews(Protocol):
    """The preview cache (core/fetch.py PreviewCache)."""

    def fetch(self, track: Track) -> CachedPreview: ...


@dataclass(frozen=True, slots=True)
class TrackAudio:
    """A complete local audio file for `track`, and its sha256. `downloaded` is True when the file is a preview
    the track did not record yet (worth remembering in the library)."""

    track: Track
    path: Path
    sha256: str
    downloaded: bool = False


def audio_for(track: Track, previews: Previews, lookup: Lookup | None = None) -> TrackAudio:
    """The audio of `track`: its local file, its recorded preview, or the cached (downloaded) preview.

    The returned track carries a fresh preview URL when the saved one had expired. Raises NotFound (a local file
    that is gone, a track without any audio) or DownloadError (the preview cannot be fetched)."""
    if track.source == SOURCE_FILE:
        path = Path(track.external_id)
        try:
            return TrackAudio(track, path, sha256_file(path))
        except FileNotFoundError:
            if "\ufffd" in track.external_id:  # stored with U+FFFD for bytes that are not UTF-8 (core/text.py)
                raise NotFound(f"file name is not valid UTF-8, rename the file: {path}") from None
            raise NotFound(f"file not found: {path}") from None
        except OSError as exc:
            raise NotFound(f"cannot read {path}: {exc.strerror or exc}") from None
    if track.preview_path and Path(track.preview_path).is_file():
        path = Path(track.preview_path)
        try:
            return TrackAudio(track, path, track.preview_sha256 or sha256_file(path))
        except OSError:
            pass  # evicted meanwhile: fetch it again below
    if not track.preview_url:
        raise NotFound("no preview URL in the catalogue")
    try:
        cached = previews.fetch(track)
    except PreviewGone:
        fresh = _fresh_preview_url(track, lookup)
        if fresh is None:
            raise
        track = replace(track, preview_url=fresh)
        cached = previews.fetch(track)
    return TrackAudio(track, Path(cached.path), cached.sha256, downloaded=str(cached.path) != track.preview_path)


def _fresh_preview_url(track: Track, lookup: Lookup | None) -> str | None:
    """Saved preview URLs expire (404): look the track up again for a new one."""
    if lookup is None or track.itunes_track_id is None:
        return None
    try:
        found = lookup([track.itunes_track_id])
    except MusicrecError:
        return None
    fresh = next((t.preview_url for t in found if t.key == track.key and t.preview_url), None)
    return fresh if fresh != track.preview_url else None

