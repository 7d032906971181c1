"""Ingest pane: the job queue live (state and reason per track), overall progress, retry and cancel."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from ...app.jobs import JobAction
from ...core.models import Job, JobState, Track
from ...ingest.events import EventKind
from ..messages import IngestUpdate, JobsRequested
from ..text import plain
from ..widgets.lists import KeyTable

STATE_LABEL = {
    JobState.QUEUED: Text("queued", style="dim"),
    JobState.DOWNLOADING: Text("downloading", style="bold cyan"),
    JobState.ANALYSING: Text("analysing", style="bold yellow"),
    JobState.DONE: Text("done", style="bold green"),
    JobState.FAILED: Text("failed", style="bold red"),
}
MAX_ROWS = 500  # the newest jobs; older ones are summarised in the counts


class IngestPane(Vertical):
    """Counts and a progress bar above the job table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry failed", id="ingest.retry"),
        Binding("c", "cancel", "Cancel", id="ingest.cancel"),
        Binding("C", "clear", "Clear done", id="ingest.clear"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.states: dict[int, JobState] = {}  # every job the store or the pipeline told us about
        self.rate: float | None = None  # tracks per minute in the current run
        self.running = False

    @property
    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in JobState}
        for state in self.states.values():
            out[state.value] += 1
        return out

    def compose(self) -> ComposeResult:
        yield Static("No ingest yet. Search (1) and press Enter on a result, or a for all of them.",
                     id="ingest-summary")
        yield ProgressBar(total=None, show_eta=False, id="ingest-progress")
        table = KeyTable(id="ingest-table")
        table.add_column("Job", key="job", width=5)
        table.add_column("State", key="state", width=11)
        table.add_column("Title", key="title", width=26)
        table.add_column("Reason", key="reason", width=26)
        table.add_column("Artist", key="artist")
        yield table

    # ---- data ----------------------------------------------------------------------------------------
    def load_jobs(self, jobs: list[Job]) -> None:
        """Replace the table with the store's view (at start, and after enqueue/retry/cancel/clear)."""
        table = self.query_one("#ingest-table", KeyTable)
        table.clear()
        self.states = {job.id: job.state for job in jobs}
        for job in jobs[-MAX_ROWS:]:
            self._add(job.id, job.track, job.state, job.last_error)
        self._summary()

    def _add(self, job_id: int, track: Track | None, state: JobState, error: str | None) -> None:
        table = self.query_one("#ingest-table", KeyTable)
        title = plain(track.title) if track is not None else plain("?")
        artist = plain(track.artist) if track is not None else plain("")
        table.add_row(str(job_id), STATE_LABEL.get(state, str(state)), title, plain(error or ""), artist,
                      key=str(job_id))

    def apply(self, update: IngestUpdate) -> None:
        """One event from the pipeline."""
        if update.rate_per_min is not None:
            self.rate = update.rate_per_min
        if update.kind is EventKind.JOB and update.job_id is not None and update.state is not None:
            table = self.query_one("#ingest-table", KeyTable)
            key = str(update.job_id)
            if key in table.rows:
                table.update_cell(key, "state", STATE_LABEL.get(update.state, str(update.state)))
                table.update_cell(key, "reason", plain(update.error or ""))
            else:
                self._add(update.job_id, update.track, update.state, update.error)
            self.states[update.job_id] = update.state
        self._summary()

    def _summary(self) -> None:
        c = self.counts
        queued = c["queued"]
        active = c["downloading"] + c["analysing"]
        done, failed = c["done"], c["failed"]
        total = queued + active + done + failed
        bar = self.query_one("#ingest-progress", ProgressBar)
        if not total:
            return
        bar.update(total=total, progress=done + failed)
        rate = f" · {self.rate:.1f} tracks/min" if self.rate else ""
        state = "running" if self.running else "idle"
        jobs = "1 job" if total == 1 else f"{total} jobs"
        self.query_one("#ingest-summary", Static).update(
            f"[b]{done}[/b] done · [b]{failed}[/b] failed · {active} active · {queued} queued · {jobs}{rate} · {state}")

    def set_running(self, running: bool) -> None:
        self.running = running
        self._summary()

    # ---- actions -------------------------------------------------------------------------------------
    def action_retry(self) -> None:
        self.post_message(JobsRequested(JobAction.RETRY))

    def action_cancel(self) -> None:
        self.post_message(JobsRequested(JobAction.CANCEL))

    def action_clear(self) -> None:
        self.post_message(JobsRequested(JobAction.CLEAR))
