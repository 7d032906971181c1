"""Search pane: query the catalogue, see what is already in the library, ingest or preview results."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Input, Static

from ...app.search import SearchResult
from ...app.services import Session
from ...core.errors import MusicrecError
from ...core.models import Track
from ...textfmt import clean, ellipsize, mmss
from ..messages import IngestRequested, PlayRequested
from ..text import markup, plain
from ..widgets.lists import KeyTable

WELCOME = """[b]Welcome to musicrec[/b] — find songs that sound alike.

Your library is empty. To get started:
  [b]1.[/b] Type an artist or a song above and press [b]Enter[/b].
  [b]2.[/b] Press [b]Enter[/b] on a result to add it to your library, or [b]a[/b] to add them all.
     [b]l[/b] listens to a result first (30 s preview).
  [b]3.[/b] Watch it being analysed on [b]4 Ingest[/b], browse it on [b]2 Library[/b],
     and press [b]Enter[/b] there for songs that sound like it on [b]3 Similar[/b].

[dim]? shows every key · ctrl+p finds any command · q quits[/dim]"""


class SearchPane(Vertical):
    """An input, the results table and a status line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "ingest_all", "Ingest all", id="search.ingest_all"),
        Binding("l", "listen", "Listen", id="search.listen"),
        Binding("escape", "focus_results", "Results", show=False, id="search.results"),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.results: list[Track] = []
        self.in_library: set[tuple[str, str]] = set()

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Search the iTunes catalogue: artist, song or album, then Enter",
                    id="search-input")
        yield Static(WELCOME, id="welcome")
        table = KeyTable(id="search-results")
        table.add_columns("Title", "Artist", "Album", "Genre", "Len", "Lib", "Preview")
        yield table
        yield Static("", id="search-status", classes="status")

    def on_mount(self) -> None:
        self.query_one("#search-results").display = False

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
        self.run_worker(partial(self._search, term), thread=True, group="search", exclusive=True,
                        exit_on_error=False)

    def _search(self, term: str) -> None:
        try:
            found = self.session.search(term)
        except MusicrecError as exc:
            self.app.call_from_thread(self._failed, term, exc.one_line())
            return
        self.app.call_from_thread(self._show, term, found)

    def _failed(self, term: str, message: str) -> None:
        self.set_status(markup("[b red]Search failed:[/] $message", message=message))
        self.app.notify(clean(message), title=f"Search “{ellipsize(term, 40)}”", severity="error", timeout=8,
                        markup=False)

    def _show(self, term: str, results: list[SearchResult]) -> None:
        found = [r.track for r in results]
        known = {r.track.key for r in results if r.in_library}
        self.results = found
        self.in_library = known
        self._fill()
        self.query_one("#welcome").display = False
        table = self.query_one("#search-results", KeyTable)
        table.display = True
        field = self.query_one("#search-input", Input)
        if found and (not field.has_focus or field.value.strip() == term):
            table.focus()  # not while the person is typing another search: keys would hit the table's bindings
            playable = sum(1 for t in found if t.preview_url)
            self.set_status(markup(f"{len(found)} results for “$term” · {len(known)} in library · "
                                   f"{playable} with preview — [b]Enter[/b] ingest · [b]a[/b] all · "
                                   "[b]l[/b] listen", term=term))
        else:
            self.set_status(markup("No songs found for “$term”. Try fewer or other words.", term=term))

    def _fill(self) -> None:
        table = self.query_one("#search-results", KeyTable)
        row = table.cursor_row
        table.clear()
        for i, t in enumerate(self.results):
            table.add_row(plain(t.title), plain(t.artist), plain(t.album), plain(t.genre), mmss(t.duration_ms),
                          "✓" if t.key in self.in_library else "", "▶" if t.preview_url else "–", key=str(i))
        if self.results:
            table.move_cursor(row=min(row, len(self.results) - 1))

    def mark_ingested(self, track: Track) -> None:
        """An ingest finished: tick the result if it is listed."""
        if track.key in self.in_library or all(t.key != track.key for t in self.results):
            return
        self.in_library.add(track.key)
        self._fill()

    def current(self) -> Track | None:
        table = self.query_one("#search-results", KeyTable)
        if not self.results or not table.display:
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

    def action_focus_results(self) -> None:
        table = self.query_one("#search-results", KeyTable)
        if table.display:
            table.focus()
        else:
            self.app.set_focus(None)  # out of the input, so 1-5, space and ? work again

    def focus_input(self) -> None:
        self.query_one("#search-input", Input).focus()
