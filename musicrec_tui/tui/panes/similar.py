"""Similar pane: the ranked neighbours of a seed (or of several marked tracks: a radio)."""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import DataTable, Static

from ...app.services import Session
from ...core.errors import MusicrecError
from ...core.models import Neighbour, Track
from ...textfmt import clean, ellipsize
from ..messages import PlayRequested, RememberUi, SeedsChanged, TrackFocused
from ..screens import PathScreen
from ..text import markup, plain_cut
from ..widgets.columns import Col, share
from ..widgets.lists import KeyTable

if TYPE_CHECKING:
    from ...app.recommend import Recommendation

K_STEP = 5
BAR = 10


def songs(n: int) -> str:
    return "1 song" if n == 1 else f"{n} songs"


def score_bar(score: float, width: int = BAR) -> str:
    """A score in [0, 1] as a bar of eighths, then the number."""
    value = min(1.0, max(0.0, float(score)))
    eighths = round(value * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + ("" if part == 0 else " ▏▎▍▌▋▊▉"[part])
    return f"{bar:<{width}} {value:.3f}"


# rank, score, title, artist and why at any width; the score bar shrinks from 10 to 5 cells first
SIMILAR_COLUMNS = (
    Col("mark", "", 1, 1),
    Col("rank", "#", 3, 3),
    Col("score", "Score", 11, 16),
    Col("title", "Title", 12, weight=0.35),
    Col("artist", "Artist", 10, weight=0.25),
    Col("why", "Why", 14, weight=0.4),
)


class SimilarPane(Vertical):
    """A header naming the seed and the options, the ranked table, and a status line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "listen", "Listen", id="similar.listen"),
        Binding("P", "play_all", "Play all", tooltip="Play the whole list", id="similar.play_all"),
        Binding("m", "mark", "Mark", show=False, tooltip="Mark a seed for a radio", id="similar.mark"),
        Binding("R", "radio", "Radio", id="similar.radio"),
        Binding("e", "toggle_exclude", "Excl. artist", show=False, tooltip="Exclude the seeds' artists",
                id="similar.exclude_artist"),
        Binding("right_square_bracket", "k(1)", "k+", show=False, tooltip="One more similar song (k)",
                id="similar.k_up"),
        Binding("left_square_bracket", "k(-1)", "k-", show=False, tooltip="One fewer similar song (k)",
                id="similar.k_down"),
        Binding("x", "export", "Export", id="similar.export"),
        Binding("backspace", "back", "Back", show=False, tooltip="Back to the previous list", id="similar.back"),
    ]

    def __init__(self, session: Session, k: int = 10, exclude_artist: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.k = k
        self.exclude_artist = exclude_artist
        self.seeds: list[Track] = []
        self.recommendation: Recommendation | None = None
        self.items: list[Neighbour] = []
        self.marked: set[int] = set()
        self._laid_out_for = -1
        self.history: list[list[Track]] = []

    def compose(self) -> ComposeResult:
        yield Static("Pick a track in [b]2 Library[/b] and press [b]Enter[/b] to see songs that sound like it.",
                     id="similar-header")
        yield KeyTable(id="similar-table")
        yield Static("", id="similar-status", classes="status")

    def _header(self) -> None:
        if not self.seeds:
            return
        if len(self.seeds) == 1:
            seed = self.seeds[0]
            who, names = "[b]$title[/b] — $artist", {"title": ellipsize(seed.title, 80),
                                                     "artist": ellipsize(seed.artist, 60)}
        else:
            who = f"[b]radio[/b] from {len(self.seeds)} tracks: $titles"
            names = {"titles": ", ".join(ellipsize(t.title, 40) for t in self.seeds[:3])}
        same = "hidden" if self.exclude_artist else "shown"
        self.query_one("#similar-header", Static).update(
            markup(f"Similar to {who}   [dim]k = {self.k} · same artist {same}[/dim]", **names))

    # ---- loading -------------------------------------------------------------------------------------
    def show(self, seeds: list[Track], remember: bool = True) -> None:
        """Rank the neighbours of `seeds` in a worker."""
        if remember and self.seeds and [t.id for t in seeds] != [t.id for t in self.seeds]:
            self.history.append(self.seeds)
        self.seeds = list(seeds)
        self.marked.clear()
        self._header()
        self.post_message(SeedsChanged(self.seeds))
        self.refresh_list()

    def refresh_list(self) -> None:
        if not self.seeds or not self.session.is_open:
            return
        self.query_one("#similar-status", Static).update("Ranking…")
        self.run_worker(partial(self._rank, list(self.seeds), self.k, self.exclude_artist), thread=True,
                        group="similar", exclusive=True, exit_on_error=False)

    def _rank(self, seeds: list[Track], k: int, exclude: bool) -> None:
        try:
            rec = self.session.recommend(seeds, k, exclude)
        except MusicrecError as exc:
            self.app.call_from_thread(self._failed, exc.one_line())
            return
        self.app.call_from_thread(self._show_items, rec)

    def _failed(self, message: str) -> None:
        self.items = []
        self.recommendation = None
        self.query_one("#similar-table", KeyTable).clear()
        self.query_one("#similar-status", Static).update(markup("[b red]No similar songs:[/] $message",
                                                                message=message))

    def _show_items(self, rec: Recommendation) -> None:
        if [t.id for t in rec.seeds] != [t.id for t in self.seeds]:
            return
        self.recommendation = rec
        items = self.items = list(rec.neighbours)
        self._fill()
        table = self.query_one("#similar-table", KeyTable)
        if self._shown():
            table.focus()
        if items:
            self.query_one("#similar-status", Static).update(
                f"{len(items)} similar · [b]Enter[/b] go to · [b]l[/b] listen · [b]P[/b] play all · [b]m[/b] mark, "
                f"[b]R[/b] radio · [b]e[/b] same artist · [b]\\[ ][/b] k · [b]x[/b] export")
        else:
            self.query_one("#similar-status", Static).update(
                "No neighbours yet: ingest more songs (1 Search) and they will appear here.")

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._refit)  # once the table has its new size

    def _refit(self) -> None:
        if self.query_one("#similar-table", KeyTable).size.width != self._laid_out_for:
            self._fill()

    def _fill(self) -> None:
        """(Re)build the table for its width: columns by priority (tui/widgets/columns.py), cells cut with …"""
        table = self.query_one("#similar-table", KeyTable)
        row = table.cursor_row
        self._laid_out_for = table.size.width
        widths = share(SIMILAR_COLUMNS, max(table.size.width, self.size.width) - 1)
        table.clear(columns=True)
        for col in SIMILAR_COLUMNS:
            if col.key in widths:
                table.add_column(col.label, width=widths[col.key], key=col.key)
        for i, s in enumerate(self.items):
            cells = {"mark": "●" if int(s.track.id or 0) in self.marked else "", "rank": str(s.rank),
                     "score": score_bar(s.score, widths["score"] - 6), "title": s.track.title,
                     "artist": s.track.artist,
                     "why": " · ".join(f"{g} {part:.0%}" for g, part in s.why()[:3])}
            table.add_row(*(plain_cut(cells[k], w) for k, w in widths.items()), key=str(i))
        if self.items:
            table.move_cursor(row=min(row, len(self.items) - 1))

    def _shown(self) -> bool:
        """True when this pane's tab is the one showing."""
        return all(node.display for node in self.ancestors_with_self if isinstance(node, Widget))

    def current(self) -> Neighbour | None:
        table = self.query_one("#similar-table", KeyTable)
        if not self.items:
            return None
        return self.items[min(table.cursor_row, len(self.items) - 1)]

    # ---- events and actions --------------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#similar-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        item = self.current()
        if item is not None:
            self.post_message(TrackFocused(item.track))

    @on(DataTable.RowSelected, "#similar-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        item = self.items[int(str(event.row_key.value))]
        self.show([item.track])

    def action_back(self) -> None:
        if not self.history:
            self.app.notify("This is the first list: Enter on a song walks to its own neighbours, and Backspace "
                            "then comes back here.", title="Similar", timeout=4)
            return
        self.show(self.history.pop(), remember=False)

    def action_listen(self) -> None:
        item = self.current()
        if item is not None:
            self.post_message(PlayRequested([item.track]))

    def action_play_all(self) -> None:
        if self.items:
            table = self.query_one("#similar-table", KeyTable)
            self.post_message(PlayRequested([s.track for s in self.items], start=table.cursor_row))

    def action_mark(self) -> None:
        item = self.current()
        if item is None:
            return
        tid = int(item.track.id or 0)
        self.marked.symmetric_difference_update({tid})
        self._fill()
        table = self.query_one("#similar-table", KeyTable)
        table.move_cursor(row=min(table.cursor_row + 1, len(self.items) - 1))

    def action_radio(self) -> None:
        seeds = [s.track for s in self.items if int(s.track.id or 0) in self.marked]
        if not seeds:
            self.app.notify("Mark tracks with m first; R then builds a radio from all of them.", severity="warning")
            return
        self.show(seeds)

    def action_toggle_exclude(self) -> None:
        self.exclude_artist = not self.exclude_artist
        self.post_message(RememberUi(exclude_artist=self.exclude_artist))
        self._header()
        self.refresh_list()

    def action_k(self, direction: int) -> None:
        k = K_STEP if (self.k == 1 and direction > 0) else max(1, min(200, self.k + direction * K_STEP))
        if k == self.k:
            return
        self.k = k
        self.post_message(RememberUi(k=k))
        self._header()
        self.refresh_list()

    def action_export(self) -> None:
        rec = self.recommendation
        if rec is None or not rec.neighbours:
            self.app.notify("Nothing to export yet.", severity="warning")
            return
        seed = self.seeds[0]
        name = f"musicrec-similar-{seed.id}.m3u"
        if self.app.is_web:  # served to a browser: the file downloads there, so only its name matters

            def deliver(path: Path | None) -> None:
                if path is not None:
                    self._deliver(path.name or name, rec)

            self.app.push_screen(PathScreen("Download the list as (a .json name gives JSON, anything else M3U):",
                                            name, "Enter downloads · Escape cancels"), deliver)
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.run_worker(partial(self._export, path, rec), thread=True, group="export", exit_on_error=False)

        self.app.push_screen(PathScreen("Export the list to (a .json name writes JSON, anything else M3U):",
                                        str(Path.home() / name),
                                        f"The name says whose neighbours: the seed's library id ({seed.id}). "
                                        "Enter writes · Escape cancels"), chosen)

    def _deliver(self, name: str, rec: Recommendation) -> None:
        """Hand the list to the browser as a download (App.deliver_text): the same text as a written export."""
        from ...app.export import ExportFormat, export_text

        fmt = ExportFormat.for_path(Path(name))
        kind = "application/json" if fmt is ExportFormat.JSON else "audio/x-mpegurl"
        self.app.deliver_text(io.StringIO(export_text(fmt, rec)), save_filename=name, mime_type=kind)
        self.app.notify(f"Downloading {songs(len(rec.neighbours))} as {name}", title="Export")

    def _export(self, path: Path, rec: Recommendation) -> None:
        try:
            written = self.session.export(path, rec)
        except MusicrecError as exc:
            self.app.call_from_thread(self.app.notify, clean(exc.one_line()), title="Export", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self.app.notify, f"Wrote {songs(len(rec.neighbours))} to {clean(str(written))}",
                                  title="Export", markup=False)
