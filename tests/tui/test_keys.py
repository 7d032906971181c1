"""Every key: each binding of every pane, list, field, screen and modal is pressed, over an empty and a filled
library, and must show something (the screen changes, or a notification says what happened or why not).

The bindings are enumerated from the code (tui/commands.py all_commands, plus the screens' BINDINGS), so a new
binding is pressed here without anyone listing it. And never trapped: from a text field, Escape, `?` and
ctrl+q work, and the footer names them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.widgets import Input

from musicrec_tui.tui.app import MusicrecApp
from musicrec_tui.tui.commands import Command, all_commands
from musicrec_tui.tui.screens import ConfirmScreen, HelpScreen, PathScreen, UnavailableScreen
from musicrec_tui.tui.widgets.field import FieldInput
from tests.fake_itunes import FakeItunes
from tests.tui.conftest import AppFactory, settle
from tests.tui.support import footer_keys, screen_text
from tests.tui.test_snapshots import seed

QUIT_IDS = {"app.quit", "app.quit_field", "app.quit_anywhere", "unavailable.quit"}
# pressed where their state is set up: a search waiting on throttling (test_search_states.py)
ELSEWHERE = {"search.cancel"}
FOCUS = {"search": "#search-results", "library": "#library-table", "similar": "#similar-table",
         "ingest": "#ingest-table", "analysis": "#analysis-pane", "discover": "#discover-table"}


def first_key(binding: Binding, app: MusicrecApp) -> str:
    keys = dict(app.settings.keymap).get(binding.id or "", binding.key)
    return keys.split(",")[0].strip()


async def prepare(app: MusicrecApp, pilot: Any, cmd: Command, filled: bool,
                  fake: FakeItunes | None = None) -> None:
    """Put the app where the binding applies: its pane on show, the right widget focused, a state in which
    the key has something to do (a list not at its top for "up", a search done for "listen" ...)."""
    while app.screen is not app.main_screen:
        app.pop_screen()
    await settle(app, pilot, 1)
    pane = cmd.pane or app.active_pane
    if cmd.binding.action.startswith("show_pane("):  # a pane key: start from another pane
        pane = "ingest" if "search" in cmd.binding.action else "search"
    if cmd.section == "In lists":
        pane = "similar" if filled else "search"
    if filled and pane == "similar" and not app.similar_pane.items:
        app.action_pane("library")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
    if pane == "search" and not app.search_pane.results:
        app.action_pane("search")
        app.search_pane.focus_input()
        await pilot.press(*"night", "enter")
        await settle(app, pilot)
    app.action_pane(pane)
    await settle(app, pilot, 1)
    if cmd.section == "In a text field":
        field = app.search_pane.query_one("#search-input", FieldInput)
        field.value = ""
        field.focus()
    else:
        target = app.main_screen.query_one(FOCUS[pane])
        if target.display:
            target.focus()
        else:
            app.set_focus(None)
    if cmd.id in ("list.up", "list.top", "list.page_up") and app.focused is not None:
        await pilot.press("j", "j")
    if cmd.id == "list.page_down" and app.focused is not None:
        await pilot.press("g")  # from the top (list.bottom, pressed before, left the cursor on the last row)
    await settle(app, pilot, 1)


def shown(app: MusicrecApp) -> tuple[str, tuple[str, ...], type]:
    notes = tuple(f"{n.identity} {n.message}" for n in app._notifications)
    return screen_text(app, styles=True), notes, type(app.screen)


async def press_every_binding(app: MusicrecApp, pilot: Any, filled: bool, fake: FakeItunes) -> list[str]:
    silent = []
    commands = [c for c in all_commands(app) if c.id not in QUIT_IDS | ELSEWHERE]
    assert len(commands) > 35
    for cmd in commands:
        await prepare(app, pilot, cmd, filled, fake)
        before = shown(app)
        await pilot.press(first_key(cmd.binding, app))
        await settle(app, pilot)
        await pilot.pause(0.1)
        await settle(app, pilot, 1)
        if shown(app) == before:
            silent.append(f"{cmd.id} ({first_key(cmd.binding, app)}) in {app.active_pane}")
    return silent


@pytest.mark.parametrize("filled", [False, True], ids=["empty", "filled"])
async def test_every_binding_has_a_visible_effect(build_app: AppFactory, fake_itunes: FakeItunes,
                                                  tmp_path: Path, filled: bool) -> None:
    for i in range(5):
        fake_itunes.add_track(7000 + i, f"Night Drive {i}", f"Artist {i}", album="Highway")
    url = f"sqlite://{tmp_path / 'keys.sqlite3'}"
    if filled:
        seed(url, tmp_path / "cache", fake_itunes.url)
    app = build_app(db_url=url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        silent = await press_every_binding(app, pilot, filled, fake_itunes)
        assert silent == [], "\n".join(silent)
        # and quit, last: q from a list
        await prepare(app, pilot, next(c for c in all_commands(app) if c.id == "app.quit"), filled)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_modal_and_screen_bindings(build_app: AppFactory, tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'm.sqlite3'}"
    app = build_app(db_url=url)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for screen_type, keys in ((HelpScreen, ("escape", "q", "question_mark")),):
            ids = {b.id for b in screen_type.BINDINGS if isinstance(b, Binding)}
            assert ids == {"help.close"}
            for key in keys:
                app.action_help()
                await pilot.pause()
                assert isinstance(app.screen, HelpScreen)
                await pilot.press(key)
                await pilot.pause()
                assert not isinstance(app.screen, HelpScreen)
        for key, expected in (("y", True), ("n", False), ("escape", False)):
            answers: list[bool | None] = []
            app.push_screen(ConfirmScreen("Really?", "Do"), answers.append)
            await pilot.pause()
            await pilot.press(key)
            await pilot.pause()
            assert answers == [expected]
        assert {b.id for b in ConfirmScreen.BINDINGS if isinstance(b, Binding)} == {"confirm.yes", "confirm.no"}
        paths: list[Path | None] = []
        app.push_screen(PathScreen("Where?", "/tmp/x.m3u"), paths.append)
        await pilot.pause()
        assert "Cancel" in footer_keys(app).values() or "esc" in footer_keys(app)
        await pilot.press("escape")
        await pilot.pause()
        assert paths == [None]
        assert {b.id for b in PathScreen.BINDINGS if isinstance(b, Binding)} == {"path.cancel"}


async def test_unavailable_screen_keys(build_app: AppFactory) -> None:
    app = build_app(db_url="mysql://u:pw@127.0.0.1:9/x")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, UnavailableScreen)
        assert {b.id for b in UnavailableScreen.BINDINGS if isinstance(b, Binding)} == {"unavailable.retry",
                                                                                         "unavailable.quit"}
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, UnavailableScreen)  # still down: back again, no crash
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_never_trapped_in_a_text_field(build_app: AppFactory) -> None:
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        field = app.focused
        assert isinstance(field, Input) and field.id == "search-input"  # an empty library starts typing
        keys = footer_keys(app)
        assert keys.get("escape") == "Leave input" and keys.get("question_mark") == "Help"
        assert keys.get("ctrl+q") == "Quit"
        assert "q" not in keys and "slash" not in keys and "space" not in keys  # they would type, not act
        await pilot.press("question_mark")  # empty field: ? is help
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("a", "question_mark", "q")  # with text, ? and q are characters
        await pilot.pause()
        assert field.value == "a?q" and not isinstance(app.screen, HelpScreen)
        assert "question_mark" not in footer_keys(app)
        await pilot.press("escape")  # out of the field: the one-key bindings are back, and shown
        await pilot.pause()
        assert not isinstance(app.focused, Input)
        keys = footer_keys(app)
        assert keys.get("q") == "Quit" and keys.get("question_mark") == "Help"
        await pilot.press("slash", "ctrl+q")  # back into the field, and quit from inside it
        await pilot.pause()
    assert not app.is_running


async def test_ctrl_q_quits_from_help(build_app: AppFactory, tmp_path: Path) -> None:
    """ctrl+q quits with a modal screen on top too (the field-only binding used to shadow Textual's own)."""
    app = build_app(db_url=f"sqlite://{tmp_path / 'q.sqlite3'}")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")  # the empty search field has the focus: ? opens help
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert not app.is_running
