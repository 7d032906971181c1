"""Discover benchmark: precision@10 of discovered songs on real soundtrack music served by the local fake iTunes.

The quality corpora (benchmarks/corpus.py: 10 Debian game soundtracks, 199 excerpts) become a catalogue on the
fake iTunes server (real HTTP, Apple's JSON shape, the excerpts as previews): each soundtrack is an album whose
tracks are spread over COMPOSERS artists, and the soundtracks share two genres (GENRES), so a genre search
mixes five soundtracks. The library holds LIBRARY_PER_SOUNDTRACK tracks of each soundtrack (ingested through
the real pipeline); every library track is a seed. A discovered song is relevant when it comes from the seed's
soundtrack. Printed per source configuration:

- discover p@10: precision of the top 10 discovered songs;
- random p@10: the expected precision of 10 songs drawn at random from the same scored candidates (what the
  candidate generation alone gives; the difference is what scoring by sound adds);
- recommend p@10: `recommend` for the same seeds inside a library holding the whole corpus;
- requests, HTTP calls, previews analysed, candidates reused from the store and seconds per discovery.

Discoveries run one after another with one candidates store, as a user's would: the first ones analyse, later
ones reuse. The catalogue client is paced at --rate calls a minute (Apple allows about 20: at that pace the
requests alone would take requests x 3 s per discovery, printed too).

    python benchmarks/corpus.py && python benchmarks/bench_discover.py [--budget 50] [--corpus all]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import corpus as corpora  # noqa: E402

COMPOSERS = 2
LIBRARY_PER_SOUNDTRACK = 3
GENRES = ("Soundtrack", "Electronic")  # soundtracks alternate between these two
FIRST_ID = 5_000_001


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    discover: float
    random: float
    recommend: float
    results: float
    requests: float
    calls: float
    analysed: float
    reused: float
    seconds: float
    first_seconds: float


def build_catalogue(fake: object, items: list[corpora.Item], roots: dict[str, Path]) -> dict[str, str]:
    """Add every excerpt as a song; returns trackId → soundtrack label."""
    labels: dict[str, str] = {}
    soundtracks = list(dict.fromkeys(it.label for it in items))
    songs: list[tuple[int, int, corpora.Item]] = []  # (soundtrack index, composer, item)
    for s_index, label in enumerate(soundtracks):
        genre = GENRES[s_index % len(GENRES)]
        for c in range(COMPOSERS):
            fake.add_artist(700_000 + 10 * s_index + c, f"{label} composer {c + 1}", genre)  # type: ignore[attr-defined]
        songs += [(s_index, i % COMPOSERS, it) for i, it in enumerate(it for it in items if it.label == label)]
    # the fake answers searches in catalogue order: shuffled, so a genre search mixes its soundtracks (Apple
    # orders by its own relevance, not by album)
    random.Random(7).shuffle(songs)
    for s_index, c, it in songs:
        label = soundtracks[s_index]
        track_id = FIRST_ID + len(labels)
        fake.add_track(track_id, Path(it.path).stem.replace("__", " ").replace("_", " "),  # type: ignore[attr-defined]
                       f"{label} composer {c + 1}", preview=f"file:{roots[it.path] / it.path}",
                       artist_id=700_000 + 10 * s_index + c, collection_id=600_000 + s_index,
                       album=f"{label} (soundtrack)", primaryGenreName=GENRES[s_index % len(GENRES)])
        labels[str(track_id)] = label
    return labels


def ingest(settings: object, lib: object, client: object, ids: list[str], workers: int) -> None:
    from musicrec_tui.app.factory import make_cache
    from musicrec_tui.ingest.pipeline import IngestPipeline

    pipeline = IngestPipeline(settings, lib, cache=make_cache(settings), workers=workers)  # type: ignore[arg-type]
    try:
        for start in range(0, len(ids), 150):
            pipeline.enqueue(client.lookup(ids[start:start + 150]))  # type: ignore[attr-defined]
        summary = pipeline.run()
    finally:
        pipeline.close()
    if summary.failed:
        raise SystemExit(f"ingest failed: {summary.failed_by_reason}")


def library_recommend(lib: object, settings: object, seeds: list[object], k: int) -> list[list[object]]:
    """`recommend` for each seed inside `lib` (the same LibraryIndex the CLI uses)."""
    from musicrec_tui.app.recommend import LibraryIndex
    index = LibraryIndex(lib, settings.extractor, settings.hubness, settings.explainer)  # type: ignore[attr-defined]
    return [[n.track for n in index.similar([seed.id], k)] for seed in seeds]  # type: ignore[attr-defined]


def precision(labels: list[str], want: str) -> float:
    return sum(lab == want for lab in labels) / len(labels) if labels else 0.0


def run(corpus_names: list[str], cache: Path, budget: int, rate: float, workers: int, k: int,
        configs: list[tuple[str, tuple[str, ...]]], limit_seeds: int | None) -> list[Row]:
    from musicrec_tui.app.candidates import CandidateStore
    from musicrec_tui.app.discover import Discoverer, DiscoverOptions, Source
    from musicrec_tui.config import load_settings
    from musicrec_tui.core.itunes import ItunesClient
    from musicrec_tui.store import open_library
    from tests.fake_itunes import FakeItunes, Previews

    items: list[corpora.Item] = []
    roots: dict[str, Path] = {}
    for name in corpus_names:
        corpora.build(name, cache)
        for it in corpora.load(name, cache):
            items.append(it)
            roots[it.path] = corpora.corpus_root(name, cache)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-discover-") as tmp, \
            FakeItunes(Previews(), clock=time.monotonic) as fake:
        work = Path(tmp)
        labels = build_catalogue(fake, items, roots)
        by_label: dict[str, list[str]] = {}
        for tid, lab in labels.items():
            by_label.setdefault(lab, []).append(tid)
        seeds_ids = [tid for lab in by_label for tid in corpora._spread(by_label[lab], LIBRARY_PER_SOUNDTRACK)]
        if limit_seeds:
            seeds_ids = seeds_ids[:limit_seeds]
        print(f"catalogue: {len(labels)} songs, {len(by_label)} soundtracks, {len(GENRES)} genres, "
              f"{COMPOSERS} composers per soundtrack; library: {len(seeds_ids)} tracks (all seeds)", flush=True)

        def settings_for(db: str) -> object:
            return load_settings(env={}, flags={"db_url": f"sqlite://{work / db}", "data_dir": str(work / "data"),
                                                "cache_dir": str(work / "cache"), "config_dir": str(work / "cfg"),
                                                "itunes_base_url": fake.url, "itunes_rate_per_minute": 6000.0,
                                                "analysis_workers": workers})

        client = ItunesClient(fake.url, rate_per_minute=6000.0)
        t0 = time.perf_counter()
        full_settings = settings_for("full.sqlite3")
        with open_library(full_settings.db_url) as full:  # type: ignore[attr-defined]
            ingest(full_settings, full, client, list(labels), workers)
            print(f"full library ingested in {time.perf_counter() - t0:.0f} s", flush=True)
            rec = library_recommend(full, full_settings, [full.find_track("itunes", t) for t in seeds_ids], k)
        rec_p = statistics.mean(
            precision([labels[t.external_id] for t in found], labels[seed]) for seed, found in zip(seeds_ids, rec,
                                                                                                  strict=True))
        for config_name, sources in configs:
            settings = settings_for(f"lib-{config_name}.sqlite3")
            with open_library(settings.db_url) as lib:  # type: ignore[attr-defined]
                ingest(settings, lib, client, seeds_ids, workers)
                store = CandidateStore(work / f"candidates-{config_name}.sqlite3")
                disc = Discoverer(settings, lib, store=store, workers=workers,  # type: ignore[arg-type]
                                  client_factory=lambda sleep: ItunesClient(fake.url, rate_per_minute=rate,
                                                                            sleep=sleep))
                opts = DiscoverOptions(k=200, budget=budget, sources=tuple(Source(s) for s in sources))
                d_p, r_p, n_res, reqs, calls, analysed, reused, secs = [], [], [], [], [], [], [], []
                for seed in seeds_ids:
                    track = lib.find_track("itunes", seed)
                    start = time.perf_counter()
                    result = disc.run([track], opts)
                    secs.append(time.perf_counter() - start)
                    ranked = [labels[d.track.external_id] for d in result.results]
                    d_p.append(precision(ranked[:k], labels[seed]))
                    r_p.append(precision(ranked, labels[seed]))
                    n_res.append(len(ranked))
                    p = result.progress
                    reqs.append(p.requests)
                    calls.append(p.calls)
                    analysed.append(p.analysed)
                    reused.append(p.reused)
                store.close()
                disc.close()
            rows.append(Row(config_name, statistics.mean(d_p), statistics.mean(r_p), rec_p,
                            statistics.mean(n_res), statistics.mean(reqs), statistics.mean(calls),
                            statistics.mean(analysed), statistics.mean(reused), statistics.mean(secs), secs[0]))
            print(f"  {config_name}: done", flush=True)
    return rows


def report(rows: list[Row], budget: int, rate: float) -> None:
    print(f"\nprecision@10 (same soundtrack = relevant), budget {budget} previews, client paced at {rate:g}/min")
    head = (f"{'sources':34s} {'discover':>8s} {'random':>7s} {'recommend':>9s} {'ranked':>7s} {'requests':>8s} "
            f"{'calls':>6s} {'analysed':>8s} {'reused':>7s} {'s/disc':>7s} {'first s':>7s} {'@20/min':>7s}")
    print(head)
    for r in rows:
        print(f"{r.name:34s} {r.discover:8.3f} {r.random:7.3f} {r.recommend:9.3f} {r.results:7.1f} {r.requests:8.1f} "
              f"{r.calls:6.1f} {r.analysed:8.1f} {r.reused:7.1f} {r.seconds:7.2f} {r.first_seconds:7.2f} "
              f"{r.requests * 3.0:6.0f}s")
    print("random = 10 songs drawn at random from the same scored candidates; recommend = `recommend` for the same "
          "seeds in a library holding the whole corpus; @20/min = the requests' pacing alone at Apple's limit")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="all", choices=[*corpora.CORPORA, "all"])
    ap.add_argument("--cache", help="corpus cache dir (default $MUSICREC_BENCH_CACHE or ~/.cache/musicrec-bench)")
    ap.add_argument("--budget", type=int, default=50, help="previews analysed per discovery (default 50)")
    ap.add_argument("--rate", type=float, default=600.0, help="catalogue calls per minute (default 600)")
    ap.add_argument("--workers", type=int, default=2, help="analysis processes")
    ap.add_argument("--seeds", type=int, help="only the first N seeds (quick runs)")
    args = ap.parse_args(argv)
    names = list(corpora.CORPORA) if args.corpus == "all" else [args.corpus]
    configs = [("all (artist, genre, related, terms)", ("artist", "genre", "related", "terms")),
               ("genre + related (no metadata match)", ("genre", "related"))]
    rows = run(names, corpora.cache_dir(args.cache), args.budget, args.rate, args.workers, 10, configs, args.seeds)
    report(rows, args.budget, args.rate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

