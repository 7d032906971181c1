"""Modal and full screens: confirm, choose a path, help, and the library-unreachable screen."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from ..textfmt import clean


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no, keyboard first: y / Enter confirm, n / Escape cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str | Content, verb: str = "OK") -> None:
        super().__init__()
        self.question = question
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.verb} (y)", variant="error", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PathScreen(ModalScreen[Path | None]):
    """Ask for a file path (export): Enter accepts, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="path.cancel")]

    def __init__(self, title: str | Content, default: str, hint: str | Content = "") -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="question")
            yield Input(self.default, id="path-input")
            yield Static(self.hint, classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every binding, grouped by where it applies, with the keys in force (after the keymap)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label("[b]Keys[/b]  (remap any of them in config.toml under \\[keys]: id = \"key\")")
            with VerticalScroll():
                for title, rows in self.sections:
                    table = Table(title=title, title_justify="left", title_style="bold", expand=True,
                                  show_edge=False, box=None, padding=(0, 1))
                    table.add_column("Key", style="bold cyan", width=14, no_wrap=True)
                    table.add_column("Action", ratio=1)
                    table.add_column("id", style="dim", no_wrap=True, width=24)
                    for keys, description, binding_id in rows:
                        table.add_row(Text(clean(keys)), Text(clean(description)), Text(clean(binding_id)))
                    yield Static(table, classes="help-section")
            yield Label("[dim]Escape closes · ctrl+p finds any command[/dim]")

    def action_close(self) -> None:
        self.dismiss(None)


class UnavailableScreen(Screen[None]):
    """The library could not be opened: say so plainly, offer retry and quit; never a traceback."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", id="unavailable.retry"),
        Binding("q", "app.quit", "Quit", id="unavailable.quit"),
    ]

    def __init__(self, where: str, message: str) -> None:
        super().__init__()
        self.where = where
        self.message = message

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="dialog unavailable"):
            yield Label("[b]Cannot open the library[/b]", classes="question")
            yield Static(Text.assemble(clean(self.message), "\n\nLibrary: ", clean(self.where)),
                         id="unavailable-message")
            yield Static("Check that the database server is running and the URL is right "
                         "(--db, MUSICREC_DB or [library] url in config.toml), then press [b]r[/b] to retry, "
                         "or [b]q[/b] to quit.", classes="hint")
        yield Footer()

    def action_retry(self) -> None:
        self.dismiss(None)
