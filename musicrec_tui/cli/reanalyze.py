"""`musicrec reanalyze`: recompute vectors from cached previews (no downloads)."""

from __future__ import annotations

import argparse

from ..config import Settings
from .common import EXIT_FAILED, EXIT_OK, Subparsers, emit_json, positive_int


def register(sub: Subparsers) -> None:
    p = sub.add_parser("reanalyze", help="recompute vectors from cached previews (no downloads)")
    p.add_argument("--extractor", help="feature extractor (default from settings)")
    p.add_argument("--all", action="store_true", help="every track, not only those lacking a current vector")
    p.add_argument("--workers", type=positive_int, help="analysis processes (default: settings, the cores)")
    p.add_argument("--json", action="store_true", help="one JSON event per line, then a summary object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..app.factory import make_library
    from ..ingest.reanalyze import reanalyze
    from ..ingest.signals import stop_signals_as_interrupt
    from .progress import EventOutput, summary_text

    sink = EventOutput(args.json)

    with stop_signals_as_interrupt(), make_library(settings) as lib:
        try:
            summary = reanalyze(lib, args.extractor or settings.extractor, everything=args.all,
                                workers=args.workers or settings.analysis_workers, on_event=sink)
        finally:
            sink.finish()
    if args.json:
        emit_json(summary.to_json())
    else:
        print(summary_text(summary).replace("Ingested", "Analysed", 1).replace(" · already in library 0", ""))
    return EXIT_FAILED if summary.failed else EXIT_OK
