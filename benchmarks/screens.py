"""The app's screens as plain text, for reading a layout at a glance (not a test; the snapshot tests guard them).

    .venv/bin/python benchmarks/screens.py [--sizes 80x24,120x40] [--out benchmarks/screens]

Runs the real app headless over the snapshot tests' deterministic library (40 tracks, jobs in every state) and
the local fake iTunes server, visits each pane, and writes `<pane>-<W>x<H>.txt` per size. The Discover pane (6)
needs a track analysed for real and a catalogue of previews to analyse: a library of one track ingested from the
Discover tests' fake catalogue (tests/test_discover.py), D pressed on it, the screen taken once it is done.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musicrec_tui.store import open_library  # noqa: E402
from musicrec_tui.tui.app import MusicrecApp  # noqa: E402
from tests.fake_itunes import FakeClock, FakeItunes, Previews  # noqa: E402
from tests.test_discover import catalogue  # noqa: E402
from tests.tui.conftest import settle  # noqa: E402
from tests.tui.support import make_services, make_settings, screen_text, stepped_player  # noqa: E402
from tests.tui.test_discover_pane import seed_library  # noqa: E402
from tests.tui.test_snapshots import ARTISTS, SHOWN_URL, seed  # noqa: E402

# (file name, keys pressed from the start, seeded library?)
VISITS: list[tuple[str, Sequence[str], bool]] = [
    ("first-run", (), False),
    ("search", ("1", *"night", "enter"), True),
    ("library", ("j", "j"), True),
    ("similar", ("enter", "j", "m"), True),
    ("ingest", ("4",), True),
    ("analysis", ("enter", "j", "5"), True),
    ("help", ("question_mark",), True),
]


async def capture(tmp: Path, keys: Sequence[str], seeded: bool, size: tuple[int, int], fake: FakeItunes) -> str:
    real = f"sqlite://{tmp / 'lib.sqlite3'}"
    settings = make_settings(tmp, SHOWN_URL)
    services = replace(make_services(settings, fake.url, stepped_player()[0]),
                       open_library=lambda: open_library(real))
    if seeded:
        seed(real, settings.paths.cache_dir, "http://itunes.invalid")
    app = MusicrecApp(settings, services)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)
        await pilot.pause(0.3)
        await settle(app, pilot)
        text = screen_text(app)
    services.player.get().close()
    return text


async def capture_discover(tmp: Path, sizes: Sequence[tuple[int, int]], fake: FakeItunes) -> dict[tuple[int, int], str]:
    """The Discover pane around one analysed library track, with its results, at each size (one discovery)."""
    real = seed_library(tmp, fake)
    settings = make_settings(tmp, SHOWN_URL, itunes_base_url=fake.url, itunes_rate_per_minute=6000.0,
                             analysis_workers=1)
    services = replace(make_services(settings, fake.url, stepped_player()[0]),
                       open_library=lambda: open_library(real))
    app = MusicrecApp(settings, services)
    out = {}
    async with app.run_test(size=sizes[0]) as pilot:
        await settle(app, pilot)
        for key in ("2", "D"):
            await pilot.press(key)
            await settle(app, pilot)
        pane = app.discover_pane
        for _ in range(600):  # until the discovery has ranked its candidates
            if not pane.running:
                break
            await settle(app, pilot, 1)
            await pilot.pause(0.1)
        if pane.running or not pane.items:
            raise RuntimeError("the discovery did not finish with results")
        for size in sizes:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            await settle(app, pilot)
            out[size] = screen_text(app)
    services.player.get().close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="80x24,120x40")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "screens")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    with FakeItunes(Previews(), clock=FakeClock()) as fake:
        for i, artist in enumerate(ARTISTS):
            fake.add_track(7000 + i, f"Night Drive {i}", artist, album="Highway", primaryGenreName="Synth")
        for name, keys, seeded in VISITS:
            for w, h in sizes:
                with tempfile.TemporaryDirectory() as tmpdir:
                    text = asyncio.run(capture(Path(tmpdir), keys, seeded, (w, h), fake))
                path = args.out / f"{name}-{w}x{h}.txt"
                path.write_text(text + "\n", encoding="utf-8")
                print(path)
    with FakeItunes(Previews(), clock=FakeClock()) as fake, tempfile.TemporaryDirectory() as tmpdir:
        catalogue(fake)
        screens = asyncio.run(capture_discover(Path(tmpdir), sizes, fake))
        for (w, h), text in screens.items():
            path = args.out / f"discover-{w}x{h}.txt"
            path.write_text(text + "\n", encoding="utf-8")
            print(path)


if __name__ == "__main__":
    main()
