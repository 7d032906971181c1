"""`musicrec search TERM`: the catalogue's songs, marked when they are already in the library."""

from __future__ import annotations

import argparse

from ..config import Settings
from ..textfmt import format_table, mmss
from .common import EXIT_OK, Subparsers, emit_json, limit, quote


def register(sub: Subparsers) -> None:
    p = sub.add_parser("search", help="search the iTunes catalogue for songs")
    p.add_argument("term", help="words to search for (artist, title, album ...)")
    p.add_argument("--limit", type=limit, default=25, help="1..200 results (default 25)")
    p.add_argument("--country", help="two-letter store code (default from settings, US)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..app.factory import make_itunes_client, make_library
    from ..app.search import search

    with make_library(settings) as lib:
        results = search(make_itunes_client(settings), lib, args.term, args.limit,
                         args.country or settings.itunes_country)
    if args.json:
        for result in results:
            emit_json(result.to_json())
        return EXIT_OK
    if not results:
        print(f"No songs found for {args.term!r}.")
        return EXIT_OK
    table = [("✓" if r.in_library else "", str(t.itunes_track_id or ""), t.artist, t.title, t.album, t.genre,
              mmss(t.duration_ms), "yes" if t.ingestible else "no") for r in results for t in (r.track,)]
    print(format_table(("lib", "itunes id", "artist", "title", "album", "genre", "length", "preview"), table,
                       widths=(3, 11, 22, 30, 22, 12, 6, 7)))
    print(f"{len(results)} songs. Ingest them with: musicrec ingest {quote(args.term)} --limit {args.limit}")
    return EXIT_OK
