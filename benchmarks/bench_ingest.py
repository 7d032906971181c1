"""End-to-end ingest benchmark: N previews from the local fake iTunes server into a fresh SQLite library.

Prints, with 1 and 2 analysis workers: tracks/s overall (analysis processes' start-up included) and in the
steady state (first to last finished track), median ms per track for download, decode, analysis (ranking
extractor), explain (explainer extractor) and store, the CPU the main process spends per track (downloads,
checks, store, bookkeeping), the share of download + store in the per-track time, and the 2-vs-1 speed-up.

    .venv/bin/python benchmarks/bench_ingest.py [--tracks 200] [--seconds 30] [--extractor NAME]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musicrec_tui.app.factory import make_cache
from musicrec_tui.config import load_settings
from musicrec_tui.core import features
from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.core.models import JobState
from musicrec_tui.ingest.events import IngestEvent
from musicrec_tui.ingest.pipeline import IngestPipeline
from musicrec_tui.store import open_library
from tests.fake_itunes import FakeItunes, Previews

KINDS = tuple(f"chord:{i}" for i in range(7)) + tuple(f"drums:{b}" for b in (80, 96, 110, 128, 150, 174)) + \
    tuple(f"noise:{i}" for i in range(4)) + ("sweep",)


def run_once(fake: FakeItunes, n: int, workers: int, extractor: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite://{root / 'lib.sqlite3'}"
        settings = load_settings(env={}, flags={"db_url": url, "data_dir": str(root / "d"),
                                                "cache_dir": str(root / "c"), "config_dir": str(root / "cfg")})
        tracks = ItunesClient(fake.url, rate_per_minute=6000).search("bench", limit=200)[:n]
        finished: list[float] = []

        def on_event(event: IngestEvent) -> None:
            if event.state in (JobState.DONE, JobState.FAILED):
                finished.append(time.perf_counter())

        with open_library(url) as lib:
            pipeline = IngestPipeline(settings, lib, cache=make_cache(settings), workers=workers,
                                      extractor=extractor, on_event=on_event)
            pipeline.enqueue(tracks)
            cpu = time.process_time()
            start = time.perf_counter()
            summary = pipeline.run()
            wall = time.perf_counter() - start
            cpu = time.process_time() - cpu
            assert summary.done == len(tracks), summary.failed[:3]
    med = summary.median_ms()
    per_track = sum(med.values())
    return {"tracks": summary.done, "wall_s": wall, "tracks_per_s": summary.done / wall,
            "steady_per_s": (len(finished) - 1) / (finished[-1] - finished[0]), "startup_s": finished[0] - start,
            "main_cpu_ms": cpu / summary.done * 1000, **med,
            "io_store_share": (med["download"] + med["store"]) / per_track}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each synthesised preview")
    parser.add_argument("--extractor", default=None)
    args = parser.parse_args()
    extractor = features.get(args.extractor)
    print(f"encoding {len(KINDS)} distinct {args.seconds:.0f} s AAC previews ...", flush=True)
    with FakeItunes(Previews(seconds=args.seconds)) as fake:
        for i in range(args.tracks):
            fake.add_track(3_000_000 + i, f"bench track {i}", f"Bench Artist {i % 13}", preview=KINDS[i % len(KINDS)])
        print(f"extractor {extractor.name} v{extractor.version}; {args.tracks} tracks; 2 cores\n")
        print(f"{'workers':>7} {'tracks/s':>9} {'steady/s':>9} {'wall s':>7} {'1st done s':>10} {'download':>9} "
              f"{'decode':>7} {'analysis':>9} {'explain':>8} {'store':>6} {'main CPU':>9} {'dl+store':>9}")
        results = {}
        for workers in (1, 2):
            r = run_once(fake, args.tracks, workers, args.extractor)
            results[workers] = r
            print(f"{workers:>7} {r['tracks_per_s']:>9.2f} {r['steady_per_s']:>9.2f} {r['wall_s']:>7.1f} "
                  f"{r['startup_s']:>10.1f} {r['download']:>9.1f} {r['decode']:>7.1f} {r['analysis']:>9.1f} "
                  f"{r.get('explain', 0.0):>8.1f} {r['store']:>6.1f} {r['main_cpu_ms']:>9.1f} "
                  f"{r['io_store_share']:>9.1%}")
        print("\n(ms columns are medians per track; main CPU = the ingesting process's own CPU per track)")
        print(f"speed-up, 2 workers vs 1: {results[2]['tracks_per_s'] / results[1]['tracks_per_s']:.2f}x overall, "
              f"{results[2]['steady_per_s'] / results[1]['steady_per_s']:.2f}x steady state (target >= 1.7x)")
        print(f"download + store share of per-track time (1 worker): {results[1]['io_store_share']:.1%} "
              "(target < 10 %)")


if __name__ == "__main__":
    main()
