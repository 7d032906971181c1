"""A live library: another connection's writes reach the Library pane without a key, the cursor on its track."""

from __future__ import annotations

from musicrec_tui.core.models import Track
from musicrec_tui.store import open_library
from tests.tui.conftest import AppFactory, settle
from tests.tui.test_app import seed_library


async def test_another_writer_shows_up_without_a_keypress(build_app: AppFactory, db_url: str) -> None:
    seed_library(db_url, 500)
    app = build_app(db_url=db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("2", "o")  # sort by title: rows written below change every index after them
        await settle(app, pilot)
        table = app.library_pane.table
        for _ in range(300):
            await pilot.press("j")
        await settle(app, pilot)
        before = table.current
        assert table.total == 500 and before is not None and table.cursor == 300
        loads = table.page_loads

        with open_library(db_url) as other:  # a second connection: another process or another user
            other.upsert_tracks(Track("itunes", str(90_000 + i), f"Title {i:05d}a", "Newcomer", "New Album",
                                      "Rock", 180_000) for i in range(0, 50, 2))
        # no key pressed: the app's change-counter poll notices (waits in event-loop turns, ~1 s at most)
        for _ in range(100):
            await pilot.pause(0.05)
            await settle(app, pilot, 1)
            if table.total == 525 and table.current is not None and table.current.id == before.id:
                break
        assert table.total == 525
        assert table.current is not None and table.current.id == before.id  # the same track ...
        assert table.cursor == 325  # ... now 25 rows lower, after the 25 new titles sorted before it
        assert table.page_loads - loads <= 4  # the pages on screen were read again, not the whole table
