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
from .common import EXIT_OK, Command, Parser, Subparsers, silence_stdout

# the global options that take a value (`musicrec --db URL` with nothing else opens the TUI)
GLOBAL_VALUES = ("--db", "--itunes-url", "--config", "--data-dir", "--cache-dir")


def _registrars() -> list[Callable[[Subparsers], None]]:
    from . import discover, doctor, ingest, library, play, reanalyze, recommend, search, serve

    return [search.register, ingest.register, library.register, recommend.register, discover.register,
            reanalyze.register, doctor.register, play.register, serve.register]


def only_global_options(argv: Sequence[str]) -> bool:
    """True when `argv` is nothing but global options with their values (the TUI is wanted): then the
    subcommands' modules and parsers are not needed (they cost the TUI's first frame ~15 ms)."""
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in GLOBAL_VALUES and args:
            args.pop(0)
        elif not any(arg.startswith(f"{name}=") for name in GLOBAL_VALUES):
            return False  # a subcommand, --help, --version or something the full parser must judge
    return True


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    parser = Parser(prog="musicrec", description="Find songs that sound alike: search iTunes, ingest "
                    "previews, browse the library, play previews and get ranked similar songs.")
    parser.add_argument("--version", action="version", version=f"musicrec {__version__}")
    parser.add_argument("--db", metavar="URL", help="library: sqlite:///ABS/PATH.sqlite3 or "
                        "mysql://USER:PASSWORD@HOST:PORT/DB (env MUSICREC_DB)")
    parser.add_argument("--itunes-url", metavar="URL", help="iTunes Search API base URL (env MUSICREC_ITUNES_URL)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: config.toml in the config dir)")
    parser.add_argument("--data-dir", metavar="DIR", help="where the default SQLite library lives")
    parser.add_argument("--cache-dir", metavar="DIR", help="where previews and artwork are cached")
    if commands:
        sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
        for register in _registrars():
            register(sub)
    return parser


def settings_from_args(args: argparse.Namespace, env: dict[str, str] | None = None) -> Settings:
    flags = {"db_url": args.db, "itunes_base_url": args.itunes_url, "data_dir": args.data_dir,
             "cache_dir": args.cache_dir}
    return load_settings(args.config, env=env, flags=flags)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 some tracks failed, 2 usage/environment error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(commands=not only_global_options(argv))
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        handler: Command = getattr(args, "handler", run_tui)
        return handler(args, settings)
    except MusicrecError as exc:
        from ..core.text import for_terminal

        print(f"musicrec: error: {for_terminal(exc.one_line())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C; SIGTERM/SIGHUP during an ingest (ingest/signals.py)
        code = getattr(exc, "exit_code", 130)
        print(f"musicrec: {'interrupted' if code == 130 else 'terminated'}", file=sys.stderr)
        return code
    except BrokenPipeError:
        silence_stdout()
        return EXIT_OK


def run_tui(args: argparse.Namespace, settings: Settings) -> int:
    from ..tui.launch import launch

    return launch(settings)
