"""`musicrec recommend` at library scale, SQLite and MySQL: whole process, in-memory query, and `--all`.

    .venv/bin/python benchmarks/bench_recommend.py [--tracks 100000] [--repeat 5] [--mysql URL] [--skip-all]

Builds (once, then reused) a library of N tracks with clustered synthetic musicnn (256-d) and handcrafted
(122-d) vectors: SQLite under benchmarks/.cache/, MySQL in the database `<name of --mysql's database>_bench_N`
(default URL: $MUSICREC_TEST_MYSQL_URL). Bulk insert: executemany in batches, one transaction each.

Then, per backend, it prints medians over --repeat runs, each next to its target and to a baseline run in
the same loop (pair by pair, so a busy machine moves both):
  - `musicrec recommend ID` as a whole process (cold: the persisted index just deleted; warm: it exists),
    against `python -c "import numpy"`, the floor of any process that touches a vector;
  - the in-process query (LibraryIndex.similar) once the index is loaded;
  - `musicrec recommend --all -k 5 --json` over the library (once; --skip-all leaves it out).
Targets (issue 11): recommend <= 0.3 s beyond process start on SQLite, <= 1 s on MySQL; --all <= 60 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musicrec_tui.core import features  # noqa: E402
from musicrec_tui.core.models import FeatureVector, Track  # noqa: E402
from musicrec_tui.store import open_library, parse_db_url  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
PY = sys.executable
ADJ = ["Velvet", "Silent", "Golden", "Broken", "Electric", "Paper", "Hollow", "Crimson", "Wild", "Glass"]
NOUN = ["Harbor", "Ember", "Quartz", "Lantern", "River", "Signal", "Garden", "Echo", "Comet", "Tide"]


def clustered(n: int, dim: int, seed: int, clusters: int = 200) -> np.ndarray:
    """n vectors from `clusters` Gaussian clusters (as real embeddings group by genre, album, soundtrack)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim), dtype=np.float32) * 1.5
    m = rng.standard_normal((n, dim), dtype=np.float32)
    m += centres[rng.integers(0, clusters, n)]
    return m


def fill_library(url: str, n: int) -> None:
    """n tracks with a vector of each of the two default extractors, bulk-inserted."""
    with open_library(url) as lib:
        lib.upsert_tracks(
            Track("itunes", str(10_000_000 + i), f"{ADJ[i % 10]} {NOUN[(i // 10) % 10]} {i}",
                  f"Artist {i % 4999}", f"Album {i % 9973}", ["Rock", "Jazz", "Pop", "Ambient"][i % 4],
                  120_000 + i % 180_000) for i in range(n))
        ids = [t.id for t in lib.list_tracks(sort="id")]
        for seed, name in enumerate(("musicnn", "handcrafted")):
            ext = features.get(name)
            m = clustered(len(ids), ext.dim, seed)
            lib.put_vectors((int(tid), FeatureVector(ext.name, ext.version, m[i])) for i, tid in enumerate(ids))


def sqlite_library(n: int) -> str:
    path = CACHE / f"recommend-{n}.sqlite3"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".building")
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            p.unlink(missing_ok=True)
        t0 = time.perf_counter()
        fill_library(f"sqlite://{tmp}", n)
        tmp.rename(path)
        print(f"built {path.name} in {time.perf_counter() - t0:.1f} s")
    return f"sqlite://{path}"


def mysql_library(base_url: str, n: int) -> str:
    """The bench library in database `<base database>_bench_<n>`, created and filled when missing or short."""
    import mysql.connector

    base = parse_db_url(base_url)
    name = f"{base.database}_bench_{n}"
    conn = mysql.connector.connect(host=base.host, port=base.port, user=base.user, password=base.password,
                                   use_pure=True)
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    auth = base.user + (f":{base.password}" if base.password else "")
    url = f"mysql://{auth}@{base.host}:{base.port}/{name}"
    with open_library(url) as lib:
        have = lib.vector_counts().get(("handcrafted", features.get("handcrafted").version), 0)
    if have != n:
        conn = mysql.connector.connect(host=base.host, port=base.port, user=base.user, password=base.password,
                                       use_pure=True)
        cur = conn.cursor()
        cur.execute(f"DROP DATABASE `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()
        t0 = time.perf_counter()
        fill_library(url, n)
        print(f"built MySQL database {name} in {time.perf_counter() - t0:.1f} s")
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mysql", default=os.environ.get("MUSICREC_TEST_MYSQL_URL", ""))
    ap.add_argument("--skip-all", action="store_true")
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args()
    urls = {"sqlite": sqlite_library(args.tracks)}
    if args.mysql:
        urls["mysql"] = mysql_library(args.mysql, args.tracks)
    if args.build_only:
        return


if __name__ == "__main__":
    main()
