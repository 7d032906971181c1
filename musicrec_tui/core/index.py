"""Similarity index over one extractor's vectors: standardised, group-weighted, L2-normalised rows, cosine top-k.

How a raw vector becomes a row of the index:
1. standardise each dimension over the library: (x - centre) / scale. With at least `robust_below` tracks the
   centre is the mean and the scale the standard deviation; below that (a tiny library, where one odd track
   would swing a mean) the median and 1.4826 * MAD, falling back to the standard deviation and then to 1 where
   a dimension has no spread, so nothing is ever divided by 0. z-scores are clipped to +-`clip`.
2. weight each feature group: every dimension of group g is multiplied by w_g / sqrt(n_g) (n_g = its dimension
   count), so each group carries its weight whatever its size (default: all weights 1, each group equal).
3. divide by the L2 norm, so that cosine similarity is one dot product. A row with no norm stays all zeros.

Top-k is one matrix-vector product and `np.argpartition`; batches of queries are one matrix product.
`add()` appends (or replaces) rows with the standardisation statistics kept fixed: cheap, no rebuild, and the
existing rows and their scores do not move. `refresh()` recomputes the statistics from every raw vector held
and every row; `add()` calls it by itself when the library grows out of the tiny (robust) regime, or when the
rows added since the last fit exceed `refresh_after` (default 50 %) of those it was fitted on (`stale` counts
them), so statistics fitted on 100 tracks are not used for 10,000.

Hubness reduction (`hubness="mp"`): mutual proximity with the Gaussian approximation (Schnitzer et al. 2012).
The similarities of row i to the whole library are modelled as N(mu_i, sd_i); because rows are unit vectors,
mu_i = x_i . m and sd_i^2 = x_i' C x_i - mu_i^2 exactly, with m the mean row and C = X'X / n (O(n d^2), no
n x n matrix). The score of candidate j for query q with cosine s is Phi((s - mu_q) / sd_q) * Phi((s - mu_j) /
sd_j): the probability that each is, for the other, nearer than a random track. It demotes hubs (tracks close
to everything), which otherwise crowd every list.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .errors import ConfigError, NotFound
from .models import VectorMatrix
from .normal import ndtr, ndtri

HUBNESS_MODES = ("none", "mp")
ROBUST_BELOW = 20
CLIP = 8.0
_MAD_TO_SD = 1.4826
_TINY = 1e-9


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: library track id, its row in the index, the ranking score and the plain cosine."""

    id: int
    row: int
    score: float
    cosine: float


@dataclass(frozen=True, slots=True)
class HitBlock:
    """The top-k of a block of consecutive rows queried against the whole index (`SimilarityIndex.all_hits`).

    Row i of each (b, k) array belongs to query row `start + i`; `rows` holds the result rows best first, padded
    with -1 where fewer than k exist; `scores` and `cosines` are what `Hit.score` and `Hit.cosine` would be.
    """

    start: int
    rows: np.ndarray
    scores: np.ndarray
    cosines: np.ndarray

    def hits(self, i: int, ids: np.ndarray) -> list[Hit]:
        """Query row `start + i`'s results as Hits."""
        return [Hit(int(ids[r]), int(r), float(s), float(c))
                for r, s, c in zip(self.rows[i], self.scores[i], self.cosines[i], strict=True) if r >= 0]


class CandidateGraph(Protocol):
    """An approximate neighbour search over the index's rows, keyed by track id (core/ann.py's HnswGraph)."""

    def search(self, query: np.ndarray, m: int) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class IndexState:
    """What a SimilarityIndex computed from its vectors, to persist and restore without recomputing.

    Arrays may be read-only (memory-mapped): an index restored from them copies before it ever writes.
    `row_sum`/`gram` and `mp_mu`/`mp_sd` are present once mutual proximity was prepared.
    """

    ids: np.ndarray
    raw: np.ndarray
    rows: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    factor: np.ndarray
    robust: bool
    clip: float
    robust_below: int
    fitted_on: int
    stale: int
    mp_mu: np.ndarray | None = None
    mp_sd: np.ndarray | None = None
    row_sum: np.ndarray | None = None
    gram: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Standardiser:
    """Per-dimension centre and scale, and per-dimension group weight factors."""

    centre: np.ndarray
    scale: np.ndarray
    factor: np.ndarray
    robust: bool
    clip: float = CLIP

    @classmethod
    def fit(cls, raw: np.ndarray, factor: np.ndarray, robust_below: int = ROBUST_BELOW,
            clip: float = CLIP) -> Standardiser:
        """Statistics of `raw` (n, d): mean/std, or median/MAD for fewer than `robust_below` rows."""
        n, d = raw.shape
        if n == 0:
            return cls(np.zeros(d, np.float32), np.ones(d, np.float32), factor, True, clip)
        mean, std = _mean_std(raw)
        robust = n < robust_below
        if robust:
            x = raw.astype(np.float64)
            centre = np.median(x, axis=0)
            scale = _MAD_TO_SD * np.median(np.abs(x - centre), axis=0)
            scale = np.where(_no_spread(scale, centre), std, scale)
        else:
            centre, scale = mean, std
        scale = np.where(_no_spread(scale, centre), 1.0, scale)
        return cls(centre.astype(np.float32), scale.astype(np.float32), factor, robust, clip)

    def apply(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows (n, d) standardised, weighted and L2-normalised, and the norms they were divided by."""
        mult = (self.factor / self.scale).astype(np.float32)
        limit = (self.clip * self.factor).astype(np.float32)
        z = np.asarray(raw, dtype=np.float32) * mult
        z -= self.centre * mult
        np.clip(z, -limit, limit, out=z)
        norms = np.sqrt(np.einsum("ij,ij->i", z, z))
        safe = np.where(norms > _TINY, norms, 1.0).astype(np.float32)
        z /= safe[:, None]
        z[norms <= _TINY] = 0.0
        return z.astype(np.float32, copy=False), norms.astype(np.float32)


def _mean_std(raw: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and standard deviation in float64, two passes over row chunks (no full float64 copy)."""
    n = raw.shape[0]
    total = np.zeros(raw.shape[1], np.float64)
    for start in range(0, n, chunk):
        total += raw[start:start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / n
    sq = np.zeros(raw.shape[1], np.float64)
    for start in range(0, n, chunk):
        dev = raw[start:start + chunk] - mean
        sq += np.einsum("ij,ij->j", dev, dev)
    return mean, np.sqrt(sq / n)


def _no_spread(scale: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return ~(scale > 1e-6 * (1.0 + np.abs(centre)))


def group_factors(groups: Sequence[str], weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Per-dimension factors w_g / sqrt(n_g); unknown groups or negative weights are a ConfigError."""
    names = list(dict.fromkeys(groups))
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise ConfigError(f"unknown feature group(s) {', '.join(unknown)}", hint=f"groups: {', '.join(names)}")
    if any(not np.isfinite(w) or w < 0 for w in weights.values()):
        raise ConfigError("group weights must be finite and >= 0")
    counts = dict.fromkeys(names, 0)
    for g in groups:
        counts[g] += 1
    return np.array([weights.get(g, 1.0) / np.sqrt(counts[g]) for g in groups], dtype=np.float32)


class SimilarityIndex:
    """Cosine (or mutual-proximity) nearest neighbours over one extractor's vectors. Not thread-safe for writes.

    The index keeps `vectors.matrix` (float32) by reference as its raw copy and never writes into it.
    """

    def __init__(self, vectors: VectorMatrix, groups: Sequence[str], *, weights: Mapping[str, float] | None = None,
                 hubness: str = "none", robust_below: int = ROBUST_BELOW, clip: float = CLIP,
                 query_threads: int | None = 1, refresh_after: float | None = 0.5) -> None:
        if hubness not in HUBNESS_MODES:
            raise ConfigError(f"unknown hubness reduction {hubness!r}",
                              hint=f"choose one of: {', '.join(HUBNESS_MODES)}")
        raw = np.asarray(vectors.matrix, dtype=np.float32)
        n = len(vectors)
        dim = len(groups)
        if n and raw.shape != (n, dim):
            raise ConfigError(f"vectors of {vectors.extractor} have shape {raw.shape}, expected ({n}, {dim})")
        self.extractor = vectors.extractor
        self.version = vectors.version
        self.groups = tuple(groups)
        self.group_names = tuple(dict.fromkeys(self.groups))
        self._group_of = np.array([self.group_names.index(g) for g in self.groups], dtype=np.intp)
        self._onehot: np.ndarray | None = None
        self.hubness = hubness
        self.query_threads = query_threads
        self._blas: object | None = None
        self.robust_below = robust_below
        self.refresh_after = refresh_after
        self._fitted_on = n
        self._factor = group_factors(self.groups, weights)
        self._clip = clip
        self._n = 0
        self._ids = np.zeros(0, np.int64)
        self._raw = np.zeros((0, dim), np.float32)
        self._x = np.zeros((0, dim), np.float32)
        self._order: np.ndarray | None = None
        self._graph: CandidateGraph | None = None
        self._sorted_ids = np.zeros(0, np.int64)  # ids in _order, set with it
        self._mp: tuple[np.ndarray, np.ndarray] | None = None
        self._sum: np.ndarray | None = None  # sum and Gram matrix of the rows, kept only for mutual proximity
        self._gram: np.ndarray | None = None
        self._moment_cache: tuple[np.ndarray, int, np.ndarray, np.ndarray] | None = None
        self.stats = Standardiser.fit(raw.reshape(n, dim) if n else np.zeros((0, dim), np.float32),
                                      self._factor, robust_below, clip)
        self.stale = 0
        self._raw_borrowed = False
        self._x_borrowed = False
        if n:
            # the raw matrix is borrowed, not copied (first-touching a copy costs seconds at 1M rows); it is
            # copied before the index ever writes to it (a replacing add)
            self._raw = raw if raw.flags.c_contiguous else np.ascontiguousarray(raw)
            self._raw_borrowed = True
            self._x = np.empty((n, dim), np.float32)
            self._ids = np.array(vectors.ids, dtype=np.int64)
            self._fill(0, n)
            self._n = n

    # ---- persistence ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Compute now what queries would compute on first use (mutual proximity's moments), e.g. to persist."""
        if self.hubness == "mp" and self._n:
            self._mp_stats()

    def state(self) -> IndexState:
        """The index's arrays and statistics (views, not copies), for `from_state`."""
        n = self._n
        mp = self._mp if self._mp is not None and self._mp[0].shape[0] == n else None
        moments = self._sum is not None and self._gram is not None
        return IndexState(
            ids=self._ids[:n], raw=self._raw[:n], rows=self._x[:n], centre=self.stats.centre,
            scale=self.stats.scale, factor=self.stats.factor, robust=self.stats.robust, clip=self.stats.clip,
            robust_below=self.robust_below, fitted_on=self._fitted_on, stale=self.stale,
            mp_mu=mp[0] if mp else None, mp_sd=mp[1] if mp else None,
            row_sum=self._sum if moments else None, gram=self._gram if moments else None)

    @classmethod
    def from_state(cls, state: IndexState, extractor: str, version: int, groups: Sequence[str], *,
                   weights: Mapping[str, float] | None = None, hubness: str = "none", query_threads: int | None = 1,
                   refresh_after: float | None = 0.5) -> SimilarityIndex:
        """An index over a saved state, computing nothing; ValueError when the state does not fit the groups
        and weights asked for (the caller rebuilds it)."""
        dim = len(groups)
        empty = VectorMatrix(extractor, version, np.zeros(0, np.int64), np.zeros((0, dim), np.float32))
        index = cls(empty, groups, weights=weights, hubness=hubness, robust_below=state.robust_below,
                    clip=state.clip, query_threads=query_threads, refresh_after=refresh_after)
        n = int(state.ids.shape[0])
        if (state.raw.shape != (n, dim) or state.rows.shape != (n, dim) or state.factor.shape != (dim,)
                or not np.array_equal(state.factor, index._factor)):
            raise ValueError("saved index state does not match the extractor's groups or weights")
        index.stats = Standardiser(state.centre, state.scale, state.factor, state.robust, state.clip)
        index._ids, index._raw, index._x, index._n = state.ids, state.raw, state.rows, n
        index._raw_borrowed = index._x_borrowed = True
        index._fitted_on, index.stale = int(state.fitted_on), int(state.stale)
        if state.mp_mu is not None and state.mp_sd is not None:
            index._mp = (state.mp_mu, state.mp_sd)
        if state.row_sum is not None and state.gram is not None:
            # small, and updated in place by add(): always copies
            index._sum, index._gram = np.array(state.row_sum, np.float64), np.array(state.gram, np.float64)
        return index

    def use_graph(self, graph: CandidateGraph | None) -> None:
        """Answer queries through an approximate graph: its candidates are re-ranked exactly (None: exact scan).

        Only for an index that no longer changes (the graph is not updated by add() or refresh())."""
        self._graph = graph

    @property
    def approximate(self) -> bool:
        return self._graph is not None

    # ---- size and lookup -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return len(self.groups)

    @property
    def ids(self) -> np.ndarray:
        """Track ids, row order (a read-only view)."""
        view = self._ids[: self._n]
        view.flags.writeable = False
        return view

    @property
    def rows(self) -> np.ndarray:
        """The normalised rows (n, d) (a read-only view)."""
        view = self._x[: self._n]
        view.flags.writeable = False
        return view

    @property
    def raw(self) -> np.ndarray:
        """The raw extractor vectors (n, d), row order (a read-only view)."""
        view = self._raw[: self._n]
        view.flags.writeable = False
        return view

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays (normalised rows, raw copies, ids, statistics)."""
        extra = (self._gram.nbytes if self._gram is not None else 0) + (
            sum(a.nbytes for a in self._mp) if self._mp else 0)
        return int(self._x.nbytes + self._raw.nbytes + self._ids.nbytes + extra)

    def row_of(self, track_id: int) -> int:
        """The row of a track id; NotFound when the track has no vector in this index."""
        rows = self.rows_of([track_id])
        if rows[0] < 0:
            raise NotFound(f"track {track_id} has no {self.extractor} vector", hint="run `musicrec reanalyze`")
        return int(rows[0])

    def rows_of(self, track_ids: Iterable[int]) -> np.ndarray:
        """Rows of track ids, -1 where an id is not in the index."""
        wanted = np.fromiter((int(i) for i in track_ids), dtype=np.int64)
        if self._n == 0:
            return np.full(wanted.shape, -1, dtype=np.intp)
        if self._order is None:
            self._order = np.argsort(self._ids[: self._n], kind="stable")
            self._sorted_ids = self._ids[self._order]
        sorted_ids = self._sorted_ids
        pos = np.searchsorted(sorted_ids, wanted)
        pos = np.minimum(pos, self._n - 1)
        return np.where(sorted_ids[pos] == wanted, self._order[pos], -1).astype(np.intp)

    def vector(self, track_id: int) -> np.ndarray:
        """The normalised row of a track (a copy)."""
        return self._x[self.row_of(track_id)].copy()

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Raw extractor vectors (n, d) or (d,) to normalised rows with the index's current statistics."""
        arr = np.asarray(raw, dtype=np.float32)
        single = arr.ndim == 1
        rows, _ = self.stats.apply(arr.reshape(-1, self.dim))
        return rows[0] if single else rows

    # ---- updates -------------------------------------------------------------------------------------
    def add(self, track_ids: Sequence[int] | np.ndarray, raw: np.ndarray) -> None:
        """Add vectors (or replace those of ids already present) with the current statistics; no rebuild."""
        ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
        arr = np.asarray(raw, dtype=np.float32).reshape(ids.shape[0], -1)
        if arr.shape[1] != self.dim:
            raise ConfigError(f"vectors have {arr.shape[1]} dimensions, the index {self.dim}")
        if ids.shape[0] != np.unique(ids).shape[0]:
            raise ConfigError("duplicate track ids in one add()")
        rows = self.rows_of(ids)
        old = rows >= 0
        if old.any():
            self._replace(rows[old], arr[old])
        if (~old).any():
            self._append(ids[~old], arr[~old])
        self.stale += int(ids.shape[0])
        grew_out_of_tiny = self.stats.robust and self._n >= self.robust_below
        if grew_out_of_tiny or (self.refresh_after is not None
                                and self.stale > self.refresh_after * max(self._fitted_on, self.robust_below)):
            self.refresh()

    def refresh(self) -> None:
        """Recompute the standardisation statistics from every raw vector held, and every row."""
        raw = self._raw[: self._n]
        self.stats = Standardiser.fit(raw, self._factor, self.robust_below, self._clip)
        self._fitted_on = self._n
        self._sum = self._gram = None
        self._mp = None
        self._own_rows()
        if self._n:
            self._fill(0, self._n)
        self.stale = 0

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        cap = self._x.shape[0]
        if need <= cap:
            return
        new_cap = max(need, int(cap * 1.5) + 16)
        for name in ("_x", "_raw"):
            old = getattr(self, name)
            grown = np.empty((new_cap, self.dim), np.float32)
            grown[: self._n] = old[: self._n]
            setattr(self, name, grown)
        self._raw_borrowed = self._x_borrowed = False
        ids = np.empty(new_cap, np.int64)
        ids[: self._n] = self._ids[: self._n]
        self._ids = ids

    def _append(self, ids: np.ndarray, raw: np.ndarray) -> None:
        self._reserve(ids.shape[0])
        start = self._n
        self._ids[start:start + ids.shape[0]] = ids
        self._raw[start:start + ids.shape[0]] = raw
        self._fill(start, start + ids.shape[0])
        self._n += ids.shape[0]
        self._order = None
        self._mp_extend()

    def _fill(self, start: int, stop: int) -> None:
        """Normalise raw rows [start, stop) into the index, in chunks (temporaries stay small)."""
        for at in range(start, stop, 65536):
            end = min(stop, at + 65536)
            rows, _ = self.stats.apply(self._raw[at:end])
            self._x[at:end] = rows
            self._accumulate(rows, +1.0)

    def _own_rows(self) -> None:
        """Copy borrowed (e.g. memory-mapped, read-only) normalised rows before writing into them."""
        if self._x_borrowed:
            self._x = self._x[: self._n].copy()
            self._x_borrowed = False

    def _replace(self, rows_at: np.ndarray, raw: np.ndarray) -> None:
        self._own_rows()
        if self._raw_borrowed:
            self._raw = self._raw[: self._n].copy()
            self._raw_borrowed = False
        self._accumulate(self._x[rows_at], -1.0)
        new, _ = self.stats.apply(raw)
        self._raw[rows_at] = raw
        self._x[rows_at] = new
        self._accumulate(new, +1.0)
        self._mp = None

    def _accumulate(self, rows: np.ndarray, sign: float) -> None:
        if self._gram is None or self._sum is None:
            return
        x64 = rows.astype(np.float64)
        self._sum += sign * x64.sum(axis=0)
        self._gram += sign * (x64.T @ x64)
        self._moment_cache = None

    def _second_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Sum and Gram matrix of the rows, computed on first use (chunked) and then kept up to date."""
        if self._gram is None or self._sum is None:
            total = np.zeros(self.dim, np.float64)
            gram = np.zeros((self.dim, self.dim), np.float64)
            # float32 products over blocks of 16k rows, summed in float64: 2x faster than float64 products and
            # within ~1e-9 of them in C = X'X / n (each block's sum stays short)
            for start in range(0, self._n, 16384):
                block = self._x[start:min(self._n, start + 16384)]
                total += block.sum(axis=0, dtype=np.float64)
                gram += block.T @ block
            self._sum, self._gram = total, gram
        return self._sum, self._gram

    # ---- hubness: Gaussian mutual proximity ----------------------------------------------------------
    def _moments(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each row's similarities to the library (exact, from m and C)."""
        n = max(1, self._n)
        total, gram = self._second_moments()
        cached = self._moment_cache
        if cached is None or cached[0] is not gram or cached[1] != n:
            # float32 copies of m and C, rebuilt only when the rows change (_accumulate clears them)
            cached = self._moment_cache = (gram, n, (total / n).astype(np.float32), (gram / n).astype(np.float32))
        mean_row, second = cached[2], cached[3]
        mu = rows @ mean_row
        var = np.einsum("ij,ij->i", rows @ second, rows) - mu * mu
        return mu, np.sqrt(np.maximum(var, 1e-8)).astype(np.float32)

    def _mp_stats(self) -> tuple[np.ndarray, np.ndarray]:
        if self._mp is None:
            mu, sd = self._moments(self._x[: self._n]) if self._n else (np.zeros(0, np.float32),) * 2
            self._mp = (mu.astype(np.float32), sd.astype(np.float32))
        return self._mp

    def _mp_extend(self) -> None:
        if self._mp is None:
            return
        # rows appended: keep the others' moments (fixed until refresh, like the standardisation statistics)
        have = self._mp[0].shape[0]
        mu, sd = self._moments(self._x[have: self._n])
        self._mp = (np.concatenate([self._mp[0], mu]), np.concatenate([self._mp[1], sd]))

    def _mp_keys(self, cos: np.ndarray, query_rows: np.ndarray) -> np.ndarray:
        """-log(1 - MP): MP saturates at 1 for the best candidates, so rank by the log of its complement."""
        mu, sd = self._mp_stats()
        q_mu, q_sd = self._moments(query_rows)
        c = cos.astype(np.float64)
        tail_q = ndtr((q_mu[:, None] - c) / q_sd[:, None])  # P(a random track is nearer to q than this one)
        tail_j = ndtr((mu[None, :] - c) / sd[None, :])
        distance = tail_q + tail_j - tail_q * tail_j  # 1 - Phi_q * Phi_j, without cancellation
        return -np.log(np.maximum(distance, 1e-300))

    def scores(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ranking keys, cosines), each (b, n), of normalised query rows (b, d) against every row.

        The key is the cosine, or -log(1 - MP) with mutual proximity (`Hit.score` then reports MP itself).
        """
        q = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        with self._blas_limit():
            cos = q @ self._x[: self._n].T if q.shape[0] > 1 else (self._x[: self._n] @ q[0])[None, :]
        if self.hubness == "mp":
            return self._mp_keys(cos, q), cos
        return cos, cos

    def _blas_limit(self, batch: bool = False) -> contextlib.AbstractContextManager[object]:
        """Limit BLAS to `query_threads` for one product (threadpoolctl, when installed; else a no-op).

        One thread is the default: the scan is memory-bound, and on a busy 2-core machine (ingest workers,
        the UI) a second BLAS thread that has to wait for a core made single queries 2-5x slower here.
        """
        if not self.query_threads or batch:  # a batch of queries is compute-bound: every core helps
            return contextlib.nullcontext()
        if self._blas is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                self.query_threads = None
                return contextlib.nullcontext()
            self._blas = ThreadpoolController()
        return self._blas.limit(limits=self.query_threads, user_api="blas")  # type: ignore[union-attr]

    def search(self, query: np.ndarray, k: int = 10, *, exclude_ids: Iterable[int] = (),
               exclude_rows: Iterable[int] = (), mask: np.ndarray | None = None) -> list[Hit]:
        """The k best rows for one normalised query row, best first (ties, to 1e-6, by track id).

        `exclude_ids`/`exclude_rows` are never returned; `mask` (bool, n) keeps only rows where it is True.
        """
        banned = np.fromiter((int(r) for r in exclude_rows), dtype=np.intp)
        by_id = self.rows_of(exclude_ids)
        banned = np.concatenate([banned, by_id[by_id >= 0]])
        if self._graph is not None and mask is None:
            return self._search_graph(np.asarray(query, dtype=np.float32).reshape(self.dim), k, banned)
        if self.hubness == "mp":
            return self._search_mp(np.asarray(query, dtype=np.float32).reshape(self.dim), k, banned, mask)
        score, cos = self.scores(query)
        score, cos = score[0].copy(), cos[0]
        score[banned] = -np.inf
        if mask is not None:
            score[~np.asarray(mask, dtype=bool)] = -np.inf
        return self._top(score, cos, k)

    def _search_mp(self, query: np.ndarray, k: int, banned: np.ndarray, mask: np.ndarray | None) -> list[Hit]:
        """Exact mutual-proximity top-k without scoring every row.

        MP_j = Phi_q(s_j) * Phi_j(s_j) <= Phi_q(s_j), which grows with the cosine s_j. So score the m best rows
        by cosine first; the k-th best MP among them gives a cosine s* below which no row can beat it, and the
        rows above s* (usually those already scored) are all that is ranked. Exact, in at most two passes.
        """
        with self._blas_limit():
            cos = self._x[: self._n] @ query
        masked = cos.copy() if mask is not None or banned.size else cos
        masked[banned] = -np.inf
        if mask is not None:
            masked[~np.asarray(mask, dtype=bool)] = -np.inf
        q_mu, q_sd = (float(v[0]) for v in self._moments(query[None, :]))
        return self._mp_select(cos, masked, q_mu, q_sd, k)

    def _search_graph(self, query: np.ndarray, k: int, banned: np.ndarray) -> list[Hit]:
        """Top-k among the graph's candidates (a few times k), scored exactly like the full scan scores them."""
        assert self._graph is not None
        # a wide pool: mutual proximity may rank first a row well down the cosine order (measured at 1M rows:
        # recall@10 0.74 with 64 candidates)
        found = self._graph.search(query, max(16 * int(k), 256) + int(banned.size))
        rows = self.rows_of(found)
        rows = rows[rows >= 0]
        if banned.size:
            rows = rows[~np.isin(rows, banned)]
        kk = min(int(k), int(rows.shape[0]))
        if kk <= 0:
            return []
        cos = self._x[rows] @ query
        mp = self.hubness == "mp"
        if mp:
            mu, sd = self._mp_stats()
            q_mu, q_sd = (float(v[0]) for v in self._moments(query[None, :]))
            c = cos.astype(np.float64)
            tail_q, tail_j = ndtr((q_mu - c) / q_sd), ndtr((mu[rows] - c) / sd[rows])
            keys = -np.log(np.maximum(tail_q + tail_j - tail_q * tail_j, 1e-300))
        else:
            keys = cos.astype(np.float64)
        part = np.argpartition(-keys, kk - 1)[:kk] if kk < rows.shape[0] else np.arange(rows.shape[0])
        ids = self._ids[rows[part]]
        order = np.lexsort((ids, -np.round(keys[part], 6)))
        return [Hit(int(ids[i]), int(rows[part[i]]), float(-np.expm1(-keys[part[i]])) if mp else float(keys[part[i]]),
                    float(cos[part[i]])) for i in order]

    def _mp_select(self, cos: np.ndarray, masked: np.ndarray, q_mu: float, q_sd: float, k: int,
                   pool: int = 2048) -> list[Hit]:
        """The exact MP top-k of one query from its cosines (`masked`: -inf where a row may not be returned)."""
        valid = int(np.count_nonzero(masked > -np.inf))
        if min(int(k), valid) <= 0:
            return []
        mu, sd = self._mp_stats()

        def keys_of(rows: np.ndarray) -> np.ndarray:
            c = cos[rows].astype(np.float64)
            tail_q = ndtr((q_mu - c) / q_sd)
            tail_j = ndtr((mu[rows] - c) / sd[rows])
            keys: np.ndarray = -np.log(np.maximum(tail_q + tail_j - tail_q * tail_j, 1e-300))
            return keys

        kk = min(int(k), valid)
        m = min(valid, max(4 * kk, pool))
        cand = self._top_by_threshold(masked, m, kk)
        keys = keys_of(cand)
        if cand.shape[0] < valid:
            kth = float(np.partition(keys, keys.shape[0] - kk)[keys.shape[0] - kk])  # k-th best key so far
            # every row with a cosine above s* could still beat it (its bound -log tail_q(s) exceeds kth)
            s_star = q_mu - q_sd * ndtri(min(max(float(np.exp(-kth)), 1e-300), 1.0))
            if s_star < float(masked[cand].min()):
                cand = np.nonzero(masked >= s_star)[0]
                cand = cand[masked[cand] > -np.inf]
                keys = keys_of(cand)
        return self._top_of(cand, keys, cos, kk)

    def _top_of(self, rows: np.ndarray, keys: np.ndarray, cos: np.ndarray, k: int) -> list[Hit]:
        """The k best of `rows` by `keys` (MP keys), best first, ties to 1e-6 by track id."""
        if k < rows.shape[0]:
            part = np.argpartition(-keys, k - 1)[:k]
            rows, keys = rows[part], keys[part]
        ids = self._ids[rows]
        order = np.lexsort((ids, -np.round(keys, 6)))
        return [Hit(int(ids[i]), int(rows[i]), float(-np.expm1(-keys[i])), float(cos[rows[i]])) for i in order]

    @staticmethod
    def _top_by_threshold(values: np.ndarray, m: int, at_least: int) -> np.ndarray:
        """Rows of roughly the m largest finite values: a threshold estimated from a strided sample, then one
        comparison pass (cheaper than an argpartition of every row); exactly the m largest if that misses."""
        n = values.shape[0]
        if m >= n:
            return np.flatnonzero(values > -np.inf)
        sample = values[:: max(1, n // 4096)]
        cut = int(sample.shape[0] * (1.0 - m / n))
        if 0 < cut < sample.shape[0]:
            threshold = np.partition(sample, cut)[cut]
            if threshold > -np.inf:
                rows = np.flatnonzero(values >= threshold)
                if at_least <= rows.shape[0] <= 8 * m:
                    return rows
        rows = np.argpartition(-values, m - 1)[:m]
        return rows[values[rows] > -np.inf]

    def search_batch(self, queries: np.ndarray, k: int = 10, *, exclude_rows: np.ndarray | None = None,
                     chunk_elements: int = 32_000_000) -> list[list[Hit]]:
        """Top-k for many normalised query rows, one matrix product per chunk of queries.

        `exclude_rows[i]` (or -1) is a row never returned to query i, e.g. the query's own row. With mutual
        proximity each query is then ranked exactly as `search` does, through its best candidates by cosine
        (not by scoring every row: that made `recommend --all` hours long at 100k tracks).
        """
        q = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if self._graph is not None:
            ex_all = np.full(q.shape[0], -1, np.intp) if exclude_rows is None else np.asarray(exclude_rows, np.intp)
            return [self.search(q[i], k, exclude_rows=[int(ex_all[i])] if ex_all[i] >= 0 else [])
                    for i in range(q.shape[0])]
        per_chunk = max(1, chunk_elements // max(1, self._n))
        out: list[list[Hit]] = []
        for start in range(0, q.shape[0], per_chunk):
            block = q[start:start + per_chunk]
            ex = None if exclude_rows is None else np.asarray(exclude_rows[start:start + block.shape[0]], np.intp)
            if self.hubness == "mp":
                out.extend(self._batch_mp(block, k, ex))
                continue
            score, cos = self.scores(block)
            if ex is not None:
                score = score.copy() if score is cos else score
                hit = ex >= 0
                score[np.nonzero(hit)[0], ex[hit]] = -np.inf
            out.extend(self._top(score[i], cos[i], k) for i in range(block.shape[0]))
        return out

    def _batch_mp(self, block: np.ndarray, k: int, exclude: np.ndarray | None, pool: int = 256) -> list[list[Hit]]:
        """`_search_mp` for a block of queries: one product, then every query's first pool of candidates scored
        in one vectorised pass; a query whose pool fails the exactness check (or is oddly sized) is redone
        alone with the single-query path."""
        n = self._n
        with self._blas_limit(batch=True):
            cos = block @ self._x[:n].T
        if exclude is not None:
            # an excluded row's cosine is never read again: mask it in place (no copy of the block)
            hit = exclude >= 0
            cos[np.nonzero(hit)[0], exclude[hit]] = -np.inf
        b = block.shape[0]
        q_mu, q_sd = self._moments(block)
        m = int(min(n, max(4 * int(k), pool)))
        stride = max(1, n // 4096)
        sample = cos[:, ::stride]
        cut = int(sample.shape[1] * (1.0 - m / n))
        if not 0 < cut < sample.shape[1]:
            return [self._mp_select(cos[i], cos[i], float(q_mu[i]), float(q_sd[i]), k) for i in range(b)]
        valid = np.count_nonzero(cos > -np.inf, axis=1)
        thr = np.partition(sample, cut, axis=1)[:, cut]
        r, c = np.nonzero(cos >= thr[:, None])
        counts = np.bincount(r, minlength=b)
        mu, sd = self._mp_stats()
        cv = cos[r, c].astype(np.float64)
        tail_q = ndtr((q_mu[r].astype(np.float64) - cv) / q_sd[r])
        tail_j = ndtr((mu[c] - cv) / sd[c])
        keys = -np.log(np.maximum(tail_q + tail_j - tail_q * tail_j, 1e-300))
        starts = np.concatenate([[0], np.cumsum(counts)])
        out: list[list[Hit]] = []
        for i in range(b):
            lo, hi = int(starts[i]), int(starts[i + 1])
            need = min(int(k), int(valid[i]))
            if need <= 0:
                out.append([])
                continue
            if not (need <= hi - lo <= 8 * m) or not np.isfinite(thr[i]):
                out.append(self._mp_select(cos[i], cos[i], float(q_mu[i]), float(q_sd[i]), k))
                continue
            seg_keys, seg_rows = keys[lo:hi], c[lo:hi]
            kth = float(np.partition(seg_keys, seg_keys.shape[0] - need)[seg_keys.shape[0] - need])
            s_star = float(q_mu[i]) - float(q_sd[i]) * ndtri(min(max(float(np.exp(-kth)), 1e-300), 1.0))
            if hi - lo < valid[i] and s_star < float(thr[i]):  # a row below the pool could still win
                out.append(self._mp_select(cos[i], cos[i], float(q_mu[i]), float(q_sd[i]), k))
                continue
            out.append(self._top_of(seg_rows, seg_keys, cos[i], need))
        return out

    def all_hits(self, k: int, block: int = 2048, pool: int = 256) -> Iterator[HitBlock]:
        """The top-k of every row of the index against all the others (never itself), in blocks of rows, in order.

        The same results as `search(rows[i], k, exclude_rows=[i])` for each row i, for a fraction of the cost:
        the cosine matrix is symmetric, so each block pair (I, J >= I) is one matrix product serving the rows
        of both blocks (half the products of a row-by-row scan). Each row keeps only the candidates above a
        threshold estimated from a sample of its cosines (about `pool` of them), exactly as the single-query
        path does, with the same exactness check: a row whose candidates cannot prove its top-k (too few, or
        with mutual proximity a k-th key that a row below the threshold could still beat) is redone alone.
        Memory: the block products (block^2 floats) and the candidates of rows not yet finished.
        """
        n, k = self._n, int(k)
        need = min(k, n - 1)
        if need <= 0:
            for start in range(0, n, block):
                b = min(n, start + block) - start
                yield HitBlock(start, np.full((b, 0), -1, np.intp), np.zeros((b, 0)), np.zeros((b, 0), np.float32))
            return
        x = self._x[:n]
        m = int(min(n, max(4 * k, pool)))
        stride = max(1, n // 4096)
        sample = x[::stride]
        cut = int(sample.shape[0] * (1.0 - m / n))
        if self._graph is not None or not 0 < cut < sample.shape[0]:
            for start in range(0, n, block):
                rows = np.arange(start, min(n, start + block))
                found = self.search_batch(x[rows], k, exclude_rows=rows)
                yield self._hit_block(start, found, need)
            return
        thr = self._thresholds(x, sample, stride, cut, block)
        n_blocks = -(-n // block)
        pending: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in range(n_blocks)]
        for bi in range(n_blocks):
            a0, a1 = bi * block, min(n, (bi + 1) * block)
            for bj in range(bi, n_blocks):
                b0, b1 = bj * block, min(n, (bj + 1) * block)
                with self._blas_limit(batch=True):
                    c = x[a0:a1] @ x[b0:b1].T
                if bj == bi:
                    np.fill_diagonal(c, -np.inf)
                    low = thr[a0:a1, None]
                else:  # one pass for both directions, then each direction's own threshold on the few kept
                    low = np.minimum(thr[a0:a1, None], thr[None, b0:b1])
                flat = np.flatnonzero(c >= low)
                r, col = np.divmod(flat, b1 - b0)
                val = c.reshape(-1)[flat]
                mine = val >= thr[a0 + r]
                pending[bi].append((r[mine], col[mine] + b0, val[mine]))
                if bj != bi:
                    theirs = val >= thr[b0 + col]
                    pending[bj].append((col[theirs], r[theirs] + a0, val[theirs]))
            parts, pending[bi] = pending[bi], []
            yield self._finish_block(a0, a1, parts, thr[a0:a1], k, need)

    def _thresholds(self, x: np.ndarray, sample: np.ndarray, stride: int, cut: int, block: int) -> np.ndarray:
        """Each row's candidate threshold: the cut-th of its cosines to the sampled rows (itself left out).
        A row whose sample is mostly ties at the threshold (copies of one vector) gets +inf: answered alone."""
        n, s = x.shape[0], sample.shape[0]
        thr = np.empty(n, np.float32)
        for a0 in range(0, n, block):
            a1 = min(n, a0 + block)
            with self._blas_limit(batch=True):
                c = x[a0:a1] @ sample.T
            own = np.arange(a0, a1)
            on = own % stride == 0
            c[np.nonzero(on)[0], own[on] // stride] = -np.inf
            t = np.partition(c, cut, axis=1)[:, cut]
            ties = np.count_nonzero(c >= t[:, None], axis=1) > 4 * (s - cut) + 8
            thr[a0:a1] = np.where(ties | ~np.isfinite(t), np.inf, t)
        return thr

    def _finish_block(self, a0: int, a1: int, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                      thr: np.ndarray, k: int, need: int) -> HitBlock:
        """Top-k of rows [a0, a1) from their candidates; rows the candidates cannot answer exactly redone alone."""
        n, b = self._n, a1 - a0
        mp = self.hubness == "mp"
        r = np.concatenate([p[0] for p in parts]).astype(np.intp)
        col = np.concatenate([p[1] for p in parts]).astype(np.intp)
        cv = np.concatenate([p[2] for p in parts])
        order = np.argsort(r, kind="stable")
        r, col, cv = r[order], col[order], cv[order]
        counts = np.bincount(r, minlength=b)
        width = max(int(counts.max()) if counts.size else 0, need)
        pos = np.arange(r.shape[0]) - np.concatenate([[0], np.cumsum(counts)[:-1]])[r]
        if mp:
            mu, sd = self._mp_stats()
            q_mu, q_sd = self._moments(self._x[a0:a1])
            c64 = cv.astype(np.float64)
            tail_q = ndtr((q_mu[r].astype(np.float64) - c64) / q_sd[r])
            tail_j = ndtr((mu[col] - c64) / sd[col])
            keys = -np.log(np.maximum(tail_q + tail_j - tail_q * tail_j, 1e-300))
            grid = np.full((b, width), -np.inf, np.float64)
        else:
            keys = cv  # float32, rounded for ties exactly as `_top` rounds a cosine
            grid = np.full((b, width), -np.inf, np.float32)
        grid[r, pos] = keys
        at = np.full((b, width), -1, np.intp)
        at[r, pos] = col
        cosg = np.zeros((b, width), np.float32)
        cosg[r, pos] = cv
        top = np.argpartition(-grid, need - 1, axis=1)[:, :need] if width > need else np.arange(width)[None, :need]
        top = np.broadcast_to(top, (b, need))
        top_keys = np.take_along_axis(grid, top, axis=1)
        top_rows = np.take_along_axis(at, top, axis=1)
        bad = counts < need
        if mp:
            kth = top_keys.min(axis=1)
            with np.errstate(invalid="ignore", over="ignore"):
                bound = ndtr((q_mu.astype(np.float64) - thr) / q_sd)  # tail_q at the threshold
                beaten = bound < np.clip(np.exp(-kth), 1e-300, 1.0)
            bad |= (counts < n - 1) & beaten
        bad |= ~np.isfinite(thr)
        ids = np.where(top_rows >= 0, self._ids[np.maximum(top_rows, 0)], 0)
        sort = np.lexsort((ids, -np.round(top_keys, 6)), axis=1)
        rows_out = np.take_along_axis(top_rows, sort, axis=1)
        keys_out = np.take_along_axis(top_keys, sort, axis=1).astype(np.float64)
        cos_out = np.take_along_axis(np.take_along_axis(cosg, top, axis=1), sort, axis=1)
        scores = -np.expm1(-keys_out) if mp else keys_out
        redo = np.nonzero(bad)[0]
        if redo.size:  # one product for all of them; each then ranked as `search` ranks it
            alone = self._hit_block(0, self.search_batch(self._x[a0 + redo], k, exclude_rows=a0 + redo), need)
            rows_out[redo], scores[redo], cos_out[redo] = alone.rows, alone.scores, alone.cosines
        return HitBlock(a0, rows_out, scores, cos_out)

    def _hit_block(self, start: int, found: list[list[Hit]], k: int) -> HitBlock:
        b = len(found)
        rows = np.full((b, k), -1, np.intp)
        scores = np.full((b, k), np.nan)
        cos = np.full((b, k), np.nan, np.float32)
        for i, hits in enumerate(found):
            for j, h in enumerate(hits[:k]):
                rows[i, j], scores[i, j], cos[i, j] = h.row, h.score, h.cosine
        return HitBlock(start, rows, scores, cos)

    def _top(self, score: np.ndarray, cos: np.ndarray, k: int) -> list[Hit]:
        valid = int(np.count_nonzero(score > -np.inf))
        k = min(int(k), valid)
        if k <= 0:
            return []
        part = np.argpartition(-score, k - 1)[:k] if k < score.shape[0] else np.arange(score.shape[0])
        part = part[score[part] > -np.inf]
        ids = self._ids[part]
        # keys equal to 1e-6 are ties (a matrix product and a matrix-vector product round differently)
        order = part[np.lexsort((ids, -np.round(score[part], 6)))]
        mp = self.hubness == "mp"
        return [Hit(int(self._ids[r]), int(r), float(-np.expm1(-score[r])) if mp else float(score[r]), float(cos[r]))
                for r in order]

    # ---- explanation ---------------------------------------------------------------------------------
    def contributions(self, query_row: np.ndarray, result_row: np.ndarray) -> dict[str, float]:
        """Each group's share of what pulled two normalised rows together, in [0, 1].

        The cosine is a sum over dimensions, so it splits exactly into per-group parts. A group's share is its
        positive part over the sum of the positive parts: the shares sum to 1 whenever any group pulled the two
        together, whatever the sign of the cosine; a group that pulled them apart (a negative part) has 0, and
        when none pulled them together (all parts <= 0) every share is 0. (Dividing the parts by the cosine
        instead gives shares above 1 and below 0 when the cosine is near 0 or negative.)
        """
        parts = self.contribution_matrix(np.asarray(query_row)[None, :], np.asarray(result_row)[None, :])[0]
        return {g: float(p) for g, p in zip(self.group_names, parts, strict=True)}

    def contribution_matrix(self, queries: np.ndarray, results: np.ndarray) -> np.ndarray:
        """`contributions` for many pairs at once: (p, groups) shares (columns in `group_names` order) of the
        pairs (queries[i], results[i]), each (p, d): one product with the group indicator matrix."""
        if self._onehot is None:
            onehot = np.zeros((self.dim, len(self.group_names)), np.float64)
            onehot[np.arange(self.dim), self._group_of] = 1.0
            self._onehot = onehot
        weights = np.asarray(queries, np.float64) * np.asarray(results)
        pulled: np.ndarray = np.maximum(weights @ self._onehot, 0.0)
        total = pulled.sum(axis=1)
        some = total > _TINY
        pulled[some] /= total[some, None]
        pulled[~some] = 0.0
        return pulled
