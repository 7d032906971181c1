"""The Ingest pane tells the truth: this run's counts and bar, the history apart, a sliding-window rate, and
active and failed jobs at the top of the table."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import ProgressBar, Static

from musicrec_tui.core.models import SOURCE_ITUNES, Job, JobState, Track
from musicrec_tui.ingest.events import RATE_WINDOW_S, EventKind, IngestSummary
from musicrec_tui.tui.messages import IngestUpdate
from musicrec_tui.tui.panes.ingest import IngestPane
from musicrec_tui.tui.widgets.lists import KeyTable


def job(i: int, state: JobState, error: str | None = None) -> Job:
    track = Track(source=SOURCE_ITUNES, external_id=str(i), title=f"Song {i}", artist="Someone")
    return Job(id=i, source=SOURCE_ITUNES, external_id=str(i), state=state, track=track, last_error=error)


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield IngestPane(id="ingest-pane")


def text_of(widget: Static) -> str:
    return str(widget.render())


async def test_history_apart_from_the_run_and_what_matters_first() -> None:
    app = PaneApp()
    async with app.run_test() as pilot:
        pane = app.query_one(IngestPane)
        history = [job(i, JobState.DONE) for i in range(1, 171)] + [job(171, JobState.FAILED, "HTTP 404")]
        history += [job(172, JobState.QUEUED), job(173, JobState.ANALYSING), job(174, JobState.QUEUED)]
        pane.load_jobs(history)
        await pilot.pause()
        table = pane.query_one("#ingest-table", KeyTable)
        order = [str(table.get_row_at(i)[0]) for i in range(5)]
        assert order == ["173", "171", "172", "174", "170"], "active, failed, the queue in order, newest done"
        assert "174 jobs · 170 done · 1 failed · 2 queued" in text_of(pane.query_one("#ingest-history", Static))
        assert not pane.query_one("#ingest-progress", ProgressBar).display, "no run yet: no bar"

        # a run of 2 starts: its figures are its own, whatever the history holds
        pane.set_running(True)
        pane.apply(IngestUpdate(EventKind.JOB, 172, history[171].track, JobState.DONE, rate_per_min=0.0, run_done=1,
                                run_total=2))
        await pilot.pause(0.5)  # the table re-orders a moment later
        head = text_of(pane.query_one("#ingest-summary", Static))
        assert head.startswith("This run: 1/2 · 1 done · 0 failed") and "tracks/min" not in head, head
        bar = pane.query_one("#ingest-progress", ProgressBar)
        assert bar.display and (bar.progress, bar.total) == (1, 2)
        pane.apply(IngestUpdate(EventKind.JOB, 174, history[173].track, JobState.ANALYSING, rate_per_min=90.0,
                                run_done=1, run_total=2))
        await pilot.pause(0.5)
        assert "90 tracks/min" in text_of(pane.query_one("#ingest-summary", Static))
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["174", "173", "171"]


def test_rate_is_over_a_sliding_window() -> None:
    s = IngestSummary()
    s.finished_at(100.0)
    assert s.window_rate(100.01) == 0.0, "one finished job says nothing about a rate (was 8,520/min)"
    for t in (101.0, 102.0, 103.0):
        s.finished_at(t)
    assert abs(s.window_rate(103.0) - 1.0) < 1e-9
    assert s.window_rate(109.0) < 0.4, "it decays while nothing finishes"
    late = 103.0 + RATE_WINDOW_S + 50
    for t in (late, late + 0.5, late + 1.0):
        s.finished_at(t)
    assert abs(s.window_rate(late + 1.0) - 2.0) < 1e-9, "old finishes have left the window"
