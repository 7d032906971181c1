"""`musicrec recommend` at library scale, SQLite and MySQL: whole process, in-memory query, and `--all`.

    .venv/bin/python benchmarks/bench_recommend.py [--tracks 100000] [--repeat 5] [--mysql URL] [--skip-all]
        [--all-repeat 3] [--only-all] [--backends sqlite,mysql]

Builds (once, then reused) a library of N tracks with clustered synthetic musicnn (256-d) and handcrafted
(122-d) vectors: SQLite under benchmarks/.cache/, MySQL in the database `<name of --mysql's database>_bench_N`
(default URL: $MUSICREC_TEST_MYSQL_URL). Bulk insert: executemany in batches, one transaction each.

Then, per backend, it prints medians over --repeat runs, each next to its target and to a baseline run in
the same loop (pair by pair, so a busy machine moves both):
  - `musicrec recommend ID` as a whole process (cold: the persisted index just deleted; warm: it exists),
    against `python -c "import numpy"`, the floor of any process that touches a vector;
  - the in-process query (LibraryIndex.similar) once the index is loaded;
  - `musicrec recommend --all -k 5 --json` over the library, whole process, median of --all-repeat runs, wall
    and CPU, next to the CPU the half cosine matrix alone takes at the matrix-product rate measured in the same
    run (--skip-all leaves it out, --only-all does only this).
Targets (issue 11): recommend <= 0.3 s beyond process start on SQLite, <= 1 s on MySQL; --all <= 60 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musicrec_tui.app.recommend import LibraryIndex  # noqa: E402
from musicrec_tui.core import features  # noqa: E402
from musicrec_tui.core.models import FeatureVector, Track  # noqa: E402
from musicrec_tui.store import open_library, parse_db_url  # noqa: E402
from musicrec_tui.store.matrix_cache import index_dir  # noqa: E402

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


def timed_process(cmd: list[str], env: dict[str, str], stdout: int | None = subprocess.DEVNULL
                  ) -> tuple[float, float]:
    """(wall s, user + system CPU s) of one whole process, start-up included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed: {proc.stderr.decode()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(cmd: list[str], baseline: list[str], env: dict[str, str], repeat: int,
           before_each: Callable[[], None] | None = None) -> dict[str, float]:
    """A and B in turn (A B A B ...), after one warm-up pair; medians and the median of A - B, pair by pair."""
    a_wall, a_cpu, b_wall, b_cpu, diff, cpu_diff = [], [], [], [], [], []
    for i in range(repeat + 1):
        if before_each is not None:
            before_each()
        wa, ca = timed_process(cmd, env)
        wb, cb = timed_process(baseline, env)
        if i:  # the first pair warms the page cache and the interpreter's .pyc files
            a_wall.append(wa)
            a_cpu.append(ca)
            b_wall.append(wb)
            b_cpu.append(cb)
            diff.append(wa - wb)
            cpu_diff.append(ca - cb)
    med = statistics.median
    return {"wall": med(a_wall), "cpu": med(a_cpu), "base": med(b_wall), "beyond": med(diff),
            "base_cpu": med(b_cpu), "cpu_beyond": med(cpu_diff),
            "ratio": med(a / b for a, b in zip(a_wall, b_wall, strict=True)), "min": min(a_wall), "max": max(a_wall)}


def in_process(url: str, folder: Path | None, seeds: list[int]) -> tuple[float, float]:
    """(s to load the index and answer the first query, median s of the next queries), in one process."""
    with open_library(url) as lib:
        t0 = time.perf_counter()
        similar = LibraryIndex(lib, None, "mp", "handcrafted", index_dir=folder)
        similar.similar([seeds[0]], 5)
        first = time.perf_counter() - t0
        times = []
        for s in seeds[1:]:
            t0 = time.perf_counter()
            similar.similar([s], 5)
            times.append(time.perf_counter() - t0)
    return first, statistics.median(times)


def report(backend: str, url: str, args: argparse.Namespace, env: dict[str, str], target: float) -> None:
    folder = index_dir(parse_db_url(url), Path(env["XDG_CACHE_HOME"]) / "musicrec-tui")
    cache_dir = Path(env["XDG_CACHE_HOME"]) / "musicrec-tui"
    musicrec = [PY, "-m", "musicrec_tui", "--db", url, "--cache-dir", str(cache_dir)]
    seed_id = "500"
    pass_cmd, numpy_cmd = [PY, "-c", "pass"], [PY, "-c", "import numpy"]
    print(f"\n== {backend}: {args.tracks:,} tracks ==")
    if args.only_all:
        all_figures(musicrec, env, args)
        return
    rows = []

    def drop_cache() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    cold = paired([*musicrec, "recommend", seed_id], pass_cmd, env, args.cold_repeat, drop_cache)
    rows.append(("recommend ID, no saved index (builds it)", cold, "python -c pass", None))
    warm = paired([*musicrec, "recommend", seed_id], pass_cmd, env, args.repeat)
    rows.append(("recommend ID, saved index", warm, "python -c pass", target))
    warm_np = paired([*musicrec, "recommend", seed_id], numpy_cmd, env, args.repeat)
    rows.append(("recommend ID, saved index", warm_np, "python -c 'import numpy'", None))
    version = paired([*musicrec, "--version"], pass_cmd, env, args.repeat)
    rows.append(("musicrec --version", version, "python -c pass", None))
    print("A: the command; B: the baseline. wall and CPU (user + system) seconds; A-B: beyond the baseline's start")
    print(f"{'A':<42} {'wall s':>7} {'cpu s':>6} {'B':<26} {'wall s':>7} {'cpu s':>6} {'A-B wall':>8} "
          f"{'A-B cpu':>8} {'A/B wall':>8} {'target A-B':>10}")
    for name, r, base, tgt in rows:
        target_txt = f"<= {tgt:.1f} s" if tgt else "-"
        print(f"{name:<42} {r['wall']:>7.3f} {r['cpu']:>6.3f} {base:<26} {r['base']:>7.3f} {r['base_cpu']:>6.3f} "
              f"{r['beyond']:>8.3f} {r['cpu_beyond']:>8.3f} {r['ratio']:>8.2f} {target_txt:>10}")
    seeds = list(range(500, 100_000, 4_000))[: max(3, args.repeat * 2)]
    seeds = [s for s in seeds if s <= args.tracks] or [1, 2, 3]
    first_unc, q_unc = in_process(url, None, seeds)
    first_c, q_c = in_process(url, folder, seeds)
    print(f"{'in process':<42} {'load + 1st query s':>18} {'next queries, median ms':>24}")
    print(f"{'  uncached (what every command did before)':<42} {first_unc:>18.3f} {q_unc * 1e3:>24.1f}")
    print(f"{'  saved index':<42} {first_c:>18.3f} {q_c * 1e3:>24.1f}")
    print(f"  speed-up of load + first query: {first_unc / first_c:.1f}x")
    if not args.skip_all:
        all_figures(musicrec, env, args)


def product_floor(n: int, dim: int = 256, block: int = 2048) -> float:
    """CPU s that half the n x n cosine matrix (what `recommend --all` must compute) takes at the float32
    matrix-product rate this process measures now: the part of --all no Python work can remove."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((block, dim), dtype=np.float32)
    b = rng.standard_normal((min(n, 16384), dim), dtype=np.float32)
    a @ b.T
    t0 = time.process_time()
    for _ in range(3):
        a @ b.T
    per_flop = (time.process_time() - t0) / (3 * 2.0 * block * b.shape[0] * dim)
    return per_flop * 2.0 * dim * n * n / 2


def all_figures(musicrec: list[str], env: dict[str, str], args: argparse.Namespace) -> None:
    """`recommend --all -k 5 --json` as a whole process (start-up, index load, every line written to a file),
    median of --all-repeat runs, next to its target and to the product floor measured in the same run."""
    walls, cpus, lines = [], [], 0
    for _ in range(args.all_repeat):
        out = Path(tempfile.mkstemp(prefix="recommend-all-", suffix=".jsonl")[1])
        try:
            with out.open("wb") as fh:
                wall, cpu = timed_process([*musicrec, "recommend", "--all", "-k", "5", "--json"], env, fh.fileno())
            lines = sum(1 for _ in out.open("rb"))
        finally:
            out.unlink()
        walls.append(wall)
        cpus.append(cpu)
    med = statistics.median
    floor = product_floor(args.tracks)
    print(f"recommend --all -k 5 --json, whole process (median of {args.all_repeat}): {med(walls):.1f} s wall "
          f"(min {min(walls):.1f}), {med(cpus):.1f} s CPU, {lines:,} lines ({med(cpus) / max(1, lines) * 1e3:.2f} ms "
          f"CPU a track); target <= 60 s")
    print(f"  floor in this run: half the cosine matrix ({args.tracks:,}^2 x 256 / 2) at the measured matrix-product "
          f"rate = {floor:.1f} s CPU; --all / floor = {med(cpus) / floor:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cold-repeat", type=int, default=2)
    ap.add_argument("--mysql", default=os.environ.get("MUSICREC_TEST_MYSQL_URL", ""))
    ap.add_argument("--skip-all", action="store_true")
    ap.add_argument("--all-repeat", type=int, default=3, help="runs of recommend --all (median)")
    ap.add_argument("--only-all", action="store_true", help="only recommend --all (not the per-id figures)")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--backends", default="sqlite,mysql")
    args = ap.parse_args()
    wanted = args.backends.split(",")
    urls = {}
    if "sqlite" in wanted:
        urls["sqlite"] = sqlite_library(args.tracks)
    if args.mysql and "mysql" in wanted:
        urls["mysql"] = mysql_library(args.mysql, args.tracks)
    if args.build_only:
        return
    home = Path(tempfile.mkdtemp(prefix="bench-recommend-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSICREC_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians of {args.repeat} runs "
          f"(cold: {args.cold_repeat}); A and B run in turn, A-B and A/B are taken pair by pair")
    try:
        for backend, url in urls.items():
            report(backend, url, args, env, 0.3 if backend == "sqlite" else 1.0)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
