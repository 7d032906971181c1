"""Entry point `musicrec`: no subcommand opens the TUI; subcommands run headless (docs/ARCHITECTURE.md).

Argument parsing and printing only, one module per command; the work is done by the application layer (app/).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..config import Settings, load_settings
from ..core.errors import MusicrecError
from . import discover, doctor, ingest, library, play, reanalyze, recommend, search, serve
from .common import EXIT_OK, Command, Parser, Subparsers, silence_stdout

_REGISTRARS: list[Callable[[Subparsers], None]] = [
    search.register, ingest.register, library.register, recommend.register, discover.register,
    reanalyze.register, doctor.register, play.register, serve.register,
]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="musicrec", description="Find songs that sound alike: search iTunes, ingest "
                    "previews, browse the library, play previews and get ranked similar songs.")
    parser.add_argument("--version", action="version", version=f"musicrec {__version__}")
    parser.add_argument("--db", metavar="URL", help="library: sqlite:///ABS/PATH.sqlite3 or "
                        "mysql://USER:PASSWORD@HOST:PORT/DB (env MUSICREC_DB)")
    parser.add_argument("--itunes-url", metavar="URL", help="iTunes Search API base URL (env MUSICREC_ITUNES_URL)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: config.toml in the config dir)")
    parser.add_argument("--data-dir", metavar="DIR", help="where the default SQLite library lives")
    parser.add_argument("--cache-dir", metavar="DIR", help="where previews and artwork are cached")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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
        handler: Command = getattr(args, "handler", run_tui)
        return handler(args, settings)
    except MusicrecError as exc:
        from ..core.text import for_terminal

        print(f"musicrec: error: {for_terminal(exc.one_line())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("musicrec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        silence_stdout()
        return EXIT_OK


def run_tui(args: argparse.Namespace, settings: Settings) -> int:
    from ..tui.launch import launch

    return launch(settings)
