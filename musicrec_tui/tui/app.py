"""The full-screen app: five panes in tabs, an always-visible player bar, a footer of the keys that apply now.

Everything it talks to comes in the application layer's Services (app/factory.py builds the real one), used
through a Session (app/services.py): the use-cases the CLI also runs. Every database query, network call, decode
and analysis runs in a thread worker; results come back with call_from_thread/messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Header, Input

from ..app.services import Pipeline, Services, Session
from ..config import Settings, save_ui_state
from ..core.errors import MusicrecError
from ..core.models import Job, JobState, Track
from ..textfmt import clean
from .commands import ActionsProvider, Command, help_sections
from .messages import (
    ArtworkWanted,
    IngestFinished,
    IngestProgress,
    IngestRequested,
    IngestUpdate,
    JobsRequested,
    LibraryChanged,
    PlayRequested,
    RememberUi,
    SeedsChanged,
    ShowSimilar,
    TrackFocused,
)
from .widgets.pane_tabs import PaneTabs
from .widgets.player_bar import PlayerBar

if TYPE_CHECKING:  # numpy and playback load in workers, panes when mounted: the first frame waits for none
    from ..app.jobs import JobAction
    from ..ingest.events import IngestEvent
    from ..store.protocol import Library
    from .panes.analysis import AnalysisPane
    from .panes.discover import DiscoverPane
    from .panes.ingest import IngestPane
    from .panes.library import LibraryPane
    from .panes.search import SearchPane
    from .panes.similar import SimilarPane

PANES = ("search", "library", "similar", "ingest", "analysis", "discover")
PANE_TITLES = {"search": "1 Search", "library": "2 Library", "similar": "3 Similar", "ingest": "4 Ingest",
               "analysis": "5 Analysis", "discover": "6 Discover"}
BUILD_DELAY = 0.15  # s after the first paint: the first frame and the footer's keys drawn, then the other panes built
# app actions whose keys are printable: typed into a focused text field instead (hidden from the footer then)
TYPED_ACTIONS = frozenset({"show_pane", "find", "play_pause", "stop", "seek", "volume", "next", "previous", "help",
                           "quit_app", "discover"})
LIVE_POLL = 1.0  # s between two reads of the library's change counter (other processes' and users' changes)
RELOAD_DELAY = 0.5  # batch library reloads while an ingest finishes many tracks
ART_CELLS = 6  # artwork is ART_CELLS wide and ART_CELLS/2 lines tall (half-blocks)


class MusicrecApp(App[int]):
    TITLE = "musicrec"
    CSS_PATH = "app.tcss"
    COMMANDS: ClassVar = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_pane('search')", "Search pane", show=False, id="pane.search"),
        Binding("2", "show_pane('library')", "Library pane", show=False, id="pane.library"),
        Binding("3", "show_pane('similar')", "Similar pane", show=False, id="pane.similar"),
        Binding("4", "show_pane('ingest')", "Ingest pane", show=False, id="pane.ingest"),
        Binding("5", "show_pane('analysis')", "Analysis pane", show=False, id="pane.analysis"),
        Binding("6", "show_pane('discover')", "Discover pane", show=False, id="pane.discover"),
        Binding("D", "discover", "Discover", show=False, tooltip="Discover new songs like the highlighted one",
                id="app.discover"),
        Binding("slash", "find", "Find", tooltip="Search (1 Search) or filter (2 Library)", id="app.find"),
        Binding("space", "play_pause", "Play", tooltip="Play/pause", id="player.toggle"),
        Binding("s", "stop", "Stop", show=False, id="player.stop"),
        Binding("f", "seek(5)", "Seek +5 s", show=False, id="player.forward"),
        Binding("b", "seek(-5)", "Seek -5 s", show=False, id="player.backward"),
        Binding("plus,equals_sign", "volume(1)", "Volume up", show=False, id="player.volume_up"),
        Binding("minus", "volume(-1)", "Volume down", show=False, id="player.volume_down"),
        Binding("n", "next", "Next track", show=False, id="player.next"),
        Binding("p", "previous", "Previous track", show=False, id="player.previous"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit_app", "Quit", id="app.quit"),
        Binding("ctrl+q", "quit_field", "Quit", priority=True, id="app.quit_field"),
        # ours above shadows Textual's own ctrl+q and is off outside a text field: this one quits from every
        # other state (lists, help and the other modal screens) and is never shown
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True, id="app.quit_anywhere"),
    ]

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.session = Session(services)
        self.active_pane = settings.ui_pane if settings.ui_pane in PANES else "search"
        self._pipeline: Pipeline | None = None
        self._ingest_running = False
        self._ingest_again = False
        self._cancel = threading.Event()
        self._ui_lock = threading.Lock()
        self._reload_timer: Timer | None = None
        self._art_cache: dict[str, Text] = {}
        self.panes_ready = asyncio.Event()  # set once every pane is mounted (just after the first frame)
        self._building = asyncio.Lock()
        self._live_timer: Timer | None = None
        self._last_change: int | None = None
        self._polling = False
        self._palette_command = False

    # ---- layout --------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Only the pane on show is built before the first frame; the others are mounted right after it
        # (_mount_other_panes): building five panes and styling ~140 widgets doubled the time to the first frame,
        # and Textual's TabbedContent alone cost ~80 ms of CPU before it (PaneTabs is one line).
        yield Header()
        yield PaneTabs(PANE_TITLES, self.active_pane, id="pane-tabs")
        # the slots of the panes not on show are mounted with them
        with ContentSwitcher(initial=self.active_pane, id="panes"), Vertical(id=self.active_pane,
                                                                               classes="pane-slot"):
            yield self._make_pane(self.active_pane)
        yield PlayerBar(id="player-bar")
        yield Footer(compact=True)  # 80 columns hold more keys

    def _make_pane(self, name: str) -> Widget:
        """A pane, its module imported only now (the first frame imports only the pane it shows)."""
        if name == "search":
            from .panes.search import SearchPane

            return SearchPane(self.session, id="search-pane")
        if name == "library":
            from .panes.library import LibraryPane

            return LibraryPane(self.session, id="library-pane")
        if name == "similar":
            from .panes.similar import SimilarPane

            return SimilarPane(self.session, k=self.settings.ui_k,
                               exclude_artist=self.settings.ui_exclude_artist, id="similar-pane")
        if name == "ingest":
            from .panes.ingest import IngestPane

            return IngestPane(id="ingest-pane")
        if name == "analysis":
            from .panes.analysis import AnalysisPane

            return AnalysisPane(self.session, id="analysis-pane")
        from .panes.discover import DiscoverPane

        return DiscoverPane(self.session, self.settings, id="discover-pane")

    async def _mount_other_panes(self) -> None:
        """Just after the first frame: build the panes not on show, then open the library (which fills them).
        A pane key pressed before then builds them at once (action_show_pane)."""
        async with self._building:
            if self.panes_ready.is_set():
                return
            switcher = self.main_screen.query_one("#panes", ContentSwitcher)
            for name in PANES:
                if not switcher.is_attached or not self.is_running:
                    return  # the app is closing already
                if all(slot.id != name for slot in switcher.children):
                    slot = Vertical(self._make_pane(name), id=name, classes="pane-slot")
                    slot.display = False  # the switcher shows it when it becomes current
                    await switcher.mount(slot)
            self.panes_ready.set()
        self._open_library()

    @property
    def main_screen(self) -> Screen[object]:
        """The screen holding the panes, whichever screen (help, a dialog) is on top of it."""
        return self.screen_stack[0] if self.screen_stack else self.screen

    @property
    def search_pane(self) -> SearchPane:
        return cast("SearchPane", self.main_screen.query_one("#search-pane"))

    @property
    def library_pane(self) -> LibraryPane:
        return cast("LibraryPane", self.main_screen.query_one("#library-pane"))

    @property
    def similar_pane(self) -> SimilarPane:
        return cast("SimilarPane", self.main_screen.query_one("#similar-pane"))

    @property
    def ingest_pane(self) -> IngestPane:
        return cast("IngestPane", self.main_screen.query_one("#ingest-pane"))

    @property
    def analysis_pane(self) -> AnalysisPane:
        return cast("AnalysisPane", self.main_screen.query_one("#analysis-pane"))

    @property
    def discover_pane(self) -> DiscoverPane:
        return cast("DiscoverPane", self.main_screen.query_one("#discover-pane"))

    @property
    def player_bar(self) -> PlayerBar:
        return self.main_screen.query_one(PlayerBar)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification of this app is plain text (the rule, core/text.py): titles, reasons and server
        messages carry outside text, so markup is off by default and message and title are cleaned."""
        super().notify(clean(message), title=clean(title), severity=severity, timeout=timeout, markup=markup)

    def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))
        if self.settings.ui_theme and self.settings.ui_theme in self.available_themes:
            self.theme = self.settings.ui_theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.sub_title = clean(self.settings.masked_db_url)
        # counted from the first paint, not from mount: on a loaded machine the first frame can take longer than
        # BUILD_DELAY, and the other panes must not be built before it
        self.call_after_refresh(self.set_timer, BUILD_DELAY, self._mount_other_panes)

    # ---- the library ---------------------------------------------------------------------------------
    def _open_library(self) -> None:
        self.run_worker(self._open_library_worker, thread=True, group="open-library", exclusive=True,
                        exit_on_error=False)

    def _open_library_worker(self) -> None:
        try:
            lib = self.session.open()
            self._last_change = lib.change_counter()
            total = lib.count_tracks()
            jobs = lib.list_jobs()
        except MusicrecError as exc:
            self.call_from_thread(self._library_failed, exc.one_line())
        else:
            self.call_from_thread(self._library_ready, lib, total, jobs)
        if self.player_bar.player is None:
            player = self.session.player  # a lazily built player probes its device here, off the UI thread
            _ = player.available
            self.call_from_thread(self.player_bar.attach, player)

    def _library_failed(self, message: str) -> None:
        from .screens import UnavailableScreen  # screens (rich tables, buttons) load when first shown

        self.push_screen(UnavailableScreen(self.settings.masked_db_url, message), lambda _: self._open_library())

    def _library_ready(self, lib: Library, total: int, jobs: list[Job]) -> None:
        if self._live_timer is None:
            self._live_timer = self.set_interval(LIVE_POLL, self._poll_changes)
        self.library_pane.attach(lib)
        self.ingest_pane.load_jobs(jobs)
        if total == 0:
            self.search_pane.show_welcome(True)
            if self.active_pane != "search":
                self.action_pane("search")
            else:
                self.search_pane.focus_input()
        else:
            self.search_pane.show_welcome(False)
            # Similar and Analysis need a seed, which is not remembered: reopen those on the Library.
            saved = self.settings.ui_pane
            self.action_pane(saved if saved in ("search", "library", "ingest") else "library")
        queued = sum(1 for job in jobs if job.state is JobState.QUEUED)
        if queued:
            self.notify(f"Resuming {queued} queued ingest job(s).", title="Ingest")
            self._ensure_ingest_running()

    def on_unmount(self) -> None:
        self._cancel.set()
        with contextlib.suppress(MusicrecError):
            self.session.player.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a text field has focus, the one-key bindings type into it: hide them from the footer (which
        then shows the field's own keys: Escape leaves, `?` helps, ctrl+q quits). Palette commands still run."""
        in_field = isinstance(self.focused, Input)
        if action == "quit_field":
            return in_field  # elsewhere app.quit_anywhere (ctrl+q, not shown) quits
        return not (action in TYPED_ACTIONS and not self._palette_command and in_field)

    async def action_quit_field(self) -> None:
        """ctrl+q, shown while a text field has focus (elsewhere q is shown; ctrl+q quits everywhere)."""
        await self.action_quit()

    async def action_quit_app(self) -> None:
        """q (ctrl+q, Textual's own, quits from anywhere, a text field included)."""
        await self.action_quit()

    # ---- panes ---------------------------------------------------------------------------------------
    async def action_show_pane(self, name: str) -> None:
        """A pane key: builds the panes first when pressed within the first instant."""
        if not self.panes_ready.is_set():
            await self._mount_other_panes()
        self.action_pane(name)

    def action_pane(self, name: str) -> None:
        if name not in PANES:
            return
        self.main_screen.query_one("#panes", ContentSwitcher).current = name
        self.main_screen.query_one(PaneTabs).active = name
        self._pane_shown(name)

    @on(PaneTabs.Clicked)
    async def _tab_clicked(self, event: PaneTabs.Clicked) -> None:
        await self.action_show_pane(event.name)

    def _pane_shown(self, name: str) -> None:
        changed = name != self.active_pane
        self.active_pane = name
        if name == "library" and self._reload_timer is not None:
            # a batched reload is pending (an ingest just finished tracks): show the fresh rows now, not 0.5 s late
            self._reload_timer.stop()
            self._reload_timer = None
            self.library_pane.table.reload()
        self._focus_pane(name)
        if name == "analysis":
            self.call_after_refresh(self.analysis_pane.analyse)  # once laid out: its width is known
        if changed:
            self.remember_ui(pane=name)

    def _focus_pane(self, name: str) -> None:
        targets = {"search": "#search-results", "library": "#library-table", "similar": "#similar-table",
                   "ingest": "#ingest-table", "analysis": "#analysis-pane", "discover": "#discover-table"}
        if name == "search" and not self.search_pane.results:
            self.search_pane.focus_input()
            return
        found = self.main_screen.query(targets[name])
        if found and found.first().display:
            found.first().focus()
        else:
            self.set_focus(None)

    async def action_find(self) -> None:
        if not self.panes_ready.is_set():
            await self._mount_other_panes()
        if self.active_pane == "library":
            self.library_pane.focus_filter()
        else:
            self.action_pane("search")
            self.search_pane.focus_input()

    async def action_discover(self) -> None:
        """Discover new songs around the marked tracks of the Similar pane, else the highlighted library track."""
        if not self.panes_ready.is_set():
            await self._mount_other_panes()
        seeds: list[Track] = []
        if self.active_pane == "similar":
            marked = self.similar_pane.marked
            seeds = [s.track for s in self.similar_pane.items if int(s.track.id or 0) in marked]
            if not seeds:
                item = self.similar_pane.current()
                seeds = [item.track] if item is not None else []
        elif self.active_pane == "discover":
            seeds = list(self.discover_pane.seeds)
        else:
            track = self.library_pane.table.current
            seeds = [track] if track is not None else []
        seeds = [t for t in seeds if t.id is not None]
        if not seeds:
            self.notify("Highlight a library track (2 Library or 3 Similar), or mark some in 3 Similar, then "
                        "press D.", title="Discover", severity="warning")
            return
        self.action_pane("discover")
        self.discover_pane.start(seeds)

    def action_help(self) -> None:
        from .screens import HelpScreen

        self.push_screen(HelpScreen(help_sections(self)))

    async def run_command(self, cmd: Command) -> None:
        """Run a palette command: app-level actions here, pane actions on their pane (shown first)."""
        if cmd.pane is None:
            self._palette_command = True
            try:
                await self.run_action(cmd.binding.action)
            finally:
                self._palette_command = False
            return
        self.action_pane(cmd.pane)
        pane = self.main_screen.query_one(f"#{cmd.pane}-pane")
        if cmd.binding.id == "library.select":
            await self.run_action(cmd.binding.action, self.library_pane.table)
        else:
            await self.run_action(cmd.binding.action, pane)

    # ---- UI state ------------------------------------------------------------------------------------
    @on(RememberUi)
    def _remember_ui(self, message: RememberUi) -> None:
        self.remember_ui(**message.values)

    def remember_ui(self, **values: object) -> None:
        """Persist pane/theme/k/exclude_artist to the config dir (in a worker: it writes a file)."""
        self.run_worker(partial(self._save_ui, values), thread=True, group="ui-state", exit_on_error=False)

    def _save_ui(self, values: dict[str, object]) -> None:
        try:
            with self._ui_lock:  # read-modify-write of one small file: one writer at a time
                save_ui_state(self.settings, **values)
        except MusicrecError as exc:
            self.call_from_thread(self.notify, exc.one_line(), title="Settings", severity="warning")

    def _theme_changed(self, theme: Theme) -> None:
        self.remember_ui(theme=theme.name)

    # ---- messages from panes -------------------------------------------------------------------------
    def _alive(self) -> bool:
        """False while the app is closing and its panes are gone (late worker messages are then dropped)."""
        return (self.is_running and self.panes_ready.is_set() and bool(self.screen_stack)
                and bool(self.main_screen.query("#panes")))

    @on(ShowSimilar)
    def _show_similar(self, message: ShowSimilar) -> None:
        if not self._alive():
            return
        self.action_pane("similar")
        self.similar_pane.show(message.seeds)

    @on(TrackFocused)
    def _track_focused(self, message: TrackFocused) -> None:
        if not self._alive():
            return
        self.analysis_pane.follow(message.track)

    @on(SeedsChanged)
    def _seeds_changed(self, message: SeedsChanged) -> None:
        if self._alive():
            self.analysis_pane.compare_with(message.seeds)

    @on(LibraryChanged)
    def _library_changed(self, message: LibraryChanged) -> None:
        if not self._alive():
            return
        self._schedule_reload()

    # ---- a live library: changes by other processes and users ----------------------------------------
    def _poll_changes(self) -> None:
        """Every LIVE_POLL s: read the store's change counter (one row) in a worker; a change reloads the
        library's visible rows (not the whole table), the cursor staying on its track."""
        if self._polling or not self.session.is_open:
            return
        self._polling = True
        self.run_worker(self._changes_worker, thread=True, group="live", exit_on_error=False)

    def _changes_worker(self) -> None:
        try:
            counter: int | None = self.session.library.change_counter()
        except MusicrecError:
            counter = None  # unreachable for a moment: try again on the next tick
        self.call_from_thread(self._changes_seen, counter)

    def _changes_seen(self, counter: int | None) -> None:
        self._polling = False
        if counter is None or counter == self._last_change:
            return
        changed = self._last_change is not None
        self._last_change = counter
        if changed and self._alive():
            self.library_pane.table.reload()

    def _schedule_reload(self) -> None:
        if self._reload_timer is not None:
            return

        def reload() -> None:
            self._reload_timer = None
            if self._alive():
                self.library_pane.table.reload()

        self._reload_timer = self.set_timer(RELOAD_DELAY, reload)

    # ---- ingest --------------------------------------------------------------------------------------
    @on(IngestRequested)
    def _ingest_requested(self, message: IngestRequested) -> None:
        self.start_ingest(message.tracks)

    def start_ingest(self, tracks: list[Track]) -> None:
        if not self.session.is_open:
            self.notify("The library is not open yet.", severity="warning")
            return
        self._cancel.clear()
        self.run_worker(partial(self._enqueue_worker, tracks), thread=True, group="ingest-enqueue",
                        exit_on_error=False)

    def _pipeline_for_run(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = self.session.make_pipeline(self._pipeline_event)
        return self._pipeline

    def _pipeline_event(self, event: IngestEvent) -> None:
        """Called on pipeline threads: hand the event to the UI thread without waiting."""
        self.post_message(IngestProgress(IngestUpdate.of(event)))

    def _enqueue_worker(self, tracks: list[Track]) -> None:
        try:
            self._pipeline_for_run().enqueue(tracks)
            jobs = self.session.jobs()
        except MusicrecError as exc:
            self.call_from_thread(self.notify, exc.one_line(), title="Ingest", severity="error")
            return
        self.call_from_thread(self.ingest_pane.load_jobs, jobs)
        if any(job.state is JobState.QUEUED for job in jobs):
            self.call_from_thread(self._ensure_ingest_running)

    def _ensure_ingest_running(self) -> None:
        if self._ingest_running:
            self._ingest_again = True
            return
        self._ingest_running = True
        self._ingest_again = False
        self.ingest_pane.set_running(True)
        self.run_worker(self._run_worker, thread=True, group="ingest-run", exit_on_error=False)

    def _run_worker(self) -> None:
        error = None
        try:
            pipeline = self._pipeline_for_run()
            while not self._cancel.is_set():
                pipeline.run(self._cancel)
                if self.session.library.job_counts().get(JobState.QUEUED, 0) == 0:
                    break
        except MusicrecError as exc:
            error = exc.one_line()
        finally:  # always tell the UI, even when the worker dies of something unexpected (it then reports)
            self.post_message(IngestFinished(error))

    @on(IngestProgress)
    def _ingest_progress(self, message: IngestProgress) -> None:
        if not self._alive():
            return
        from ..ingest.events import EventKind  # loaded by now: the pipeline sent the event

        update = message.update
        self.ingest_pane.apply(update)
        if update.kind is EventKind.ALREADY and update.track is not None:
            self.notify(f"“{clean(update.track.title)}” is already in the library, analysed.", title="Ingest",
                        timeout=3)
            self.search_pane.mark_ingested(update.track)
        elif update.kind is EventKind.ERROR and update.error:
            self.notify(update.error, title="Ingest stopped", severity="error")
        if update.state is JobState.DONE:
            if update.track is not None:
                self.search_pane.mark_ingested(update.track)
            self.search_pane.show_welcome(False)
            self._schedule_reload()

    @on(IngestFinished)
    def _ingest_finished(self, message: IngestFinished) -> None:
        self._ingest_running = False
        if not self._alive():
            return
        self.ingest_pane.set_running(False)
        if message.error:
            self.notify(message.error, title="Ingest stopped", severity="error")
        self._schedule_reload()
        self._refresh_jobs()
        if self._ingest_again and not self._cancel.is_set():
            self._ensure_ingest_running()

    def _refresh_jobs(self) -> None:
        self.run_worker(self._jobs_worker, thread=True, group="jobs", exclusive=True, exit_on_error=False)

    def _jobs_worker(self, action: JobAction | None = None) -> None:
        from ..app.jobs import JobAction

        try:
            if action is None:
                jobs = self.session.jobs()
            else:
                outcome = self.session.control_jobs(action)
                jobs = outcome.jobs
                if action is not JobAction.CLEAR:
                    self.call_from_thread(self.notify, outcome.message, title="Ingest")
        except MusicrecError as exc:
            self.call_from_thread(self.notify, exc.one_line(), title="Ingest", severity="error")
            return
        self.call_from_thread(self.ingest_pane.load_jobs, jobs)
        if action is JobAction.RETRY and any(job.state is JobState.QUEUED for job in jobs):
            self.call_from_thread(self._ensure_ingest_running)

    @on(JobsRequested)
    def _jobs_requested(self, message: JobsRequested) -> None:
        self.control_jobs(message.action)

    def control_jobs(self, action: JobAction) -> None:
        """Retry failed jobs, cancel queued ones (stopping the run) or clear finished ones, in a worker."""
        if not self.session.is_open:
            self.notify("The library is not open yet.", severity="warning")
            return
        from ..app.jobs import JobAction

        if action is JobAction.RETRY:
            self._cancel.clear()
        elif action is JobAction.CANCEL:
            self._cancel.set()
        self.run_worker(partial(self._jobs_worker, action), thread=True, group="jobs", exit_on_error=False)

    # ---- playback ------------------------------------------------------------------------------------
    @on(PlayRequested)
    def _play_requested(self, message: PlayRequested) -> None:
        self.play(message.tracks, message.start)

    def play(self, tracks: list[Track], start: int = 0) -> None:
        if not self.session.player.available:
            return  # the player bar already says why, once; no nagging on every key
        self.notify(f"Loading “{clean(tracks[start].title)}”…", title="Playback", timeout=2)
        self.run_worker(partial(self._play_worker, tracks, start), thread=True, group="player", exclusive=True,
                        exit_on_error=False)

    def _play_worker(self, tracks: list[Track], start: int) -> None:
        """Resolve the tracks' audio (local files, cached or downloaded previews) and hand the player its queue."""
        queue = self.session.play(tracks, start)
        if queue.failures:
            self.call_from_thread(self.notify, "; ".join(queue.failures[:3]), title="Cannot play", severity="error")

    def _current_selection(self) -> list[Track]:
        if not self.panes_ready.is_set():
            return []
        if self.active_pane == "search":
            track = self.search_pane.current()
        elif self.active_pane == "similar":
            item = self.similar_pane.current()
            track = item.track if item else None
        else:
            track = self.library_pane.table.current
        return [track] if track is not None else []

    def action_play_pause(self) -> None:
        from ..playback.base import PlayerState  # loaded by now (the player is built in the first worker)

        if self.player_bar.player is None:
            return  # still being built, off the UI thread
        player = self.session.player
        state = player.state
        if state is PlayerState.OFF:
            return
        if state in (PlayerState.IDLE, PlayerState.ENDED, PlayerState.ERROR):
            chosen = self._current_selection()
            if chosen:
                self.play(chosen)
            return
        player.toggle()
        self.player_bar.poll()

    def action_stop(self) -> None:
        from ..playback.base import PlayerState

        if self.player_bar.player is None:
            return
        player = self.session.player
        if player.state in (PlayerState.IDLE, PlayerState.ENDED, PlayerState.OFF):
            self.notify("Nothing is playing.", title="Playback", timeout=2)  # stop must not bring back the last
            return
        player.stop()
        self.player_bar.poll()

    def action_seek(self, seconds: float) -> None:
        self.session.player.seek(float(seconds), relative=True)
        self.player_bar.poll()

    def action_volume(self, direction: int) -> None:
        if self.player_bar.player is None:
            return  # still being built, off the UI thread
        player = self.session.player
        before = player.volume
        if direction > 0:
            player.volume_up()
        else:
            player.volume_down()
        if player.volume == before:
            self.notify(f"Volume is at its {'maximum' if direction > 0 else 'minimum'} ({round(before * 100)} %).",
                        title="Playback", timeout=2)
        self.player_bar.poll()

    def action_next(self) -> None:
        self.run_worker(partial(self._step_worker, 1), thread=True, group="player", exclusive=True,
                        exit_on_error=False)

    def action_previous(self) -> None:
        self.run_worker(partial(self._step_worker, -1), thread=True, group="player", exclusive=True,
                        exit_on_error=False)

    def _step_worker(self, step: int) -> None:
        """n / p: the next or previous track of the list playing; when there is none, say so."""
        player = self.session.player
        snap = player.snapshot()
        moved = player.next() if step > 0 else player.previous()
        if moved:
            self.call_from_thread(self.player_bar.poll)
            if step < 0 and snap.index == 0:  # the player restarts the first track: say so, it may not show
                self.call_from_thread(self.notify, f"“{clean(snap.title)}” is the first of the list: from its "
                                      "start again.", title="Playback", timeout=3)
            return
        if snap.index < 0 or snap.queue_length == 0:
            why = "Nothing is playing: l listens to a song, P (3 Similar) plays a whole list."
        elif step > 0:
            why = f"“{clean(snap.title)}” is the last of the list ({snap.queue_length})."
        else:
            why = "Nothing before this track."
        self.call_from_thread(self.notify, why, title="Playback", timeout=3)

    # ---- artwork -------------------------------------------------------------------------------------
    @on(ArtworkWanted)
    def _artwork_wanted(self, message: ArtworkWanted) -> None:
        self.request_artwork(message.track)

    def request_artwork(self, track: Track | None) -> None:
        if track is None or not track.artwork_url or self.services.download is None:
            self.player_bar.show_artwork(None)
            return
        key = f"{track.source}-{track.external_id}"
        if key in self._art_cache:
            self.player_bar.show_artwork(self._art_cache[key])
            return
        self.run_worker(partial(self._artwork_worker, track, key), thread=True, group="artwork", exclusive=True,
                        exit_on_error=False)

    def _artwork_worker(self, track: Track, key: str) -> None:
        from .artwork import artwork_text

        try:
            art = artwork_text(track, self.services.download, self.services.artwork_dir, ART_CELLS, key)
        except (MusicrecError, OSError):
            art = None
        if art is not None:
            self._art_cache[key] = art
        self.call_from_thread(self.player_bar.show_artwork, art)
