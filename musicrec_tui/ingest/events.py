"""What the pipeline reports as it goes: one event per job state change, and a summary at the end."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from statistics import median
from typing import Any

from ..core.models import JobState, Track
from ..core.text import clean, ellipsize

STAGES = ("download", "decode", "analysis", "explain", "store")


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

    @property
    def failed_by_reason(self) -> dict[str, int]:
        return dict(Counter(reason_key(reason) for _, reason in self.failed).most_common())

    @property
    def rate(self) -> float:
        """Tracks finished per second."""
        finished = self.done + len(self.failed)
        return finished / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def progress(self, total: int, elapsed: float) -> dict[str, Any]:
        """The progress figures every event carries: counts so far, the total expected, tracks/s."""
        finished = self.done + len(self.failed)
        return {"done": self.done, "failed": len(self.failed), "already": self.already, "total": total,
                "rate": round(finished / elapsed, 3) if elapsed > 0 else 0.0}

    def median_ms(self) -> dict[str, float]:
        return {k: median(v) for k, v in self.timings_ms.items() if v}

    def to_json(self) -> dict[str, Any]:
        return {"event": "summary", "done": self.done, "already": self.already, "failed": len(self.failed),
                "failed_by_reason": self.failed_by_reason, "elapsed_s": round(self.elapsed_s, 3),
                "tracks_per_s": round(self.rate, 3), "median_ms": {k: round(v, 1) for k, v in self.median_ms().items()},
                "cancelled": self.cancelled}
