"""Render ingest events for a terminal: a live progress line on a TTY, one line per track otherwise."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from ..core.models import JobState
from ..core.text import ellipsize, for_terminal
from ..ingest.events import EventKind, IngestEvent, IngestSummary
from .common import emit_json

BAR = 24


class EventOutput:
    """Where a run's events go (ingest, reanalyze): one JSON object per line on stdout with --json, else a
    progress printer on stderr (a live bar on a terminal, one line per finished track otherwise)."""

    def __init__(self, as_json: bool) -> None:
        self.printer = None if as_json else ProgressPrinter(sys.stderr, live=sys.stderr.isatty())

    def __call__(self, event: IngestEvent) -> None:
        if self.printer is None:
            emit_json(event.to_json())
        else:
            self.printer(event)

    def finish(self) -> None:
        if self.printer is not None:
            self.printer.finish()


class ProgressPrinter:
    """An IngestEvent sink for the CLI (thread-safe: events arrive from worker threads)."""

    def __init__(self, out: TextIO, live: bool) -> None:
        self.out = out
        self.live = live
        self._lock = threading.Lock()
        self._width = 0

    def __call__(self, event: IngestEvent) -> None:
        with self._lock:
            if self.live:
                self._live(event)
            elif event.kind is EventKind.JOB and event.state in (JobState.DONE, JobState.FAILED):
                self.out.write(_track_line(event) + "\n")
            elif event.kind is EventKind.ERROR:
                self.out.write(f"error: {for_terminal(event.error)}\n")
            self.out.flush()

    def _live(self, event: IngestEvent) -> None:
        if event.kind is EventKind.JOB and event.state is JobState.FAILED:
            self._clear()
            self.out.write(_track_line(event) + "\n")
        p = event.progress
        total = max(int(p.get("total", 0)), 1)
        finished = int(p.get("done", 0)) + int(p.get("failed", 0))
        filled = min(BAR, round(BAR * finished / total))
        now = ""
        if event.track is not None and event.state in (JobState.DOWNLOADING, JobState.ANALYSING):
            now = f"  {event.state.value} {_name(event)}"
        line = (f"[{'#' * filled}{'.' * (BAR - filled)}] {finished}/{p.get('total', 0)}  done {p.get('done', 0)}"
                f"  failed {p.get('failed', 0)}  {p.get('rate', 0.0):.1f}/s{now}")[:118]
        self._clear()
        self.out.write(line)
        self._width = len(line)

    def _clear(self) -> None:
        if self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self._width = 0

    def finish(self) -> None:
        with self._lock:
            if self.live:
                self._clear()
                self.out.flush()


def _name(event: IngestEvent) -> str:
    t = event.track
    if t is None:
        return ""
    return ellipsize(f"{t.artist} — {t.title}" if t.artist else t.title, 60)


def _track_line(event: IngestEvent) -> str:
    if event.state is JobState.FAILED:
        return f"  failed  {_name(event)}: {ellipsize(for_terminal(event.error), 200)}"
    return f"  done    {_name(event)}"


def summary_text(summary: IngestSummary) -> str:
    """The closing lines of an ingest run: done, already in the library, failed by reason."""
    lines = [f"Ingested {summary.done} · already in library {summary.already} · failed {len(summary.failed)}"
             f" · {summary.elapsed_s:.1f} s ({summary.rate:.2f} tracks/s)"]
    if summary.failed:
        reasons = ", ".join(f"{reason} ({n})" for reason, n in summary.failed_by_reason.items())
        lines.append(f"Failed by reason: {reasons}")
    if summary.resumed_done or summary.resumed_failed:
        lines.append(f"Resumed from earlier runs: done {summary.resumed_done} · failed "
                     f"{len(summary.resumed_failed)}")
    if summary.left_queued and not summary.cancelled:
        lines.append(f"{summary.left_queued} job(s) queued by other runs were left alone: "
                     "`musicrec ingest --resume` finishes them.")
    if summary.cancelled:
        lines.append("Stopped before the queue was empty: run `musicrec ingest --resume` to finish.")
    return "\n".join(lines)
