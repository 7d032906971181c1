"""Where Discover looks for candidates in the catalogue, within a budget of requests.

Sources (`[discover] sources`, in this order of asking):

- `artist`: the seeds' artists' other songs, one `lookup?id=A,B,...&entity=song` for all seed artists. The
  artists' ids come from one `lookup?id=SEED_TRACKS` (a library track keeps its trackId, not its artistId).
- `genre`: songs of the seeds' genres (or of `--genre`), one `search?attribute=genreIndex&term=GENRE` each.
- `related`: other artists met in the genre and term searches, most frequent first: one
  `lookup?id=A,B,...&entity=song` for up to RELATED_ARTISTS of them.
- `terms`: searches derived from the seeds' metadata: the album name (`attribute=albumTerm`: soundtracks,
  compilations, other performers) and the artist name as a free term (features, covers, tributes).

Every request goes through the iTunes client (token bucket, backoff, retries) and counts against the request
budget whatever its outcome. A failed request is counted with its reason and the next one is tried; once the
client gives up on throttling (after minutes of backoff) no further request is sent.

Candidates are interleaved across sources (one from each in turn), so a preview budget smaller than the pool
samples every source. They are de-duplicated against the library (same trackId, or same normalised title and
artist as a library track) and against each other (same trackId, or same title and artist: the first found is
kept, and how it was found lists every source that met it).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING

from ..core.errors import ItunesError, ItunesThrottled
from ..core.itunes import CatalogueSong, ItunesClient
from ..core.models import SOURCE_ITUNES, Track
from ..core.recommend import duplicate_key, normalise_name
from ..store.protocol import Library

if TYPE_CHECKING:
    from .discover import DiscoverOptions

RELATED_ARTISTS = 5
RELATED_PER_ARTIST = 10
MAX_GENRES = 3
MAX_TERM_SEEDS = 3


class Source(StrEnum):
    ARTIST = "artist"
    GENRE = "genre"
    RELATED = "related"
    TERMS = "terms"


ALL_SOURCES: tuple[Source, ...] = (Source.ARTIST, Source.GENRE, Source.RELATED, Source.TERMS)


class Cancelled(Exception):
    """The discovery was cancelled (raised from the client's sleep or between requests)."""


@dataclass(slots=True)
class Candidate:
    """A song found for this discovery and every way it was found ("artist:Daft Punk", "genre:Electronic")."""

    song: CatalogueSong
    found_by: tuple[str, ...]
    source: Source

    @property
    def itunes_id(self) -> int:
        return int(self.song.track.external_id)


class RequestLog:
    """The request budget: counts requests, records failures, stops after the client gave up on throttling."""

    def __init__(self, budget: int, cancel: threading.Event,
                 on_request: Callable[[str, int], None] | None = None) -> None:
        self.budget = max(0, int(budget))
        self.cancel = cancel
        self.made = 0
        self.failures: list[str] = []
        self.stopped: str | None = None
        self._on_request = on_request

    @property
    def open(self) -> bool:
        return self.stopped is None and self.made < self.budget

    def ask(self, what: str, call: Callable[[], list[CatalogueSong]]) -> list[CatalogueSong] | None:
        """Run one request; None when the budget is spent or asking stopped, [] when it failed."""
        if self.cancel.is_set():
            raise Cancelled()
        if not self.open:
            if self.stopped is None:
                self.stopped = f"request budget of {self.budget} reached"
            return None
        self.made += 1
        if self._on_request is not None:
            self._on_request(what, self.made)
        try:
            return call()
        except ItunesThrottled as exc:
            self.failures.append(f"{what}: {exc.one_line()}")
            self.stopped = "the catalogue kept throttling: stopped asking, scoring what was found"
            return []
        except ItunesError as exc:
            self.failures.append(f"{what}: {exc.one_line()}")
            return []


@dataclass
class CandidatePool:
    """Found songs, de-duplicated against the library and each other; `skipped` holds (track, reason)."""

    library: Library
    opts: DiscoverOptions
    seeds: Sequence[Track]
    by_source: dict[Source, list[Candidate]] = field(default_factory=dict)
    skipped: list[tuple[Track, str]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._ids: dict[str, Candidate] = {}
        self._keys: dict[tuple[str, str], Candidate] = {}
        self._lib_ids: set[str] = set()
        self._lib_keys: set[tuple[str, str]] = set()
        for track in self.library.list_tracks():
            if track.source == SOURCE_ITUNES:
                self._lib_ids.add(track.external_id)
            self._lib_keys.add(duplicate_key(track))
        self._seed_artists = {normalise_name(t.artist) for t in self.seeds if t.artist}
        self._genre = normalise_name(self.opts.genre) if self.opts.genre else None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, songs: Sequence[CatalogueSong], source: Source, via: str) -> int:
        """Add songs found by `source` (via an artist, genre or term); returns how many were new."""
        label = f"{source.value}:{via}"
        new = 0
        for song in songs:
            track = song.track
            if track.itunes_track_id is None:
                continue
            known = self._ids.get(track.external_id) or self._keys.get(duplicate_key(track))
            if known is not None:
                if label not in known.found_by:
                    known.found_by = (*known.found_by, label)
                continue
            if track.external_id in self._lib_ids or duplicate_key(track) in self._lib_keys:
                self._skip(track, "already in the library")
                continue
            if self.opts.exclude_artist and normalise_name(track.artist) in self._seed_artists:
                self._skip(track, "by a seed's artist")
                continue
            if self._genre is not None and normalise_name(track.genre) != self._genre:
                self._skip(track, "not in the genre asked for")
                continue
            if not track.preview_url:
                self._skip(track, "no preview URL")
                continue
            cand = Candidate(song, (label,), source)
            self._ids[track.external_id] = cand
            self._keys[duplicate_key(track)] = cand
            self.by_source.setdefault(source, []).append(cand)
            new += 1
        return new

    def _skip(self, track: Track, reason: str) -> None:
        # remember each track once: the same song met by two sources is one skip
        key = track.external_id
        if key in self._ids or any(t.external_id == key for t, _ in self.skipped[-200:]):
            return
        self.skipped.append((track, reason))

    def interleaved(self, order: Sequence[Source]) -> list[Candidate]:
        """One candidate from each source in turn, each source in the catalogue's order."""
        queues = [list(self.by_source.get(s, ())) for s in order]
        queues += [list(v) for s, v in self.by_source.items() if s not in order]
        out: list[Candidate] = []
        while any(queues):
            for q in queues:
                if q:
                    out.append(q.pop(0))
        return out


def generate(client: ItunesClient, seeds: Sequence[Track], opts: DiscoverOptions, log: RequestLog,
             pool: CandidatePool, on_found: Callable[[int], None] | None = None) -> list[Candidate]:
    """Ask the catalogue, source by source, until the request budget is spent; the candidates, interleaved."""
    sources = tuple(s for s in opts.sources if not (s is Source.ARTIST and opts.exclude_artist))
    country = opts.country
    per = max(1, min(200, opts.per_request))

    def found(n: int) -> None:
        if n and on_found is not None:
            on_found(len(pool))

    # the seeds' catalogue ids: artist ids are not kept in the library
    seed_artists: dict[int, str] = {}
    itunes_seeds = [t.itunes_track_id for t in seeds if t.itunes_track_id is not None]
    if itunes_seeds and (Source.ARTIST in sources or Source.RELATED in sources):
        got = log.ask("the seeds' catalogue entries", lambda: client.lookup_songs(itunes_seeds, country=country))
        for song in got or ():
            if song.artist_id is not None:
                seed_artists[song.artist_id] = song.track.artist

    if Source.ARTIST in sources and seed_artists:
        names = ", ".join(dict.fromkeys(seed_artists.values()))
        got = log.ask(f"songs by {names}", lambda: client.artist_songs(list(seed_artists), limit=per,
                                                                        country=country))
        for song in got or ():
            found(pool.add([song], Source.ARTIST, song.track.artist))

    met_artists: Counter[int] = Counter()
    artist_names: dict[int, str] = {}

    def note_artists(songs: Sequence[CatalogueSong]) -> None:
        for song in songs:
            if song.artist_id is not None and song.artist_id not in seed_artists \
                    and normalise_name(song.track.artist) not in pool._seed_artists:
                met_artists[song.artist_id] += 1
                artist_names[song.artist_id] = song.track.artist

    if Source.GENRE in sources:
        genres = [opts.genre] if opts.genre else list(dict.fromkeys(t.genre for t in seeds if t.genre))
        for genre in genres[:MAX_GENRES]:
            got = log.ask(f"songs of the genre {genre}",
                          partial(client.search_songs, genre, per, country, attribute="genreIndex"))
            if got is None:
                break
            found(pool.add(got, Source.GENRE, genre))
            note_artists(got)

    terms: list[tuple[str, str | None]] = []
    if Source.TERMS in sources:
        for seed in seeds[:MAX_TERM_SEEDS]:
            if seed.album and normalise_name(seed.album) != normalise_name(seed.artist):
                terms.append((seed.album, "albumTerm"))
            if seed.artist:
                terms.append((seed.artist, None))
        terms = list(dict.fromkeys(terms))

    def ask_terms(limit: int) -> None:
        while terms and limit > 0:
            term, attribute = terms.pop(0)
            limit -= 1
            got = log.ask(f"search {term!r}", partial(client.search_songs, term, per, country, attribute=attribute))
            if got is None:
                terms.clear()
                return
            found(pool.add(got, Source.TERMS, term))
            note_artists(got)

    if Source.RELATED in sources:
        if not met_artists:
            ask_terms(1)  # no genre search met other artists: a term search may
        chosen = [a for a, _ in met_artists.most_common(RELATED_ARTISTS)]
        if chosen:
            names = ", ".join(artist_names[a] for a in chosen)
            got = log.ask(f"songs by related artists {names}",
                          lambda: client.artist_songs(chosen, limit=RELATED_PER_ARTIST, country=country))
            for song in got or ():
                found(pool.add([song], Source.RELATED, song.track.artist))
    ask_terms(len(terms))
    return pool.interleaved(sources)
