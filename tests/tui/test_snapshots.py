"""Snapshots of every pane at 120x40 and 80x24, over deterministic data (pytest-textual-snapshot).

Update after a deliberate visual change with `pytest tests/tui/test_snapshots.py --snapshot-update` and look
at the SVGs under tests/tui/__snapshots__/ before committing them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from musicrec_tui.core import features
from musicrec_tui.core.models import FeatureVector, JobState, Track
from musicrec_tui.core.synth import drums, encode
from musicrec_tui.store import open_library
from musicrec_tui.tui.app import MusicrecApp
from tests.fake_itunes import FakeItunes
from tests.tui.conftest import settle
from tests.tui.support import make_services, make_settings, stepped_player

SIZES = [(120, 40), (80, 24), (200, 50)]
ARTISTS = ["Aurora Vale", "Brass Lantern", "Cobalt Hours", "Delta Ferns", "Echo Parade"]
GENRES = ["Electronic", "Jazz", "Rock", "Ambient"]
SHOWN_URL = "sqlite:///home/you/.local/share/musicrec-tui/library.sqlite3"  # what the header shows


def seed(url: str, cache_dir: Path, previews: Any) -> None:
    """40 tracks with fixed metadata, vectors from a seeded generator, one shared real preview file, and jobs in
    every state."""
    ex = features.get(None)
    explainer = features.get("handcrafted")
    rng = np.random.default_rng(7)
    preview = cache_dir / "shared.m4a"
    (cache_dir / "previews").mkdir(parents=True, exist_ok=True)
    preview.write_bytes(encode(drums(110, seconds=6.0), 44100, "m4a"))
    with open_library(url) as lib:
        base = rng.normal(size=ex.dim)
        explainer_base = rng.normal(size=explainer.dim)
        for i in range(40):
            track = Track("itunes", str(5000 + i), f"Track {i:02d} {['Dawn', 'Dusk', 'Tide', 'Ember'][i % 4]}",
                          ARTISTS[i % 5], f"Album {i % 6}", GENRES[i % 4], 150_000 + 1000 * i,
                          preview_url=f"{previews}/previews/{5000 + i}.m4a")
            target = previews_path(cache_dir, track)
            shutil.copyfile(preview, target)
            track = replace(track, preview_path=str(target))
            vec = base * (1.0 - i / 60) + rng.normal(scale=0.6 + i / 40, size=ex.dim)
            why = explainer_base * (1.0 - i / 60) + rng.normal(scale=0.6 + i / 40, size=explainer.dim)
            lib.save_analysis(track, [FeatureVector(ex.name, ex.version, vec.astype(np.float32)),
                                      FeatureVector(explainer.name, explainer.version, why.astype(np.float32))])
        queued = [Track("itunes", str(9000 + i), f"Job {i}", "Someone", preview_url="http://x/p.m4a")
                  for i in range(4)]
        jobs = lib.enqueue(queued)  # no job left queued: a queued job would start an ingest run
        lib.update_job(jobs[0].id, JobState.DONE)
        lib.update_job(jobs[1].id, JobState.FAILED, error="audio too short: 2.0 s")
        lib.update_job(jobs[2].id, JobState.ANALYSING)
        lib.update_job(jobs[3].id, JobState.FAILED, error="HTTP 404")


def previews_path(cache_dir: Path, track: Track) -> Path:
    return cache_dir / "previews" / f"{track.source}-{track.external_id}.m4a"


@pytest.fixture
def snap_app(isolated_env: Path, tmp_path: Path, fake_itunes: FakeItunes) -> Callable[..., MusicrecApp]:
    def build(seeded: bool = True, db_url: str | None = None) -> MusicrecApp:
        for i, artist in enumerate(ARTISTS):
            fake_itunes.add_track(7000 + i, f"Night Drive {i}", artist, album="Highway", primaryGenreName="Synth")
        real = f"sqlite://{tmp_path / 'lib.sqlite3'}"
        settings = make_settings(tmp_path, db_url or SHOWN_URL)
        services = make_services(settings, fake_itunes.url, stepped_player()[0])
        if seeded:
            seed(real, settings.paths.cache_dir, "http://itunes.invalid")
        if db_url is None:
            services = replace(services, open_library=lambda: open_library(real))
        return MusicrecApp(settings, services)

    return build


def before(*keys: str) -> Callable[[Pilot], Any]:
    async def run(pilot: Pilot) -> None:
        app = pilot.app
        for widget in app.query(Input):
            widget.cursor_blink = False
        await settle(app, pilot)  # type: ignore[arg-type]
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)  # type: ignore[arg-type]
        await pilot.pause(0.3)
        await settle(app, pilot)  # type: ignore[arg-type]

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_library_pane(snap_compare: Any, snap_app: Callable[..., MusicrecApp], size: tuple[int, int]) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=before("j", "j"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_search_pane(snap_compare: Any, snap_app: Callable[..., MusicrecApp], size: tuple[int, int]) -> None:
    assert snap_compare(snap_app(), terminal_size=size,
                        run_before=before("1", *"night", "enter"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_similar_pane(snap_compare: Any, snap_app: Callable[..., MusicrecApp], size: tuple[int, int]) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=before("enter", "j", "m"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ingest_pane(snap_compare: Any, snap_app: Callable[..., MusicrecApp], size: tuple[int, int]) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=before("4"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_analysis_pane(snap_compare: Any, snap_app: Callable[..., MusicrecApp], size: tuple[int, int]) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=before("enter", "j", "5"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_first_run(snap_compare: Any, snap_app: Callable[..., MusicrecApp], size: tuple[int, int]) -> None:
    assert snap_compare(snap_app(seeded=False), terminal_size=size, run_before=before())


def test_help_screen(snap_compare: Any, snap_app: Callable[..., MusicrecApp]) -> None:
    assert snap_compare(snap_app(), terminal_size=(120, 40), run_before=before("question_mark"))


def test_database_unreachable(snap_compare: Any, snap_app: Callable[..., MusicrecApp]) -> None:
    app = snap_app(seeded=False, db_url="mysql://musicrec:secret@127.0.0.1:9/musicrec")
    assert snap_compare(app, terminal_size=(80, 24), run_before=before())
