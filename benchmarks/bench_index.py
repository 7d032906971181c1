"""Top-10 query latency of SimilarityIndex for 1k..1M synthetic vectors, next to the memory-bandwidth bound.

Run:  python benchmarks/bench_index.py [--sizes 1000,10000,100000,1000000] [--queries 30] [--hubness none]
For each size it prints the median latency of one query (matrix-vector product + argpartition + sort), the
per-query cost in a batch of 64, the index's memory, and the bound: bytes scanned by one query (the n x d
float32 rows) divided by the copy bandwidth measured with np.copyto on a 1 GiB array in the same run.
Targets (issue 4): 100k < 5 ms, 1M < 60 ms and within 2x of the bound.

With --approx it also builds the approximate graph recommend switches to past `similarity.approximate_above`
tracks (core/ann.py: HNSW from usearch, candidates re-ranked exactly) and prints its build time, query latency
and recall@10 against the exact search of the same index (issue 11: past 1M tracks, recall printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musicrec_tui.core.features import get
from musicrec_tui.core.index import SimilarityIndex
from musicrec_tui.core.models import VectorMatrix


def copy_bandwidth(nbytes: int = 1 << 30, repeats: int = 5) -> float:
    """Bytes per second that np.copyto reads from a big array (the write is not counted: a scan only reads)."""
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    return nbytes / min(times)


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def synthetic(n: int, dim: int, seed: int = 0, clusters: int = 0) -> VectorMatrix:
    """n random vectors: isotropic Gaussian noise (clusters=0, the worst case for any pruning), or a mixture
    of `clusters` Gaussian clusters with within-cluster spread 1 around centres of spread 1, as real music
    embeddings form (genres, soundtracks, albums)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim), dtype=np.float32) if clusters else None
    m = np.empty((n, dim), np.float32)
    step = 100_000
    for start in range(0, n, step):  # chunked, so float64 temporaries stay small
        size = min(step, n - start)
        m[start:start + size] = rng.standard_normal((size, dim), dtype=np.float32)
        if centres is not None:
            m[start:start + size] += centres[rng.integers(0, clusters, size)]
    return VectorMatrix("bench", 1, np.arange(1, n + 1, dtype=np.int64), m)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--hubness", default="none", choices=("none", "mp"))
    ap.add_argument("--extractor", default=None, help="dimension and groups of this extractor (default one)")
    ap.add_argument("--clusters", type=int, default=0,
                    help="synthetic vectors from this many clusters (0: isotropic noise, the default)")
    ap.add_argument("--approx", action="store_true", help="also the approximate graph: build time, latency, recall@10")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads per query (the index's query_threads; 0 = as BLAS is configured)")
    args = ap.parse_args()

    ext = get(args.extractor)
    dim = ext.dim
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i.get('architecture', '')} x{i['num_threads']}"
                         for i in threadpool_info())
    except ImportError:
        blas = "threadpoolctl not installed"
    bw = copy_bandwidth()
    vectors = f"{args.clusters} clusters" if args.clusters else "isotropic"
    print(f"extractor {ext.name} (dim {dim}), vectors {vectors}, hubness {args.hubness}, "
          f"query threads {args.threads or 'BLAS'}; "
          f"BLAS: {blas}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}")
    print(f"copy bandwidth (np.copyto, 1 GiB, read side): {bw / 1e9:.1f} GB/s\n")
    head = (f"{'tracks':>9} {'build s':>8} {'query ms':>9} {'batch ms/q':>11} {'bound ms':>9} {'x bound':>8} "
            f"{'index MiB':>10} {'RSS MiB':>8}")
    print(head)
    print("-" * len(head))
    approx_rows: list[tuple[int, float, float, float, float]] = []
    for n in (int(s) for s in args.sizes.split(",")):
        vm = synthetic(n, dim, clusters=args.clusters)
        t0 = time.perf_counter()
        index = SimilarityIndex(vm, ext.groups, hubness=args.hubness, query_threads=args.threads or None)
        build = time.perf_counter() - t0
        del vm
        rng = np.random.default_rng(1)
        rows = rng.integers(0, n, args.queries + 3)
        lat = []
        for i, r in enumerate(rows):
            q = index.rows[r].copy()
            t0 = time.perf_counter()
            hits = index.search(q, k=10)
            dt = time.perf_counter() - t0
            if i >= 3:  # warm-up queries excluded
                lat.append(dt)
            assert hits[0].row == r
        batch = index.rows[rows[:64] if n >= 64 else rows].copy()
        runs = []
        for _ in range(4):  # the first run warms up
            t0 = time.perf_counter()
            index.search_batch(batch, k=10)
            runs.append((time.perf_counter() - t0) / batch.shape[0])
        per_q = statistics.median(runs[1:])
        med = statistics.median(lat)
        bound = n * dim * 4 / bw
        print(f"{n:>9} {build:>8.2f} {med * 1e3:>9.3f} {per_q * 1e3:>11.3f} {bound * 1e3:>9.3f} "
              f"{med / bound:>8.2f} {index.nbytes / 2**20:>10.1f} {rss_mib():>8.0f}")
        if args.approx:
            approx_rows.append(approximate(index, rows[3:], med))
        del index
    if args.approx:
        print("\napproximate graph (HNSW, usearch; float16 vectors, M=16, ef_add=64, ef_search=128; candidates "
              "re-ranked exactly)")
        head = f"{'tracks':>9} {'build s':>8} {'query ms':>9} {'exact ms':>9} {'speed-up':>9} {'recall@10':>10}"
        print(head)
        print("-" * len(head))
        for r in approx_rows:
            print(f"{r[0]:>9} {r[1]:>8.1f} {r[2] * 1e3:>9.3f} {r[3] * 1e3:>9.3f} {r[3] / r[2]:>8.1f}x {r[4]:>10.4f}")


def approximate(index: SimilarityIndex, rows: np.ndarray, exact_median: float) -> tuple[int, float, float, float,
                                                                                        float]:
    """(n, build s, median query s, exact median query s, recall@10 of the graph's top-10 vs the exact top-10)."""
    from musicrec_tui.core.ann import HnswGraph

    exact = [[h.id for h in index.search(index.rows[r].copy(), k=10, exclude_rows=[r])] for r in rows]
    t0 = time.perf_counter()
    graph = HnswGraph.build(np.asarray(index.ids), index.rows)
    build = time.perf_counter() - t0
    index.use_graph(graph)
    lat, found = [], []
    for r in rows:
        q = index.rows[r].copy()
        t0 = time.perf_counter()
        hits = index.search(q, k=10, exclude_rows=[r])
        lat.append(time.perf_counter() - t0)
        found.append([h.id for h in hits])
    index.use_graph(None)
    recall = statistics.mean(len(set(e) & set(f)) / max(1, len(e)) for e, f in zip(exact, found, strict=True))
    return len(index), build, statistics.median(lat), exact_median, recall


if __name__ == "__main__":
    main()
