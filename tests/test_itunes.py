"""ItunesClient against the fake iTunes server over real HTTP: parsing, pacing, retries and typed errors."""

from __future__ import annotations

import itertools
import json
import random
import threading
from pathlib import Path

import pytest

from musicrec_tui.core.errors import ConfigError, ItunesError, ItunesThrottled, ItunesUnavailable
from musicrec_tui.core.itunes import ItunesClient, parse_results
from musicrec_tui.core.ratelimit import TokenBucket, guaranteed_backoff, parse_retry_after
from musicrec_tui.core.text import clean
from tests.fake_itunes import HOSTILE_STRINGS, ODD_STRINGS, FakeClock, FakeItunes, Fault

DATA = Path(__file__).parent / "data" / "itunes"


class MinJitter(random.Random):
    """The unluckiest jitter: every delay at the bottom of its range."""

    def uniform(self, a: float, b: float) -> float:
        return a


def make_client(server: FakeItunes, **kw) -> ItunesClient:
    kw.setdefault("rng", random.Random(1))
    kw.setdefault("timeout", 2.0)
    return ItunesClient(server.url, sleep=server.clock.sleep, clock=server.clock, **kw)


def statuses(server: FakeItunes, path: str) -> list[int | None]:
    return [r.status for r in server.hits(path)]


# -- parsing and request shape ----------------------------------------------------------------------------

def test_search_sends_song_query_and_parses_tracks(fake_itunes):
    fake_itunes.add_track(101, "Around the World", "Daft Punk", album="Homework", primaryGenreName="House")
    fake_itunes.add_track(102, "Da Funk", "Daft Punk", preview=None)
    fake_itunes.add_track(103, "Other", "Someone Else")
    fake_itunes.extra_results += [
        {"wrapperType": "audiobook", "collectionName": "Daft Punk: A Guide", "previewUrl": "http://x/y.m4a"},
        {"wrapperType": "track", "kind": "music-video", "trackId": 555, "trackName": "Video",
         "artistName": "DP"},
        {"wrapperType": "collection", "collectionType": "Album", "collectionId": 9},
        {"wrapperType": "track", "kind": "song", "trackName": "no id", "artistName": "x"},
    ]
    tracks = make_client(fake_itunes).search("daft  punk", limit=10, country="gb")

    assert [t.external_id for t in tracks] == ["101", "102"]
    first, second = tracks
    assert (first.source, first.title, first.artist, first.album, first.genre) == (
        "itunes", "Around the World", "Daft Punk", "Homework", "House")
    assert first.preview_url == f"{fake_itunes.url}/previews/101.m4a"
    assert first.artwork_url.endswith("/100x100bb.jpg")
    assert first.duration_ms == 180_101 and first.track_number == 1 + 101 % 12
    assert first.release_date == "2011-05-02T07:00:00Z" and first.country == "USA"
    assert first.ingestible and first.itunes_track_id == 101
    assert second.preview_url is None and not second.ingestible
    (req,) = fake_itunes.hits("/search")
    assert req.query == {"term": "daft punk", "media": "music", "entity": "song", "limit": "10",
                         "country": "GB"}


@pytest.mark.parametrize(("asked", "sent"), [(1000, "200"), (0, "1"), (-5, "1"), (200, "200"), (37, "37")])
def test_limit_is_clamped(fake_itunes, asked, sent):
    make_client(fake_itunes).search("x", limit=asked)
    assert fake_itunes.hits("/search")[0].query["limit"] == sent


def test_lookup_joins_ids_keeps_order_and_skips_unknown(fake_itunes):
    for i in (5, 6, 7):
        fake_itunes.add_track(i, f"T{i}", "A")
    tracks = make_client(fake_itunes).lookup([7, "5", 999, 7, " 6 "])
    assert [t.external_id for t in tracks] == ["7", "5", "6"]
    (req,) = fake_itunes.hits("/lookup")
    assert req.query == {"id": "7,5,999,6"}


def test_lookup_of_nothing_makes_no_request(fake_itunes):
    assert make_client(fake_itunes).lookup([]) == []
    assert fake_itunes.hits("/") == []


@pytest.mark.parametrize("bad", ["12a", "", "-3", "1;DROP"])
def test_lookup_rejects_non_ids(fake_itunes, bad):
    with pytest.raises(ConfigError, match="not an iTunes track id"):
        make_client(fake_itunes).lookup([bad])
    assert fake_itunes.hits("/") == []


def test_bad_input_gives_config_errors(fake_itunes):
    client = make_client(fake_itunes)
    with pytest.raises(ConfigError, match="search term is empty"):
        client.search("   ")
    with pytest.raises(ConfigError, match="two-letter"):
        client.search("x", country="USA")
    with pytest.raises(ConfigError, match="base URL"):
        ItunesClient("ftp://example.com")
    with pytest.raises(ConfigError, match="base URL"):
        ItunesClient("not a url")
    assert fake_itunes.hits("/") == []


def test_real_samples_served_over_http_parse(fake_itunes):
    """Apple's raw bodies (three leading newlines, collections, music videos, audiobooks) served as is."""
    lookup_raw = (DATA / "lookup_album_songs_1441458047_gb.json").read_bytes()
    assert lookup_raw.startswith(b"\n\n\n")
    fake_itunes.raw["/lookup"] = lookup_raw
    tracks = make_client(fake_itunes).lookup([1441458047])
    assert tracks == []  # the id asked for is the album itself, not a song
    songs = parse_results(json.loads(lookup_raw))
    expected = [r for r in json.loads(lookup_raw)["results"] if r.get("kind") == "song"]
    assert len(songs) == len(expected) == 18
    assert {s.external_id for s in songs} == {str(r["trackId"]) for r in expected}
    assert all(s.preview_url and s.preview_url.endswith(".m4a") for s in songs)
    assert {s.country for s in songs} == {"GBR"}

    fake_itunes.raw["/search"] = (DATA / "search_all_radiohead.json").read_bytes()
    radiohead = make_client(fake_itunes).search("radiohead")
    assert len(radiohead) == 48 and {t.artist for t in radiohead} >= {"Radiohead"}

    fake_itunes.raw["/search"] = (DATA / "search_music_jp_sakura.json").read_bytes()
    (sakura,) = make_client(fake_itunes).search("sakura", country="JP")
    assert (sakura.title, sakura.artist, sakura.country) == ("桜", "コブクロ", "JPN")
    assert "accessKey=" in sakura.preview_url


def test_odd_unicode_and_hostile_strings_survive_but_control_chars_do_not(fake_itunes):
    strings = ODD_STRINGS + HOSTILE_STRINGS
    for i, s in enumerate(strings):
        fake_itunes.add_track(200 + i, s, s, album=s)
    tracks = make_client(fake_itunes).lookup(range(200, 200 + len(strings)))
    by_id = {t.external_id: t for t in tracks}
    for i, s in enumerate(strings):
        t = by_id[str(200 + i)]
        if any(ord(c) < 32 for c in s):
            assert t.title == "tab herebell[31mred"  # tab -> space; BEL and ESC removed
        else:  # verbatim but for the one normalisation (NFC: combining marks composed)
            assert (t.title, t.artist, t.album) == (clean(s), clean(s), clean(s))


def test_lenient_fields():
    (t,) = parse_results({"results": [{
        "wrapperType": "track", "kind": "song", "trackId": "42", "trackName": None, "artistName": 7,
        "trackTimeMillis": 1.5e5, "trackNumber": True, "previewUrl": "javascript:alert(1)",
        "artworkUrl60": "https://a/60x60bb.jpg", "primaryGenreName": ["x"]}]})
    assert (t.external_id, t.title, t.artist, t.duration_ms, t.track_number) == ("42", "", "7", 150000, None)
    assert t.preview_url is None and t.artwork_url == "https://a/60x60bb.jpg" and t.genre == ""


@pytest.mark.parametrize("term", [*HOSTILE_STRINGS, "桜 さくら", "AC/DC & friends+more", "50% *"])
def test_hostile_and_unicode_search_terms_reach_the_server_intact(fake_itunes, term):
    make_client(fake_itunes).search(term)
    assert fake_itunes.hits("/search")[0].query["term"] == " ".join(term.split())


# -- pacing -----------------------------------------------------------------------------------------------

def test_token_bucket_paces_search_and_lookup_together(fake_itunes):
    fake_itunes.add_track(1, "one", "a")
    client = make_client(fake_itunes, rate_per_minute=20)
    for term in ("a", "b", "c"):
        client.search(term)
    client.lookup([1])
    client.search("d")
    times = [r.time for r in fake_itunes.requests]
    assert len(times) == 5
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g >= 3.0 - 1e-9 for g in gaps), gaps
    assert max(gaps) < 3.0 + 1e-6


def test_token_bucket_burst_and_rate():
    clock = FakeClock(0.0)
    bucket = TokenBucket(60, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([1.0, 1.0, 1.0])


def test_repeated_search_is_served_from_cache(fake_itunes):
    fake_itunes.add_track(1, "cached song", "a")
    client = make_client(fake_itunes)
    first = client.search("cached")
    assert client.search("cached") == first
    assert len(fake_itunes.hits("/search")) == 1
    client.search("cached", limit=5)
    assert len(fake_itunes.hits("/search")) == 2


def test_cached_search_expires_after_its_ttl(fake_itunes):
    fake_itunes.add_track(1, "song", "a")
    client = make_client(fake_itunes, cache_ttl=600.0)
    client.search("song")
    fake_itunes.clock.sleep(599.0)
    client.search("song")
    assert len(fake_itunes.hits("/search")) == 1
    fake_itunes.clock.sleep(2.0)
    client.search("song")
    assert len(fake_itunes.hits("/search")) == 2


# -- throttling -------------------------------------------------------------------------------------------

def test_default_schedule_is_guaranteed_to_outlast_a_minute():
    assert guaranteed_backoff(8, base=2.0, cap=60.0, floor=0.5) >= 60.0
    assert guaranteed_backoff(8, base=2.0, cap=60.0, floor=0.0) == 0.0  # why throttling uses equal jitter


@pytest.mark.parametrize("rng", [MinJitter(), random.Random(1), random.Random(2)])
def test_403_throttle_for_a_full_minute_is_outlasted(fake_itunes, rng):
    fake_itunes.add_track(1, "song", "artist")
    fake_itunes.throttle(60.0)
    start = fake_itunes.clock()
    tracks = make_client(fake_itunes, rng=rng).search("song")

    assert [t.external_id for t in tracks] == ["1"]
    hits = fake_itunes.hits("/search")
    assert statuses(fake_itunes, "/search")[-1] == 200
    assert set(statuses(fake_itunes, "/search")[:-1]) == {403} and len(hits) >= 3
    assert hits[-1].time - start >= 60.0  # the schedule covered the whole server-side window
    assert fake_itunes.clock.total_slept >= 60.0


def test_throttle_window_then_transient_faults_each_get_their_own_budget(fake_itunes):
    fake_itunes.add_track(1, "song", "artist")
    fake_itunes.throttle(60.0)
    fake_itunes.fail("/search", "503", "malformed", "reset", "truncate")
    tracks = make_client(fake_itunes, rng=MinJitter()).search("song")
    assert [t.external_id for t in tracks] == ["1"]
    faults = [r.fault for r in fake_itunes.hits("/search")]
    throttled = faults.count("403")
    assert throttled >= 6 and faults[throttled:] == ["503", "malformed", "reset", "truncate", None]


def test_throttle_that_never_ends_raises_itunes_throttled(fake_itunes):
    fake_itunes.throttle(10_000.0)
    with pytest.raises(ItunesThrottled) as info:
        make_client(fake_itunes).search("anything at all")
    line = info.value.one_line()
    assert f"HTTP 403 (throttled) from {fake_itunes.url}/search after 9 attempts" in line
    assert "?" not in line and "\n" not in line
    assert len(fake_itunes.hits("/search")) == 9


def test_server_limit_lower_than_clients_is_survived(fake_itunes):
    """Apple's real limit can be below 20/min (shared IP): the server throttles, the client outlasts it."""
    fake_itunes.add_track(1, "song", "artist")
    fake_itunes.server_limit(4)
    client = make_client(fake_itunes, rate_per_minute=20)
    for i in range(8):
        client.search(f"song {i}" if i else "song")
    assert 403 in statuses(fake_itunes, "/search")
    assert statuses(fake_itunes, "/search").count(200) == 8


def test_429_retry_after_seconds_is_honoured(fake_itunes):
    fake_itunes.add_track(1, "song", "artist")
    fake_itunes.fail("/search", Fault("429", retry_after="45"))
    make_client(fake_itunes).search("song")
    assert statuses(fake_itunes, "/search") == [429, 200]
    t0, t1 = (r.time for r in fake_itunes.hits("/search"))
    assert t1 - t0 >= 45.0


def test_429_retry_after_http_date_is_honoured(fake_itunes):
    fake_itunes.add_track(1, "song", "artist")
    fake_itunes.fail("/lookup", Fault("429", retry_after="+30"))  # the server writes now + 30 s as a date
    make_client(fake_itunes).lookup([1])
    assert statuses(fake_itunes, "/lookup") == [429, 200]
    t0, t1 = (r.time for r in fake_itunes.hits("/lookup"))
    assert 28.0 <= t1 - t0 <= 61.0


def test_retry_after_beyond_the_limit_gives_up_at_once(fake_itunes):
    fake_itunes.fail("/search", Fault("429", retry_after="3600"))
    with pytest.raises(ItunesThrottled, match=r"HTTP 429 .* after 1 attempt$"):
        make_client(fake_itunes).search("song")
    assert len(fake_itunes.hits("/search")) == 1


def test_parse_retry_after():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after(" ") is None


# -- transient failures -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["500", "503", "malformed", "cutoff", "html", "truncate", "reset"])
def test_transient_fault_is_retried_then_succeeds(fake_itunes, fault):
    fake_itunes.add_track(1, "song", "artist")
    fake_itunes.fail("/search", fault, fault)
    assert [t.external_id for t in make_client(fake_itunes).search("song")] == ["1"]
    assert len(fake_itunes.hits("/search")) == 3
    assert fake_itunes.hits("/search")[-1].status == 200
    assert fake_itunes.clock.total_slept > 0


def test_slow_server_beyond_timeout_is_retried(fake_itunes):
    fake_itunes.add_track(1, "song", "artist")
    fake_itunes.fail("/search", Fault("slow", delay=3.0), Fault("stall", delay=3.0))
    tracks = make_client(fake_itunes, timeout=0.5).search("song")
    assert [t.external_id for t in tracks] == ["1"]
    assert len(fake_itunes.hits("/search")) == 3


def test_persistent_timeout_raises_unavailable(fake_itunes):
    fake_itunes.fail("/search", *[Fault("slow", delay=3.0)] * 2)
    with pytest.raises(ItunesUnavailable, match=r"timed out after 0.5 s from .*/search after 2 attempts"):
        make_client(fake_itunes, timeout=0.5, transient_retries=1).search("song")


@pytest.mark.parametrize(("fault", "reason"), [
    ("503", "HTTP 503"), ("malformed", "malformed JSON"), ("cutoff", "cut-off JSON"),
    ("html", "HTML error page"), ("truncate", "body cut off"),
    ("reset", "connection closed without an answer")])
def test_persistent_fault_raises_unavailable_with_reason(fake_itunes, fault, reason):
    fake_itunes.fail("/search", *[fault] * 4)
    with pytest.raises(ItunesUnavailable) as info:
        make_client(fake_itunes, transient_retries=3).search("song")
    assert reason in info.value.one_line() and "after 4 attempts" in info.value.one_line()
    assert not isinstance(info.value, ItunesThrottled)


def test_mixed_faults_then_success_and_failures_are_not_cached(fake_itunes):
    fake_itunes.add_track(1, "song", "artist")
    fake_itunes.fail("/search", "503", "malformed", Fault("429", retry_after="2"), "truncate", "403",
                     "cutoff", "html", "reset", "500")
    with pytest.raises(ItunesError):
        make_client(fake_itunes, max_retries=3, transient_retries=3).search("song")  # faults remain queued
    client = make_client(fake_itunes)
    assert [t.external_id for t in client.search("song")] == ["1"]  # not answered from a cached failure
    assert statuses(fake_itunes, "/search")[-1] == 200
    assert fake_itunes.pending_faults() == 0
    assert len(fake_itunes.hits("/search")) == 10


def test_client_errors_are_not_retried(fake_itunes):
    fake_itunes.fail("/lookup", "404")
    with pytest.raises(ItunesError, match="HTTP 404") as info:
        make_client(fake_itunes).lookup([1])
    assert not isinstance(info.value, ItunesUnavailable | ItunesThrottled)
    assert len(fake_itunes.hits("/lookup")) == 1


def test_unreachable_server_raises_unavailable():
    with FakeItunes() as server:
        url = server.url
    clock = FakeClock()
    client = ItunesClient(url, transient_retries=1, rng=random.Random(0), sleep=clock.sleep, clock=clock)
    with pytest.raises(ItunesUnavailable, match=r"connection refused from .* after 2 attempts"):
        client.search("song")


def test_unresolvable_host_fails_at_once():
    clock = FakeClock()
    client = ItunesClient("http://itunes.nonexistent.invalid", sleep=clock.sleep, clock=clock)
    with pytest.raises(ItunesUnavailable, match=r"cannot resolve host from .* after 1 attempt$"):
        client.search("song")
    assert clock.total_slept == 0


def test_real_clock_short_window_with_scaled_backoff(fake_previews):
    """The same schedule on real time, scaled down: a 0.6 s throttle window, base 0.05 s, cap 0.4 s."""
    import time

    with FakeItunes(fake_previews, clock=time.monotonic) as server:
        server.add_track(1, "song", "artist")
        server.throttle(0.6)
        window_end = time.monotonic() + 0.6
        client = ItunesClient(server.url, rate_per_minute=6000, backoff_base=0.05, backoff_cap=0.4,
                              rng=random.Random(4), timeout=5.0)
        assert [t.external_id for t in client.search("song")] == ["1"]
        hits = server.hits("/search")
        assert [r.status for r in hits[:-1]] == [403] * (len(hits) - 1) and hits[-1].status == 200
        assert hits[-1].time >= window_end - 0.01


def test_concurrent_callers_queue_up_in_the_bucket():
    """Each thread reserves its own slot: waits are 0, 2, 4 ... s, not everyone waking at once."""
    slept: list[float] = []
    bucket = TokenBucket(30, clock=lambda: 500.0, sleep=slept.append)
    waits: list[float] = []
    threads = [threading.Thread(target=lambda: waits.append(bucket.acquire())) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(waits) == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0, 10.0])
    assert sorted(slept) == pytest.approx([2.0, 4.0, 6.0, 8.0, 10.0])
