"""`musicrec serve`: the app in web browsers and a JSON API on one server (musicrec_tui/web)."""

from __future__ import annotations

import argparse

from ..config import Settings
from .common import Subparsers, positive_int

DEFAULT_PORT = 8000


def register(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="serve the app to web browsers, and a JSON API (see README)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other "
                   "needs a token)")
    p.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a "
                   "free one)")
    p.add_argument("--token", help="secret the page and the API require (default: env MUSICREC_TOKEN, "
                   "[serve] token in config.toml; prefer those: `ps` shows command lines)")
    p.add_argument("--max-apps", type=positive_int, default=8, help="browser tabs served at once (default 8)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..web.server import serve

    return serve(settings, args.host, args.port, args.token or settings.serve_token, args.max_apps)


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is between 0 and 65535")
    return value
