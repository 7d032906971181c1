"""Entry point `musicrec`: no subcommand opens the TUI; subcommands run headless (see DESIGN.md, CLI contract)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .config import Settings, load_settings
from .core.errors import MusicrecError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
Command = Callable[[argparse.Namespace, Settings], int]


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (its default) and never prints a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from .core.text import for_terminal

        self.exit(EXIT_USAGE, f"musicrec: error: {for_terminal(message)} (see musicrec --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="musicrec", description="Find songs that sound alike: search iTunes, ingest "
                     "previews, browse the library, play previews and get ranked similar songs.")
    parser.add_argument("--version", action="version", version=f"musicrec {__version__}")
    parser.add_argument("--db", metavar="URL", help="library: sqlite:///ABS/PATH.sqlite3 or "
                        "mysql://USER:PASSWORD@HOST:PORT/DB (env MUSICREC_DB)")
    parser.add_argument("--itunes-url", metavar="URL", help="iTunes Search API base URL (env MUSICREC_ITUNES_URL)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: config.toml in the config dir)")
    parser.add_argument("--data-dir", metavar="DIR", help="where the default SQLite library lives")
    parser.add_argument("--cache-dir", metavar="DIR", help="where previews and artwork are cached")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for register in _REGISTRARS:
        register(sub)
    return parser


def settings_from_args(args: argparse.Namespace, env: dict[str, str] | None = None) -> Settings:
    flags = {"db_url": args.db, "itunes_base_url": args.itunes_url, "data_dir": args.data_dir,
             "cache_dir": args.cache_dir}
    return load_settings(args.config, env=env, flags=flags)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 some tracks failed, 2 usage/environment error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        handler: Command = getattr(args, "handler", _run_tui)
        return handler(args, settings)
    except MusicrecError as exc:
        from .core.text import for_terminal

        print(f"musicrec: error: {for_terminal(exc.one_line())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("musicrec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    """After a closed pipe (musicrec library | head), stop Python complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def emit_json(obj: Any) -> None:
    """One JSON object per line on stdout, UTF-8, never ASCII-escaped, but controls, bidi and zero-width
    characters written as \\u escapes (core/text.json_line): nothing in it acts on a terminal."""
    from .core.text import json_line

    sys.stdout.write(json_line(obj) + "\n")


# ---- subcommands ---------------------------------------------------------------------------------------
def _register_play(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="play a track's preview: space pause, q quit, ←/→ or b/f seek, +/- volume")
    p.add_argument("id", metavar="ID", help="library id, itunes:<trackId>, or a local audio file")
    p.add_argument("--device", metavar="NAME|INDEX", help="output device (default: playback.device setting, "
                   "env MUSICREC_DEVICE, else the system default; `musicrec doctor` lists them)")
    p.add_argument("--volume", type=float, default=1.0, help="0..1 (default 1)")
    p.set_defaults(handler=_cmd_play)


def _cmd_play(args: argparse.Namespace, settings: Settings) -> int:
    from .core.models import Track
    from .factory import make_cache, make_itunes_client, make_library
    from .playback import make_player
    from .playback.cli_play import run_play
    from .playback.sources import playable

    player = make_player(args.device or settings.playback_device, volume=args.volume)
    try:
        if not player.available:  # say so before touching the library or the network
            print(player.reason, file=sys.stderr)
            return EXIT_USAGE

        def lookup(track_id: str) -> Track | None:
            found = make_itunes_client(settings).lookup([track_id], country=settings.itunes_country)
            return found[0] if found else None

        def fetch(track: Track) -> Any:
            cache = make_cache(settings)
            cache.require_analysable = False  # a short or quiet preview still plays
            return cache.fetch(track)

        with make_library(settings) as lib:
            item = playable(args.id, lib, lookup, fetch)
        return run_play(item.path, item.title, player=player)
    finally:
        player.close()


def _register_library(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("library", help="list the tracks in the library")
    p.add_argument("--search", metavar="TEXT", help="only tracks whose title, artist, album or genre contain TEXT")
    p.add_argument("--sort", default="id", help="id, title, artist, album, genre, duration_ms, created_at")
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument("--limit", type=_positive_int, help="at most N rows")
    p.add_argument("--offset", type=_offset, default=0, help="skip the first N rows")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=_cmd_library)


def _cmd_library(args: argparse.Namespace, settings: Settings) -> int:
    from .factory import make_library
    from .textfmt import format_table, mmss

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


def _register_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check paths, library, audio output and the iTunes endpoint")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the iTunes endpoint")
    p.set_defaults(handler=_cmd_doctor)


def _cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from .doctor import run_doctor

    return run_doctor(settings, timeout=args.timeout, out=sys.stdout)


def _register_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search the iTunes catalogue for songs")
    p.add_argument("term", help="words to search for (artist, title, album ...)")
    p.add_argument("--limit", type=_limit, default=25, help="1..200 results (default 25)")
    p.add_argument("--country", help="two-letter store code (default from settings, US)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=_cmd_search)


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .factory import make_itunes_client, make_library
    from .textfmt import format_table, mmss

    results = make_itunes_client(settings).search(args.term, args.limit, args.country or settings.itunes_country)
    with make_library(settings) as lib:
        stored = {t.key: lib.find_track(*t.key) for t in results}
    if args.json:
        for t in results:
            row = t.to_json()
            known = stored.get(t.key)
            row.update(id=known.id if known else None, in_library=known is not None, ingestible=t.ingestible,
                       artwork_url=t.artwork_url)
            emit_json(row)
        return EXIT_OK
    if not results:
        print(f"No songs found for {args.term!r}.")
        return EXIT_OK
    table = [("✓" if stored.get(t.key) else "", str(t.itunes_track_id or ""), t.artist, t.title, t.album,
              t.genre, mmss(t.duration_ms), "yes" if t.ingestible else "no") for t in results]
    print(format_table(("lib", "itunes id", "artist", "title", "album", "genre", "length", "preview"), table,
                       widths=(3, 11, 22, 30, 22, 12, 6, 7)))
    print(f"{len(results)} songs. Ingest them with: musicrec ingest {_quote(args.term)} --limit {args.limit}")
    return EXIT_OK


def _register_ingest(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="download, analyse and store tracks (search results, ids or local files)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("term", nargs="?", help="search iTunes for TERM and ingest the results")
    what.add_argument("--ids", type=_id_list, help="comma-separated iTunes track ids to look up and ingest")
    what.add_argument("--path", help="a local audio file or a folder of them (read in place, never copied)")
    what.add_argument("--resume", action="store_true", help="only finish what is left in the queue")
    p.add_argument("--limit", type=_limit, default=25, help="how many search results to ingest (1..200)")
    p.add_argument("--country", help="two-letter store code (default from settings, US)")
    p.add_argument("--retry-failed", action="store_true", help="also retry every failed job in the queue")
    p.add_argument("--workers", type=_positive_int, help="analysis processes (default: settings, the cores)")
    p.add_argument("--extractor", help="feature extractor (default from settings)")
    p.add_argument("--json", action="store_true", help="one JSON event per line, then a summary object")
    p.set_defaults(handler=_cmd_ingest)


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from .core.text import for_terminal
    from .factory import make_itunes_client, make_library, make_pipeline
    from .ingest.localfiles import tracks_under
    from .progress import ProgressPrinter, summary_text

    if not (args.term or args.ids or args.path or args.resume or args.retry_failed):
        raise UsageError("say what to ingest: a search TERM, --ids, --path, --resume or --retry-failed")
    country = args.country or settings.itunes_country
    printer = None if args.json else ProgressPrinter(sys.stderr, live=sys.stderr.isatty())
    sink = (lambda e: emit_json(e.to_json())) if args.json else printer
    missing: list[int] = []
    with make_library(settings) as lib:
        pipeline = make_pipeline(settings, lib, on_event=sink, workers=args.workers, extractor=args.extractor)
        try:
            pipeline.start_pool()  # the analysis processes warm up while the catalogue answers
            if args.term:
                tracks = make_itunes_client(settings).search(args.term, args.limit, country)
                if not tracks:
                    print(f"No songs found for {args.term!r}.", file=sys.stderr)
            elif args.ids:
                tracks = make_itunes_client(settings).lookup(args.ids, country=country)
                missing = sorted(set(args.ids) - {t.itunes_track_id for t in tracks})
                if missing:
                    print(f"Not found in the catalogue: {', '.join(map(str, missing))}", file=sys.stderr)
            elif args.path:
                tracks = list(tracks_under(args.path))
                if not tracks:
                    print(f"No audio files under {for_terminal(args.path)}.", file=sys.stderr)
            else:
                tracks = []
            if args.retry_failed:
                lib.retry_failed()
            pipeline.enqueue(tracks)
            summary = pipeline.run()
        finally:
            pipeline.close()
            if printer is not None:
                printer.finish()
    if args.json:
        emit_json(summary.to_json())
    else:
        print(summary_text(summary))
    if missing:
        return EXIT_FAILED
    return EXIT_FAILED if summary.failed else EXIT_OK


def _register_recommend(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recommend", help="the library tracks that sound most like a track (or several: a radio)")
    p.add_argument("ids", nargs="*", metavar="ID", help="library id, or itunes:<trackId>; several make a radio")
    p.add_argument("--all", action="store_true", help="every analysed track, one JSON object per line")
    p.add_argument("-k", type=_k, default=5, help="how many similar tracks (default 5)")
    p.add_argument("--exclude-artist", action="store_true", help="leave out tracks by the seeds' artists")
    p.add_argument("--extractor", help="feature extractor (default from settings)")
    p.add_argument("--json", action="store_true", help="JSON output (see README)")
    p.set_defaults(handler=_cmd_recommend)


def _cmd_recommend(args: argparse.Namespace, settings: Settings) -> int:
    from .core.recommend import recommendation_json
    from .factory import make_library
    from .similarity import LibraryIndex
    from .textfmt import format_table

    if bool(args.ids) == bool(args.all):
        raise UsageError("give one or more track ids, or --all")
    with make_library(settings) as lib:
        similar = LibraryIndex(lib, args.extractor or settings.extractor, settings.hubness, settings.explainer)
        if args.all:
            if not args.json:
                raise UsageError("--all writes JSON lines: add --json")
            index = similar.index()
            for track, neighbours in similar.similar_all(args.k, args.exclude_artist):
                emit_json({**recommendation_json([track], neighbours, index), "explained_by": similar.explained_by})
            return EXIT_OK
        seeds = [similar.resolve(ref) for ref in args.ids]
        neighbours = similar.similar([t.id for t in seeds if t.id is not None], args.k, args.exclude_artist)
        if args.json:
            emit_json({**recommendation_json(seeds, neighbours, similar.index()), "explained_by": similar.explained_by})
            return EXIT_OK
    from .core.text import ellipsize

    ext = similar.extractor
    names = ", ".join(f"{ellipsize(t.artist, 60)} — {ellipsize(t.title, 80)} (id {t.id})" if t.artist
                      else f"{ellipsize(t.title, 80)} (id {t.id})" for t in seeds)
    print(f"Similar to {names}  [{ext.name} v{ext.version}, hubness {settings.hubness}]")
    if not neighbours:
        print("No other analysed tracks yet: ingest more music.")
        return EXIT_OK
    rows = [(str(n.rank), f"{n.score:.3f}", str(n.track.id), n.track.artist, n.track.title,
             " · ".join(f"{g} {share:.0%}" for g, share in n.why()[:3]) or "-") for n in neighbours]
    print(format_table(("#", "score", "id", "artist", "title", "alike in"), rows, widths=(3, 6, 7, 22, 30, 40)))
    return EXIT_OK


def _register_reanalyze(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reanalyze", help="recompute vectors from cached previews (no downloads)")
    p.add_argument("--extractor", help="feature extractor (default from settings)")
    p.add_argument("--all", action="store_true", help="every track, not only those lacking a current vector")
    p.add_argument("--workers", type=_positive_int, help="analysis processes (default: settings, the cores)")
    p.add_argument("--json", action="store_true", help="one JSON event per line, then a summary object")
    p.set_defaults(handler=_cmd_reanalyze)


def _cmd_reanalyze(args: argparse.Namespace, settings: Settings) -> int:
    from .factory import make_library
    from .ingest.reanalyze import reanalyze
    from .progress import ProgressPrinter, summary_text

    printer = None if args.json else ProgressPrinter(sys.stderr, live=sys.stderr.isatty())
    sink = (lambda e: emit_json(e.to_json())) if args.json else printer
    with make_library(settings) as lib:
        try:
            summary = reanalyze(lib, args.extractor or settings.extractor, everything=args.all,
                                workers=args.workers or settings.analysis_workers, on_event=sink)
        finally:
            if printer is not None:
                printer.finish()
    if args.json:
        emit_json(summary.to_json())
    else:
        print(summary_text(summary).replace("Ingested", "Analysed", 1).replace(" · already in library 0", ""))
    return EXIT_FAILED if summary.failed else EXIT_OK


def _run_tui(args: argparse.Namespace, settings: Settings) -> int:
    from .tui.launch import launch

    return launch(settings)


class UsageError(MusicrecError):
    """A command used in a way that cannot work."""


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _checked(check: Callable[[str], int], text: str) -> int:
    """An argparse type from a core.limits check: its one line becomes argparse's error (exit 2)."""
    from .core.limits import LimitError

    try:
        return check(text)
    except LimitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _limit(text: str) -> int:
    from .core import limits

    return _checked(lambda t: limits.limit(t, hi=200), text)


def _k(text: str) -> int:
    from .core import limits

    return _checked(limits.k, text)


def _offset(text: str) -> int:
    from .core import limits

    return _checked(limits.offset, text)


def _id_list(text: str) -> list[int]:
    from .core import limits

    ids = [_checked(limits.itunes_id, part) for part in text.replace(" ", "").split(",") if part]
    if not ids:
        raise argparse.ArgumentTypeError("give at least one id, e.g. --ids 1440857781,1440857782")
    return ids


def _positive_int(text: str) -> int:
    from .core import limits

    return _checked(limits.limit, text)


_REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_search, _register_ingest, _register_library, _register_recommend, _register_reanalyze,
    _register_doctor, _register_play,
]
