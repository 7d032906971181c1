"""An input that never traps the person typing in it: the footer says how out (Escape), `?` opens the help
while the field is empty (there is nothing to type a `?` into yet), and ctrl+q quits from inside it
(the app's `app.quit_field` binding, shown while a field has focus).

While any input has focus, the app hides the footer entries of its one-letter keys (they type into the field
instead), so every key the footer shows is one that works.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FieldInput(Input):
    """The search box and the library filter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Leave input", id="input.leave"),
        Binding("question_mark", "help_or_type", "Help", priority=True, id="input.help"),
    ]

    class Leave(Message):
        """Escape: the pane moves the focus out of the field (to its table, or nowhere)."""

        def __init__(self, field: FieldInput) -> None:
            super().__init__()
            self.field = field

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "help_or_type" and self.value:
            return None  # typed text: `?` is a character (the footer greys the hint out)
        return True

    def action_leave(self) -> None:
        self.post_message(self.Leave(self))

    def action_help_or_type(self) -> None:
        # with text in the field, check_action lets `?` type; empty, it opens the app's help
        self.app.action_help()  # type: ignore[attr-defined]

    def watch_value(self, value: str) -> None:
        self.refresh_bindings()  # the footer's `?` hint follows whether the field is empty
