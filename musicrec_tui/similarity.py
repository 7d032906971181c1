"""The library's similarity indexes: loaded once, kept current, and asked for explained recommendations.

New vectors are added to the index incrementally (one cheap id query tells which); a deletion or a changed
extractor version reloads it. The CLI and the TUI share this; it is thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .core import features
from .core.errors import NotFound
from .core.index import SimilarityIndex
from .core.models import SOURCE_ITUNES, Neighbour, Track
from .core.recommend import query_for, recommend, recommend_all
from .store.base import SqlLibrary
from .store.matrix_cache import PersistedIndex


class SyncedIndex:
    """A SimilarityIndex over `library`'s vectors of one extractor, brought up to date on every use."""

    def __init__(self, library: SqlLibrary, extractor: str | None = None, hubness: str = "mp",
                 index_dir: Path | None = None, approximate_above: int = 0) -> None:
        self.library = library
        self.extractor = features.get(extractor)
        self.hubness = hubness
        self._index: SimilarityIndex | None = None
        self._lock = threading.Lock()
        # with a folder, the index is persisted there (store/matrix_cache.py) and checked by the change counter
        self.persisted = (PersistedIndex(library, self.extractor, hubness, index_dir,
                                         approximate_above=approximate_above) if index_dir else None)
        self._stamp: tuple[float, int] | None = None

    def index(self) -> SimilarityIndex:
        """The index, synchronised with the library first (nothing is re-read while its change counter stays)."""
        with self._lock:
            stamp = self.library.change_stamp()
            if self._index is not None and stamp == self._stamp:
                return self._index
            if self.persisted is not None:
                self._index = self.persisted.load(stamp)
            else:
                self._index = self._sync_in_memory(self._index)
            self._stamp = stamp
            return self._index

    def _sync_in_memory(self, current: SimilarityIndex | None) -> SimilarityIndex:
        ext = self.extractor
        ids = self.library.vector_ids(ext.name, ext.version)
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
        return SimilarityIndex(matrix, ext.groups, hubness=self.hubness)


class LibraryIndex:
    """Recommendations from the library: ranked by one extractor, explained by another's feature groups.

    The ranking extractor (musicnn by default) has learned, unnamed dimensions; the explainer (hand-crafted
    timbre, brightness, dynamics, rhythm, harmony) says in which of those the seed and each result are alike.
    A result without an explainer vector keeps the ranking extractor's own groups.
    """

    def __init__(self, library: SqlLibrary, extractor: str | None = None, hubness: str = "mp",
                 explainer: str | None = None, index_dir: Path | None = None, approximate_above: int = 0) -> None:
        self.library = library
        self.ranking = SyncedIndex(library, extractor, hubness, index_dir, approximate_above)
        self.extractor = self.ranking.extractor
        self.hubness = hubness
        self.explainer = (SyncedIndex(library, explainer, "none", index_dir)
                          if explainer and explainer != self.extractor.name else None)

    def index(self) -> SimilarityIndex:
        return self.ranking.index()

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
        found = recommend(index, _LazyTracks(self.library), list(seeds), k=k, exclude_artist=exclude_artist,
                          exclude_ids=exclude_ids)
        return self.explain(seeds, found)

    def similar_all(self, k: int = 5, exclude_artist: bool = False) -> Iterator[tuple[Track, list[Neighbour]]]:
        """(track, its recommendations) for every analysed track."""
        index = self.index()
        tracks = self.library.get_tracks(int(i) for i in index.ids)
        for track, found in recommend_all(index, tracks, k=k, exclude_artist=exclude_artist):
            yield track, self.explain([int(track.id or 0)], found)

    @property
    def explained_by(self) -> str:
        return self.explainer.extractor.name if self.explainer else self.extractor.name

    def explain(self, seeds: Sequence[int], found: list[Neighbour]) -> list[Neighbour]:
        """Replace each result's groups by the explainer's: each group's share of their likeness there."""
        if self.explainer is None or not found:
            return found
        index = self.explainer.index()
        have = [s for s in seeds if index.rows_of([s])[0] >= 0]
        if not have:
            return found
        query = query_for(index, have)
        out = []
        for n in found:
            row = index.rows_of([int(n.track.id or 0)])[0]
            if row < 0:
                out.append(n)
                continue
            shares = index.contributions(query, index.rows[row])
            out.append(replace(n, groups=tuple(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))))
        return out


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
