"""Search that says what happens: a failure clears the old results and says why in the pane; a search waiting
on throttling counts down, and Escape cancels it (the client's wait ends at once)."""

from __future__ import annotations

from textual.widgets import Input, Static

from tests.fake_itunes import FakeItunes, Fault
from tests.tui.conftest import AppFactory, settle
from tests.tui.support import footer_keys


def status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.search_pane.query_one("#search-status", Static).content)


async def test_a_failed_search_clears_the_old_results(build_app: AppFactory, fake_itunes: FakeItunes) -> None:
    fake_itunes.add_tracks(3)
    app = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"song", "enter")
        await settle(app, pilot)
        assert len(app.search_pane.results) == 3
        fake_itunes.fail("/search", "500", "500", "500", "500", "500", "500")
        app.search_pane.focus_input()
        app.search_pane.query_one("#search-input", Input).value = "son"  # a new query, not the cached one
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.search_pane.results == [], status(app)
        assert not app.search_pane.query_one("#search-results").display
        text = status(app)
        assert "HTTP 500" in text and text.lower().count("failed") == 1


async def test_a_throttled_search_counts_down_and_escape_cancels_it(build_app: AppFactory,
                                                                    fake_itunes: FakeItunes) -> None:
    fake_itunes.add_tracks(3)
    fake_itunes.fail("/search", Fault("429", retry_after="60"))
    app = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"song", "enter")
        for _ in range(100):  # the worker reaches its wait (event-loop turns, not a timed assertion)
            await pilot.pause(0.02)
            if "trying again in" in status(app):
                break
        text = status(app)
        assert "429" in text and "trying again in" in text and "Escape cancels" in text
        assert app.search_pane.searching
        first = text
        await pilot.pause(1.1)
        assert status(app) != first  # the countdown moves
        assert footer_keys(app).get("escape") in ("Leave input", "Cancel")
        # in the field, Escape (FieldInput's Leave) cancels first; search.cancel does it from the results table
        await pilot.press("escape")
        await app.workers.wait_for_complete()  # returns at once: the 60 s wait was cut short
        await pilot.pause()
        assert "cancelled" in status(app).lower() and not app.search_pane.searching
        assert app.focused is not None and app.focused.id == "search-input"  # Escape cancelled, did not leave
