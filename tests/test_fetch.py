"""PreviewCache against the fake iTunes server: streaming, atomic, capped, checked, LRU, no temp files."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from musicrec_tui.core.audio import decode
from musicrec_tui.core.errors import ConfigError, DecodeError, DownloadError, PreviewGone
from musicrec_tui.core.fetch import CachedPreview, PreviewCache
from musicrec_tui.core.models import Track
from tests.fake_itunes import HOSTILE_STRINGS, FakeClock, FakeItunes, Fault


def make_cache(server: FakeItunes, dir: Path, **kw) -> PreviewCache:
    kw.setdefault("rng", random.Random(3))
    kw.setdefault("timeout", 2.0)
    clock = kw.pop("clock", None) or FakeClock()
    return PreviewCache(dir, sleep=clock.sleep, **kw)


def track_for(server: FakeItunes, track_id: int, preview: str | None = "chord:0",
              title: str = "Song") -> Track:
    server.add_track(track_id, title, "Artist", preview=preview)
    return Track("itunes", str(track_id), title, "Artist",
                 preview_url=f"{server.url}/previews/{track_id}.m4a" if preview else None)


def leftovers(dir: Path) -> list[str]:
    return sorted(p.name for p in dir.iterdir() if p.name.startswith("."))


def finals(dir: Path) -> list[str]:
    return sorted(p.name for p in dir.iterdir() if not p.name.startswith("."))


def preview_hits(server: FakeItunes, track_id: int) -> int:
    return len(server.hits(f"/previews/{track_id}.m4a"))


def test_fetch_streams_hashes_and_names_by_id(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 11, "drums:128", title=HOSTILE_STRINGS[3])  # ../../etc/passwd
    got = make_cache(fake_itunes, tmp_path).fetch(track)

    body = fake_itunes.previews.get("drums:128")
    assert isinstance(got, CachedPreview) and not got.reused
    assert got.path == tmp_path / "itunes-11.m4a"
    assert got.size == len(body) == got.path.stat().st_size
    assert got.sha256 == hashlib.sha256(body).hexdigest() == hashlib.sha256(got.path.read_bytes()).hexdigest()
    assert decode(got.path).seconds == pytest.approx(6.0, abs=0.1)
    assert finals(tmp_path) == ["itunes-11.m4a"] and leftovers(tmp_path) == []


def test_valid_cached_file_is_reused_without_a_request(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 12)
    cache = make_cache(fake_itunes, tmp_path)
    first = cache.fetch(track)
    again = make_cache(fake_itunes, tmp_path).fetch(track)  # a new cache object over the same directory
    assert again.reused and (again.path, again.sha256, again.size) == (first.path, first.sha256, first.size)
    assert preview_hits(fake_itunes, 12) == 1


def test_cached_file_with_wrong_checksum_is_downloaded_again(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 13)
    cache = make_cache(fake_itunes, tmp_path)
    first = cache.fetch(track)
    first.path.write_bytes(b"not the preview")
    again = cache.fetch(replace(track, preview_sha256=first.sha256))
    assert not again.reused and again.sha256 == first.sha256
    assert preview_hits(fake_itunes, 13) == 2


@pytest.mark.parametrize("fault", ["500", "503", "truncate", "reset", "429"])
def test_transient_download_faults_are_retried(fake_itunes, tmp_path, fault):
    track = track_for(fake_itunes, 21, "noise:2")
    fake_itunes.fail("/previews/", fault, fault)
    got = make_cache(fake_itunes, tmp_path).fetch(track)
    assert got.sha256 == hashlib.sha256(fake_itunes.previews.get("noise:2")).hexdigest()
    assert [r.status for r in fake_itunes.hits("/previews/")][-1] == 200
    assert preview_hits(fake_itunes, 21) == 3
    assert leftovers(tmp_path) == []


def test_retry_after_on_a_preview_is_honoured_up_to_the_cap(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 26)
    fake_itunes.fail("/previews/26.m4a", Fault("429", retry_after="5"), Fault("429", retry_after="3600"))
    clock = FakeClock()
    make_cache(fake_itunes, tmp_path, clock=clock, backoff_cap=8.0).fetch(track)
    assert clock.slept[0] >= 5.0 and clock.slept[1] == 8.0 and len(clock.slept) == 2


def test_slow_and_stalled_downloads_time_out_and_are_retried(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 22)
    fake_itunes.fail("/previews/22.m4a", Fault("slow", delay=3.0), Fault("stall", delay=3.0))
    got = make_cache(fake_itunes, tmp_path, timeout=0.5).fetch(track)
    assert got.size == len(fake_itunes.previews.get("chord:0"))
    assert preview_hits(fake_itunes, 22) == 3 and leftovers(tmp_path) == []


def test_persistent_truncation_is_a_download_error_with_counts(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 23)
    size = len(fake_itunes.previews.get("chord:0"))
    fake_itunes.fail("/previews/23.m4a", *["truncate"] * 3)
    with pytest.raises(DownloadError) as info:
        make_cache(fake_itunes, tmp_path, retries=2).fetch(track)
    line = info.value.one_line()
    assert f"truncated: got {size // 2} of {size} bytes" in line and "3 attempts" in line
    assert finals(tmp_path) == [] and leftovers(tmp_path) == []


def test_persistent_timeout_is_a_download_error(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 24)
    fake_itunes.fail("/previews/24.m4a", *[Fault("stall", delay=3.0)] * 2)
    with pytest.raises(DownloadError, match=r"timed out after 0.5 s .*2 attempts"):
        make_cache(fake_itunes, tmp_path, timeout=0.5, retries=1).fetch(track)
    assert finals(tmp_path) == [] and leftovers(tmp_path) == []


def test_gone_preview_is_not_retried(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 25)
    fake_itunes.fail("/previews/25.m4a", "404")
    with pytest.raises(PreviewGone, match=r"HTTP 404 for preview http://127\.0\.0\.1:\d+/previews/25\.m4a"):
        make_cache(fake_itunes, tmp_path).fetch(track)
    assert preview_hits(fake_itunes, 25) == 1 and finals(tmp_path) == [] and leftovers(tmp_path) == []


@pytest.mark.parametrize(("kind", "reason"), [
    ("corrupt", "preview rejected: cannot decode audio"),
    ("silent", "preview rejected: audio is silent"),
    ("short", "preview rejected: audio too short: 3.0 s"),
])
def test_unusable_preview_fails_once_with_its_reason(fake_itunes, tmp_path, kind, reason):
    track = track_for(fake_itunes, 31, kind)
    with pytest.raises(DecodeError) as info:
        make_cache(fake_itunes, tmp_path).fetch(track)
    assert info.value.one_line().startswith(reason)
    assert preview_hits(fake_itunes, 31) == 1  # not retried
    assert finals(tmp_path) == [] and leftovers(tmp_path) == []


def test_decode_check_keeps_short_and_silent_previews(fake_itunes, tmp_path):
    short, silent, corrupt = (track_for(fake_itunes, 32 + i, k)
                              for i, k in enumerate(("short", "silent", "corrupt")))
    cache = make_cache(fake_itunes, tmp_path, check="decode")
    assert decode(cache.fetch(short).path).seconds == pytest.approx(3.0, abs=0.1)
    assert cache.fetch(silent).path.exists()
    with pytest.raises(DecodeError, match="preview rejected: cannot decode audio"):
        cache.fetch(corrupt)


def test_probe_check_rejects_corrupt_and_short_but_not_silent(fake_itunes, tmp_path):
    short, silent, corrupt, good = (track_for(fake_itunes, 35 + i, k)
                                    for i, k in enumerate(("short", "silent", "corrupt", "drums:90")))
    cache = make_cache(fake_itunes, tmp_path, check="probe")
    with pytest.raises(DecodeError, match=r"preview rejected: audio too short: 3\.0 s"):
        cache.fetch(short)
    with pytest.raises(DecodeError, match="preview rejected: cannot decode audio"):
        cache.fetch(corrupt)
    assert cache.fetch(silent).path.exists()
    assert decode(cache.fetch(good).path).seconds == pytest.approx(6.0, abs=0.1)
    assert finals(tmp_path) == ["itunes-36.m4a", "itunes-38.m4a"] and leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="check must be one of"):
        make_cache(fake_itunes, tmp_path, check="quick")


@pytest.mark.parametrize("fault", [None, "nolength"])
def test_preview_larger_than_cap_is_refused(fake_itunes, tmp_path, fault):
    """With Content-Length the download is refused up front; without one, once the cap is passed."""
    track = track_for(fake_itunes, 41, "large")
    size = len(fake_itunes.previews.get("large"))
    cap = 150_000
    assert size > 2 * cap
    if fault:
        fake_itunes.fail("/previews/41.m4a", fault)
    with pytest.raises(DownloadError, match="preview larger than cap") as info:
        make_cache(fake_itunes, tmp_path, max_file_bytes=cap).fetch(track)
    assert (str(size) in info.value.one_line()) == (fault is None)
    assert preview_hits(fake_itunes, 41) == 1 and finals(tmp_path) == [] and leftovers(tmp_path) == []


def test_download_without_content_length_is_accepted_under_the_cap(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 42, "chord:4")
    fake_itunes.fail("/previews/42.m4a", "nolength")
    got = make_cache(fake_itunes, tmp_path).fetch(track)
    assert got.sha256 == hashlib.sha256(fake_itunes.previews.get("chord:4")).hexdigest()


def test_gzip_encoded_preview_is_decoded_and_length_checked_on_the_wire(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 44, "chord:2")
    fake_itunes.fail("/previews/44.m4a", "gzip")
    got = make_cache(fake_itunes, tmp_path).fetch(track)
    assert got.sha256 == hashlib.sha256(fake_itunes.previews.get("chord:2")).hexdigest()
    assert preview_hits(fake_itunes, 44) == 1


def test_unusable_cache_directory_is_a_config_error(fake_itunes, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(ConfigError, match="cannot create the preview cache"):
        make_cache(fake_itunes, blocker / "previews")


def test_track_without_preview_url(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 43, None)
    assert not track.ingestible
    with pytest.raises(DownloadError, match="no preview URL"):
        make_cache(fake_itunes, tmp_path).fetch(track)
    assert fake_itunes.requests == []


@pytest.mark.parametrize("external_id", ["../../etc/passwd", "1/2", "", "x" * 65])
def test_cache_file_names_never_come_from_untrusted_text(fake_itunes, tmp_path, external_id):
    track = Track("itunes", external_id, "t", "a", preview_url=f"{fake_itunes.url}/previews/1.m4a")
    with pytest.raises(DownloadError, match="cannot name a cache file"):
        make_cache(fake_itunes, tmp_path).fetch(track)
    assert list(tmp_path.iterdir()) == []


def test_mixed_faults_across_several_previews(fake_itunes, tmp_path):
    tracks = [track_for(fake_itunes, 50 + i, kind)
              for i, kind in enumerate(["chord:1", "drums:90", "corrupt", "noise:4", "silent", "drums:160"])]
    fake_itunes.fail("/previews/", "503", "truncate", "reset", "500", Fault("stall", delay=3.0), "429")
    cache = make_cache(fake_itunes, tmp_path, timeout=0.5, retries=6)  # the first track meets all six faults
    outcomes = {}
    for t in tracks:
        try:
            outcomes[t.external_id] = cache.fetch(t).size > 0
        except (DownloadError, DecodeError) as exc:
            outcomes[t.external_id] = exc.one_line().split(":")[0] + ":" + exc.one_line().split(":")[1]
    assert outcomes == {"50": True, "51": True, "52": "preview rejected: cannot decode audio", "53": True,
                        "54": "preview rejected: audio is silent", "55": True}
    assert fake_itunes.pending_faults() == 0 and preview_hits(fake_itunes, 50) == 7
    assert finals(tmp_path) == ["itunes-50.m4a", "itunes-51.m4a", "itunes-53.m4a", "itunes-55.m4a"]
    assert leftovers(tmp_path) == []


# -- cache management -------------------------------------------------------------------------------------

def test_lru_eviction_keeps_total_under_max_bytes(fake_itunes, tmp_path):
    a, b, c = (track_for(fake_itunes, 60 + i, f"chord:{i}") for i in range(3))
    size = len(fake_itunes.previews.get("chord:0"))
    cache = make_cache(fake_itunes, tmp_path, max_bytes=int(size * 2.5))
    pa, pb = cache.fetch(a).path, cache.fetch(b).path
    os.utime(pa, (1_000_000, 1_000_000))  # a is older than b ...
    os.utime(pb, (2_000_000, 2_000_000))
    assert cache.fetch(a).reused          # ... until a is used again, which touches it
    pc = cache.fetch(c).path               # the third file overflows the limit: b is least recently used
    assert sorted(p.name for p in (pa, pc)) == finals(tmp_path)
    assert cache.total_bytes() <= cache.max_bytes
    assert preview_hits(fake_itunes, 60) == 1


def test_overflow_evicts_down_to_the_low_water_mark(fake_itunes, tmp_path):
    """A full cache makes room for more than one file at a time, so it is not rescanned on every download."""
    tracks = [track_for(fake_itunes, 80 + i, "chord:0") for i in range(6)]
    size = len(fake_itunes.previews.get("chord:0"))
    cache = make_cache(fake_itunes, tmp_path, max_bytes=int(size * 5.5))
    paths = [cache.fetch(t).path for t in tracks]
    assert len(finals(tmp_path)) == 4 and paths[-1].exists()
    assert cache.total_bytes() <= 0.9 * cache.max_bytes


def test_evict_never_removes_the_file_just_fetched(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 65)
    cache = make_cache(fake_itunes, tmp_path, max_bytes=10)
    got = cache.fetch(track)
    assert got.path.exists() and cache.evict() == [got.path] and not got.path.exists()


def test_discard_deletes_the_preview(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 66)
    cache = make_cache(fake_itunes, tmp_path)
    path = cache.fetch(track).path
    assert cache.discard(track) and not path.exists()
    assert not cache.discard(track)


def test_partial_files_of_dead_processes_are_swept(fake_itunes, tmp_path):
    proc = subprocess.Popen(["true"])
    proc.wait()
    dead_pid = proc.pid  # a process that has exited, as after a kill -9
    dead = tmp_path / f".itunes-1.m4a.{dead_pid}.abc123.part"
    mine = tmp_path / f".itunes-2.m4a.{os.getpid()}.def456.part"
    dead.write_bytes(b"half")
    mine.write_bytes(b"in progress")
    make_cache(fake_itunes, tmp_path)
    assert not dead.exists() and mine.exists()


def test_keyboard_interrupt_mid_download_leaves_no_temp_file(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 70)
    session = requests.Session()
    seen = []

    def interrupt(resp, *args, **kwargs):
        seen.append(list(tmp_path.iterdir()))  # the temp file exists while the response streams in
        raise KeyboardInterrupt

    session.hooks["response"].append(interrupt)
    with pytest.raises(KeyboardInterrupt):
        make_cache(fake_itunes, tmp_path, session=session).fetch(track)
    assert len(seen) == 1 and [p.name.endswith(".part") for p in seen[0]] == [True]
    assert list(tmp_path.iterdir()) == []


def test_concurrent_fetches_of_one_preview_agree(fake_itunes, tmp_path):
    track = track_for(fake_itunes, 71, "drums:90")
    cache = make_cache(fake_itunes, tmp_path)
    results: list[CachedPreview] = []
    threads = [threading.Thread(target=lambda: results.append(cache.fetch(track))) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len({(r.path, r.sha256, r.size) for r in results}) == 1
    assert finals(tmp_path) == ["itunes-71.m4a"] and leftovers(tmp_path) == []


def test_every_fault_at_once_ends_each_track_as_expected(fake_itunes, tmp_path):
    """Search and lookup through their faults, then fetch: each track is cached or fails with its reason."""
    from musicrec_tui.core.itunes import ItunesClient

    expected = fake_itunes.add_chaos(throttle_seconds=60.0)
    clock = fake_itunes.clock
    client = ItunesClient(fake_itunes.url, sleep=clock.sleep, clock=clock, rng=random.Random(5), timeout=2.0)
    found = client.search("chaos")
    assert sorted(int(t.external_id) for t in found) == sorted(expected)
    looked_up = client.lookup([t.external_id for t in found])
    assert [t.external_id for t in looked_up] == [t.external_id for t in found]
    cache = make_cache(fake_itunes, tmp_path, max_file_bytes=200_000)
    outcome: dict[int, str | None] = {}
    for t in looked_up:
        try:
            cache.fetch(t)
            outcome[int(t.external_id)] = None
        except (DownloadError, DecodeError) as exc:
            outcome[int(t.external_id)] = exc.one_line()
    for track_id, reason in expected.items():
        if reason is None:
            assert outcome[track_id] is None, outcome[track_id]
        else:
            assert outcome[track_id] is not None and reason in outcome[track_id]
    assert fake_itunes.pending_faults() == 0
    assert len(finals(tmp_path)) == sum(r is None for r in expected.values()) and leftovers(tmp_path) == []
