"""The TUI over the application layer: local-file tracks play and draw, job keys work, exports equal the CLI's."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input, Static

from musicrec_tui.core import synth
from musicrec_tui.core.models import JobState, Track
from musicrec_tui.playback import PlayerState
from musicrec_tui.store import open_library
from musicrec_tui.tui.screens import PathScreen
from tests.fake_itunes import FakeItunes
from tests.test_cli import run
from tests.tui.conftest import AppFactory, ingest_until_idle, settle
from tests.tui.support import stepped_player


def local_files(folder: Path) -> list[Path]:
    """Four short songs in four formats, different enough to rank."""
    folder.mkdir(parents=True, exist_ok=True)
    songs = {"chord.flac": (synth.chord((262.0, 330.0, 392.0), seconds=8.0), "flac"),
             "drums.wav": (synth.drums(120, seconds=8.0), "wav"),
             "sweep.mp3": (synth.sweep(seconds=8.0), "mp3"),
             "drums [live].m4a": (synth.drums(96, seconds=8.0, seed=3), "m4a")}
    paths = []
    for name, (samples, fmt) in songs.items():
        path = folder / name
        path.write_bytes(synth.encode(samples, 48000 if fmt == "ogg" else 44100, fmt))
        paths.append(path)
    return paths


def ingest_with_cli(tmp_path: Path, folder: Path) -> str:
    """`musicrec ingest --path FOLDER` in its own process, into the library the app opens."""
    db_url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    home = tmp_path / "cli-home"
    home.mkdir(exist_ok=True)
    proc = run(["--db", db_url, "ingest", "--path", str(folder), "--workers", "1"], home, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return db_url


async def test_a_local_file_track_plays_and_shows_its_analysis(build_app: AppFactory, tmp_path: Path) -> None:
    files = local_files(tmp_path / "music")
    db_url = ingest_with_cli(tmp_path, tmp_path / "music")
    player, _ = stepped_player()
    app = build_app(db_url=db_url, player=player)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        table = app.library_pane.table
        assert table.total == 4 and table.current is not None and table.current.source == "file"
        track = table.current
        await pilot.press("l")  # listen: the file itself, no preview URL needed
        await settle(app, pilot)
        assert player.state is PlayerState.PLAYING
        assert Path(player.queue[0].source) == Path(track.external_id) and Path(track.external_id) in files
        assert not [n for n in app._notifications if n.title == "Cannot play"]

        await pilot.press("enter")  # similar songs: a seed for the Analysis pane to explain against
        await settle(app, pilot)
        assert app.similar_pane.items
        neighbour = app.similar_pane.items[0].track
        await pilot.press("5")
        await settle(app, pilot)
        await settle(app, pilot)
        pane = app.analysis_pane
        title = str(pane.query_one("#analysis-title", Static).content)
        assert "cannot analyse" not in title and neighbour.title in title
        assert str(pane.query_one("#analysis-spectrogram", Static).content).strip()
        groups = pane.query_one("#analysis-groups", Static).content
        assert "What makes it sound like the seed" in str(groups)


async def test_ingest_pane_keys_retry_cancel_and_clear(build_app: AppFactory, fake_itunes: FakeItunes,
                                                       tmp_path: Path) -> None:
    items = [fake_itunes.add_track(700 + i, f"Retry {i}", "Band") for i in range(2)]
    db_url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    with open_library(db_url) as lib:
        jobs = lib.enqueue([Track("itunes", str(700 + i), f"Retry {i}", "Band", preview_url=item["previewUrl"])
                            for i, item in enumerate(items)])
        for job in jobs:
            lib.update_job(job.id, JobState.FAILED, error="HTTP 503")
    app = build_app(db_url=db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("escape", "4")  # out of the search field (the library is empty), to 4 Ingest
        await settle(app, pilot)
        pane = app.ingest_pane
        assert pane.counts["failed"] == 2

        await pilot.press("r")  # retry: both go back to the queue and are ingested
        await ingest_until_idle(app, pilot)
        assert pane.counts["done"] == 2 and pane.counts["failed"] == 0

        with open_library(db_url) as lib:  # another process queues work while this app is idle
            lib.enqueue([Track("itunes", "800", "Later", "Band", preview_url="http://127.0.0.1:9/p.m4a")])
        await pilot.press("c")  # cancel: the queued job fails with reason "cancelled"
        await settle(app, pilot)
        assert any("Cancelled 1 queued job(s)" in n.message for n in app._notifications)
        assert pane.counts["failed"] == 1 and pane.counts["queued"] == 0
        assert app.session.library.find_job("itunes", "800").last_error == "cancelled"

        await pilot.press("C")  # clear: done jobs leave the list, the failed one stays
        await settle(app, pilot)
        assert [job.external_id for job in app.session.jobs()] == ["800"]
        assert pane.query_one("#ingest-table").row_count == 1 and pane.counts["done"] == 0


async def test_the_tui_export_is_the_cli_json(build_app: AppFactory, tmp_path: Path) -> None:
    local_files(tmp_path / "music")
    db_url = ingest_with_cli(tmp_path, tmp_path / "music")
    app = build_app(db_url=db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        seed = app.library_pane.table.current
        assert seed is not None
        await pilot.press("enter")
        await settle(app, pilot)
        k, exclude = app.similar_pane.k, app.similar_pane.exclude_artist
        assert app.similar_pane.items
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, PathScreen)
        target = tmp_path / "similar.json"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
    exported = json.loads(target.read_text(encoding="utf-8"))
    args = ["--db", db_url, "recommend", str(seed.id), "-k", str(k), "--json"] + (["--exclude-artist"] if exclude
                                                                                 else [])
    proc = run(args, tmp_path / "cli-home", timeout=120)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert exported == printed
    assert printed["extractor"] and all("cosine" in r for r in printed["results"])


async def test_a_preview_too_short_to_analyse_still_plays(build_app: AppFactory, fake_itunes: FakeItunes) -> None:
    """As with `musicrec play`: listening only needs audio that decodes; ingesting it fails with the reason."""
    fake_itunes.add_track(901, "Tiny", "Band", preview="short")
    player, _ = stepped_player()
    app = build_app(player=player)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"tiny", "enter")
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        assert player.state is PlayerState.PLAYING and player.snapshot().key.title == "Tiny"
        await pilot.press("enter")  # ingest: the pipeline's cache rejects it, with the reason
        await ingest_until_idle(app, pilot)
        job = app.session.library.find_job("itunes", "901")
        assert job is not None and job.state is JobState.FAILED and "too short" in (job.last_error or "")


async def test_reanalyse_refuses_a_current_vector_before_queueing_anything(build_app: AppFactory,
                                                                           fake_itunes: FakeItunes,
                                                                           tmp_path: Path) -> None:
    from musicrec_tui.core import features
    from musicrec_tui.core.models import FeatureVector
    from tests.tui.test_snapshots import seed

    url = f"sqlite://{tmp_path / 'r.sqlite3'}"
    seed(url, tmp_path / "cache", fake_itunes.url)
    with open_library(url) as lib:
        jobs_before = [(j.id, j.state) for j in lib.list_jobs()]
    app = build_app(db_url=url)
    requested: list[list[Track]] = []
    app.start_ingest = requested.append  # type: ignore[method-assign]  # what would be queued, nothing runs
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        track = app.library_pane.table.current
        assert track is not None and track.id is not None
        await pilot.press("r")
        await settle(app, pilot)
        assert requested == []  # refused before anything was queued
        last = list(app._notifications)[-1]
        assert "already analysed by the current extractor" in last.message and "nothing was queued" in last.message
        with open_library(url) as lib:
            assert [(j.id, j.state) for j in lib.list_jobs()] == jobs_before
            ex = features.get(None)  # an older version of the extractor's vector: now r queues the track
            old = lib.get_vector(track.id, ex.name)
            assert old is not None
            lib.put_vectors([(track.id, FeatureVector(ex.name, ex.version - 1, old.values))])
        await pilot.press("r")
        await settle(app, pilot)
        assert [[t.id for t in tracks] for tracks in requested] == [[track.id]]
        assert "queued for analysis" in list(app._notifications)[-1].message
