"""Approximate nearest neighbours for very large libraries: an HNSW graph (usearch) over the normalised rows.

Past `DEFAULT_APPROXIMATE_ABOVE` rows (1,000,000; `similarity.approximate_above` in config.toml, 0 turns it
off) an exact scan costs ~40 ms and ~1 GB of memory traffic a query; the graph answers in about a millisecond
by visiting a few thousand rows. It only proposes candidates: `SimilarityIndex` re-ranks them exactly (cosine,
or mutual proximity), so scores are exact and only a true neighbour the graph missed can be absent
(`benchmarks/bench_index.py --approx` prints recall@10 against the exact search).

The graph's keys are track ids, so it is kept across library changes: deleted or re-analysed tracks are
removed, new ones added. Vectors are stored as float16 in the graph (half the memory; the re-ranking uses the
float32 rows).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_APPROXIMATE_ABOVE = 1_000_000


@dataclass(frozen=True, slots=True)
class GraphParams:
    """HNSW parameters: links per node, candidate list while building, and the minimum while searching."""

    connectivity: int = 16
    expansion_add: int = 64
    expansion_search: int = 128
    dtype: str = "f16"


class HnswGraph:
    """Track ids -> approximate nearest ids by inner product (rows are unit vectors: cosine)."""

    def __init__(self, graph: Any, dim: int, params: GraphParams) -> None:
        self._graph = graph
        self.dim = dim
        self.params = params

    @staticmethod
    def _new(dim: int, params: GraphParams) -> Any:
        from usearch.index import Index

        return Index(ndim=dim, metric="ip", dtype=params.dtype, connectivity=params.connectivity,
                     expansion_add=params.expansion_add, expansion_search=params.expansion_search)

    @classmethod
    def build(cls, ids: np.ndarray, rows: np.ndarray, params: GraphParams | None = None,
              threads: int = 0) -> HnswGraph:
        """A graph over `rows` (n, d) keyed by `ids`; `threads` 0 uses every core."""
        params = params or GraphParams()
        graph = cls(cls._new(rows.shape[1], params), rows.shape[1], params)
        graph.add(ids, rows, threads)
        return graph

    @classmethod
    def open(cls, path: Path, dim: int, params: GraphParams | None = None, view: bool = True) -> HnswGraph:
        """A saved graph, memory-mapped read-only (`view`) or loaded to be changed; ValueError if unreadable."""
        params = params or GraphParams()
        graph = cls._new(dim, params)
        try:
            if view:
                graph.view(str(path))
            else:
                graph.load(str(path))
        except (RuntimeError, OSError, ValueError) as exc:
            raise ValueError(f"cannot read graph {path.name}: {exc}") from None
        if graph.ndim != dim:
            raise ValueError("graph of another dimension")
        return cls(graph, dim, params)

    def __len__(self) -> int:
        return len(self._graph)

    def add(self, ids: np.ndarray, rows: np.ndarray, threads: int = 0) -> None:
        if len(ids):
            self._graph.add(np.asarray(ids, np.uint64), np.ascontiguousarray(rows, np.float32), threads=threads)

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._graph.remove(np.asarray(ids, np.uint64))

    def search(self, query: np.ndarray, m: int) -> np.ndarray:
        """Ids of about the `m` nearest rows to one unit query, nearest first (fewer if the graph is smaller)."""
        if len(self) == 0 or m <= 0:
            return np.zeros(0, np.int64)
        found = self._graph.search(np.ascontiguousarray(query, np.float32), int(m),
                                   threads=1, exact=False)
        return np.asarray(found.keys, dtype=np.int64)

    def save(self, path: Path) -> None:
        """Write atomically: a temporary file in the same folder, mode 0600, renamed into place."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            self._graph.save(str(tmp))
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
