"""The full-screen app (minimal until the TUI lands): shows the library it opened, or why it could not."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Static

from ..config import Settings
from ..core.errors import MusicrecError


class MusicrecApp(App[int]):
    TITLE = "musicrec"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Opening the library…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.settings.masked_db_url
        self.run_worker(self._open_library, thread=True, exit_on_error=False)

    def _open_library(self) -> None:
        from ..store import open_library

        try:
            with open_library(self.settings.db_url) as lib:
                text = f"{lib.count_tracks()} tracks in the library. Add music with `musicrec ingest TERM`."
        except MusicrecError as exc:
            text = f"Cannot open the library: {exc.one_line()}"
        self.call_from_thread(self.query_one("#status", Static).update, text)
