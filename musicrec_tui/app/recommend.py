"""Recommend and radio: the library's similarity indexes, loaded once, kept current, asked for explained results.

New vectors are added to an index incrementally (one cheap id query tells which, asked only when the library's
change counter moved); a deletion or a changed extractor version reloads it. `musicrec recommend`, the Similar
pane and its export all use `Recommendation`: one result type, one JSON shape. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import features
from ..core.errors import NotFound
from ..core.index import SimilarityIndex
from ..core.models import SOURCE_ITUNES, Neighbour, Track
from ..core.recommend import Explainer, recommend, recommend_all, recommendation_json
from ..store.matrix_cache import PersistedIndex
from ..store.protocol import Library
from .recommender import Recommender

Groups = tuple[tuple[str, float], ...]
__all__ = ["Groups", "LibraryIndex", "Recommendation", "Recommender", "resolve_track"]


def resolve_track(library: Library, ref: str | int) -> Track:
    """A library track from its library id or `itunes:<trackId>` (as every command and the API take it);
    NotFound otherwise."""
    text = str(ref).strip()
    track: Track | None = None
    if text.lower().startswith("itunes:") and text[7:].isdigit():
        track = library.find_track(SOURCE_ITUNES, text[7:])
    elif text.isdigit():
        track = library.get_track(int(text))
    if track is None:
        raise NotFound(f"no track {text!r} in the library", hint="give a library id or itunes:<trackId>")
    return track


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The tracks most like one seed (or several: a radio), best first, each explained; and how they were ranked."""

    seeds: tuple[Track, ...]
    neighbours: tuple[Neighbour, ...]
    index: SimilarityIndex
    explained_by: str
    k: int
    exclude_artist: bool

    @property
    def extractor(self) -> str:
        return self.index.extractor

    def to_json(self) -> dict[str, object]:
        """`{"query", "extractor", "extractor_version", "hubness", "results": [{"rank", "score", "cosine", "id",
        ...}], "explained_by", "k", "exclude_artist"}`: what `recommend --json` prints and the TUI exports."""
        return {**recommendation_json(self.seeds, self.neighbours, self.index), "explained_by": self.explained_by,
                "k": self.k, "exclude_artist": self.exclude_artist}


class SyncedIndex:
    """A SimilarityIndex over `library`'s vectors of one extractor, brought up to date on every use.

    With `index_dir` the index is persisted there (store/matrix_cache.py): loaded memory-mapped, checked by the
    library's change counter, rebuilt exactly when the library changed. Without it, it is built in memory and
    new vectors are added incrementally. `refit_on_change=False` (the TUI, while an ingest adds a track every
    few seconds) loads the persisted index once and then adds new vectors in memory."""

    def __init__(self, library: Library, extractor: str | None = None, hubness: str = "mp",
                 index_dir: Path | None = None, approximate_above: int = 0, refit_on_change: bool = True) -> None:
        self.library = library
        self.extractor = features.get(extractor)
        self.hubness = hubness
        self._index: SimilarityIndex | None = None
        self._seen_change: tuple[float, int] | None = None
        self._lock = threading.Lock()
        self.persisted = (PersistedIndex(library, self.extractor, hubness, index_dir,
                                         approximate_above=approximate_above) if index_dir else None)
        self.refit_on_change = refit_on_change

    def index(self) -> SimilarityIndex:
        """The index, synchronised with the library first (nothing is re-read while its change counter stays)."""
        with self._lock:
            change = self.library.change_stamp()
            current = self._index
            if current is not None and change == self._seen_change:
                return current
            if self.persisted is not None and (current is None or self.refit_on_change or current.approximate):
                self._index = self.persisted.load(change)
            else:
                self._index = self._sync_in_memory(current)
            self._seen_change = change
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
    A result without an explainer vector keeps the ranking extractor's own groups (core/recommend.Explainer).
    """

    def __init__(self, library: Library, extractor: str | None = None, hubness: str = "mp",
                 explainer: str | None = None, index_dir: Path | None = None, approximate_above: int = 0,
                 refit_on_change: bool = True) -> None:
        self.library = library
        self.ranking = SyncedIndex(library, extractor, hubness, index_dir, approximate_above, refit_on_change)
        self.extractor = self.ranking.extractor
        self.hubness = hubness
        self.explainer = (SyncedIndex(library, explainer, "none", index_dir, 0, refit_on_change)
                          if explainer and explainer != self.extractor.name else None)

    def index(self) -> SimilarityIndex:
        return self.ranking.index()

    def _explainer_index(self) -> SimilarityIndex | None:
        return self.explainer.index() if self.explainer is not None else None

    @property
    def explained_by(self) -> str:
        return self.explainer.extractor.name if self.explainer else self.extractor.name

    def resolve(self, ref: str | int) -> Track:
        """A library track from an id, or `itunes:<trackId>`; NotFound otherwise."""
        return resolve_track(self.library, ref)

    def similar(self, seeds: Sequence[int], k: int = 5, exclude_artist: bool = False,
                exclude_ids: Iterable[int] = ()) -> list[Neighbour]:
        """The k tracks most like the seeds (one seed, or several for a radio), explained."""
        index = self.index()
        missing = [s for s in seeds if index.rows_of([s])[0] < 0]
        if missing:
            raise NotFound(f"track {missing[0]} has no {self.extractor.name} vector yet",
                           hint="ingest it, or run `musicrec reanalyze`")
        return recommend(index, _LazyTracks(self.library), list(seeds), k=k, exclude_artist=exclude_artist,
                         exclude_ids=exclude_ids, explainer=self._explainer_index())

    def recommendation(self, seeds: Sequence[Track], k: int = 5, exclude_artist: bool = False) -> Recommendation:
        """`similar` for library tracks, as the one result type both faces show and export."""
        found = self.similar([int(t.id or 0) for t in seeds], k, exclude_artist)
        return Recommendation(tuple(seeds), tuple(found), self.index(), self.explained_by, k, exclude_artist)

    def similar_all(self, k: int = 5, exclude_artist: bool = False) -> Iterator[Recommendation]:
        """The recommendation of every analysed track."""
        index = self.index()
        tracks = self.library.get_tracks(int(i) for i in index.ids)
        for track, found in recommend_all(index, tracks, k=k, exclude_artist=exclude_artist,
                                          explainer=self._explainer_index()):
            yield Recommendation((track,), tuple(found), index, self.explained_by, k, exclude_artist)

    def explain(self, seeds: Sequence[int], track_id: int) -> Groups:
        """Why `track_id` is like the seeds: the same explanation a recommendation carries ((group, share) pairs,
        largest first), whether or not it made the top k; () when no index holds it."""
        return Explainer(self.index(), self._explainer_index(), list(seeds)).groups(int(track_id))


class _LazyTracks(Mapping[int, Track]):
    """Tracks by id fetched from the store on demand (recommend() asks only for seeds and candidates)."""

    def __init__(self, library: Library) -> None:
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
