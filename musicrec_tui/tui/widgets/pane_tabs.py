"""The row of pane names under the header: one line, the pane on show highlighted, a click switches.

Textual's TabbedContent (tabs, an animated underline, a pane per tab) cost ~80 ms of CPU before the first
frame (bench_tui.py); this is one widget and one line, beside a ContentSwitcher holding the panes.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual import events
from textual.app import RenderResult
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

GAP = 2  # cells between two names


class PaneTabs(Widget):
    """`titles` maps a pane name to its label ("1 Search"); `active` is the pane on show."""

    DEFAULT_CSS = """
    PaneTabs { height: 1; width: 1fr; background: $panel; color: $text-muted; padding: 0 1; }
    """

    active: reactive[str] = reactive("")

    class Clicked(Message):
        """A pane's name was clicked."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, titles: Mapping[str, str], active: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.titles = dict(titles)
        self.set_reactive(PaneTabs.active, active)

    def render(self) -> RenderResult:
        parts: list[Content | str] = []
        for i, (name, title) in enumerate(self.titles.items()):
            if i:
                parts.append(" " * GAP)
            label = f" {title} "
            parts.append(Content.styled(label, "bold reverse $accent") if name == self.active else label)
        return Content.assemble(*parts)

    def name_at(self, x: int) -> str | None:
        """The pane whose label covers column `x` of the content."""
        start = 0
        for name, title in self.titles.items():
            end = start + len(title) + 2
            if start <= x < end:
                return name
            start = end + GAP
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        name = self.name_at(offset.x) if offset is not None else None
        if name is not None:
            self.post_message(self.Clicked(name))
