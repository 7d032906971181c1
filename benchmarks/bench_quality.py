"""Quality benchmark: leave-one-out precision@k of every registered extractor on real soundtrack music.

A neighbour is relevant when it comes from the same soundtrack (Debian package). For every extractor and
distance option it prints precision@5 and @10 with and without hubness reduction (mutual proximity), the
random baseline, hubness (skewness of the 5-occurrence distribution N5 and the largest share of top-5 lists
one track appears in) and analysis time per track (decode included), on the issue's corpus ("main") and on
held-out music ("heldout"). Build the corpora first: `python benchmarks/corpus.py`.

    python benchmarks/bench_quality.py [--corpus main|heldout|all] [--extractor NAME ...]
    python benchmarks/bench_quality.py --windows [--extractor NAME ...]   full-length files: windows vs preview

By default tracks are decoded (core.audio.decode at the extractor's rate) and analysed in this process, which
is what the pipeline's analysis step does, timed per track; --via-ingest runs `musicrec ingest --path` into a
temporary SQLite library instead and reads the vectors back from the store. Distances are computed here
(z-score, cosine, euclidean, group weights, empirical mutual proximity) and, when core/index.py is present,
also by the app's SimilarityIndex ("index", "index mp"), which is what `musicrec recommend` ranks with.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import corpus as corpora  # noqa: E402

KS = (5, 10)


# ---------------------------------------------------------------- index (local until core/index.py lands)
def standardise(x: np.ndarray) -> np.ndarray:
    """Per-dimension z-score over the library; near-constant dimensions are centred only."""
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd = np.where(sd > 1e-8 * (np.abs(mu) + 1.0), sd, 1.0)
    return (x - mu) / sd


def group_weighted(z: np.ndarray, groups: tuple[str, ...]) -> np.ndarray:
    """Scale each group's dimensions by 1/sqrt(group size) so each group counts equally in the cosine."""
    labels = np.asarray(groups)
    out = z.copy()
    for g in dict.fromkeys(groups):
        mask = labels == g
        out[:, mask] /= np.sqrt(mask.sum())
    return out


def cosine_distance(x: np.ndarray) -> np.ndarray:
    """Pairwise 1 - cosine similarity."""
    n = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return 1.0 - n @ n.T


def euclidean_distance(x: np.ndarray) -> np.ndarray:
    sq = (x * x).sum(axis=1)
    return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0))


def mutual_proximity(d: np.ndarray) -> np.ndarray:
    """Empirical mutual proximity (Schnitzer et al. 2012): 1 - P(a random track is farther from i and j)."""
    n = d.shape[0]
    out = np.zeros_like(d)
    for i in range(n):
        # farther[j, k]: track k is farther from i than j is, and farther from j than i is
        farther = (d[i][None, :] > d[i][:, None]) & (d > d[i][:, None])
        out[i] = 1.0 - farther.sum(axis=1) / (n - 2)
    np.fill_diagonal(out, 0.0)
    return out


# ---------------------------------------------------------------- evaluation
def neighbours(d: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each track's k nearest others (the track itself excluded)."""
    d = d.copy()
    np.fill_diagonal(d, np.inf)
    idx = np.argpartition(d, k, axis=1)[:, :k]
    order = np.take_along_axis(d, idx, axis=1).argsort(axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def precision_at(d: np.ndarray, labels: np.ndarray, k: int) -> float:
    nn = neighbours(d, k)
    return float((labels[nn] == labels[:, None]).mean())


def random_precision(labels: np.ndarray) -> float:
    """Expected precision@k of a random ranking (the same for every k)."""
    n = len(labels)
    same = (labels[:, None] == labels[None, :]).sum(axis=1) - 1
    return float((same / (n - 1)).mean())


def hubness(d: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Skewness of the k-occurrence distribution, and the largest share of top-k lists one track is in."""
    counts = np.bincount(neighbours(d, k).ravel(), minlength=d.shape[0]).astype(np.float64)
    c = counts - counts.mean()
    skew = float((c**3).mean() / max((c**2).mean() ** 1.5, 1e-12))
    return skew, float(counts.max() / d.shape[0])


@dataclass(frozen=True, slots=True)
class Row:
    option: str
    p5: float
    p10: float
    skew: float
    max_share: float


def evaluate(d: np.ndarray, labels: np.ndarray, option: str) -> Row:
    skew, share = hubness(d)
    return Row(option, precision_at(d, labels, 5), precision_at(d, labels, 10), skew, share)


def distance_options(vectors: np.ndarray, groups: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every distance the benchmark compares: raw cosine (the prototype), z-score + cosine / euclidean,
    z-score + equal group weights + cosine; each also with mutual proximity."""
    z = standardise(vectors.astype(np.float64))
    base = {
        "raw cosine": cosine_distance(vectors.astype(np.float64)),
        "z cosine": cosine_distance(z),
        "z euclidean": euclidean_distance(z),
    }
    if len(set(groups)) > 1:
        base["z groups cosine"] = cosine_distance(group_weighted(z, groups))
    out: dict[str, np.ndarray] = {}
    for name, d in base.items():
        out[name] = d
        out[name + " +MP"] = mutual_proximity(d)
    out.update(index_options(vectors, groups))
    return out


def index_options(vectors: np.ndarray, groups: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The app's own index (core/index.py, when present): its cosine, and its Gaussian mutual proximity."""
    from musicrec_tui.core.models import VectorMatrix

    try:
        from musicrec_tui.core import index as app_index
    except ImportError:
        return {}
    matrix = VectorMatrix("bench", 1, np.arange(len(vectors), dtype=np.int64), vectors.astype(np.float32))
    out = {}
    for mode in app_index.HUBNESS_MODES:
        index = app_index.SimilarityIndex(matrix, groups, hubness=mode)
        keys, _ = index.scores(index.rows)
        out["index" if mode == "none" else f"index {mode}"] = -np.asarray(keys, dtype=np.float64)
    return out


# ---------------------------------------------------------------- analysis
@dataclass(frozen=True, slots=True)
class Timing:
    """Median per-track analysis time (decode + extract): process CPU time and wall time."""

    cpu_ms: float
    wall_ms: float


def analyse(items: list[corpora.Item], root: Path, extractors: list) -> tuple[list[np.ndarray], list[Timing]]:
    """Vectors (n, dim) and timings per extractor. Extractors take turns on each track, so a machine whose
    load changes during the run slows them alike; CPU time is also given, as it barely depends on load."""
    from musicrec_tui.core.audio import check_analysable, decode

    for ext in extractors:  # warm-up outside the timing: librosa/numba JIT, model loading
        ext(decode(root / items[0].path, ext.rate).samples, ext.rate)
    vecs: list[list[np.ndarray]] = [[] for _ in extractors]
    cpu: list[list[float]] = [[] for _ in extractors]
    wall: list[list[float]] = [[] for _ in extractors]
    for it in items:
        for i, ext in enumerate(extractors):
            c0, w0 = time.process_time(), time.perf_counter()
            audio = decode(root / it.path, ext.rate)
            check_analysable(audio)
            vecs[i].append(ext(audio.samples, audio.rate))
            cpu[i].append(time.process_time() - c0)
            wall[i].append(time.perf_counter() - w0)
    timings = [
        Timing(1000 * float(np.median(c)), 1000 * float(np.median(w))) for c, w in zip(cpu, wall, strict=True)
    ]
    return [np.stack(v) for v in vecs], timings


def report(name: str, items: list[corpora.Item], results: dict[str, tuple[list[Row], Timing]]) -> None:
    labels = np.asarray([it.label for it in items])
    counts = {lab: int((labels == lab).sum()) for lab in dict.fromkeys(labels)}
    print(
        f"\n## corpus {name}: {len(items)} tracks, {len(counts)} soundtracks: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    print(f"random baseline precision@5 = precision@10 = {random_precision(labels):.3f}")
    print(f"{'extractor':10s} {'distance':20s} {'p@5':>6s} {'p@10':>6s} {'N5 skew':>8s} {'max top5':>9s}")
    for ext, (rows, _) in results.items():
        for r in rows:
            print(f"{ext:10s} {r.option:20s} {r.p5:6.3f} {r.p10:6.3f} {r.skew:8.2f} {r.max_share:8.1%}")
    base = results.get("stats256", (None, None))[1]
    print("analysis per track, decode included (median):")
    for ext, (_, t) in results.items():
        if np.isnan(t.cpu_ms):  # via ingest: wall time of the whole run per track
            print(f"  {ext:10s} ingest wall {t.wall_ms:6.1f} ms per track")
            continue
        ratio = f", {t.cpu_ms / base.cpu_ms:.2f}x stats256's CPU time" if base else ""
        print(f"  {ext:10s} CPU {t.cpu_ms:6.1f} ms, wall {t.wall_ms:6.1f} ms{ratio}")


def ingest(
    items: list[corpora.Item], root: Path, extractors: list, workdir: Path
) -> tuple[list[np.ndarray], list[Timing]]:
    """Vectors through the real ingest path: `musicrec ingest --path` (CLI, pipeline, analysis process pool,
    SQLite store), read back with the store's load_matrix; rows follow `items`. Timing: ingest wall time per
    track (default worker count), which includes the pool's start-up and warm-up."""
    from musicrec_tui.store import open_library

    db = f"sqlite:///{(workdir / 'bench.sqlite3').resolve()}"
    by_path = {str((root / it.path).resolve()): i for i, it in enumerate(items)}
    vecs, timings = [], []
    for ext in extractors:
        cmd = [
            sys.executable,
            "-m",
            "musicrec_tui",
            "--db",
            db,
            "--data-dir",
            str(workdir),
            "--cache-dir",
            str(workdir / "cache"),
            "ingest",
            "--path",
            str(root),
            "--extractor",
            ext.name,
        ]
        w0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - w0
        if done.returncode not in (0, 1):
            raise SystemExit(f"ingest failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        with open_library(db) as lib:
            matrix = lib.load_matrix(ext.name, ext.version)
            tracks = lib.get_tracks(int(i) for i in matrix.ids)
        out = np.full((len(items), ext.dim), np.nan, dtype=np.float32)
        for row, track_id in enumerate(matrix.ids):
            out[by_path[str(Path(tracks[int(track_id)].external_id).resolve())]] = matrix.matrix[row]
        missing = int(np.isnan(out[:, 0]).sum())
        if missing:
            raise SystemExit(f"{ext.name}: {missing} corpus tracks have no vector after ingest")
        vecs.append(out)
        timings.append(Timing(float("nan"), 1000 * wall / len(items)))
    return vecs, timings


def run(
    corpus_name: str, cache: Path, extractor_names: list[str], via_ingest: bool = False
) -> dict[str, tuple[list[Row], Timing]]:
    from musicrec_tui.core import features

    items = corpora.load(corpus_name, cache)
    root = corpora.corpus_root(corpus_name, cache)
    labels = np.asarray([it.label for it in items])
    extractors = [features.get(n) for n in extractor_names]
    if via_ingest:
        with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as tmp:
            vectors, timings = ingest(items, root, extractors, Path(tmp))
    else:
        vectors, timings = analyse(items, root, extractors)
    results: dict[str, tuple[list[Row], Timing]] = {}
    for ext, vecs, timing in zip(extractors, vectors, timings, strict=True):
        rows = [evaluate(d, labels, opt) for opt, d in distance_options(vecs, ext.groups).items()]
        results[ext.name] = (rows, timing)
    report(corpus_name, items, results)
    return results


def window_agreement(cache: Path, extractor_names: list[str], max_files: int = 60) -> None:
    """Does a full-length track's vector (core.audio.load_for_analysis: 5 windows of 6 s found by seeking)
    agree with the vector of its 30 s preview (the middle 30 s, as corpus.py cuts them)?

    For every source file of the cached corpora (`extracted/`, files of at least corpus.MIN_SOURCE_SECONDS),
    both vectors are computed; after z-scoring over all of them, it prints per extractor the median cosine of a
    track's windows vector to its own preview vector and to the other tracks' previews, and how often the own
    preview is the nearest preview (top-1) or among the 5 nearest (top-5) - the windows find their track."""
    from musicrec_tui.core import features
    from musicrec_tui.core.audio import ANALYSIS_RATE, decode, load_for_analysis
    from musicrec_tui.core.errors import DecodeError

    files = []
    for pkg_dir in sorted((cache / "extracted").glob("*")):
        files += corpora.music_files(pkg_dir)
    windows: list[np.ndarray] = []
    previews: list[np.ndarray] = []
    lengths: list[float] = []
    for path in files:
        if len(windows) >= max_files:
            break
        try:
            whole = decode(path, ANALYSIS_RATE)
        except DecodeError:
            continue
        if whole.seconds < corpora.MIN_SOURCE_SECONDS:
            continue
        n = int(corpora.EXCERPT_SECONDS * ANALYSIS_RATE)
        start = (whole.samples.shape[0] - n) // 2
        preview = whole.samples[start : start + n]
        excerpts = load_for_analysis(path, ANALYSIS_RATE).samples
        if min(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) for x in (preview, excerpts)) < 1e-3:
            continue  # silent in the middle (corpus.py skips these too)
        windows.append(excerpts)
        previews.append(preview)
        lengths.append(whole.seconds)
    if len(windows) < 2:
        print("window agreement: no full-length files cached (run benchmarks/corpus.py)")
        return
    print(f"\nwindows vs preview: {len(windows)} full-length files, {min(lengths) / 60:.1f}-"
          f"{max(lengths) / 60:.1f} min (median {np.median(lengths) / 60:.1f})")
    print(f"{'extractor':<12} {'cos(own)':>9} {'cos(others)':>12} {'top-1':>6} {'top-5':>6} {'random top-1':>13}")
    for name in extractor_names:
        ext = features.get(name)
        a = np.stack([ext(w, ANALYSIS_RATE) for w in windows])
        b = np.stack([ext(p, ANALYSIS_RATE) for p in previews])
        both = standardise(np.concatenate([a, b]))
        za, zb = both[: len(a)], both[len(a) :]
        za /= np.linalg.norm(za, axis=1, keepdims=True) + 1e-12
        zb /= np.linalg.norm(zb, axis=1, keepdims=True) + 1e-12
        sim = za @ zb.T
        own = np.diag(sim)
        others = sim[~np.eye(len(a), dtype=bool)]
        ranks = (sim > own[:, None]).sum(axis=1)
        print(f"{name:<12} {np.median(own):>9.3f} {np.median(others):>12.3f} {np.mean(ranks == 0):>6.2f} "
              f"{np.mean(ranks < 5):>6.2f} {1 / len(a):>13.2f}")


def main(argv: list[str] | None = None) -> int:
    from musicrec_tui.core import features

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="all", choices=[*corpora.CORPORA, "all"])
    ap.add_argument("--extractor", action="append", help="extractor name (repeatable; default: all)")
    ap.add_argument("--cache", help="cache dir (default $MUSICREC_BENCH_CACHE or ~/.cache/musicrec-bench)")
    ap.add_argument(
        "--via-ingest",
        action="store_true",
        help="analyse through `musicrec ingest --path` into a temporary SQLite library",
    )
    ap.add_argument("--windows", action="store_true",
                    help="only check that a full-length file's windows vector agrees with its preview's")
    args = ap.parse_args(argv)
    cache = corpora.cache_dir(args.cache)
    names = args.extractor or sorted(features.available())
    if args.windows:
        window_agreement(cache, names)
        return 0
    for corpus_name in corpora.CORPORA if args.corpus == "all" else [args.corpus]:
        corpora.build(corpus_name, cache)
        run(corpus_name, cache, names, args.via_ingest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
