"""Rank the library for one or several seed tracks, with filters, duplicate collapsing and explanations.

Several seeds make a "radio": the query is the mean of the seeds' normalised rows (renormalised), so a track
ranks by its mean cosine to the seeds; it favours tracks that suit every seed over tracks very close to one.
Seeds never appear in their own list, nor do tracks that duplicate a seed.

Near duplicates: two tracks with the same normalised title and artist (case, accents, punctuation, bracketed
parts such as "(Remastered 2011)" and a trailing " - Live ..." ignored), or whose rows are practically identical
(cosine >= DUPLICATE_COSINE), are one entry: the best-ranked one, listing the others' ids in `duplicates`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from .errors import ConfigError, NotFound
from .index import Hit, SimilarityIndex
from .models import Neighbour, Track

DUPLICATE_COSINE = 0.9995
_BRACKETS = re.compile(r"[\(\[\{][^\)\]\}]*[\)\]\}]")
_SUFFIX = re.compile(r"\s+-\s+.*\b(remaster\w*|live|version|edit|mix|mono|stereo|demo|acoustic)\b.*$")
_NON_WORD = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=1 << 19)  # recommend --all meets every title and artist of the library
def normalise_name(text: str) -> str:
    """Lower case, no brackets or "- Remastered"-style suffix, no accents or punctuation, single spaces."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _SUFFIX.sub("", _BRACKETS.sub(" ", text))
    return _NON_WORD.sub(" ", text).strip()


def duplicate_key(track: Track) -> tuple[str, str]:
    """The (title, artist) key under which near-duplicate releases of one recording collapse."""
    return normalise_name(track.title), normalise_name(track.artist)


def query_for(index: SimilarityIndex, seeds: Sequence[int]) -> np.ndarray:
    """The normalised query row of one seed, or the renormalised mean row of several (a radio)."""
    if not seeds:
        raise ConfigError("no seed track given")
    rows = index.rows[[index.row_of(s) for s in seeds]]
    query = rows.mean(axis=0)
    norm = float(np.linalg.norm(query))
    return (query / norm if norm > 1e-9 else query).astype(np.float32)


def recommend(index: SimilarityIndex, tracks_by_id: Mapping[int, Track], seeds: Sequence[int], k: int = 5,
              exclude_artist: bool = False, exclude_ids: Iterable[int] = (),
              collapse_duplicates: bool = True, explainer: SimilarityIndex | None = None) -> list[Neighbour]:
    """The k tracks most similar to the seeds, best first, filtered and explained.

    `exclude_artist` drops every track by any seed's artist (names compared after `normalise_name`);
    `exclude_ids` are never listed; repeated seeds count once. NotFound for a seed without a vector or track.
    `tracks_by_id` only needs the seeds and the candidates (a lazy, store-backed mapping works): candidates
    are fetched in growing batches until k survive the filters or the library is exhausted.
    `explainer` (an index of another extractor, e.g. the hand-crafted one with named groups) explains each
    result in its groups when it holds the result and a seed; otherwise the ranking index explains it.
    """
    seeds = list(dict.fromkeys(int(s) for s in seeds))
    query = query_for(index, seeds)
    seed_tracks = []
    for s in seeds:
        if s not in tracks_by_id:
            raise NotFound(f"track {s} is not in the library")
        seed_tracks.append(tracks_by_id[s])
    banned = set(seeds) | {int(i) for i in exclude_ids}
    why = Explainer(index, explainer, seeds)
    return _select(index, tracks_by_id, query, seed_tracks, int(k), banned, exclude_artist, collapse_duplicates, why)


def recommend_all(index: SimilarityIndex, tracks_by_id: Mapping[int, Track], k: int = 5,
                  exclude_artist: bool = False, collapse_duplicates: bool = True,
                  batch: int = 256, explainer: SimilarityIndex | None = None
                  ) -> Iterator[tuple[Track, list[Neighbour]]]:
    """(track, its recommendations) for every indexed track that is in `tracks_by_id`, in row order.

    Candidates come from one matrix product per batch of queries; a track whose candidates do not survive the
    filters falls back to `recommend()`.
    """
    want = max(4 * int(k), int(k) + 16)
    ids = index.ids
    for start in range(0, len(index), batch):
        rows = np.arange(start, min(len(index), start + batch))
        hits = index.search_batch(index.rows[rows], want, exclude_rows=rows)
        for row, cand in zip(rows, hits, strict=True):
            track_id = int(ids[row])
            track = tracks_by_id.get(track_id)
            if track is None:
                continue
            why = Explainer(index, explainer, [track_id])
            picked = _filter(index, tracks_by_id, index.rows[row], [track], cand, int(k), {track_id},
                             exclude_artist, collapse_duplicates, why)
            if len(picked) < k and len(cand) == want:
                picked = recommend(index, tracks_by_id, [track_id], k, exclude_artist, (), collapse_duplicates,
                                   explainer)
            yield track, picked


def _select(index: SimilarityIndex, tracks_by_id: Mapping[int, Track], query: np.ndarray, seeds: list[Track],
            k: int, banned: set[int], exclude_artist: bool, collapse: bool, why: Explainer) -> list[Neighbour]:
    if k <= 0:
        return []
    want = k * 3 + 16
    while True:
        hits = index.search(query, want, exclude_ids=banned)
        prefetch = getattr(tracks_by_id, "get_many", None)  # a store-backed mapping loads candidates in one go
        if prefetch is not None:
            prefetch(h.id for h in hits)
        picked = _filter(index, tracks_by_id, query, seeds, hits, k, banned, exclude_artist, collapse, why)
        if len(picked) >= k or len(hits) < want:
            return picked
        want *= 4


def _filter(index: SimilarityIndex, tracks_by_id: Mapping[int, Track], query: np.ndarray, seeds: list[Track],
            hits: Sequence[Hit], k: int, banned: set[int], exclude_artist: bool,
            collapse: bool, why: Explainer) -> list[Neighbour]:
    seed_artists = {normalise_name(t.artist) for t in seeds}
    seed_keys = {duplicate_key(t) for t in seeds}
    rows = index.rows
    seed_at = [index.rows_of([t.id])[0] for t in seeds if t.id is not None]
    seed_rows = rows[[r for r in seed_at if r >= 0]]
    to_seeds: list[bool] = []
    to_hits: list[list[bool]] = []
    if collapse and hits:
        # every cosine the duplicate checks may need, in two small products instead of a loop of dot products
        hit_rows = rows[[h.row for h in hits]]
        if len(seed_rows):
            to_seeds = np.greater_equal(hit_rows @ seed_rows.T, DUPLICATE_COSINE).any(axis=1).tolist()
        to_hits = np.greater_equal(hit_rows @ hit_rows.T, DUPLICATE_COSINE).tolist()
    kept: list[tuple[Hit, Track, list[int], int]] = []
    keys: dict[tuple[str, str], int] = {}
    for at, hit in enumerate(hits):
        if len(kept) >= k and not collapse:
            break
        if hit.id in banned:
            continue
        track = tracks_by_id.get(hit.id)
        if track is None:
            continue
        if exclude_artist and normalise_name(track.artist) in seed_artists:
            continue
        if collapse:
            key = duplicate_key(track)
            if key in seed_keys or (to_seeds and to_seeds[at]):
                continue
            same = keys.get(key)
            if same is None:
                near = to_hits[at]
                same = next((i for i, entry in enumerate(kept) if near[entry[3]]), None)
            if same is not None:
                kept[same][2].append(hit.id)
                continue
            if len(kept) >= k:
                continue  # only looking for duplicates of the kept ones now
            keys[key] = len(kept)
        kept.append((hit, track, [], at))
    return [
        Neighbour(rank=i + 1, score=hit.score, track=track, cosine=hit.cosine, duplicates=tuple(dups),
                  groups=why.groups(hit.id))
        for i, (hit, track, dups, _) in enumerate(kept[:k])
    ]


class Explainer:
    """Why a track is like the seeds: each feature group's share of their cosine, largest first.

    The one explanation of the program (Similar pane, Analysis pane, `recommend`): taken from `explainer`'s index
    (named groups) when it holds the track and at least one seed, else from the ranking `index`."""

    def __init__(self, index: SimilarityIndex, explainer: SimilarityIndex | None, seeds: Sequence[int]) -> None:
        self.index = index
        self.query = _query_of_present(index, seeds)
        self.explainer = explainer
        self.explainer_query = _query_of_present(explainer, seeds) if explainer is not None else None

    def groups(self, track_id: int) -> tuple[tuple[str, float], ...]:
        """(group, share) pairs, largest first; () when neither index holds the track (or there is no seed)."""
        for index, query in ((self.explainer, self.explainer_query), (self.index, self.query)):
            if index is None or query is None:
                continue
            row = int(index.rows_of([track_id])[0])
            if row >= 0:
                shares = index.contributions(query, index.rows[row])
                return tuple(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))
        return ()


def _query_of_present(index: SimilarityIndex, seeds: Sequence[int]) -> np.ndarray | None:
    """The query of the seeds `index` holds, or None when it holds none of them."""
    have = [int(s) for s in seeds if len(index) and index.rows_of([int(s)])[0] >= 0]
    return query_for(index, have) if have else None


def _summary(track: Track) -> dict[str, object]:
    return {"id": track.id, "itunes_track_id": track.itunes_track_id, "artist": track.artist,
            "title": track.title, "album": track.album}


def recommendation_json(seeds: Sequence[Track], neighbours: Sequence[Neighbour], index: SimilarityIndex,
                        ) -> dict[str, object]:
    """The CLI's JSON shape: {"query", "extractor", "results": [{"rank", "score", "id", ...}]}.

    `query` is the seed's id/itunes_track_id/artist/title/album, plus "seeds" listing every seed (one entry
    for a single seed). `score` is the ranking score (cosine, or mutual proximity when the index uses it),
    `cosine` the plain cosine, `groups` each feature group's share of the cosine, largest first.
    """
    summaries = [_summary(t) for t in seeds]
    query: dict[str, object] = dict(summaries[0]) if len(summaries) == 1 else {}
    query["seeds"] = summaries
    return {
        "query": query,
        "extractor": index.extractor,
        "extractor_version": index.version,
        "hubness": index.hubness,
        "results": [
            {"rank": n.rank, "score": round(n.score, 6), "cosine": round(n.cosine, 6), **_summary(n.track),
             "groups": {g: round(s, 4) for g, s in n.groups}, "duplicates": list(n.duplicates)}
            for n in neighbours
        ],
    }
