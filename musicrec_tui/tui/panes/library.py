"""Library pane: the whole library in a virtual table; filter as you type, sort, delete, re-analyse, similar."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Static

from ...app.services import Session
from ...core.errors import MusicrecError
from ...core.models import Track
from ...store.protocol import Library
from ...textfmt import clean, ellipsize
from ..messages import IngestRequested, LibraryChanged, PlayRequested, ShowSimilar, TrackFocused
from ..text import markup
from ..widgets.field import FieldInput
from ..widgets.track_table import COLUMNS, TrackTable

FILTER_DELAY = 0.15  # seconds of quiet typing before the filter query runs
EMPTY = ("[b]Your library is empty.[/b]  Press [b]1[/b] to search the iTunes catalogue and add songs; "
         "they show up here once analysed.")


class LibraryPane(Vertical):
    """Filter input, the virtual table and a counts line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "listen", "Listen", id="library.listen"),
        Binding("o", "cycle_sort", "Sort", show=False, tooltip="Sort by the next column", id="library.sort"),
        Binding("O", "reverse_sort", "Reverse", show=False, id="library.reverse"),
        Binding("d,delete", "delete", "Delete", id="library.delete"),
        Binding("r", "reanalyse", "Re-analyse", id="library.reanalyse"),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._debounce: Timer | None = None
        self.library_total: int | None = None

    @property
    def table(self) -> TrackTable:
        return self.query_one(TrackTable)

    def compose(self) -> ComposeResult:
        yield FieldInput(placeholder="Filter by title, artist, album or genre (type to filter)", id="library-filter")
        yield Static(EMPTY, id="library-empty")
        yield TrackTable(id="library-table")
        yield Static("Opening the library…", id="library-status", classes="status")

    def on_mount(self) -> None:
        self.query_one("#library-empty").display = False

    def attach(self, library: Library) -> None:
        """The library is open: start showing it."""
        self.table.library = library
        self.table.set_query()

    # ---- filter --------------------------------------------------------------------------------------
    @on(Input.Changed, "#library-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(FILTER_DELAY, partial(self.apply_filter, event.value))

    @on(Input.Submitted, "#library-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self.apply_filter(event.value)
        self.table.focus()

    def apply_filter(self, text: str) -> None:
        if text.strip() != self.table.search:
            self.table.set_query(search=text)

    def focus_filter(self) -> None:
        self.query_one("#library-filter", Input).focus()

    @on(FieldInput.Leave)
    def _left_field(self, event: FieldInput.Leave) -> None:
        event.stop()
        self.action_focus_table()

    def action_focus_table(self) -> None:
        if self.table.display:
            self.table.focus()
        else:
            self.app.set_focus(None)  # an empty library: out of the field, so 1-5, ? and q work again

    # ---- table events --------------------------------------------------------------------------------
    @on(TrackTable.Counted)
    def _counted(self, event: TrackTable.Counted) -> None:
        table = self.table
        if event.error:
            self.query_one("#library-status", Static).update(markup("[b red]Library:[/] $error", error=event.error))
            return
        if not table.search:
            self.library_total = event.total
        empty = self.library_total == 0
        self.query_one("#library-empty").display = empty
        table.display = not empty
        self._status()

    def _status(self) -> None:
        table = self.table
        total = self.library_total
        label = next(c.label for c in COLUMNS if c.key == table.sort)
        order = "descending" if table.descending else "ascending"
        if table.search:
            counts = f"{table.total:,} of {total:,} tracks match “$search”" if total is not None \
                else f"{table.total:,} tracks match"
        else:
            counts = f"{table.total:,} tracks"
        self.query_one("#library-status", Static).update(markup(
            f"{counts} · sorted by {label} ({order}) · [b]Enter[/b] similar · [b]/[/b] filter · [b]o[/b] sort",
            search=table.search or ""))

    @on(TrackTable.Highlighted)
    def _highlighted(self, event: TrackTable.Highlighted) -> None:
        if event.track is not None:
            self.post_message(TrackFocused(event.track))

    @on(TrackTable.Selected)
    def _selected(self, event: TrackTable.Selected) -> None:
        self.post_message(ShowSimilar([event.track]))

    # ---- actions -------------------------------------------------------------------------------------
    def action_cycle_sort(self) -> None:
        keys = [c.key for c in COLUMNS]
        self.table.set_query(sort=keys[(keys.index(self.table.sort) + 1) % len(keys)], descending=False)
        self._status()

    def action_reverse_sort(self) -> None:
        self.table.set_query(descending=not self.table.descending)
        self._status()

    def action_listen(self) -> None:
        track = self.table.current
        if track is not None:
            self.post_message(PlayRequested([track]))

    def action_delete(self) -> None:
        track = self.table.current
        if track is None:
            return
        question = markup("Delete “$title” by $artist from the library?", title=ellipsize(track.title, 60),
                          artist=ellipsize(track.artist, 40))

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(partial(self._delete, track), thread=True, group="library-write",
                                exit_on_error=False)

        from ..screens import ConfirmScreen  # loaded when first asked, not before the first frame

        self.app.push_screen(ConfirmScreen(question, "Delete"), answered)

    def _delete(self, track: Track) -> None:
        try:
            gone = self.session.delete_track(track)
        except MusicrecError as exc:
            self.app.call_from_thread(self.app.notify, clean(exc.one_line()), title="Delete", severity="error",
                                      markup=False)
            return
        if gone:
            self.app.call_from_thread(self.app.notify, f"Deleted “{ellipsize(track.title, 60)}”.", title="Library",
                                      markup=False)
        self.post_message(LibraryChanged())

    def action_reanalyse(self) -> None:
        """r: queue the track for analysis, unless its vector is current (checked first, in a worker): then
        nothing is queued and the notification says why."""
        track = self.table.current
        if track is None:
            return
        if not track.ingestible:
            self.app.notify("No audio to re-analyse for this track.", severity="warning")
            return
        self.run_worker(partial(self._reanalyse, track), thread=True, group="library-reanalyse",
                        exit_on_error=False)

    def _reanalyse(self, track: Track) -> None:
        title = ellipsize(track.title, 60)
        try:
            vector = self.session.current_vector(track)
        except MusicrecError as exc:
            self.app.call_from_thread(self.app.notify, exc.one_line(), title="Re-analyse", severity="error")
            return
        if vector is not None:
            self.app.call_from_thread(
                self.app.notify, f"“{title}” is already analysed by the current extractor ({vector.extractor} "
                f"v{vector.version}): re-analysing would change nothing, so nothing was queued.",
                title="Re-analyse", severity="warning")
            return
        self.post_message(IngestRequested([track]))
        self.app.call_from_thread(self.app.notify, f"“{title}” queued for analysis — see 4 Ingest.",
                                  title="Re-analyse")
