"""Ingest pane: this run's progress and rate, the queue's history apart, and the jobs that matter first.

The top line is the current (or last) run: its own counts from the pipeline's events, a bar of its progress
and a rate over the pipeline's 30 s sliding window. The second line summarises every job the library holds
(earlier runs, other processes, the command line). The table lists active jobs first, then failed ones, then
the queue, then finished ones newest first, so what is happening now is on screen.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.timer import Timer
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
# table order: what is happening, what went wrong, what is next, what is finished
STATE_RANK = {"downloading": 0, "analysing": 0, "failed": 1, "queued": 2, "done": 3}
MAX_ROWS = 500  # active, failed and queued jobs first, then the newest done ones; the rest are in the counts
RESORT_DELAY = 0.3  # re-order the table at most this often while events stream in


def row_order(job_id: int, state: str) -> tuple[int, int]:
    """Sort key of a row: by STATE_RANK; the queue oldest first (next to run on top), the rest newest first."""
    rank = STATE_RANK.get(state, 4)
    return rank, job_id if state == "queued" else -job_id


class IngestPane(Vertical):
    """This run's figures and bar, the history's counts, then the job table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", tooltip="Retry the failed jobs", id="ingest.retry"),
        Binding("c", "cancel", "Cancel", tooltip="Cancel the queued jobs", id="ingest.cancel"),
        Binding("C", "clear", "Clear", tooltip="Clear the finished jobs", id="ingest.clear"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.states: dict[int, JobState] = {}  # every job the store or the pipeline told us about (history)
        self.rate: float | None = None  # tracks per minute over the pipeline's sliding window
        self.run: dict[str, int] = {}  # the current (or last) run's done / failed / total
        self.running = False
        self._resort: Timer | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Jobs by state over the whole history of the library's queue."""
        out = {s.value: 0 for s in JobState}
        for state in self.states.values():
            out[state.value] += 1
        return out

    def compose(self) -> ComposeResult:
        yield Static("No ingest yet. Search (1) and press Enter on a result, or a for all of them.",
                     id="ingest-summary")
        yield ProgressBar(total=None, show_eta=False, id="ingest-progress")
        yield Static("", id="ingest-history")
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
        for job in sorted(jobs, key=lambda j: row_order(j.id, j.state.value))[:MAX_ROWS]:
            self._add(job.id, job.track, job.state, job.last_error)
        self._summary()

    def _add(self, job_id: int, track: Track | None, state: JobState, error: str | None) -> None:
        table = self.query_one("#ingest-table", KeyTable)
        title = plain(track.title) if track is not None else plain("?")
        artist = plain(track.artist) if track is not None else plain("")
        table.add_row(str(job_id), STATE_LABEL.get(state, Text(str(state))), title, plain(error or ""), artist,
                      key=str(job_id))

    def apply(self, update: IngestUpdate) -> None:
        """One event from the pipeline."""
        if update.rate_per_min is not None:
            self.rate = update.rate_per_min
        if update.run_total or update.run_done or update.run_failed:
            self.run = {"done": update.run_done, "failed": update.run_failed, "total": update.run_total}
        if update.kind is EventKind.JOB and update.job_id is not None and update.state is not None:
            table = self.query_one("#ingest-table", KeyTable)
            key = str(update.job_id)
            if key in table.rows:
                table.update_cell(key, "state", STATE_LABEL.get(update.state, Text(str(update.state))))
                table.update_cell(key, "reason", plain(update.error or ""))
            else:
                self._add(update.job_id, update.track, update.state, update.error)
            if self.states.get(update.job_id) is not update.state:
                self._schedule_resort()
            self.states[update.job_id] = update.state
        self._summary()

    def _schedule_resort(self) -> None:
        if self._resort is None:
            self._resort = self.set_timer(RESORT_DELAY, self._sort_rows)

    def _sort_rows(self) -> None:
        self._resort = None
        table = self.query_one("#ingest-table", KeyTable)

        def key(cells: tuple[Any, Any]) -> tuple[int, int]:
            job, state = cells
            return row_order(int(str(job)), str(state))

        table.sort("job", "state", key=key)

    def _summary(self) -> None:
        c = self.counts
        total = sum(c.values())
        if not total and not self.run:
            return
        active = c["downloading"] + c["analysing"]
        state = "running" if self.running else "idle"
        bar = self.query_one("#ingest-progress", ProgressBar)
        bar.display = bool(self.run.get("total"))  # the bar is this run's; no run, no bar
        if self.run.get("total"):
            done, failed, expected = self.run["done"], self.run["failed"], self.run["total"]
            finished = done + failed
            bar.update(total=max(expected, finished), progress=finished)
            rate = f" · {self.rate:.0f} tracks/min" if self.rate else ""
            head = Text.assemble(("This run: ", "bold"), f"{finished}/{max(expected, finished)} · ",
                                 (str(done), "bold"), " done · ", (str(failed), "bold"),
                                 f" failed · {active} active{rate} · {state}")
        else:
            head = Text(f"No run yet this session · {active} active · {state}")
        self.query_one("#ingest-summary", Static).update(head)
        jobs = "1 job" if total == 1 else f"{total} jobs"
        self.query_one("#ingest-history", Static).update(
            Text(f"All jobs in the library: {jobs} · {c['done']} done · {c['failed']} failed · "
                 f"{c['queued']} queued", style="dim"))

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
