"""The bindings as data: for the help screen and the command palette (every action is a palette command)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from ..core.text import clean

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from .app import MusicrecApp

KEY_NAMES = {
    "question_mark": "?", "slash": "/", "plus": "+", "minus": "-", "equals_sign": "=", "space": "space",
    "left_square_bracket": "[", "right_square_bracket": "]", "delete": "del", "backspace": "⌫",
    "escape": "esc", "enter": "enter", "pagedown": "pgdn", "pageup": "pgup",
}


@dataclass(frozen=True, slots=True)
class Command:
    """One binding as shown to a person: where it applies, its keys now, what it does, its id."""

    section: str
    pane: str | None  # the pane whose widget runs it, None for app-level
    binding: Binding

    @property
    def id(self) -> str:
        return self.binding.id or self.binding.action


def key_display(keys: str) -> str:
    return " ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def keys_for(binding: Binding, keymap: Mapping[str, str]) -> str:
    """The binding's keys after the keymap, for display."""
    raw = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return key_display(raw)


def all_commands(app: MusicrecApp) -> list[Command]:
    """Every binding of the app and its panes, in help order."""
    from .panes.analysis import AnalysisPane
    from .panes.discover import DiscoverPane
    from .panes.ingest import IngestPane
    from .panes.library import LibraryPane
    from .panes.search import SearchPane
    from .panes.similar import SimilarPane
    from .widgets.field import FieldInput
    from .widgets.lists import KeyTable
    from .widgets.track_table import TrackTable

    def bindings(cls: type[DOMNode], skip: Iterable[str] = ()) -> list[Binding]:
        return [b for b in cls.BINDINGS if isinstance(b, Binding) and b.id is not None and b.id not in skip]

    out: list[Command] = [Command("Everywhere", None, b) for b in bindings(type(app))]
    lists = bindings(KeyTable)
    seen = {b.id for b in lists if b.id}
    lists += [b for b in bindings(TrackTable, skip=seen) if b.id != "library.select"]  # page up/down too
    out += [Command("In lists", None, b) for b in lists]
    out += [Command("In a text field", None, b) for b in bindings(FieldInput)]
    out += [Command("1 Search", "search", b) for b in bindings(SearchPane)]
    library_rows = [b for b in TrackTable.BINDINGS if isinstance(b, Binding) and b.id == "library.select"]
    out += [Command("2 Library", "library", b) for b in library_rows + bindings(LibraryPane)]
    out += [Command("3 Similar", "similar", b) for b in bindings(SimilarPane)]
    out += [Command("4 Ingest", "ingest", b) for b in bindings(IngestPane)]
    out += [Command("5 Analysis", "analysis", b) for b in bindings(AnalysisPane)]
    out += [Command("6 Discover", "discover", b) for b in bindings(DiscoverPane)]
    return out


def describe(binding: Binding) -> str:
    """What a key does, in full: the footer shows the short description (80 columns hold every shown key), the
    help and the command palette the tooltip when there is one."""
    return binding.tooltip or binding.description


def help_sections(app: MusicrecApp) -> list[tuple[str, list[tuple[str, str, str]]]]:
    keymap = dict(app.settings.keymap)
    sections: dict[str, list[tuple[str, str, str]]] = {}
    for cmd in all_commands(app):
        sections.setdefault(cmd.section, []).append((keys_for(cmd.binding, keymap), describe(cmd.binding),
                                                     cmd.id))
    sections["1 Search"].insert(0, ("enter", "Search (in the input) / ingest the highlighted result", "—"))
    sections["3 Similar"].insert(0, ("enter", "Go to the highlighted song (its own neighbours)", "—"))
    sections["6 Discover"].insert(0, ("enter", "Add the highlighted song to the library (as a)", "—"))
    return list(sections.items())


class ActionsProvider(Provider):
    """Every binding of every pane as a command-palette entry (switching to the pane first)."""

    def _commands(self) -> list[tuple[str, str, Command]]:
        app: MusicrecApp = self.app  # type: ignore[assignment]
        keymap = dict(app.settings.keymap)
        out = []
        for cmd in all_commands(app):
            if cmd.section in ("In lists", "In a text field"):
                continue
            where = "" if cmd.pane is None else f"{cmd.section}: "
            keys = escape(clean(keys_for(cmd.binding, keymap)))  # keys come from config.toml: never markup
            out.append((f"{where}{describe(cmd.binding)}", f"key: {keys}", cmd))
        return out

    async def _run(self, cmd: Command) -> None:
        app: MusicrecApp = self.app  # type: ignore[assignment]
        await app.run_command(cmd)

    async def discover(self) -> Hits:
        for title, help_text, cmd in self._commands():
            yield DiscoveryHit(title, partial(self._run, cmd), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, cmd in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, cmd), help=help_text)
