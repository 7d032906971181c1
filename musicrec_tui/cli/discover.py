"""`musicrec discover`: songs the library does not have, found in the catalogue around seeds, ranked by sound."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TextIO

from ..config import Settings
from ..textfmt import clean, format_table
from .common import EXIT_FAILED, EXIT_OK, Subparsers, emit_json, limit


def register(sub: Subparsers) -> None:
    p = sub.add_parser("discover", help="new songs from the catalogue that sound like library tracks "
                       "(not added to the library)")
    p.add_argument("ids", nargs="+", metavar="ID", help="library id, or itunes:<trackId>; several: around all")
    p.add_argument("-k", type=limit, help="how many songs to list (default: discover.k, 20)")
    p.add_argument("--budget", type=_count, help="previews to download and analyse (default: discover.budget, 50)")
    p.add_argument("--requests", type=_count, help="catalogue requests for finding candidates "
                   "(default: discover.requests, 12)")
    p.add_argument("--exclude-artist", action="store_true", help="leave out songs by the seeds' artists")
    p.add_argument("--genre", help="only songs of this genre (e.g. Rock); its songs are searched for")
    p.add_argument("--source", action="append", choices=["artist", "genre", "related", "terms"],
                   help="where to look (repeatable; default: discover.sources, all four)")
    p.add_argument("--json", action="store_true", help="JSON: recommend --json's shape plus catalogue ids, "
                   "preview URL, how each was found, and the discovery's figures")
    p.set_defaults(handler=run)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..app.discover import Discoverer, DiscoverOptions, DiscoverResult, Source
    from ..app.factory import make_library

    printer = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    options = DiscoverOptions.from_settings(
        settings, k=args.k, budget=args.budget, requests=args.requests, genre=args.genre,
        exclude_artist=args.exclude_artist or None,
        sources=tuple(Source(s) for s in dict.fromkeys(args.source)) if args.source else None)
    cancel = threading.Event()
    interrupted = False
    with make_library(settings) as lib:
        disc = Discoverer(settings, lib)
        try:
            seeds = [disc.resolve(ref) for ref in args.ids]
            box: list[DiscoverResult | BaseException] = []

            def work() -> None:
                try:
                    box.append(disc.run(seeds, options, on_event=printer, cancel=cancel))
                except BaseException as exc:  # re-raised in the main thread
                    box.append(exc)

            worker = threading.Thread(target=work, name="discover", daemon=True)
            worker.start()
            while worker.is_alive():
                try:
                    worker.join(0.2)
                except KeyboardInterrupt:
                    interrupted = True
                    cancel.set()
                    if printer is not None:
                        printer.note("cancelling: keeping what was analysed…")
        finally:
            if printer is not None:
                printer.finish()
            disc.close()
    outcome = box[0]
    if isinstance(outcome, BaseException):
        raise outcome
    result = outcome
    if args.json:
        emit_json(result.to_json())
    else:
        print_result(result, sys.stdout)
    if interrupted:
        return 130
    failed = bool(result.progress.failed_requests) or result.progress.stopped_asking is not None
    return EXIT_FAILED if failed and not result.results else EXIT_OK


def print_result(result: object, out: TextIO) -> None:
    from ..app.discover import DiscoverResult

    assert isinstance(result, DiscoverResult)
    names = ", ".join(f"{clean(t.artist)} — {clean(t.title)} (id {t.id})" if t.artist else f"{clean(t.title)} "
                      f"(id {t.id})" for t in result.seeds)
    print(f"Discovered around {names}  [{result.extractor} v{result.extractor_version}, hubness {result.hubness}]",
          file=out)
    if result.results:
        rows = [(str(d.neighbour.rank), f"{d.neighbour.score:.3f}", str(d.track.itunes_track_id or ""),
                 d.track.artist, d.track.title, ", ".join(d.found_by[:2]),
                 " · ".join(f"{g} {share:.0%}" for g, share in d.neighbour.why()[:2]) or "-")
                for d in result.results]
        print(format_table(("#", "score", "itunes id", "artist", "title", "found by", "alike in"), rows,
                           widths=(3, 6, 11, 20, 28, 24, 26)), file=out)
    else:
        print("No new songs could be scored.", file=out)
    for line in summary_lines(result.progress):
        print(line, file=out)
    if result.results:
        ids = ",".join(str(d.track.itunes_track_id) for d in result.results[:3])
        print(f"Nothing was added to the library. Add songs with: musicrec ingest --ids {ids}", file=out)


def summary_lines(p: object) -> list[str]:
    from ..app.discover import DiscoverProgress

    assert isinstance(p, DiscoverProgress)
    lines = [f"{p.requests} catalogue requests of {p.request_budget} ({p.calls} calls, {p.throttled} throttled, "
             f"{p.backoff_s:.0f} s of backoff) · {p.candidates} candidates · {p.analysed} previews analysed of a "
             f"budget of {p.budget} · {p.reused} reused · {p.elapsed_s:.1f} s"]
    if p.skipped:
        lines.append("Skipped: " + ", ".join(f"{clean(r)} ({n})" for r, n in p.skipped.most_common()))
    for failure in p.failed_requests:
        lines.append(f"Request failed: {clean(failure)}")
    if p.stopped_asking:
        lines.append(f"Stopped asking the catalogue: {clean(p.stopped_asking)}")
    if p.cancelled:
        lines.append("Cancelled: what was analysed is kept for the next discovery.")
    return lines


class ProgressLine:
    """A DiscoverEvent sink that redraws one status line on a terminal (events come from worker threads)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._width = 0
        self._message = ""

    def __call__(self, event: object) -> None:
        from ..app.discover import DiscoverEvent

        assert isinstance(event, DiscoverEvent)
        p = event.progress
        with self._lock:
            if event.kind in ("status", "throttled"):
                self._message = event.message
            line = (f"requests {p.requests}/{p.request_budget}"
                    + (f" (throttled {p.throttled}, {p.backoff_s:.0f} s)" if p.throttled else "")
                    + f" · candidates {p.candidates} · analysed {p.analysed}/{p.budget} · reused {p.reused}"
                    + f" · skipped {sum(p.skipped.values())}  {clean(self._message)}")[:118]
            self._draw(line)

    def note(self, text: str) -> None:
        with self._lock:
            self._message = text
            self._draw(clean(text)[:118])

    def _draw(self, line: str) -> None:
        self.out.write("\r" + " " * self._width + "\r" + line)
        self._width = len(line)
        self.out.flush()

    def finish(self) -> None:
        with self._lock:
            if self._width:
                self.out.write("\r" + " " * self._width + "\r")
                self.out.flush()
                self._width = 0
