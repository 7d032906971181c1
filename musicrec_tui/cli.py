"""Entry point `musicrec`: no subcommand opens the TUI; subcommands run headless (see DESIGN.md, CLI contract)."""

from __future__ import annotations

import argparse
import json
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
        self.exit(EXIT_USAGE, f"musicrec: error: {message} (see musicrec --help)\n")


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
        print(f"musicrec: error: {exc.one_line()}", file=sys.stderr)
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
    """One JSON object per line on stdout, UTF-8, never ASCII-escaped."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# ---- subcommands ---------------------------------------------------------------------------------------
def _register_play(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="play a track's preview: space pause, q quit, ←/→ or b/f seek, +/- volume")
    p.add_argument("id", metavar="ID", help="library id, itunes:<trackId>, or a local audio file")
    p.add_argument("--device", metavar="NAME|INDEX", help="output device (default: playback.device setting, "
                   "env MUSICREC_DEVICE, else the system default; `musicrec doctor` lists them)")
    p.add_argument("--volume", type=float, default=1.0, help="0..1 (default 1)")
    p.set_defaults(handler=_cmd_play)


def _cmd_play(args: argparse.Namespace, settings: Settings) -> int:
    from .config import ensure_writable_dir
    from .core.fetch import PreviewCache
    from .core.itunes import ItunesClient
    from .core.models import Track
    from .playback import make_player
    from .playback.cli_play import run_play
    from .playback.sources import playable
    from .store import open_library

    player = make_player(args.device or settings.playback_device, volume=args.volume)
    try:
        if not player.available:  # say so before touching the library or the network
            print(player.reason, file=sys.stderr)
            return EXIT_USAGE

        def lookup(track_id: str) -> Track | None:
            client = ItunesClient(settings.itunes_base_url, rate_per_minute=settings.itunes_rate_per_minute,
                                  timeout=settings.itunes_timeout, max_retries=settings.itunes_max_retries)
            found = client.lookup([track_id], country=settings.itunes_country)
            return found[0] if found else None

        def fetch(track: Track) -> Any:  # factory.make_cache once it lands; previews need not be analysable
            cache = PreviewCache(ensure_writable_dir(settings.paths.previews_dir, "cache"),
                                 max_bytes=settings.cache_max_mb * 1024 * 1024,
                                 max_file_bytes=settings.preview_max_mb * 1024 * 1024, require_analysable=False)
            return cache.fetch(track)

        with open_library(settings.db_url) as lib:
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
    p.add_argument("--offset", type=int, default=0, help="skip the first N rows")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=_cmd_library)


def _cmd_library(args: argparse.Namespace, settings: Settings) -> int:
    from .store import open_library
    from .textfmt import format_table, mmss

    with open_library(settings.db_url) as lib:
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


def _run_tui(args: argparse.Namespace, settings: Settings) -> int:
    from .tui.launch import launch

    return launch(settings)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


_REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [_register_library, _register_doctor,
                                                                  _register_play]
