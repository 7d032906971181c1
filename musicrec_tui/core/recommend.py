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
    if text.isascii():  # nothing to decompose (casefold is lower for ASCII)
        text = text.lower()
    else:
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
    return _normalised(rows.mean(axis=0))


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
                  batch: int = 2048, explainer: SimilarityIndex | None = None
                  ) -> Iterator[tuple[Track, list[Neighbour]]]:
    """(track, its recommendations) for every indexed track that is in `tracks_by_id`, in row order.

    The same lists as `recommend(index, tracks_by_id, [id], k, ...)` for each track, computed per block of
    `batch` rows: candidates from `SimilarityIndex.all_hits` (half the products of one query per row), the
    filters as array masks over precomputed per-row codes (track present, artist, duplicate key), the near-
    duplicate cosines and the explanations of a whole block in a few products. Only the sequential duplicate
    collapsing walks each row's few candidates in Python. A track whose candidates do not survive the filters
    falls back to `recommend()`. Memory: one block at a time (and the index's candidates of unfinished rows).
    """
    k = int(k)
    n = len(index)
    if n == 0:
        return
    want = _first_pool(k)  # as recommend() asks first: the same candidates, so the same duplicates
    ids = index.ids
    tracks: list[Track | None] = [tracks_by_id.get(int(i)) for i in ids]
    present = np.array([t is not None for t in tracks], dtype=bool)
    dup_code = _codes(duplicate_key(t) if t is not None else None for t in tracks)
    artist_code = _codes(normalise_name(t.artist) if t is not None else None for t in tracks)
    why = _BlockExplainer(index, explainer)
    rows_all = index.rows
    for block in index.all_hits(want, block=batch):
        b, width = block.rows.shape
        seeds = np.arange(block.start, block.start + b)
        cand = np.maximum(block.rows, 0)
        keep = (block.rows >= 0) & present[cand]
        if exclude_artist:
            keep &= artist_code[cand] != artist_code[seeds][:, None]
        near: list[list[list[bool]] | None] = [None] * b
        walk = np.zeros(b, dtype=bool)  # seeds whose candidates need the duplicate walk
        if collapse_duplicates and width:
            # a candidate that duplicates the seed (same key, or practically the same row) is never listed
            keep &= (dup_code[cand] != dup_code[seeds][:, None]) & ~(block.cosines >= DUPLICATE_COSINE)
            hit_rows = rows_all[cand]
            close = np.matmul(hit_rows, hit_rows.transpose(0, 2, 1)) >= DUPLICATE_COSINE
            close[:, np.arange(width), np.arange(width)] = False
            walk = close.any(axis=(1, 2))
            for w in np.nonzero(walk)[0].tolist():
                near[w] = close[w].tolist()
            # two kept candidates under one duplicate key: walk too
            keyed = np.sort(np.where(keep, dup_code[cand], -1 - np.arange(width)), axis=1)
            walk |= (keyed[:, 1:] == keyed[:, :-1]).any(axis=1)
        # every other seed keeps its first k candidates that passed the masks, with no duplicates
        first = keep & (np.cumsum(keep, axis=1) <= k)
        picked: list[list[tuple[int, list[int]]]] = [[] for _ in range(b)]  # (position in candidates, duplicates)
        for i, at in zip(*(x.tolist() for x in np.nonzero(first & ~walk[:, None])), strict=True):
            picked[i].append((at, []))
        cand_l = cand.tolist()
        if walk.any():
            keep_l, codes_l = keep.tolist(), dup_code[cand].tolist()
            for i in np.nonzero(walk)[0].tolist():
                picked[i] = _collapse(keep_l[i], cand_l[i], codes_l[i], near[i], ids, k, collapse_duplicates)
        for i in np.nonzero(~present[seeds])[0].tolist():
            picked[i] = []
        full = (block.rows >= 0).sum(axis=1) == want
        positions = [[at for at, _ in p] for p in picked]
        groups = why.block(seeds, block.rows, positions)
        for i in range(b):
            track = tracks[seeds[i]]
            if track is None:
                continue
            found = [Neighbour(rank=j + 1, score=float(block.scores[i, at]), track=tracks[cand_l[i][at]],
                               cosine=float(block.cosines[i, at]), duplicates=tuple(dups), groups=groups[i][j])
                     for j, (at, dups) in enumerate(picked[i])]
            if len(found) < k and full[i]:
                found = recommend(index, tracks_by_id, [int(ids[seeds[i]])], k, exclude_artist, (),
                                  collapse_duplicates, explainer)
            yield track, found


def _codes(keys: Iterable[object]) -> np.ndarray:
    """A small integer per distinct key (-1 for None, a code shared by nothing else)."""
    table: dict[object, int] = {}
    out = [-1 - i if key is None else table.setdefault(key, len(table)) for i, key in enumerate(keys)]
    return np.array(out, dtype=np.int64)


def _collapse(keep: list[bool], cand: list[int], codes: list[int], near: list[list[bool]] | None,
              ids: np.ndarray, k: int, collapse: bool) -> list[tuple[int, list[int]]]:
    """`_filter`'s walk over one seed's candidates once the masks have dropped the rest: the first k, each
    with the ids of the later candidates that duplicate it (same key, or a near-identical row)."""
    kept: list[tuple[int, list[int]]] = []
    keys: dict[int, int] = {}
    for at, ok in enumerate(keep):
        if not ok:
            continue
        if not collapse:
            kept.append((at, []))
            if len(kept) >= k:
                break
            continue
        same = keys.get(codes[at])
        if same is None and near is not None:
            row = near[at]
            same = next((j for j, (other, _) in enumerate(kept) if row[other]), None)
        if same is not None:
            kept[same][1].append(int(ids[cand[at]]))
            continue
        if len(kept) >= k:
            continue
        keys[codes[at]] = len(kept)
        kept.append((at, []))
    return kept


class _BlockExplainer:
    """`Explainer.groups` for many (seed, result) pairs at once: the same shares, in a few products."""

    def __init__(self, index: SimilarityIndex, explainer: SimilarityIndex | None) -> None:
        self.index = index
        self.explainer = explainer if explainer is not None and len(explainer) else None
        self.ex_rows = self.explainer.rows_of(index.ids) if self.explainer is not None else None

    def block(self, seeds: np.ndarray, cand: np.ndarray, positions: list[list[int]]
              ) -> list[list[tuple[tuple[str, float], ...]]]:
        """For seed row seeds[i] and its results cand[i, positions[i]]: (group, share) pairs, largest first."""
        seed_of = np.array([i for i, p in enumerate(positions) for _ in p], dtype=np.intp)
        result = np.array([cand[i, at] for i, p in enumerate(positions) for at in p], dtype=np.intp)
        out: list[list[tuple[tuple[str, float], ...]]] = [[] for _ in positions]
        if not result.size:
            return out
        named: list[tuple[tuple[str, float], ...]] = [()] * result.size
        todo = np.ones(result.size, dtype=bool)
        if self.explainer is not None and self.ex_rows is not None:
            s_ex, r_ex = self.ex_rows[seeds[seed_of]], self.ex_rows[result]
            both = (s_ex >= 0) & (r_ex >= 0)
            self._explain(self.explainer, s_ex[both], r_ex[both], np.nonzero(both)[0], named)
            todo &= ~both
        where = np.nonzero(todo)[0]
        self._explain(self.index, seeds[seed_of][where], result[where], where, named)
        at = 0
        for i, p in enumerate(positions):
            out[i] = named[at:at + len(p)]
            at += len(p)
        return out

    @staticmethod
    def _explain(index: SimilarityIndex, seed_rows: np.ndarray, result_rows: np.ndarray, where: np.ndarray,
                 named: list[tuple[tuple[str, float], ...]]) -> None:
        if not where.size:
            return
        rows = index.rows
        uniq, inverse = np.unique(seed_rows, return_inverse=True)
        queries = np.stack([_normalised(rows[r]) for r in uniq])  # as query_for() builds a one-seed query
        shares = index.contribution_matrix(queries[inverse], rows[result_rows])
        names = index.group_names
        by_name = sorted(range(len(names)), key=lambda g: names[g])
        ranked = np.asarray(by_name)[np.argsort(-shares[:, by_name], axis=1, kind="stable")]
        values = np.take_along_axis(shares, ranked, axis=1).tolist()
        for at, order, vals in zip(where.tolist(), ranked.tolist(), values, strict=True):
            named[at] = tuple(zip([names[g] for g in order], vals, strict=True))


def _normalised(row: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(row))
    return (row / norm if norm > 1e-9 else row).astype(np.float32)


def _first_pool(k: int) -> int:
    """How many candidates a query asks for first: k, and room for the filters and duplicates to drop some."""
    return k * 3 + 16


def _select(index: SimilarityIndex, tracks_by_id: Mapping[int, Track], query: np.ndarray, seeds: list[Track],
            k: int, banned: set[int], exclude_artist: bool, collapse: bool, why: Explainer) -> list[Neighbour]:
    if k <= 0:
        return []
    want = _first_pool(k)
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
    `cosine` the plain cosine, `groups` each feature group's share of what pulled the two together (0 to 1,
    `SimilarityIndex.contributions`), largest first.
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
