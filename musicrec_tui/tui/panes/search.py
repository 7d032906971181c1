"""Search pane: query the catalogue, see what is already in the library, ingest or preview results."""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.events import Resize
from textual.lazy import Lazy
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from ...app.search import SearchResult
from ...app.services import Session
from ...core.errors import ItunesCancelled, MusicrecError
from ...core.models import Track
from ...textfmt import clean, ellipsize, mmss
from ..messages import IngestRequested, PlayRequested
from ..text import markup, plain_cut
from ..widgets.columns import Col, share
from ..widgets.field import FieldInput
from ..widgets.lists import KeyTable

WELCOME = """[b]Welcome to musicrec[/b] — find songs that sound alike.

Your library is empty. To get started:
  [b]1.[/b] Type an artist or a song above and press [b]Enter[/b].
  [b]2.[/b] Press [b]Enter[/b] on a result to add it to your library, or [b]a[/b] to add them all.
     [b]l[/b] listens to a result first (30 s preview).
  [b]3.[/b] Watch it being analysed on [b]4 Ingest[/b], browse it on [b]2 Library[/b],
     and press [b]Enter[/b] there for songs that sound like it on [b]3 Similar[/b].

[dim]In the search box: Escape leaves it · ? (box empty) shows every key · ctrl+q quits.
Outside it: ? every key · ctrl+p any command · q quits.[/dim]"""


# the README promises title, artist, length, in library and preview at any width; album and genre when there is room
SEARCH_COLUMNS = (
    Col("title", "Title", 12, weight=0.4),
    Col("artist", "Artist", 10, weight=0.3),
    Col("album", "Album", 10, weight=0.3, priority=1),
    Col("genre", "Genre", 8, 14, priority=2),
    Col("len", "Len", 5, 5),
    Col("lib", "Lib", 3, 3),
    Col("preview", "Prev", 4, 4),
)


class SearchPane(Vertical):
    """An input, the results table and a status line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "ingest_all", "Ingest all", id="search.ingest_all"),
        Binding("l", "listen", "Listen", id="search.listen"),
        Binding("escape", "cancel_search", "Cancel", tooltip="Cancel the search", id="search.cancel"),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.results: list[Track] = []
        self.in_library: set[tuple[str, str]] = set()
        self._laid_out_for = -1
        self._cancel: threading.Event | None = None  # the running search's
        self._countdown: Timer | None = None
        self._wait_until = 0.0
        self._wait_term = self._wait_reason = ""

    def compose(self) -> ComposeResult:
        yield FieldInput(placeholder="Search the iTunes catalogue: artist, song or album, then Enter",
                    id="search-input")
        yield Static(WELCOME, id="welcome")
        table = KeyTable(id="search-results")
        table.display = False  # shown with the first results
        # mounted just after the first frame (which it is not part of): its styling and layout are not waited for
        yield Lazy(table)
        yield Static("", id="search-status", classes="status")

    def show_welcome(self, show: bool) -> None:
        self.query_one("#welcome").display = show and not self.results

    def set_status(self, text: str | Content) -> None:
        self.query_one("#search-status", Static).update(text)

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        term = event.value.strip()
        if not term:
            self.set_status("Type something to search for.")
            return
        self.set_status(markup("Searching for “$term”…", term=term))
        if self._cancel is not None:
            self._cancel.set()  # a new search replaces the one waiting
        self._cancel = cancel = threading.Event()
        self.run_worker(partial(self._search, term, cancel), thread=True, group="search", exclusive=True,
                        exit_on_error=False)

    def _search(self, term: str, cancel: threading.Event) -> None:
        def waiting(seconds: float, reason: str) -> None:
            self.app.call_from_thread(self._waiting, term, seconds, reason)

        try:
            found = self.session.search(term, cancel, waiting)
        except ItunesCancelled:
            self.app.call_from_thread(self._cancelled, term, cancel)
            return
        except MusicrecError as exc:
            self.app.call_from_thread(self._failed, term, exc.one_line(), cancel)
            return
        self.app.call_from_thread(self._show, term, found)

    # ---- a search waiting on throttling: a countdown, and Escape cancels it
    @property
    def searching(self) -> bool:
        return self._cancel is not None and not self._cancel.is_set()

    def _waiting(self, term: str, seconds: float, reason: str) -> None:
        self._wait_until = time.monotonic() + seconds
        self._wait_term, self._wait_reason = ellipsize(term, 40), reason
        if self._countdown is None:
            self._countdown = self.set_interval(0.5, self._tick)
        self._tick()
        self.refresh_bindings()

    def _tick(self) -> None:
        left = max(0, round(self._wait_until - time.monotonic()))
        self.set_status(markup("“$term”: $reason; trying again in [b]$left s[/b] — [b]Escape[/b] cancels",
                               term=self._wait_term, reason=self._wait_reason, left=left))

    def _stop_countdown(self) -> None:
        if self._countdown is not None:
            self._countdown.stop()
            self._countdown = None
        self.refresh_bindings()

    def action_cancel_search(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.set_status("Cancelling the search…")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_search":
            return self.searching
        return True

    def _clear_results(self) -> None:
        self.results = []
        self.in_library = set()
        table = self.query_one("#search-results", KeyTable)
        table.clear()
        table.display = False

    def _cancelled(self, term: str, cancel: threading.Event) -> None:
        if cancel is not self._cancel:
            return  # a newer search is on
        self._stop_countdown()
        self._clear_results()
        self.set_status(markup("Search for “$term” cancelled.", term=ellipsize(term, 40)))

    def _failed(self, term: str, message: str, cancel: threading.Event) -> None:
        if cancel is not self._cancel:
            return
        self._cancel = None
        self._stop_countdown()
        self._clear_results()  # the old results under a new error would look like this search's
        reason = message if message.lower().startswith("itunes") else f"Search failed: {message}"
        self.set_status(markup("[b red]✗[/] $reason", reason=reason))
        self.app.notify(clean(reason), title=f"Search “{ellipsize(term, 40)}”", severity="error", timeout=8,
                        markup=False)

    def _show(self, term: str, results: list[SearchResult]) -> None:
        self._cancel = None
        self._stop_countdown()
        found = [r.track for r in results]
        known = {r.track.key for r in results if r.in_library}
        self.results = found
        self.in_library = known
        self._fill()
        self.query_one("#welcome").display = False
        table = self.query_one("#search-results", KeyTable)
        table.display = True
        self.call_after_refresh(self._refit)  # shown for the first time: lay it out for its real width
        field = self.query_one("#search-input", Input)
        if found and (not field.has_focus or field.value.strip() == term):
            table.focus()  # not while the person is typing another search: keys would hit the table's bindings
            playable = sum(1 for t in found if t.preview_url)
            how_many = "1 result" if len(found) == 1 else f"{len(found)} results"
            self.set_status(markup(f"{how_many} for “$term” · {len(known)} in library · "
                                   f"{playable} with preview — [b]Enter[/b] ingest · [b]a[/b] all · "
                                   "[b]l[/b] listen", term=term))
        else:
            self.set_status(markup("No songs found for “$term”. Try fewer or other words.", term=term))

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._refit)  # once the table has its new size

    def _results_table(self) -> KeyTable | None:
        """The results table; None for the instant before its lazy mount (just after the first frame)."""
        return next(self.query("#search-results").results(KeyTable), None)

    def _refit(self) -> None:
        table = self._results_table()
        if table is not None and table.size.width != self._laid_out_for:
            self._fill()

    def _fill(self) -> None:
        """(Re)build the table for its width: columns by priority (tui/widgets/columns.py), cells cut with …"""
        table = self.query_one("#search-results", KeyTable)
        row = table.cursor_row
        self._laid_out_for = table.size.width
        widths = share(SEARCH_COLUMNS, max(table.size.width, self.size.width) - 1)  # - 1: the scrollbar's room
        table.clear(columns=True)
        for col in SEARCH_COLUMNS:
            if col.key in widths:
                table.add_column(col.label, width=widths[col.key], key=col.key)
        for i, t in enumerate(self.results):
            cells = {"title": t.title, "artist": t.artist, "album": t.album, "genre": t.genre,
                     "len": mmss(t.duration_ms), "lib": "✓" if t.key in self.in_library else "",
                     "preview": "▶" if t.preview_url else "–"}
            table.add_row(*(plain_cut(cells[k], w) for k, w in widths.items()), key=str(i))
        if self.results:
            table.move_cursor(row=min(row, len(self.results) - 1))

    def mark_ingested(self, track: Track) -> None:
        """An ingest finished: tick the result if it is listed."""
        if track.key in self.in_library or all(t.key != track.key for t in self.results):
            return
        self.in_library.add(track.key)
        self._fill()

    def current(self) -> Track | None:
        table = self._results_table()
        if not self.results or table is None or not table.display:
            return None
        return self.results[min(table.cursor_row, len(self.results) - 1)]

    @on(DataTable.RowSelected, "#search-results")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        track = self.results[int(str(event.row_key.value))]
        self._ingest([track])

    def _ingest(self, tracks: list[Track]) -> None:
        wanted = [t for t in tracks if t.ingestible]
        skipped = len(tracks) - len(wanted)
        if not wanted:
            self.app.notify("No preview to analyse for this result.", severity="warning")
            return
        note = f" ({skipped} without preview skipped)" if skipped else ""
        self.set_status(f"Queued {len(wanted)} for ingest{note} — see [b]4 Ingest[/b].")
        self.post_message(IngestRequested(wanted))

    def action_ingest_all(self) -> None:
        if not self.results:
            self.app.notify("Search first, then a ingests every result.", severity="warning")
            return
        self._ingest(list(self.results))

    def action_listen(self) -> None:
        track = self.current()
        if track is None:
            return
        if not track.preview_url:
            self.app.notify("This result has no preview.", severity="warning")
            return
        self.post_message(PlayRequested([track]))

    @on(FieldInput.Leave)
    def _left_field(self, event: FieldInput.Leave) -> None:
        event.stop()
        if self.searching:
            self.action_cancel_search()  # Escape first cancels a search that waits
            return
        self.action_focus_results()

    def action_focus_results(self) -> None:
        table = self._results_table()
        if table is not None and table.display:
            table.focus()
        else:
            self.app.set_focus(None)  # out of the input, so 1-5, space and ? work again

    def focus_input(self) -> None:
        self.query_one("#search-input", Input).focus()
