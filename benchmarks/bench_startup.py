"""Ingest from process start: `musicrec ingest TERM --limit N` as a new user runs it, against the local fake server.

Each run is a fresh `musicrec` process with a fresh SQLite library and an empty preview cache (so every preview
is downloaded), the fake iTunes server (tests/fake_itunes.py, 30 s AAC previews) running in this process.
Prints, as medians over the runs (and min-max): the time from process start to the first stored track, the whole
run's tracks/s start-up included and the steady-state rate (first to last stored track), each next to its
target, and the CPU the whole process tree spends per track (which other load on the machine barely changes;
2 / that figure bounds the rate on 2 idle cores). `--baseline-ref COMMIT` runs the same command with the code
of that commit, alternating runs, and prints the ratios; `python -c "import numpy"` timed in the same run shows
how loaded the machine was.

    .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--limit 25] [--workers 2] [--baseline-ref 87fcd87]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_itunes import FakeItunes, Previews

KINDS = tuple(f"chord:{i}" for i in range(7)) + tuple(f"drums:{b}" for b in (80, 96, 110, 128, 150, 174)) + \
    tuple(f"noise:{i}" for i in range(4)) + ("sweep",)
TARGETS = {"first_s": ("<=", 2.0), "overall_per_s": (">=", 8.0), "steady_per_s": (">=", 12.0)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every reaped descendant, workers included
    return usage.ru_utime + usage.ru_stime


def one_run(url: str, limit: int, workers: int, extra: list[str], tree: Path | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MUSICREC_")}
        env.update(HOME=str(root), XDG_CONFIG_HOME=str(root / "cfg"), PYTHONUNBUFFERED="1")
        if tree is not None:  # the baseline: the same command run from another checkout of the code
            env["PYTHONPATH"] = str(tree)
        cmd = [sys.executable, "-m", "musicrec_tui", "--db", f"sqlite://{root / 'lib.sqlite3'}",
               "--itunes-url", url, "--cache-dir", str(root / "cache"), "--data-dir", str(root / "data"),
               "ingest", "bench", "--limit", str(limit), "--json", "--workers", str(workers), *extra]
        cpu = children_cpu()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                cwd=tree or None)
        done: list[float] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event.get("state") == "done":
                done.append(time.perf_counter() - start)
        _, err = proc.communicate()
        wall = time.perf_counter() - start
        cpu = children_cpu() - cpu
        if proc.returncode != 0 or len(done) != limit:
            raise SystemExit(f"run failed (exit {proc.returncode}, {len(done)}/{limit} done): {err.strip()[-400:]}")
    steady = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else float("nan")
    return {"first_s": done[0], "wall_s": wall, "overall_per_s": limit / wall, "steady_per_s": steady,
            "cpu_per_track_s": cpu / limit}


def baseline() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    return time.perf_counter() - start


def verdict(key: str, value: float) -> str:
    op, target = TARGETS[key]
    ok = value <= target if op == "<=" else value >= target
    return f"target {op} {target:g}  {'ok' if ok else 'MISSED'}"


def export_ref(ref: str, into: Path) -> Path:
    """`git archive` of the code at `ref` (the package only), to run the same command with it as a baseline."""
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(repo), "archive", ref, "musicrec_tui", "sql"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def report(rows: list[dict[str, float]], name: str) -> None:
    print(f"\n{name}:")
    for key, label in (("first_s", "process start to first stored track, s"),
                       ("overall_per_s", "whole run, start-up included, tracks/s"),
                       ("steady_per_s", "steady state (first to last stored track), tracks/s")):
        values = [r[key] for r in rows]
        med = statistics.median(values)
        print(f"  {label:<54} median {med:6.2f}  (min {min(values):.2f}, max {max(values):.2f})  "
              f"{verdict(key, med)}")
    cpu = statistics.median(r["cpu_per_track_s"] for r in rows)
    print(f"  {'CPU per track, whole process tree, s':<54} median {cpu:6.3f}  (on 2 idle cores at most "
          f"{2 / cpu:.1f} tracks/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each synthesised preview")
    parser.add_argument("--baseline-ref", metavar="REF",
                        help="also run the code of this git commit, alternating with the working tree's")
    parser.add_argument("extra", nargs="*", help="more arguments for `musicrec ingest`, after --")
    args = parser.parse_args()
    print(f"encoding {len(KINDS)} distinct {args.seconds:.0f} s AAC previews ...", flush=True)
    variants: dict[str, Path | None] = {"this tree": None}
    with tempfile.TemporaryDirectory() as tmp, \
            FakeItunes(Previews(seconds=args.seconds), clock=time.monotonic) as fake:
        if args.baseline_ref:
            variants[args.baseline_ref] = export_ref(args.baseline_ref, Path(tmp))
        for i in range(args.limit):
            fake.add_track(3_000_000 + i, f"bench track {i}", f"Bench Artist {i % 13}", preview=KINDS[i % len(KINDS)])
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        bases = []
        print(f"`musicrec ingest bench --limit {args.limit} --workers {args.workers}`, {args.runs} runs each\n")
        print(f"{'code':>12} {'run':>4} {'1st stored s':>12} {'wall s':>7} {'tracks/s':>9} {'steady/s':>9} "
              f"{'CPU/track s':>11} {'python+numpy s':>14}")
        for i in range(args.runs):
            for name, tree in variants.items():
                bases.append(baseline())
                r = one_run(fake.url, args.limit, args.workers, args.extra, tree)
                rows[name].append(r)
                print(f"{name[:12]:>12} {i + 1:>4} {r['first_s']:>12.2f} {r['wall_s']:>7.2f} "
                      f"{r['overall_per_s']:>9.2f} {r['steady_per_s']:>9.2f} {r['cpu_per_track_s']:>11.3f} "
                      f"{bases[-1]:>14.2f}", flush=True)
    for name in variants:
        report(rows[name], name)
    if args.baseline_ref:
        new, old = rows["this tree"], rows[args.baseline_ref]
        ratio = {k: statistics.median(r[k] for r in new) / statistics.median(r[k] for r in old)
                 for k in ("first_s", "overall_per_s", "cpu_per_track_s")}
        print(f"\nthis tree vs {args.baseline_ref}: first stored track x{ratio['first_s']:.2f}, whole-run rate "
              f"x{ratio['overall_per_s']:.2f}, CPU per track x{ratio['cpu_per_track_s']:.2f}")
    label = 'machine load: python -c "import numpy", s'
    print(f"{label:<56} median {statistics.median(bases):6.2f}")


if __name__ == "__main__":
    main()
