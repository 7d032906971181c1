"""A virtual table over the whole library: rows are fetched page by page from the store, in thread workers,
and kept in a small LRU cache; only the visible lines are ever rendered (line API, like toolong's LogLines).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...core.errors import MusicrecError
from ...core.models import Track
from ...store.protocol import Library
from ...textfmt import fit, mmss
from .columns import Col, share

PAGE_SIZE = 200
MAX_PAGES = 64  # 12,800 rows cached at most


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # a store sort field
    label: str
    width: int  # 0: shares the space left
    weight: float = 0.0


COLUMNS: tuple[Column, ...] = (
    Column("id", "#", 7),
    Column("title", "Title", 0, 0.4),
    Column("artist", "Artist", 0, 0.3),
    Column("album", "Album", 0, 0.3),
    Column("genre", "Genre", 14),
    Column("duration_ms", "Len", 5),
)

LAYOUT = (
    Col("id", "#", 5, 7, priority=1),
    Col("title", "Title", 10, weight=0.4),
    Col("artist", "Artist", 10, weight=0.3),
    Col("album", "Album", 10, weight=0.3),
    Col("genre", "Genre", 8, 14, priority=2),
    Col("duration_ms", "Len", 5, 5),
)


def cell(track: Track, key: str) -> str:
    if key == "id":
        return str(track.id)
    if key == "duration_ms":
        return mmss(track.duration_ms)
    return str(getattr(track, key) or "")


class TrackTable(ScrollView, can_focus=True):
    """The library as a table, however big. Set `library` then call `set_query`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor(1)", "Down", show=False, id="list.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="list.up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="list.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="list.page_up"),
        Binding("home,g", "jump(0)", "Top", show=False, id="list.top"),
        Binding("end,G", "jump(-1)", "Bottom", show=False, id="list.bottom"),
        Binding("enter", "select", "Similar", show=False, tooltip="Similar songs", id="library.select"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "track-table--header", "track-table--cursor", "track-table--odd", "track-table--loading",
    }
    DEFAULT_CSS = """
    TrackTable { height: 1fr; background: $surface; }
    TrackTable > .track-table--header { text-style: bold; background: $panel; color: $text; }
    TrackTable > .track-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    TrackTable:blur > .track-table--cursor { background: $block-cursor-blurred-background; }
    TrackTable > .track-table--odd { background: $surface-lighten-1; }
    TrackTable > .track-table--loading { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        def __init__(self, table: TrackTable, track: Track | None) -> None:
            super().__init__()
            self.table = table
            self.track = track

    class Selected(Message):
        def __init__(self, table: TrackTable, track: Track) -> None:
            super().__init__()
            self.table = table
            self.track = track

    class Counted(Message):
        """The row count for the current query is known (or failed with `error`)."""

        def __init__(self, table: TrackTable, total: int, error: str | None = None) -> None:
            super().__init__()
            self.table = table
            self.total = total
            self.error = error

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.library: Library | None = None
        self.search = ""
        self.sort = "id"
        self.descending = False
        self.total = 0
        self._generation = 0
        self._pages: OrderedDict[int, list[Track]] = OrderedDict()
        self._stale: OrderedDict[int, list[Track]] = OrderedDict()  # the previous pages, shown while reloading
        self._keep_id: int | None = None  # the track the cursor was on before a reload
        self._pending: set[int] = set()
        self.page_loads = 0  # how many pages came from the store (tests and benchmarks read it)
        self._texts: OrderedDict[tuple[int, int], str] = OrderedDict()  # (row, width) -> laid-out line

    # ---- query ---------------------------------------------------------------------------------------
    def set_query(self, search: str | None = None, sort: str | None = None, descending: bool | None = None,
                  keep_cursor: bool = False) -> None:
        """Change filter/sort (None keeps it), drop the cache and count again in a worker."""
        self.search = self.search if search is None else search.strip()
        self.sort = sort or self.sort
        self.descending = self.descending if descending is None else descending
        self._generation += 1
        # A reload (same query) keeps showing the old rows until the fresh pages arrive: no flicker while an
        # ingest adds tracks. A new filter or sort starts clean.
        # A reload keeps the cursor on the same track, wherever the changes moved it (see _page_loaded).
        current = self.current if keep_cursor else None
        self._keep_id = current.id if current is not None else None
        self._stale = self._pages if keep_cursor else OrderedDict()
        self._pages = OrderedDict()
        self._pending.clear()
        self._texts.clear()
        if not keep_cursor:
            self.cursor = 0
            self.scroll_to(y=0, animate=False)
        if self.library is None:
            return
        self.run_worker(partial(self._count, self._generation, self.search), thread=True, group="library-count",
                        exclusive=True, exit_on_error=False)

    def reload(self) -> None:
        """Re-read everything (after a delete or an ingest), keeping the cursor where it is."""
        self.set_query(keep_cursor=True)

    def _count(self, generation: int, search: str) -> None:
        library = self.library
        if library is None:
            return
        try:
            total = library.count_tracks(search or None)
            error = None
        except MusicrecError as exc:
            total, error = 0, exc.one_line()
        self.app.call_from_thread(self._counted, generation, total, error)

    def _counted(self, generation: int, total: int, error: str | None) -> None:
        if generation != self._generation:
            return
        self.total = total
        self.virtual_size = Size(self.size.width, total + 1)
        if self.cursor >= total:
            self.cursor = max(0, total - 1)
        self.refresh()
        self.post_message(self.Counted(self, total, error))
        self._announce()

    def _request(self, page: int) -> None:
        if page in self._pending or self.library is None:
            return
        self._pending.add(page)
        self.run_worker(partial(self._load_page, self._generation, page, self.search, self.sort, self.descending),
                        thread=True, group="library-pages", exit_on_error=False)

    def _load_page(self, generation: int, page: int, search: str, sort: str, descending: bool) -> None:
        library = self.library
        if library is None:
            return
        try:
            rows = library.list_tracks(search or None, sort, descending, limit=PAGE_SIZE,
                                            offset=page * PAGE_SIZE)
        except MusicrecError as exc:
            self.app.call_from_thread(self.notify, exc.one_line(), title="Library", severity="error")
            rows = []
        self.app.call_from_thread(self._page_loaded, generation, page, rows)

    def _page_loaded(self, generation: int, page: int, rows: list[Track]) -> None:
        if generation != self._generation:
            return
        self._pending.discard(page)
        self.page_loads += 1
        self._pages[page] = rows
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        self.refresh()
        if self._keep_id is not None and self._follow_kept():
            return
        if page == self.cursor // PAGE_SIZE:
            self._announce()

    def _follow_kept(self) -> bool:
        """After a reload: move the cursor to where the track it was on now is (rows added or removed before
        it shift it). True when the cursor moved. Looks in the pages read so far, around the cursor."""
        page = self.cursor // PAGE_SIZE
        for near in (page, page - 1, page + 1):
            rows = self._pages.get(near)
            if rows is None:
                if near == page:
                    return False  # the cursor's own page is not read yet: wait for it
                continue
            for offset, track in enumerate(rows):
                if track.id == self._keep_id:
                    self._keep_id = None
                    index = near * PAGE_SIZE + offset
                    if index != self.cursor:
                        self.cursor = index
                        return True
                    return False
        if all(p in self._pages for p in (page - 1, page + 1) if 0 <= p * PAGE_SIZE < self.total):
            self._keep_id = None  # gone (deleted) or far away: the cursor stays at its index
        return False

    def row(self, index: int) -> Track | None:
        """The track at `index` if its page is cached (a miss asks for the page)."""
        if not 0 <= index < self.total:
            return None
        page, offset = divmod(index, PAGE_SIZE)
        rows = self._pages.get(page)
        if rows is None:
            self._request(page)
            rows = self._stale.get(page)
            return rows[offset] if rows is not None and offset < len(rows) else None
        self._pages.move_to_end(page)
        return rows[offset] if offset < len(rows) else None

    @property
    def current(self) -> Track | None:
        return self.row(self.cursor)

    # ---- rendering -----------------------------------------------------------------------------------
    def _widths(self, width: int) -> list[int]:
        """Per column (0: dropped for room): title, artist, album and length always; # and genre when they fit;
        the text columns take what is left (tui/widgets/columns.py)."""
        got = share(LAYOUT, width + 2)  # `share` counts a gap after every column, the line has one fewer
        return [got.get(c.key, 0) for c in COLUMNS]

    def _line(self, values: list[str], width: int) -> str:
        text = "  ".join(fit(v, w) for v, w in zip(values, self._widths(width), strict=True) if w > 0)
        return fit(text, width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            labels = []
            for col in COLUMNS:
                mark = (" ▼" if self.descending else " ▲") if col.key == self.sort else ""
                labels.append(col.label + mark)
            style = self.get_component_rich_style("track-table--header")
            return Strip([Segment(self._line(labels, width), style)], width)
        index = self.scroll_offset.y + y - 1
        if index >= self.total:
            return Strip.blank(width, self.rich_style)
        track = self.row(index)
        if track is None:
            style = self.get_component_rich_style("track-table--loading")
            return Strip([Segment(fit("  …", width), style)], width)
        base = self.rich_style
        if index == self.cursor:
            style = base + self.get_component_rich_style("track-table--cursor")
        elif index % 2:
            style = base + self.get_component_rich_style("track-table--odd")
        else:
            style = base
        key = (index, width)
        text = self._texts.get(key) if (index // PAGE_SIZE) in self._pages else None
        if text is None:
            text = self._line([cell(track, c.key) for c in COLUMNS], width)
            self._texts[key] = text
            if len(self._texts) > 4 * PAGE_SIZE:
                self._texts.popitem(last=False)
        return Strip([Segment(text, style)], width)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.total + 1)

    # ---- cursor --------------------------------------------------------------------------------------
    @property
    def _visible_rows(self) -> int:
        return max(1, self.size.height - 1)

    def watch_cursor(self, old: int, new: int) -> None:
        top = self.scroll_offset.y
        if new < top:
            self.scroll_to(y=new, animate=False)
            self.refresh()
        elif new >= top + self._visible_rows:
            self.scroll_to(y=new - self._visible_rows + 1, animate=False)
            self.refresh()
        else:  # only the two rows whose highlight changed
            self.refresh_lines(old - top + 1)
            self.refresh_lines(new - top + 1)
        self._announce()

    def _announce(self) -> None:
        self.post_message(self.Highlighted(self, self.current))

    def move_to(self, index: int) -> None:
        self.cursor = max(0, min(self.total - 1, index)) if self.total else 0

    def action_cursor(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * self._visible_rows)

    def action_jump(self, where: int) -> None:
        self.move_to(0 if where == 0 else self.total - 1)

    def action_select(self) -> None:
        track = self.current
        if track is not None:
            self.post_message(self.Selected(self, track))

    def sort_by(self, key: str) -> None:
        """Sort by `key`; the same key again flips the direction."""
        if key == self.sort:
            self.set_query(descending=not self.descending)
        else:
            self.set_query(sort=key, descending=False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = 0
            for col, w in zip(COLUMNS, self._widths(self.scrollable_content_region.width), strict=True):
                if w == 0:
                    continue
                if x <= offset.x < x + w + 2:
                    self.sort_by(col.key)
                    return
                x += w + 2
            return
        self.move_to(self.scroll_offset.y + offset.y - 1)
        if event.chain == 2:
            self.action_select()
