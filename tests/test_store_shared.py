"""MySQL as a shared server (issue 9): a least-privilege user, deadlock / lock-wait retries, long names and
numbers validated the same way on both backends."""

from __future__ import annotations

import multiprocessing as mp
import random
import threading
import time

import pytest

from musicrec_tui.core import limits
from musicrec_tui.core.errors import StoreConflict, StoreDenied
from musicrec_tui.core.models import JobState, Track
from musicrec_tui.store import open_library, parse_db_url
from musicrec_tui.store.migrations import load_migrations
from musicrec_tui.store.mysql import MysqlLibrary
from tests.conftest import mysql_base_url, mysql_rw_base_url


def _track(i: int, **kw: object) -> Track:
    base = dict(source="itunes", external_id=str(5000 + i), title=f"T{i}", artist=f"A{i % 5}",
                preview_url=f"http://x/{i}.m4a")
    base.update(kw)
    return Track(**base)  # type: ignore[arg-type]


def _as_rw(url: str) -> str:
    base = mysql_base_url()
    assert base is not None
    rw = mysql_rw_base_url(base)
    return rw.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1]


def test_least_privilege_user_uses_a_migrated_library(mysql_url: str) -> None:
    open_library(mysql_url).close()  # migrated by the owner
    rw_url = _as_rw(mysql_url)
    lib = open_library(rw_url)
    try:
        assert lib.schema_version() == len(load_migrations("mysql"))
        stored = lib.upsert_track(_track(1))
        jobs = lib.enqueue([_track(2), _track(3)])
        assert [j.state for j in jobs] == [JobState.QUEUED] * 2
        claimed = lib.claim_jobs("w", limit=1)
        lib.update_job(claimed[0].id, JobState.FAILED, error="x")
        assert lib.count_tracks() == 1 and lib.delete_track(stored.id)
    finally:
        lib.close()


def test_least_privilege_user_gets_one_line_naming_the_privilege(mysql_url: str) -> None:
    migrations = load_migrations("mysql")
    MysqlLibrary.open(parse_db_url(mysql_url), migrations[:-1]).close()  # one migration left pending
    rw_url = _as_rw(mysql_url)
    with pytest.raises(StoreDenied) as info:
        open_library(rw_url)
    line = info.value.one_line()
    assert "\n" not in line
    assert f"migration {migrations[-1].version:03d}" in line and "privilege" in line
    assert "ALTER" in line or "CREATE" in line or "DROP" in line
    assert parse_db_url(rw_url).password not in line
    # the owner can still migrate it; the least-privilege user then uses it
    open_library(mysql_url).close()
    open_library(rw_url).close()


def _hold_row_lock(url: str, job_id: int, seconds: float, ready: threading.Event) -> None:
    import mysql.connector

    u = parse_db_url(url)
    conn = mysql.connector.connect(host=u.host, port=u.port, user=u.user, password=u.password,
                                   database=u.database, use_pure=True, autocommit=False)
    cur = conn.cursor()
    cur.execute("SELECT id FROM jobs WHERE id = %s FOR UPDATE", (job_id,))
    cur.fetchall()
    ready.set()
    time.sleep(seconds)
    conn.rollback()
    conn.close()


def test_lock_wait_timeout_is_retried_with_jitter_then_succeeds(mysql_url: str) -> None:
    lib = open_library(mysql_url)
    try:
        with lib.transaction() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
        job = lib.enqueue([_track(1)])[0]
        ready = threading.Event()
        holder = threading.Thread(target=_hold_row_lock, args=(mysql_url, job.id, 2.5, ready))
        holder.start()
        assert ready.wait(10)
        lib.update_job(job.id, JobState.FAILED, error="after the lock")  # waits, times out, retries
        holder.join()
        assert lib.conflicts_retried >= 1
        assert lib.get_job(job.id).last_error == "after the lock"
    finally:
        lib.close()


def test_conflict_retries_are_bounded(mysql_url: str) -> None:
    lib = open_library(mysql_url)
    try:
        with lib.transaction() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
        lib.conflict_retries = 1
        job = lib.enqueue([_track(1)])[0]
        ready = threading.Event()
        holder = threading.Thread(target=_hold_row_lock, args=(mysql_url, job.id, 6, ready))
        holder.start()
        assert ready.wait(10)
        with pytest.raises(StoreConflict) as info:
            lib.update_job(job.id, JobState.FAILED, error="never")
        holder.join()
        assert lib.conflicts_retried == 1 and "\n" not in info.value.one_line()
    finally:
        lib.close()


def _enqueuer(url: str, seed: int, queue) -> None:
    rng = random.Random(seed)
    lib = open_library(url)
    try:
        for round_ in range(6):
            tracks = [_track(i) for i in range(120)]
            rng.shuffle(tracks)
            lib.enqueue(tracks, requeue_failed=True)
            while batch := lib.claim_jobs(f"w{seed}", limit=4):
                for job in batch:
                    state = JobState.FAILED if (job.id + round_) % 3 == 0 else JobState.DONE
                    lib.update_job(job.id, state, error="x" if state is JobState.FAILED else None)
        queue.put(("ok", lib.conflicts_retried))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        lib.close()


def test_three_concurrent_ingests_never_fail_on_deadlock(mysql_url: str) -> None:
    open_library(mysql_url).close()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_enqueuer, args=(mysql_url, n, queue)) for n in range(3)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(r[0] == "ok" for r in results), results
    lib = open_library(mysql_url)
    try:
        assert sum(lib.job_counts().values()) == 120
    finally:
        lib.close()


@pytest.mark.parametrize("bad", [99999999999999999999999999, -5, 0, 2**63])
def test_ids_out_of_range_are_one_line_on_both_backends(library, bad: int) -> None:
    with pytest.raises(limits.LimitError, match="track id"):
        library.get_track(bad)
    with pytest.raises(limits.LimitError):
        library.delete_track(bad)


@pytest.mark.parametrize(("limit", "offset"), [(5, -5), (5, 99999999999999999999), (0, 0), (-1, 0),
                                               (10**30, 0)])
def test_pages_out_of_range_are_one_line_on_both_backends(library, limit: int, offset: int) -> None:
    with pytest.raises(limits.LimitError):
        library.list_tracks(limit=limit, offset=offset)


def test_largest_offset_is_an_empty_page_on_both_backends(library) -> None:
    library.upsert_track(_track(1))
    assert library.list_tracks(limit=5, offset=limits.MAX_OFFSET) == []
    assert library.list_tracks(offset=1) == []
    assert [t.title for t in library.list_tracks(offset=0)] == ["T1"]


def test_long_names_and_paths_are_stored_whole_on_both_backends(library) -> None:
    import numpy as np

    from musicrec_tui.core.models import FeatureVector
    from musicrec_tui.core.text import MAX_NAME_CHARS

    long = "長" * 10_000
    path = "/music/" + "d" * 250 + "/" + "n" * 4_000 + ".mp3"
    track = Track("file", path, long, "A" * 10_000, album="B" * 10_000, genre="G" * 10_000,
                  release_date="2" * 10_000, country="C" * 10_000, preview_path=path)
    jobs = library.enqueue([track, _track(2, title="x" * 10_000)])  # a long name never fails a run
    assert [j.external_id for j in jobs] == [path, "5002"] and jobs[0].track.title == long
    stored = library.save_analysis(track, FeatureVector("ext", 1, np.ones(4, np.float32)), job_id=jobs[0].id)
    back = library.get_track(stored.id)
    assert back == stored and back.title == long and back.external_id == path and back.album == "B" * 10_000
    assert library.find_track("file", path) == back
    assert [t.id for t in library.list_tracks(search="長長長")] == [stored.id]
    # a longer name is cut the same way on both backends: MAX_NAME_CHARS characters ending in an ellipsis
    huge = library.upsert_track(_track(3, title="y" * 100_000))
    assert library.get_track(huge.id).title == "y" * (MAX_NAME_CHARS - 1) + "…"
    # a second path that only differs after the 700th character is another track (the whole id is the key)
    other = library.upsert_track(Track("file", path[:-4] + "X.mp3", "other", "a"))
    assert other.id != stored.id and library.count_tracks() == 3


def test_out_of_range_numbers_from_outside_become_empty_not_errors(library) -> None:
    stored = library.upsert_track(_track(1, duration_ms=10**30, track_number=2**40))
    back = library.get_track(stored.id)
    assert (back.duration_ms, back.track_number) == (None, None)


def test_failure_reasons_are_one_bounded_line(library) -> None:
    job = library.enqueue([_track(1)])[0]
    error = "HTTP 503 (http://x: y)\n\x1b[31mred\x1b]8;;http://e\x07" + "z" * 5000
    library.update_job(job.id, JobState.FAILED, error=error)
    reason = library.get_job(job.id).last_error
    assert reason.startswith("HTTP 503 (http://x: y) [31mred]8;;http://e") and "\x1b" not in reason
    assert "\n" not in reason and len(reason) <= 2000
