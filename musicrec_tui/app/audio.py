"""Audio to play or draw: for a library/catalogue track or a play id (`musicrec play ID`), and the play queue.

Both faces go through `track_audio` (itself over ingest/audio.py `audio_for`, which the pipeline analyses with):
a local-file track plays its file, an iTunes track its cached preview, downloaded on demand and recorded in the
library so the next play (and `reanalyze`) finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.audio import AUDIO_EXTENSIONS
from ..core.errors import ConfigError, MusicrecError, NotFound
from ..core.models import SOURCE_ITUNES, Track
from ..core.text import clean
from ..ingest.audio import Lookup, Previews, TrackAudio, audio_for
from ..playback.base import QueueItem
from ..store.protocol import Library

#: one iTunes trackId -> the catalogue's Track, or None
LookupOne = Callable[[str], Track | None]


def track_audio(track: Track, library: Library | None, previews: Previews, lookup: Lookup | None = None
                ) -> TrackAudio:
    """The local file with `track`'s audio (see ingest/audio.py); a freshly cached preview of a library track is
    recorded in `library`."""
    audio = audio_for(track, previews, lookup)
    if audio.downloaded and library is not None and track.id is not None:
        library.set_preview(track.id, str(audio.path), audio.sha256)
    return audio


def title_of(track: Track) -> str:
    """"Artist — Title" (or the title alone), cleaned for a terminal."""
    return clean(f"{track.artist} — {track.title}" if track.artist else track.title)


# ---- the play queue -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlayQueue:
    """What to hand the player: items in order, the one to start at, and a line per track that cannot play."""

    items: list[QueueItem]
    start: int
    failures: list[str]


def play_queue(tracks: Sequence[Track], start: int, audio: Callable[[Track], TrackAudio]) -> PlayQueue:
    """Resolve each track's audio (cached, or downloaded now); the queue starts at `tracks[start]`, or at the
    nearest playable track before it. Tracks that cannot play are listed in `failures`, not queued."""
    items: list[QueueItem] = []
    failures: list[str] = []
    begin = 0
    for i, track in enumerate(tracks):
        try:
            path = audio(track).path
        except MusicrecError as exc:
            failures.append(f"{clean(track.title)}: {exc.one_line()}")
            continue
        if i <= start:
            begin = len(items)
        items.append(QueueItem(str(path), f"{clean(track.title)} — {clean(track.artist)}", track))
    return PlayQueue(items, begin, failures)


# ---- `musicrec play ID` ----------------------------------------------------------------------------------
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


def find_track(ident: str, library: Library, lookup: LookupOne | None = None) -> Track | None:
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


def playable(ident: str, library: Library, lookup: LookupOne | None, previews: Previews) -> Playable:
    """Resolve a play id to a local file, downloading the preview into the cache when needed."""
    track = find_track(ident, library, lookup)
    if track is None:
        path = Path(parse_play_id(ident)[1])
        if path.suffix.lower() not in AUDIO_EXTENSIONS:
            raise NotFound(f"{path} is not an audio file ({', '.join(sorted(AUDIO_EXTENSIONS))})")
        return Playable(path, path.name)
    refresh: Lookup | None = None
    if lookup is not None:
        one = lookup

        def refresh(ids: list[int]) -> list[Track]:
            return [t for t in (one(str(i)) for i in ids) if t is not None]

    return Playable(track_audio(track, library, previews, refresh).path, title_of(track), track)
