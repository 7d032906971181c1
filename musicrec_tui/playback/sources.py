"""What to play for an id given on the command line (or picked in the TUI): a library track, an iTunes track
(looked up when not in the library) or a local audio file; its preview comes from the cache, downloaded on
demand. Collaborators are passed in, so the TUI reuses this with its own store, client and cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..core.audio import AUDIO_EXTENSIONS
from ..core.errors import ConfigError, NotFound
from ..core.models import SOURCE_FILE, SOURCE_ITUNES, Track


class _Library(Protocol):
    def get_track(self, track_id: int) -> Track | None: ...

    def find_track(self, source: str, external_id: str) -> Track | None: ...

    def set_preview(self, track_id: int, path: str | None, sha256: str | None) -> None: ...


Lookup = Callable[[str], Track | None]  # iTunes trackId -> Track, or None when the catalogue has none
Fetch = Callable[[Track], Any]  # Track -> CachedPreview (path, sha256): core.fetch.PreviewCache.fetch


@dataclass(frozen=True, slots=True)
class Playable:
    """A file to hand to the player, the title to show and the track it belongs to (None for a bare file)."""

    path: Path
    title: str
    track: Track | None = None


def parse_play_id(text: str) -> tuple[str, str]:
    """`12` -> ("library", "12"); `itunes:123` -> ("itunes", "123"); an existing file -> ("path", abs path)."""
    ident = text.strip()
    if ident.isdigit():
        return "library", str(int(ident))
    kind, sep, rest = ident.partition(":")
    if sep and kind.lower() == SOURCE_ITUNES:
        if not rest.strip().isdigit():
            raise ConfigError(f"not an iTunes track id: {rest!r} (use itunes:<trackId>)")
        return SOURCE_ITUNES, str(int(rest.strip()))
    path = Path(ident).expanduser()
    if path.is_file():
        return "path", str(path.resolve())
    raise NotFound(f"{text!r} is not a library id, itunes:<trackId> or an audio file")


def find_track(ident: str, library: _Library, lookup: Lookup | None = None) -> Track | None:
    """The Track for a play id; None for a bare file path. Raises NotFound."""
    kind, value = parse_play_id(ident)
    if kind == "path":
        return None
    if kind == "library":
        track = library.get_track(int(value))
        if track is None:
            raise NotFound(f"no track with id {value} in the library")
        return track
    track = library.find_track(SOURCE_ITUNES, value)
    if track is None and lookup is not None:
        track = lookup(value)
    if track is None:
        raise NotFound(f"no song with iTunes id {value}")
    return track


def playable(ident: str, library: _Library, lookup: Lookup | None, fetch: Fetch) -> Playable:
    """Resolve a play id to a local file, downloading the preview into the cache when needed."""
    track = find_track(ident, library, lookup)
    if track is None:
        path = Path(parse_play_id(ident)[1])
        if path.suffix.lower() not in AUDIO_EXTENSIONS:
            raise NotFound(f"{path} is not an audio file ({', '.join(sorted(AUDIO_EXTENSIONS))})")
        return Playable(path, path.name)
    return Playable(preview_path(track, library, fetch), title_of(track), track)


def preview_path(track: Track, library: _Library, fetch: Fetch) -> Path:
    """A local file with `track`'s audio: the file itself, the cached preview, or a fresh download (recorded
    in the library when the track is in it)."""
    if track.source == SOURCE_FILE:
        path = Path(track.external_id)
        if not path.is_file():
            raise NotFound(f"the file of track {track.id} is gone: {path}")
        return path
    if track.preview_path and Path(track.preview_path).is_file():
        return Path(track.preview_path)
    if not track.preview_url:
        raise NotFound(f"{title_of(track)} has no preview to play")
    cached = fetch(track)
    if track.id is not None and str(cached.path) != track.preview_path:
        library.set_preview(track.id, str(cached.path), cached.sha256)
    return Path(cached.path)


def title_of(track: Track) -> str:
    return f"{track.artist} — {track.title}" if track.artist else track.title
