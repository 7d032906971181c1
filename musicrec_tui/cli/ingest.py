"""`musicrec ingest`: search results, iTunes ids or local files into the library (progress on stderr)."""

from __future__ import annotations

import argparse
import sys

from ..config import Settings
from ..core.models import Track
from ..core.text import for_terminal
from .common import EXIT_FAILED, EXIT_OK, Subparsers, UsageError, emit_json, id_list, limit, positive_int


def register(sub: Subparsers) -> None:
    p = sub.add_parser("ingest", help="download, analyse and store tracks (search results, ids or local files)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("term", nargs="?", help="search iTunes for TERM and ingest the results")
    what.add_argument("--ids", type=id_list, help="comma-separated iTunes track ids to look up and ingest")
    what.add_argument("--path", help="a local audio file or a folder of them (read in place, never copied)")
    what.add_argument("--resume", action="store_true", help="only finish what is left in the queue")
    p.add_argument("--limit", type=limit, default=25, help="how many search results to ingest (1..200)")
    p.add_argument("--country", help="two-letter store code (default from settings, US)")
    p.add_argument("--retry-failed", action="store_true", help="also retry every failed job in the queue")
    p.add_argument("--workers", type=positive_int, help="analysis processes (default: settings, the cores)")
    p.add_argument("--extractor", help="feature extractor (default from settings)")
    p.add_argument("--json", action="store_true", help="one JSON event per line, then a summary object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..app.factory import make_itunes_client, make_library, make_pipeline
    from ..app.jobs import JobAction, control_jobs
    from ..ingest.localfiles import tracks_under
    from ..ingest.signals import stop_signals_as_interrupt
    from .progress import EventOutput, summary_text

    if not (args.term or args.ids or args.path or args.resume or args.retry_failed):
        raise UsageError("say what to ingest: a search TERM, --ids, --path, --resume or --retry-failed")
    country = args.country or settings.itunes_country
    sink = EventOutput(args.json)

    missing: list[int] = []
    client = make_itunes_client(settings)
    with stop_signals_as_interrupt(), make_library(settings) as lib:
        pipeline = make_pipeline(settings, lib, on_event=sink, workers=args.workers, extractor=args.extractor,
                                 catalogue=client)
        try:
            pipeline.start_pool()  # the analysis processes warm up while the catalogue answers
            tracks: list[Track] = []
            if args.term:
                tracks = client.search(args.term, args.limit, country)
                if not tracks:
                    print(f"No songs found for {args.term!r}.", file=sys.stderr)
            elif args.ids:
                tracks = client.lookup(args.ids, country=country)
                missing = sorted(set(args.ids) - {t.itunes_track_id for t in tracks})
                if missing:
                    print(f"Not found in the catalogue: {', '.join(map(str, missing))}", file=sys.stderr)
            elif args.path:
                tracks = list(tracks_under(args.path))
                if not tracks:
                    print(f"No audio files under {for_terminal(args.path)}.", file=sys.stderr)
            if args.retry_failed:
                control_jobs(lib, JobAction.RETRY)
            pipeline.enqueue(tracks)
            # a run does its own tracks; jobs other runs left queued only with --resume (or --retry-failed)
            summary = pipeline.run(resume=bool(args.resume or args.retry_failed))
        finally:
            pipeline.close()
            sink.finish()
    if args.json:
        emit_json(summary.to_json())
    else:
        print(summary_text(summary))
    if missing:
        return EXIT_FAILED
    return EXIT_FAILED if summary.failed or summary.resumed_failed else EXIT_OK
