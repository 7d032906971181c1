"""Discover against the local fake iTunes server: candidates around seeds, scored by sound, never in the library."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from musicrec_tui.app.candidates import CandidateStore, index_id
from musicrec_tui.app.discover import Discoverer, DiscoverEvent, DiscoverOptions, Source, discovery_json
from musicrec_tui.app.factory import make_cache
from musicrec_tui.config import load_settings
from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.ingest.pipeline import IngestPipeline
from musicrec_tui.store import open_library

CHORDS, DRUMS, NOISE = 501, 502, 503


def make_settings(tmp_path: Path, db_url: str, **flags):
    return load_settings(env={}, flags={"db_url": db_url, "data_dir": str(tmp_path / "data"),
                                        "cache_dir": str(tmp_path / "cache"), "config_dir": str(tmp_path / "cfg"),
                                        **flags})


def catalogue(fake) -> None:
    """Three artists: chords (the seeds' artist), drums (same genre), noise (another genre), plus broken songs."""
    fake.add_artist(CHORDS, "Chord Band", "Electronic")
    fake.add_artist(DRUMS, "Drum Crew", "Electronic")
    fake.add_artist(NOISE, "Noise Unit", "Rock")
    for i in range(6):
        fake.add_track(10 + i, f"Chord [live] {i}", "Chord Band", preview=f"chord:{i}", artist_id=CHORDS,
                       primaryGenreName="Electronic", album="Harmonies")
        fake.add_track(30 + i, f"Beat {i}", "Drum Crew", preview=f"drums:{90 + 14 * i}", artist_id=DRUMS,
                       primaryGenreName="Electronic", album="Beats")
        fake.add_track(50 + i, f"Hiss {i}", "Noise Unit", preview=f"noise:{i}", artist_id=NOISE,
                       primaryGenreName="Rock", album="Static")
    for tid, kind in ((70, "corrupt"), (71, None), (72, "gone"), (73, "silent")):
        fake.add_track(tid, f"Broken {kind}", "Chord Band", preview=kind, artist_id=CHORDS,
                       primaryGenreName="Electronic", album="Harmonies")
    fake.add_track(74, "Chord [LIVE] 0", "Chord Band", preview="chord:0", artist_id=CHORDS,  # a re-release
                   primaryGenreName="Electronic", album="Harmonies (Deluxe)")


def client_factory(fake):
    def make(sleep):
        def both(seconds: float) -> None:
            sleep(0)  # the discovery's cancel check
            fake.clock.sleep(seconds)

        return ItunesClient(fake.url, sleep=both, clock=fake.clock, rate_per_minute=600)

    return make


def ingest_seeds(settings, lib, fake, ids: list[int]) -> list:
    client = ItunesClient(fake.url, sleep=fake.clock.sleep, clock=fake.clock, rate_per_minute=600)
    pipeline = IngestPipeline(settings, lib, cache=make_cache(settings, sleep=fake.clock.sleep), workers=1)
    pipeline.enqueue(client.lookup(ids))
    summary = pipeline.run()
    assert summary.done == len(ids), summary.failed
    return [lib.find_track("itunes", str(i)) for i in ids]


_OPEN: list[Discoverer] = []


@pytest.fixture(autouse=True)
def _close_discoverers():
    yield
    while _OPEN:
        _OPEN.pop().close()  # stops its analysis processes


def discoverer(settings, lib, fake, store: CandidateStore | None = None) -> Discoverer:
    disc = Discoverer(settings, lib, store=store, cache=make_cache(settings, sleep=fake.clock.sleep),
                      client_factory=client_factory(fake), workers=1)
    _OPEN.append(disc)
    return disc


@pytest.fixture
def world(tmp_path: Path, fake_itunes):
    """(settings, library, fake, seeds) on SQLite: one seed of the chord artist in the library."""
    catalogue(fake_itunes)
    settings = make_settings(tmp_path, f"sqlite://{tmp_path / 'lib.sqlite3'}")
    with open_library(settings.db_url) as lib:
        seeds = ingest_seeds(settings, lib, fake_itunes, [10, 11])
        yield settings, lib, fake_itunes, seeds


def test_discover_ranks_candidates_by_sound_and_leaves_the_library_alone(tmp_path: Path, db_url: str,
                                                                           fake_itunes) -> None:
    catalogue(fake_itunes)
    settings = make_settings(tmp_path, db_url)
    with open_library(db_url) as lib:
        seeds = ingest_seeds(settings, lib, fake_itunes, [10, 11])
        before = lib.count_tracks()
        events: list[DiscoverEvent] = []
        disc = discoverer(settings, lib, fake_itunes)
        result = disc.run([seeds[0]], DiscoverOptions(k=10, budget=30), on_event=events.append)
        disc.close()
        assert lib.count_tracks() == before, "nothing enters the library"
        assert lib.job_counts()["queued"] == 0
    p = result.progress
    assert p.requests <= 12 and p.calls >= p.requests
    ids = [d.song.track.itunes_track_id for d in result.results]
    assert ids and 10 not in ids and 11 not in ids, "library tracks are never candidates"
    assert 74 not in ids or 10 not in ids
    # the chord artist's other songs sound closest to a chord seed; noise (another genre, another sound) after
    titles = [d.track.title for d in result.results]
    assert result.results[0].song.artist_id == CHORDS, titles
    assert [r.neighbour.rank for r in result.results] == list(range(1, len(result.results) + 1))
    ranks = {d.song.artist_id: [] for d in result.results}
    for d in result.results:
        ranks[d.song.artist_id].append(d.neighbour.rank)
    mean = {a: sum(r) / len(r) for a, r in ranks.items()}
    assert mean[CHORDS] < mean.get(NOISE, 99), titles
    # every unusable candidate is skipped with a counted reason
    assert p.skipped["cannot decode audio"] == 1, p.skipped
    assert p.skipped["no preview URL"] == 1
    assert p.skipped["audio is silent"] == 1
    assert p.skipped["preview gone (HTTP 404)"] == 1, p.skipped
    assert p.skipped["already in the library"] >= 1
    found_by = {d.song.track.itunes_track_id: d.found_by for d in result.results}
    assert any(f.startswith("artist:") for f in found_by[12])
    assert any(f.startswith("genre:") for f in found_by.get(31, ("genre:",)))
    # live ranking: "scored" events carry the ranking so far, best first
    scored = [e for e in events if e.kind == "scored"]
    assert scored and scored[-1].results[0].neighbour.rank == 1
    assert events[-1].kind == "done"
    data = discovery_json(result)
    row = data["results"][0]
    for key in ("rank", "score", "cosine", "id", "itunes_track_id", "artist", "title", "album", "groups",
                "duplicates", "itunes_artist_id", "itunes_collection_id", "preview_url", "found_by", "in_library"):
        assert key in row
    assert row["id"] is None and row["in_library"] is False
    assert data["query"]["id"] == seeds[0].id and data["extractor"] == result.extractor
    assert data["discovery"]["requests"] == p.requests


def test_a_later_discovery_reuses_what_was_analysed(world) -> None:
    settings, lib, fake, seeds = world
    store = CandidateStore(Path(settings.paths.cache_dir) / "c.sqlite3")
    first = discoverer(settings, lib, fake, store).run([seeds[0]], DiscoverOptions(k=5, budget=30))
    downloads = len(fake.hits("/previews/"))
    second = discoverer(settings, lib, fake, store).run([seeds[0]], DiscoverOptions(k=5, budget=30))
    assert first.progress.analysed >= 10 and first.progress.reused == 0
    assert second.progress.analysed == 0 and second.progress.reused == first.progress.scored
    # unusable previews are remembered with their reason: counted again, not downloaded again
    for reason in ("cannot decode audio", "audio is silent", "preview gone (HTTP 404)"):
        assert first.progress.skipped[reason] == second.progress.skipped[reason] == 1, second.progress.skipped
    assert len(fake.hits("/previews/")) == downloads
    assert [d.track.external_id for d in second.results] == [d.track.external_id for d in first.results]


def test_throttling_slows_discovery_down_and_is_reported(world) -> None:
    settings, lib, fake, seeds = world
    fake.throttle(60.0)
    events: list[DiscoverEvent] = []
    start = fake.clock()
    result = discoverer(settings, lib, fake).run([seeds[0]], DiscoverOptions(k=5, budget=6), on_event=events.append)
    assert fake.clock() - start >= 60.0, "the client waited the throttle window out"
    assert result.progress.throttled >= 1 and result.progress.backoff_s >= 60.0
    assert any(e.kind == "throttled" and "retrying" in e.message for e in events)
    assert result.results, "discovery still finished with candidates"


def test_throttling_that_never_ends_stops_asking_and_says_so(world) -> None:
    settings, lib, fake, seeds = world
    fake.throttle(10_000.0)
    result = discoverer(settings, lib, fake).run([seeds[0]], DiscoverOptions(k=5, budget=6))
    p = result.progress
    assert p.stopped_asking and "throttl" in p.stopped_asking
    assert p.requests == 1 and p.failed_requests and result.results == ()


def test_cancel_keeps_what_was_analysed(world) -> None:
    settings, lib, fake, seeds = world
    store = CandidateStore(Path(settings.paths.cache_dir) / "c.sqlite3")
    cancel = threading.Event()

    def on_event(event: DiscoverEvent) -> None:
        if event.kind == "scored":
            cancel.set()

    result = discoverer(settings, lib, fake, store).run([seeds[0]], DiscoverOptions(k=5, budget=20),
                                                        on_event=on_event, cancel=cancel)
    assert result.progress.cancelled
    assert 1 <= result.progress.scored < 20 and result.results
    kept = store.count().get("analysed", 0)
    assert kept >= result.progress.scored
    assert len(store.load_matrix("musicnn", store_version())) >= 1


def store_version() -> int:
    from musicrec_tui.core import features

    return features.get().version


def test_exclude_artist_genre_filter_and_request_budget(world) -> None:
    settings, lib, fake, seeds = world
    result = discoverer(settings, lib, fake).run(
        [seeds[0]], DiscoverOptions(k=10, budget=10, exclude_artist=True))
    assert result.results and all(d.track.artist != "Chord Band" for d in result.results)
    assert not any(r.query.get("entity") == "song" and r.query.get("id") == str(CHORDS)
                   for r in fake.hits("/lookup"))
    rock = discoverer(settings, lib, fake).run([seeds[0]], DiscoverOptions(k=10, budget=10, genre="Rock"))
    assert rock.results and all(d.track.genre == "Rock" for d in rock.results)
    tight = discoverer(settings, lib, fake).run([seeds[0]], DiscoverOptions(k=10, budget=10, requests=2))
    assert tight.progress.requests == 2 and "budget" in (tight.progress.stopped_asking or "")
    only_genre = discoverer(settings, lib, fake).run(
        [seeds[0]], DiscoverOptions(k=10, budget=10, sources=(Source.GENRE,)))
    assert all(f.startswith("genre:") for d in only_genre.results for f in d.found_by)


def test_candidates_store_age_limit(tmp_path: Path, fake_itunes) -> None:
    from musicrec_tui.core.itunes import CatalogueSong
    from musicrec_tui.core.models import FeatureVector, Track

    song = CatalogueSong(Track("itunes", "42", "T", "A", preview_url="http://x/p.m4a"), 7, 8)
    store = CandidateStore(tmp_path / "c.sqlite3", max_age_s=3600)
    import numpy as np

    store.save_analysed(song, ["genre:Pop"], [FeatureVector("musicnn", 1, np.ones(4, np.float32))])
    assert store.get_many([42])[42].analysed
    m = store.load_matrix("musicnn", 1)
    assert list(m.ids) == [index_id(42)] and m.matrix.shape == (1, 4)
    store._conn.execute("UPDATE candidates SET updated_at = ?", (time.time() - 7200,))
    assert store.get_many([42]) == {} and len(store.load_matrix("musicnn", 1)) == 0
    assert store.purge_expired() == 1
    store.close()


def test_client_artist_songs_and_attribute_search(fake_itunes) -> None:
    catalogue(fake_itunes)
    client = ItunesClient(fake_itunes.url, sleep=fake_itunes.clock.sleep, clock=fake_itunes.clock,
                          rate_per_minute=600)
    songs = client.artist_songs([CHORDS, DRUMS], limit=3)
    assert [s.artist_id for s in songs] == [CHORDS] * 3 + [DRUMS] * 3, "artist records are left out"
    hit = fake_itunes.hits("/lookup")[-1]
    assert hit.query == {"id": f"{CHORDS},{DRUMS}", "entity": "song", "limit": "3"}
    rock = client.search_songs("Rock", 50, attribute="genreIndex")
    assert {s.track.artist for s in rock} == {"Noise Unit"}
    assert client.counters.calls == 2
    client.search_songs("Rock", 50, attribute="genreIndex")
    assert client.counters.calls == 2 and client.counters.cache_hits == 1
