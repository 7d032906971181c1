"""Ingest job control: retry the failed jobs, cancel the queued ones, clear the finished ones."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..core.models import Job, JobState
from ..store.protocol import Library


class JobAction(StrEnum):
    RETRY = "retry"  # failed jobs go back to the queue
    CANCEL = "cancel"  # queued jobs fail with reason "cancelled"
    CLEAR = "clear"  # done jobs leave the list (their tracks stay in the library)


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What an action did: how many jobs it touched, one line to show, and the queue afterwards."""

    action: JobAction
    count: int
    message: str
    jobs: list[Job]

    @property
    def queued(self) -> bool:
        """True when jobs wait in the queue (an ingest run should start)."""
        return any(job.state is JobState.QUEUED for job in self.jobs)


def control_jobs(library: Library, action: JobAction) -> JobOutcome:
    """Apply `action` to the library's job queue."""
    if action is JobAction.RETRY:
        n = library.retry_failed()
        message = f"{n} failed job(s) queued again."
    elif action is JobAction.CANCEL:
        n = library.cancel_queued()
        message = f"Cancelled {n} queued job(s)."
    else:
        n = library.clear_finished_jobs()
        message = f"Cleared {n} done job(s)."
    return JobOutcome(action, n, message, library.list_jobs())
