"""The library's similarity index for one extractor: loaded once, kept current, and asked for recommendations.

New vectors are added to the index incrementally (one cheap id query tells which); a deletion or a changed
extractor version reloads it. The CLI and the TUI share this; it is thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from .core import features
from .core.errors import NotFound
from .core.index import SimilarityIndex
from .core.models import SOURCE_ITUNES, Neighbour, Track
from .core.recommend import recommend, recommend_all
from .store.base import SqlLibrary


class LibraryIndex:
    """A SimilarityIndex over `library`'s vectors of `extractor`, synchronised on every use."""

    def __init__(self, library: SqlLibrary, extractor: str | None = None, hubness: str = "mp") -> None:
        self.library = library
        self.extractor = features.get(extractor)
        self.hubness = hubness
        self._index: SimilarityIndex | None = None
        self._lock = threading.Lock()

    def index(self) -> SimilarityIndex:
        """The index, brought up to date with the library first."""
        with self._lock:
            ext = self.extractor
            ids = self.library.vector_ids(ext.name, ext.version)
            current = self._index
            if current is not None and len(current):
                held = current.ids
                gone = not np.isin(held, ids, assume_unique=True).all()
                if not gone:
                    new = np.setdiff1d(ids, held, assume_unique=True)
                    if len(new):
                        fresh = self.library.load_matrix(ext.name, ext.version, new)
                        current.add(fresh.ids, fresh.matrix)
                    return current
            matrix = self.library.load_matrix(ext.name, ext.version)
            self._index = SimilarityIndex(matrix, ext.groups, hubness=self.hubness)
            return self._index

    def resolve(self, ref: str | int) -> Track:
        """A library track from an id, or `itunes:<trackId>`; NotFound otherwise."""
        text = str(ref).strip()
        track: Track | None = None
        if text.lower().startswith("itunes:") and text[7:].isdigit():
            track = self.library.find_track(SOURCE_ITUNES, text[7:])
        elif text.isdigit():
            track = self.library.get_track(int(text))
        if track is None:
            raise NotFound(f"no track {text!r} in the library", hint="give a library id or itunes:<trackId>")
        return track

    def similar(self, seeds: Sequence[int], k: int = 5, exclude_artist: bool = False,
                exclude_ids: Iterable[int] = ()) -> list[Neighbour]:
        """The k tracks most like the seeds (one seed, or several for a radio), explained."""
        index = self.index()
        missing = [s for s in seeds if index.rows_of([s])[0] < 0]
        if missing:
            raise NotFound(f"track {missing[0]} has no {self.extractor.name} vector yet",
                           hint="ingest it, or run `musicrec reanalyze`")
        return recommend(index, _LazyTracks(self.library), list(seeds), k=k, exclude_artist=exclude_artist,
                         exclude_ids=exclude_ids)

    def similar_all(self, k: int = 5, exclude_artist: bool = False) -> Iterator[tuple[Track, list[Neighbour]]]:
        """(track, its recommendations) for every analysed track."""
        index = self.index()
        tracks = self.library.get_tracks(int(i) for i in index.ids)
        yield from recommend_all(index, tracks, k=k, exclude_artist=exclude_artist)


class _LazyTracks(Mapping[int, Track]):
    """Tracks by id fetched from the store on demand (recommend() asks only for seeds and candidates)."""

    def __init__(self, library: SqlLibrary) -> None:
        self._library = library
        self._cache: dict[int, Track | None] = {}

    def _load(self, ids: Iterable[int]) -> None:
        want = [int(i) for i in ids if int(i) not in self._cache]
        if want:
            found = self._library.get_tracks(want)
            for i in want:
                self._cache[i] = found.get(i)

    def __getitem__(self, key: int) -> Track:
        self._load([key])
        track = self._cache[int(key)]
        if track is None:
            raise KeyError(key)
        return track

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int | np.integer):
            return False
        self._load([int(key)])
        return self._cache[int(key)] is not None

    def get_many(self, ids: Iterable[int]) -> None:
        self._load(ids)

    def __iter__(self) -> Iterator[int]:
        return iter(k for k, v in self._cache.items() if v is not None)

    def __len__(self) -> int:
        return sum(1 for v in self._cache.values() if v is not None)
