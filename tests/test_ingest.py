"""The ingest pipeline against the fake iTunes server, on both store backends."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musicrec_tui.app.factory import make_cache
from musicrec_tui.config import load_settings
from musicrec_tui.core import features, synth
from musicrec_tui.core.fetch import PreviewCache
from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.core.models import JobState
from musicrec_tui.ingest.events import IngestEvent
from musicrec_tui.ingest.pipeline import IngestPipeline
from musicrec_tui.store import open_library


def make_settings(tmp_path: Path, db_url: str, **flags):
    return load_settings(env={}, flags={"db_url": db_url, "data_dir": str(tmp_path / "data"),
                                        "cache_dir": str(tmp_path / "cache"), "config_dir": str(tmp_path / "cfg"),
                                        **flags})


def make_pipeline(settings, library, fake, events: list | None = None, **kw) -> IngestPipeline:
    cache = make_cache(settings, max_file_bytes=kw.pop("max_file_bytes", 10 << 20), sleep=fake.clock.sleep)
    sink = events.append if events is not None else None
    return IngestPipeline(settings, library, cache=cache, on_event=sink, workers=kw.pop("workers", 1), **kw)


def client_for(fake) -> ItunesClient:
    return ItunesClient(fake.url, sleep=fake.clock.sleep, clock=fake.clock, rate_per_minute=600)


def test_search_ingest_stores_tracks_vectors_and_previews(tmp_path: Path, db_url: str, fake_itunes) -> None:
    fake_itunes.add_tracks(5, artist="Band")
    settings = make_settings(tmp_path, db_url)
    events: list[IngestEvent] = []
    with open_library(db_url) as lib:
        tracks = client_for(fake_itunes).search("band", limit=10)
        assert len(tracks) == 5
        pipeline = make_pipeline(settings, lib, fake_itunes, events)
        pipeline.enqueue(tracks)
        summary = pipeline.run()
        assert (summary.done, summary.already, summary.failed) == (5, 0, [])
        stored = lib.list_tracks()
        assert sorted(t.external_id for t in stored) == sorted(t.external_id for t in tracks)
        ext = features.get()
        matrix = lib.load_matrix(ext.name, ext.version)
        assert len(matrix) == 5 and np.all(np.isfinite(matrix.matrix)) and matrix.matrix.shape[1] == ext.dim
        explainer = features.get(settings.explainer)
        assert explainer.name != ext.name
        assert len(lib.load_matrix(explainer.name, explainer.version)) == 5, "explainer vectors from the same decode"
        for t in stored:
            path = Path(t.preview_path)
            assert path.parent == settings.paths.previews_dir and path.name == f"itunes-{t.external_id}.m4a"
            import hashlib
            assert hashlib.sha256(path.read_bytes()).hexdigest() == t.preview_sha256
        assert lib.job_counts()[JobState.DONE] == 5
        states = [e.state for e in events if e.kind == "job" and e.track.external_id == tracks[0].external_id]
        assert states == [JobState.QUEUED, JobState.DOWNLOADING, JobState.ANALYSING, JobState.DONE]
        # a second run finds everything already there and downloads nothing
        fetched = len(fake_itunes.hits("/previews/"))
        again = make_pipeline(settings, lib, fake_itunes)
        again.enqueue(tracks)
        assert again.run().already == 5 and len(fake_itunes.hits("/previews/")) == fetched


def test_every_fault_at_once(tmp_path: Path, db_url: str, fake_itunes) -> None:
    expected = fake_itunes.add_chaos(throttle_seconds=60.0)
    settings = make_settings(tmp_path, db_url)
    client = client_for(fake_itunes)
    tracks = client.search("chaos", limit=200)
    assert fake_itunes.clock.total_slept >= 60.0, "the client waited out a full 60 s throttle window"
    assert {t.itunes_track_id for t in tracks} == set(expected)
    with open_library(db_url) as lib:
        pipeline = make_pipeline(settings, lib, fake_itunes, max_file_bytes=500_000)
        pipeline.enqueue(tracks)
        summary = pipeline.run()
        failed = {t.itunes_track_id: reason for t, reason in summary.failed}
        ok = {tid for tid, reason in expected.items() if reason is None}
        assert {t.itunes_track_id for t in lib.list_tracks()} == ok
        assert summary.done == len(ok)
        for tid, reason in expected.items():
            if reason is not None:
                assert reason.lower() in failed[tid].lower(), (tid, reason, failed[tid])
        titles = {t.title for t in lib.list_tracks()}
        assert any("DROP TABLE" in t for t in titles) and any("桜" in t for t in titles)
        assert lib.job_counts()[JobState.FAILED] == len(expected) - len(ok)
        assert all(j.attempts <= 1 for j in lib.list_jobs([JobState.FAILED])), "a broken preview is not retried"
    leftovers = [p.name for p in settings.paths.previews_dir.iterdir() if p.name.endswith(".part")]
    assert leftovers == []
    cached = {p.name for p in settings.paths.previews_dir.iterdir()}
    assert cached == {f"itunes-{tid}.m4a" for tid in ok}, "nothing but complete, analysable previews is cached"


def test_keep_previews_off_deletes_each_preview_once_analysed(tmp_path: Path, fake_itunes) -> None:
    fake_itunes.add_tracks(3)
    url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    settings = replace(make_settings(tmp_path, url), cache_keep_previews=False)
    with open_library(url) as lib:
        pipeline = make_pipeline(settings, lib, fake_itunes)
        pipeline.enqueue(client_for(fake_itunes).search("fake"))
        assert pipeline.run().done == 3
        assert list(settings.paths.previews_dir.glob("*.m4a")) == []
        assert all(t.preview_path is None for t in lib.list_tracks())


def test_local_files_keep_their_tags_and_stay_in_place(tmp_path: Path) -> None:
    import av

    music = tmp_path / "music" / "album"
    music.mkdir(parents=True)
    (music / "one.flac").write_bytes(synth.encode(synth.chord((220, 330), seconds=7), fmt="flac"))
    (music / "two.mp3").write_bytes(synth.encode(synth.drums(120, seconds=7), fmt="mp3"))
    (music / "notes.txt").write_text("not audio")
    (music / "broken.ogg").write_bytes(b"OggS" + b"\x00" * 200)
    tagged = music / "three.m4a"
    with av.open(str(tagged), "w", format="ipod") as out:  # re-mux with tags
        out.metadata.update(title="Ünïcødé 夜", artist="Tag Artist", album="Tagged", genre="Ambient")
        src = av.open(__import__("io").BytesIO(synth.encode(synth.noise(seconds=7))))
        stream = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
        src.close()
    url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    settings = make_settings(tmp_path, url)
    from musicrec_tui.ingest.localfiles import tracks_under

    with open_library(url) as lib:
        cache = PreviewCache(settings.paths.previews_dir)
        pipeline = IngestPipeline(settings, lib, cache=cache, workers=1)
        pipeline.enqueue(tracks_under(tmp_path / "music"))
        summary = pipeline.run()
        assert summary.done == 3
        assert [(Path(t.external_id).name, r) for t, r in summary.failed] == [("broken.ogg", summary.failed[0][1])]
        assert "cannot decode audio" in summary.failed[0][1]
        by_name = {Path(t.external_id).name: t for t in lib.list_tracks()}
        assert set(by_name) == {"one.flac", "two.mp3", "three.m4a"}
        three = by_name["three.m4a"]
        assert (three.title, three.artist, three.album, three.genre) == ("Ünïcødé 夜", "Tag Artist", "Tagged",
                                                                        "Ambient")
        assert by_name["one.flac"].title == "one" and by_name["one.flac"].album == "album"
        assert all(t.preview_path == t.external_id for t in by_name.values()), "files are read in place"
    assert list(settings.paths.previews_dir.iterdir()) == []


def test_cancel_gives_unfinished_jobs_back(tmp_path: Path, fake_itunes) -> None:
    fake_itunes.add_tracks(6)
    url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    settings = make_settings(tmp_path, url)
    cancel = threading.Event()

    def stop_after_first(event: IngestEvent) -> None:
        if event.state is JobState.DONE:
            cancel.set()

    with open_library(url) as lib:
        pipeline = make_pipeline(settings, lib, fake_itunes, None, download_threads=1)
        pipeline._on_event = stop_after_first
        pipeline.enqueue(client_for(fake_itunes).search("fake"))
        summary = pipeline.run(cancel)
        assert summary.cancelled and summary.done == 1
        counts = lib.job_counts()
        assert counts[JobState.QUEUED] == 5 and counts[JobState.DOWNLOADING] == counts[JobState.ANALYSING] == 0
        resumed = make_pipeline(settings, lib, fake_itunes).run()
        assert resumed.done == 5 and lib.count_tracks() == 6


@pytest.mark.parametrize("bad", ["", "   "])
def test_blank_search_is_a_clear_error(fake_itunes, bad: str) -> None:
    from musicrec_tui.core.errors import MusicrecError

    with pytest.raises(MusicrecError):
        client_for(fake_itunes).search(bad)


def test_expired_preview_url_is_refreshed_by_lookup(tmp_path: Path, fake_itunes) -> None:
    fake_itunes.add_track(31, "Still here", "Band", preview="chord:2")
    client = client_for(fake_itunes)
    current = client.lookup([31])[0]
    stale = replace(current, preview_url=f"{fake_itunes.url}/previews/999999.m4a")  # answers 404
    url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    settings = make_settings(tmp_path, url)
    with open_library(url) as lib:
        pipeline = make_pipeline(settings, lib, fake_itunes, lookup=client.lookup)
        pipeline.enqueue([stale])
        assert pipeline.run().done == 1
        assert lib.find_track("itunes", "31").preview_url == current.preview_url
        without = make_pipeline(settings, lib, fake_itunes)
        gone = replace(stale, external_id="32")
        without.enqueue([gone])
        summary = without.run()
        assert summary.done == 0 and "404" in summary.failed[0][1]
