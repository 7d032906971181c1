"""`musicrec recommend`: the library tracks most like one track (or several: a radio), as a table or JSON."""

from __future__ import annotations

import argparse

from ..config import Settings
from ..textfmt import format_table
from .common import EXIT_OK, Subparsers, UsageError, emit_json, k


def register(sub: Subparsers) -> None:
    p = sub.add_parser("recommend", help="the library tracks that sound most like a track (or several: a radio)")
    p.add_argument("ids", nargs="*", metavar="ID", help="library id, or itunes:<trackId>; several make a radio")
    p.add_argument("--all", action="store_true", help="every analysed track, one JSON object per line")
    p.add_argument("-k", type=k, default=5, help="how many similar tracks (default 5)")
    p.add_argument("--exclude-artist", action="store_true", help="leave out tracks by the seeds' artists")
    p.add_argument("--extractor", help="feature extractor (default from settings)")
    p.add_argument("--json", action="store_true", help="JSON output (see README)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..app.audio import title_of
    from ..app.factory import make_library
    from ..app.recommend import LibraryIndex
    from ..store.matrix_cache import index_dir

    if bool(args.ids) == bool(args.all):
        raise UsageError("give one or more track ids, or --all")
    if args.all and not args.json:
        raise UsageError("--all writes JSON lines: add --json")
    with make_library(settings) as lib:
        similar = LibraryIndex(lib, args.extractor or settings.extractor, settings.hubness, settings.explainer,
                               index_dir=index_dir(lib.url, settings.paths.cache_dir),
                               approximate_above=settings.approximate_above)
        if args.all:
            for rec in similar.similar_all(args.k, args.exclude_artist):
                emit_json(rec.to_json())
            return EXIT_OK
        seeds = [similar.resolve(ref) for ref in args.ids]
        rec = similar.recommendation(seeds, args.k, args.exclude_artist)
    if args.json:
        emit_json(rec.to_json())
        return EXIT_OK
    from ..core.text import ellipsize

    ext = similar.extractor
    names = ", ".join(f"{ellipsize(title_of(t), 140)} (id {t.id})" for t in seeds)
    print(f"Similar to {names}  [{ext.name} v{ext.version}, hubness {settings.hubness}]")
    if not rec.neighbours:
        print("No other analysed tracks yet: ingest more music.")
        return EXIT_OK
    rows = [(str(n.rank), f"{n.score:.3f}", str(n.track.id), n.track.artist, n.track.title,
             " · ".join(f"{g} {share:.0%}" for g, share in n.why()[:3]) or "-") for n in rec.neighbours]
    print(format_table(("#", "score", "id", "artist", "title", "alike in"), rows, widths=(3, 6, 7, 22, 30, 40)))
    return EXIT_OK
