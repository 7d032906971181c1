"""`musicrec library`: list the tracks in the library (a table, or JSON lines)."""

from __future__ import annotations

import argparse

from ..config import Settings
from ..textfmt import format_table, mmss
from .common import EXIT_OK, Subparsers, emit_json, offset, positive_int


def register(sub: Subparsers) -> None:
    p = sub.add_parser("library", help="list the tracks in the library")
    p.add_argument("--search", metavar="TEXT", help="only tracks whose title, artist, album or genre contain TEXT")
    p.add_argument("--sort", default="id", help="id, title, artist, album, genre, duration_ms, created_at")
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument("--limit", type=positive_int, help="at most N rows")
    p.add_argument("--offset", type=offset, default=0, help="skip the first N rows")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..app.factory import make_library

    with make_library(settings) as lib:
        rows = lib.list_tracks(args.search, args.sort, args.desc, args.limit, args.offset)
        total = lib.count_tracks(args.search)
    if args.json:
        for track in rows:
            emit_json(track.to_json())
        return EXIT_OK
    if not rows:
        print("The library is empty: add music with `musicrec ingest TERM`." if total == 0 and not args.search
              else "No tracks match.")
        return EXIT_OK
    table = [(str(t.id), t.artist, t.title, t.album, t.genre, mmss(t.duration_ms)) for t in rows]
    print(format_table(("id", "artist", "title", "album", "genre", "length"), table, widths=(7, 24, 32, 24, 14, 6)))
    print(f"{len(rows)} of {total} tracks")
    return EXIT_OK
