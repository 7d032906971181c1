"""What the pipeline reports as it goes: one event per job state change, and a summary at the end."""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import StrEnum
from statistics import median
from typing import Any

from ..core.models import JobState, Track
from ..core.text import clean, ellipsize

STAGES = ("download", "decode", "analysis", "explain", "store")
RATE_WINDOW_S = 30.0  # the rate shown while a run goes is measured over this many seconds


CONTEXT_PREFIXES = ("preview rejected: ",)  # where the failure happened, not what it was


_DETAIL = re.compile(r":(?=\s|$)| \(")


def reason_key(error: str) -> str:
    """Group failures by kind: the text before the details, which start at a colon followed by a space or at
    " (" ("audio too short: 2.0 s" → "audio too short"; "HTTP 503 (http://host/x.m4a, 4 attempts)" →
    "HTTP 503": the colon inside a URL does not cut it). One clean line of at most 80 cells."""
    error = clean(error)
    for prefix in CONTEXT_PREFIXES:
        if error.startswith(prefix):
            error = error[len(prefix):]
    head = _DETAIL.split(error, maxsplit=1)[0].strip()
    return ellipsize(head or error.strip() or "unknown", 80)


class EventKind(StrEnum):
    """What an IngestEvent reports (its JSON "event" field)."""

    JOB = "job"  # a job moved to a new state
    ALREADY = "already"  # the track is in the library with a current vector: nothing to do
    ERROR = "error"  # the run stopped (the library failed)


@dataclass(frozen=True, slots=True)
class IngestEvent:
    """A job moved to `state` (queued, downloading, analysing, done, failed), or `kind` ALREADY / ERROR."""

    kind: EventKind
    track: Track | None = None
    state: JobState | None = None
    job_id: int | None = None
    error: str | None = None
    track_id: int | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.kind.value}
        if self.job_id is not None:
            out["job_id"] = self.job_id
        if self.state is not None:
            out["state"] = self.state.value
        if self.track is not None:
            out.update(source=self.track.source, external_id=self.track.external_id,
                       itunes_track_id=self.track.itunes_track_id, artist=self.track.artist, title=self.track.title)
        if self.track_id is not None:
            out["id"] = self.track_id
        if self.error:
            out["error"] = self.error
        if self.timings_ms:
            out["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        if self.progress:
            out["progress"] = self.progress
        return out


@dataclass(slots=True)
class IngestSummary:
    """Totals of one run: done, already in the library, failed by reason, and per-stage timings."""

    done: int = 0
    already: int = 0
    failed: list[tuple[Track, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    timings_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    cancelled: bool = False
    # jobs another run left queued that this one finished (`ingest --resume`, or the app), reported apart
    resumed_done: int = 0
    resumed_failed: list[tuple[Track, str]] = field(default_factory=list)
    left_queued: int = 0  # other runs' jobs still queued when this run ended
    finish_times: deque[float] = field(default_factory=deque)  # perf_counter() of recent finishes

    def finished_at(self, now: float) -> None:
        """Record one finished job (done or failed, own or resumed) for the sliding-window rate."""
        self.finish_times.append(now)
        while self.finish_times and self.finish_times[0] < now - RATE_WINDOW_S:
            self.finish_times.popleft()

    def window_rate(self, now: float) -> float:
        """Tracks per second over the last RATE_WINDOW_S: the finishes in the window after the oldest one, over
        the time since it. 0 until two jobs have finished (one finish says nothing about a rate); it decays
        while nothing finishes."""
        recent = [t for t in self.finish_times if t >= now - RATE_WINDOW_S]
        if len(recent) < 2 or now <= recent[0]:
            return 0.0
        return (len(recent) - 1) / (now - recent[0])

    @property
    def failed_by_reason(self) -> dict[str, int]:
        return dict(Counter(reason_key(reason) for _, reason in self.failed).most_common())

    @property
    def rate(self) -> float:
        """Tracks finished per second over the whole run (resumed ones included)."""
        finished = self.done + len(self.failed) + self.resumed_done + len(self.resumed_failed)
        return finished / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def progress(self, total: int, now: float) -> dict[str, Any]:
        """The progress figures every event carries: this run's counts so far (resumed jobs included, and also
        apart), the total it expects, and tracks/s over the last RATE_WINDOW_S (`now`: perf_counter())."""
        return {"done": self.done + self.resumed_done, "failed": len(self.failed) + len(self.resumed_failed),
                "already": self.already, "total": total, "resumed": self.resumed_done + len(self.resumed_failed),
                "rate": round(self.window_rate(now), 3)}

    def median_ms(self) -> dict[str, float]:
        return {k: median(v) for k, v in self.timings_ms.items() if v}

    def to_json(self) -> dict[str, Any]:
        return {"event": "summary", "done": self.done, "already": self.already, "failed": len(self.failed),
                "failed_by_reason": self.failed_by_reason, "elapsed_s": round(self.elapsed_s, 3),
                "tracks_per_s": round(self.rate, 3), "median_ms": {k: round(v, 1) for k, v in self.median_ms().items()},
                "cancelled": self.cancelled,
                "resumed": {"done": self.resumed_done, "failed": len(self.resumed_failed),
                            "failed_by_reason": dict(Counter(reason_key(r) for _, r in self.resumed_failed))},
                "left_queued": self.left_queued}
