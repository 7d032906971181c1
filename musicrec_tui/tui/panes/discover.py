"""Discover pane: songs the library does not have, found in the catalogue around seeds and ranked by sound.

A discovery runs in a thread worker (app/discover.py through the Session); its events come back as messages:
the progress line (requests, throttling, previews analysed of the budget, skipped) and the ranking so far,
best first, re-drawn as each candidate is scored. Escape cancels (what was analysed is kept); `l` plays a
candidate's preview at once; `a` or Enter adds it to the library through the normal ingest queue.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ...app.services import Session
from ...config import Settings
from ...core.errors import MusicrecError
from ...core.models import Track
from ...core.text import clean
from ..messages import IngestRequested, PlayRequested
from ..text import plain
from ..widgets.lists import KeyTable
from .similar import score_bar

if TYPE_CHECKING:
    from ...app.discover import Discovered, DiscoverEvent, DiscoverProgress

BUDGET_STEP = 10


class DiscoverUpdate(Message):
    """A discovery event, posted from the worker thread (thread-safe)."""

    def __init__(self, run: int, event: DiscoverEvent | None, error: str | None = None) -> None:
        super().__init__()
        self.run = run
        self.event = event
        self.error = error


def progress_text(p: DiscoverProgress, message: str = "") -> Text:
    """The pane's figures line: requests, throttling, previews analysed of the budget, reused, skipped."""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(f"requests {p.requests}/{p.request_budget}")
    if p.throttled:
        out.append(f" · throttled {p.throttled}× ({p.backoff_s:.0f} s waited)", style="bold yellow")
    out.append(f" · candidates {p.candidates} · analysed {p.analysed}/{p.budget} · reused {p.reused}")
    skipped = sum(p.skipped.values()) - p.skipped.get("over the preview budget", 0)
    if skipped:
        out.append(f" · skipped {skipped}")
    if p.stopped_asking:
        out.append(" · ")
        out.append_text(plain(p.stopped_asking, style="bold yellow"))
    elif message:
        out.append("  ")
        out.append_text(plain(message, style="dim"))
    return out


class DiscoverPane(Vertical):
    """A header naming the seeds and options, the figures line, the ranked candidates, and a status line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "listen", "Listen", id="discover.listen"),
        Binding("a", "add", "Add", tooltip="Add to the library", id="discover.add"),
        Binding("escape", "cancel", "Cancel", id="discover.cancel"),
        Binding("r", "again", "Again", id="discover.again"),
        Binding("e", "toggle_exclude", "Excl. artist", show=False, tooltip="Exclude the seeds' artists",
                id="discover.exclude_artist"),
        Binding("right_square_bracket", "budget(1)", "Budget+", show=False, tooltip="More previews to analyse",
                id="discover.budget_up"),
        Binding("left_square_bracket", "budget(-1)", "Budget-", show=False, tooltip="Fewer previews to analyse",
                id="discover.budget_down"),
    ]

    def __init__(self, session: Session, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.k = settings.discover_k
        self.budget = settings.discover_budget
        self.exclude_artist = False
        self.seeds: list[Track] = []
        self.items: list[Discovered] = []
        self.added: set[str] = set()
        self.running = False
        self.progress: DiscoverProgress | None = None
        self._run = 0
        self._cancel: threading.Event | None = None
        self._message = ""

    def compose(self) -> ComposeResult:
        yield Static(Text.from_markup(
            "Press [b]D[/b] on a track (Library or Similar; marked tracks in Similar) to find songs you don't "
            "have that sound like it."), id="discover-header")
        yield Static("", id="discover-progress", classes="status")
        table = KeyTable(id="discover-table")
        table.add_columns("", "#", "Score", "Title", "Artist", "Found by", "Why")
        yield table
        yield Static("", id="discover-status", classes="status")

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    # ---- running -------------------------------------------------------------------------------------
    def start(self, seeds: list[Track]) -> None:
        """Discover around `seeds` (library tracks) in a worker; a running discovery is cancelled first."""
        seeds = [t for t in seeds if t.id is not None]
        if not seeds:
            self.app.notify("Discover starts from tracks of the library.", severity="warning")
            return
        if self._cancel is not None:
            self._cancel.set()
        self.seeds = seeds
        self.items = []
        self.progress = None
        self._message = "starting…"
        self._run += 1
        self._cancel = cancel = threading.Event()
        self.running = True
        self._header()
        self._fill()
        self._status()
        self.run_worker(partial(self._work, self._run, list(seeds), self.k, self.budget, self.exclude_artist, cancel),
                        thread=True, group="discover", exclusive=True, exit_on_error=False)

    def _work(self, run: int, seeds: list[Track], k: int, budget: int, exclude: bool,
              cancel: threading.Event) -> None:
        from ...app.discover import DiscoverOptions

        settings: Settings = getattr(self.app, "settings")  # noqa: B009 (the App's, typed above)
        options = DiscoverOptions.from_settings(settings, k=k, budget=budget, exclude_artist=exclude)
        def on_event(event: DiscoverEvent) -> None:
            self.post_message(DiscoverUpdate(run, event))

        try:
            self.session.discover(seeds, options, cancel=cancel, on_event=on_event)
        except MusicrecError as exc:
            self.post_message(DiscoverUpdate(run, None, exc.one_line()))
        except Exception as exc:  # a bug: the pane must not wait forever; the worker still reports it
            self.post_message(DiscoverUpdate(run, None, f"unexpected error: {type(exc).__name__}: {exc}"))
            raise

    @on(DiscoverUpdate)
    def _update(self, message: DiscoverUpdate) -> None:
        message.stop()
        if message.run != self._run:
            return  # a cancelled discovery's late events
        if message.error is not None:
            self.running = False
            self._message = ""
            self.query_one("#discover-status", Static).update(
                Text.assemble(("Discover failed: ", "bold red"), plain(message.error)))
            return
        event = message.event
        if event is None:
            return
        self.progress = event.progress
        if event.kind in ("status", "throttled", "candidates"):
            self._message = event.message
        if event.kind == "throttled":
            self.app.notify(clean(event.message), title="Discover", severity="warning", timeout=4, markup=False)
        if event.kind in ("scored", "done"):
            self.items = list(event.results)
            self._fill()
        if event.kind == "done":
            self.running = False
            self._message = "cancelled: what was analysed is kept" if event.progress.cancelled else "done"
        self.query_one("#discover-progress", Static).update(progress_text(event.progress, self._message))
        self._status()

    # ---- drawing -------------------------------------------------------------------------------------
    def _header(self) -> None:
        if not self.seeds:
            return
        text = Text("Discover around ")
        if len(self.seeds) == 1:
            text.append_text(plain(self.seeds[0].title, style="bold"))
            text.append(" — ")
            text.append_text(plain(self.seeds[0].artist))
        else:
            text.append(f"{len(self.seeds)} tracks: ", style="bold")
            text.append_text(plain(", ".join(t.title for t in self.seeds[:3])))
        same = "hidden" if self.exclude_artist else "shown"
        text.append(f"   k = {self.k} · budget {self.budget} previews · same artist {same}", style="dim")
        self.query_one("#discover-header", Static).update(text)

    def _fill(self) -> None:
        table = self.query_one("#discover-table", KeyTable)
        current = self.current()
        keep = current.track.external_id if current is not None else None
        table.clear()
        for i, d in enumerate(self.items):
            n = d.neighbour
            why = " · ".join(f"{g} {share:.0%}" for g, share in n.why()[:3])
            table.add_row("+" if d.track.external_id in self.added else "", str(n.rank), score_bar(n.score),
                          plain(d.track.title), plain(d.track.artist), plain(", ".join(d.found_by[:2])), why,
                          key=str(i))
        if keep is not None:
            for i, d in enumerate(self.items):
                if d.track.external_id == keep:
                    table.move_cursor(row=i)
                    break

    def _status(self) -> None:
        status = self.query_one("#discover-status", Static)
        if self.running:
            status.update(Text.from_markup(f"{len(self.items)} scored so far · [b]Esc[/b] cancel · [b]l[/b] listen · "
                                           "[b]a[/b] add to library"))
        elif self.items:
            status.update(Text.from_markup(
                f"{len(self.items)} new songs · [b]l[/b] listen · [b]a[/b]/[b]Enter[/b] add to library · [b]r[/b] "
                "again · [b]e[/b] same artist · [b]\\[ ][/b] budget · nothing is added unless you add it"))
        elif self.progress is not None:
            status.update("No new songs could be scored: see the figures above.")
        else:
            status.update("")

    def current(self) -> Discovered | None:
        if not self.items:
            return None
        table = self.query_one("#discover-table", KeyTable)
        return self.items[min(table.cursor_row, len(self.items) - 1)]

    # ---- actions -------------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#discover-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_add()

    def _refuse(self, why: str) -> None:
        self.app.notify(why, title="Discover", severity="warning", timeout=3)

    def action_listen(self) -> None:
        item = self.current()
        if item is None:
            self._refuse("Nothing to listen to yet: press D on a library track to discover songs.")
            return
        self.post_message(PlayRequested([item.track]))

    def action_add(self) -> None:
        item = self.current()
        if item is None:
            self._refuse("Nothing to add yet: press D on a library track to discover songs.")
            return
        track = item.track
        if track.external_id in self.added:
            self.app.notify(f"“{clean(track.title)}” is already queued for the library.", timeout=3, markup=False)
            return
        self.added.add(track.external_id)
        self.post_message(IngestRequested([track]))
        self.app.notify(f"Adding “{clean(track.title)}” to the library (4 Ingest shows it).", title="Discover",
                        timeout=3, markup=False)
        self._fill()

    def action_cancel(self) -> None:
        if self._cancel is None or not self.running:
            self._refuse("No discovery is running.")
            return
        if self._cancel is not None and self.running:
            self._cancel.set()
            self._message = "cancelling…"
            if self.progress is not None:
                self.query_one("#discover-progress", Static).update(progress_text(self.progress, self._message))

    def action_again(self) -> None:
        if not self.seeds:
            self._refuse("Nothing to run again yet: press D on a library track first.")
            return
        self.start(self.seeds)

    def action_toggle_exclude(self) -> None:
        self.exclude_artist = not self.exclude_artist
        self._header()
        if self.seeds:
            self.start(self.seeds)
        else:
            self.app.notify(f"The next discovery {'hides' if self.exclude_artist else 'shows'} the seeds' artists.",
                            title="Discover", timeout=3)

    def action_budget(self, direction: int) -> None:
        budget = max(0, min(500, self.budget + int(direction) * BUDGET_STEP))
        if budget == self.budget:
            self._refuse(f"The budget is at its {'maximum' if direction > 0 else 'minimum'} ({budget} previews).")
            return
        self.budget = budget
        self._header()
        if not self.seeds:
            self.app.notify(f"The next discovery may analyse up to {budget} previews.", title="Discover", timeout=3)
