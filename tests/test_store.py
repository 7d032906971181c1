"""Store contract: one suite, run on SQLite and on MySQL, each test on a fresh database."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from musicrec_tui.core.errors import StoreError
from musicrec_tui.core.models import FeatureVector, JobState, Track
from musicrec_tui.core.text import clean
from musicrec_tui.store import open_library, parse_db_url
from musicrec_tui.store.migrations import load_migrations

UNICODE_TITLES = [
    "夜に駆ける",                       # CJK
    "أغنية الحب",                       # Arabic, right-to-left
    "שיר אהבה",                         # Hebrew, right-to-left
    "🎸🔥 Song with emoji 👩‍🎤",         # astral plane + ZWJ sequence
    "Cafe\u0301 de\u0301ja\u0300 vu",   # combining marks (not NFC-normalised on purpose)
    "Ｆｕｌｌｗｉｄｔｈ",                 # fullwidth forms
    "Zalgo t̸̢̛e̵x̷t̶",
]
HOSTILE = ["'; DROP TABLE tracks; --", "%_\\", "100% _real_ \\n", "Robert'); DELETE FROM vectors;--", "!%!_!!"]


def make_track(i: int, **kw: object) -> Track:
    base = dict(source="itunes", external_id=str(1000 + i), title=f"Title {i}", artist=f"Artist {i % 7}",
                album=f"Album {i % 3}", genre="Rock", duration_ms=200_000 + i, preview_url=f"http://x/{i}.m4a")
    base.update(kw)
    return Track(**base)  # type: ignore[arg-type]


def test_insert_get_update_list_delete(library) -> None:
    stored = library.upsert_track(make_track(1))
    assert stored.id is not None
    assert library.get_track(stored.id) == stored
    assert library.find_track("itunes", "1001") == stored

    updated = library.upsert_track(make_track(1, title="Renamed", preview_url=None))
    assert updated.id == stored.id
    fetched = library.get_track(stored.id)
    assert fetched.title == "Renamed"
    assert fetched.preview_url == "http://x/1.m4a", "a missing optional field keeps the stored value"

    for i in range(2, 6):
        library.upsert_track(make_track(i))
    assert library.count_tracks() == 5
    titles = [t.title for t in library.list_tracks(sort="title")]
    assert titles == sorted(titles)
    newest = library.list_tracks(sort="id", descending=True, limit=2)
    assert [t.external_id for t in newest] == ["1005", "1004"]
    page = library.list_tracks(sort="id", limit=2, offset=2)
    assert [t.external_id for t in page] == ["1003", "1004"]

    assert library.delete_track(stored.id) is True
    assert library.get_track(stored.id) is None
    assert library.delete_track(stored.id) is False
    assert library.count_tracks() == 4


def test_sort_field_is_whitelisted(library) -> None:
    with pytest.raises(StoreError, match="cannot sort by"):
        library.list_tracks(sort="title; DROP TABLE tracks")


def test_reinsert_same_external_id_never_duplicates(library) -> None:
    ids = {library.upsert_track(make_track(7, title=f"v{n}")).id for n in range(5)}
    library.upsert_tracks([make_track(7, title="bulk")] * 3)
    assert len(ids) == 1
    assert library.count_tracks() == 1
    assert library.get_track(ids.pop()).title == "bulk"
    # the same external id under another source is another track
    library.upsert_track(make_track(7, source="file"))
    assert library.count_tracks() == 2


@pytest.mark.parametrize("title", UNICODE_TITLES)
def test_unicode_round_trips_exactly(library, title: str) -> None:
    """Stored as the one documented normalisation makes them (core/text.clean: NFC), the same on both backends."""
    stored = library.upsert_track(make_track(1, title=title, artist=title[::-1], album=title))
    back = library.get_track(stored.id)
    assert (back.title, back.artist, back.album) == (clean(title), clean(title[::-1]), clean(title))
    assert back == stored
    assert [t.id for t in library.list_tracks(search=title[:3])] == [stored.id]


def test_hostile_strings_stored_and_searched_verbatim(library) -> None:
    ids = {}
    for i, text in enumerate(HOSTILE):
        ids[text] = library.upsert_track(make_track(i, title=text, external_id=text)).id
    library.upsert_track(make_track(99, title="plain"))
    assert library.count_tracks() == len(HOSTILE) + 1
    for text, track_id in ids.items():
        assert library.get_track(track_id).title == text
        assert library.find_track("itunes", text).id == track_id
        found = [t.id for t in library.list_tracks(search=text)]
        assert found == [track_id], f"search for {text!r} must match literally"
    assert {t.id for t in library.list_tracks(search="%")} == {ids["%_\\"], ids["100% _real_ \\n"], ids["!%!_!!"]}


def test_ten_thousand_vectors_round_trip_bit_identical(library) -> None:
    n, dim = 10_000, 256
    library.upsert_tracks(make_track(i) for i in range(n))
    ids = np.array(sorted(t.id for t in library.list_tracks()), dtype=np.int64)
    rng = np.random.default_rng(1)
    data = rng.standard_normal((n, dim)).astype(np.float32)
    data[0, :4] = [np.float32(-0.0), np.finfo(np.float32).tiny, np.finfo(np.float32).max, 1e-45]
    written = library.put_vectors(((int(tid), FeatureVector("ext", 3, data[i])) for i, tid in enumerate(ids)),
                                  batch=2000)
    assert written == n
    loaded = library.load_matrix("ext", 3)
    assert loaded.matrix.dtype == np.float32 and loaded.matrix.shape == (n, dim)
    assert np.array_equal(loaded.ids, ids)
    assert loaded.matrix.tobytes() == data.tobytes()
    assert len(library.load_matrix("ext", 2)) == 0
    assert library.vector_counts() == {("ext", 3): n}


def test_track_and_vector_written_together_or_not_at_all(library) -> None:
    vec = FeatureVector("ext", 1, np.arange(8, dtype=np.float32))
    stored = library.save_analysis(make_track(1), vec)
    assert np.array_equal(library.get_vector(stored.id, "ext").values, vec.values)

    class Boom(FeatureVector):
        def to_blob(self) -> bytes:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        library.save_analysis(make_track(2), Boom("ext", 1, np.zeros(8)))
    assert library.find_track("itunes", "1002") is None, "the track must not be written without its vector"
    assert library.tracks_without_vector("ext", 1) == []
    assert [t.id for t in library.tracks_without_vector("ext", 2)] == [stored.id]


def test_deleting_a_track_deletes_its_vectors(library) -> None:
    stored = library.save_analysis(make_track(1), FeatureVector("ext", 1, np.ones(4)))
    library.delete_track(stored.id)
    assert library.get_vector(stored.id, "ext") is None
    assert len(library.load_matrix("ext", 1)) == 0


def _open_with(url: str, migrations):
    parsed = parse_db_url(url)
    if parsed.scheme == "sqlite":
        from musicrec_tui.store.sqlite import SqliteLibrary
        return SqliteLibrary.open(parsed, migrations=migrations)
    from musicrec_tui.store.mysql import MysqlLibrary
    return MysqlLibrary.open(parsed, migrations=migrations)


def test_migration_from_first_schema_keeps_every_row(db_url: str) -> None:
    dialect = parse_db_url(db_url).scheme
    migrations = load_migrations(dialect)
    assert len(migrations) >= 2
    old = _open_with(db_url, migrations[:1])
    assert old.schema_version() == 1
    with old.transaction() as cur:
        for i in range(50):
            cur.execute(old.q("INSERT INTO tracks (source, external_id, title, artist, album, genre, duration_ms, "
                              "preview_url, created_at, updated_at) VALUES (?, ?, ?, ?, '', '', ?, ?, 0, 0)"),
                        ("itunes", str(i), f"T{i} ☃", "A", i, f"http://p/{i}"))
            cur.execute(old.q("INSERT INTO vectors (track_id, extractor, version, dim, data, created_at) "
                              "SELECT id, 'ext', 1, 2, ?, 0 FROM tracks WHERE external_id = ?"),
                        (np.array([i, -i], "<f4").tobytes(), str(i)))
    old.close()

    lib = open_library(db_url)
    try:
        assert lib.schema_version() == len(migrations)
        assert lib.count_tracks() == 50
        assert sorted(t.title for t in lib.list_tracks()) == sorted(f"T{i} ☃" for i in range(50))
        matrix = lib.load_matrix("ext", 1)
        assert len(matrix) == 50 and matrix.matrix[:, 0].sum() == sum(range(50))
        lib.enqueue([make_track(1)])  # the new table works
        assert lib.job_counts()[JobState.QUEUED] == 1
    finally:
        lib.close()
    again = open_library(db_url)  # reopening is a no-op
    assert again.schema_version() == len(migrations) and again.count_tracks() == 50
    again.close()


def _writer(url: str, start: int, stop: int, queue) -> None:
    lib = open_library(url)
    try:
        for i in range(start, stop):
            t = lib.save_analysis(make_track(i, title=f"w{start}-{i}"),
                                  FeatureVector("ext", 1, np.full(4, i, np.float32)))
            assert t.id is not None
        queue.put(("ok", stop - start))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(("error", repr(exc)))
    finally:
        lib.close()


def test_two_processes_writing_overlapping_tracks(db_url: str) -> None:
    open_library(db_url).close()  # schema exists before the race
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(db_url, 0, 300, queue)),
             ctx.Process(target=_writer, args=(db_url, 150, 450, queue))]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(r[0] == "ok" for r in results), results
    lib = open_library(db_url)
    try:
        tracks = lib.list_tracks()
        assert len(tracks) == 450
        assert sorted(int(t.external_id) for t in tracks) == list(range(1000, 1450))
        matrix = lib.load_matrix("ext", 1)
        assert len(matrix) == 450
        by_id = {t.id: t for t in tracks}
        for tid, row in zip(matrix.ids, matrix.matrix, strict=True):
            assert row[0] == int(by_id[int(tid)].external_id) - 1000
    finally:
        lib.close()


def test_job_queue_lifecycle(library) -> None:
    tracks = [make_track(i) for i in range(5)]
    jobs = library.enqueue(tracks)
    assert [j.state for j in jobs] == [JobState.QUEUED] * 5
    assert library.enqueue(tracks[:2])[0].id == jobs[0].id, "re-enqueueing keeps the existing job"
    claimed = library.claim_jobs("w1", limit=2)
    assert [j.external_id for j in claimed] == ["1000", "1001"]
    assert all(j.state is JobState.DOWNLOADING and j.attempts == 1 and j.worker == "w1" for j in claimed)
    assert claimed[0].track == tracks[0]
    library.update_job(claimed[0].id, JobState.FAILED, error="corrupt preview")
    stored = library.upsert_track(tracks[1])
    library.update_job(claimed[1].id, JobState.DONE, track_id=stored.id)
    counts = library.job_counts()
    assert counts[JobState.FAILED] == 1 and counts[JobState.DONE] == 1 and counts[JobState.QUEUED] == 3
    assert library.get_job(claimed[0].id).last_error == "corrupt preview"
    assert library.retry_failed() == 1
    assert library.cancel_queued() == 4
    assert library.list_jobs([JobState.FAILED])[0].last_error == "cancelled"
    # a stale claim (its worker died) is requeued, and the dead worker cannot then clobber it
    library.retry_failed()
    stale = library.claim_jobs("dead", limit=1)[0]
    assert library.requeue_stale(older_than=-1) >= 1
    library.update_job(stale.id, JobState.DONE, worker="dead")
    assert library.get_job(stale.id).state is JobState.QUEUED


def _claimer(url: str, worker: str, queue) -> None:
    lib = open_library(url)
    got: list[int] = []
    try:
        while batch := lib.claim_jobs(worker, limit=3):
            got += [j.id for j in batch]
        queue.put(got)
    finally:
        lib.close()


def test_two_processes_claim_disjoint_jobs(db_url: str) -> None:
    lib = open_library(db_url)
    lib.enqueue(make_track(i) for i in range(300))
    lib.close()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(db_url, f"w{n}", queue)) for n in range(2)]
    for p in procs:
        p.start()
    got = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    all_ids = got[0] + got[1]
    assert len(all_ids) == 300 and len(set(all_ids)) == 300, "every job claimed exactly once"


def test_change_counter_sees_every_write_by_another_connection(db_url: str) -> None:
    """The counter a live view polls: each committed change to tracks or vectors, from any connection, moves it;
    reads and queue bookkeeping do not."""
    writer, reader = open_library(db_url), open_library(db_url)
    try:
        seen = [reader.change_counter()]

        def moved() -> bool:
            now = reader.change_counter()
            grew = now > seen[-1]
            seen.append(now)
            return grew

        stored = writer.upsert_track(make_track(1))
        assert moved(), "upsert_track"
        writer.save_analysis(make_track(2), FeatureVector("ext", 1, np.ones(4)))
        assert moved(), "save_analysis"
        writer.upsert_tracks([make_track(i) for i in range(3, 8)])
        assert moved(), "upsert_tracks"
        writer.put_vectors([(stored.id, FeatureVector("ext", 1, np.zeros(4)))])
        assert moved(), "put_vectors"
        writer.list_tracks()
        writer.enqueue([make_track(20)])
        assert not moved(), "reads and the job queue are not library changes"
        assert writer.delete_track(stored.id)
        assert moved(), "delete_track"
        assert not writer.delete_track(stored.id)
        assert not moved(), "deleting nothing changes nothing"
    finally:
        writer.close()
        reader.close()


def test_failed_write_leaves_the_change_counter_alone(library) -> None:
    before = library.change_counter()
    with pytest.raises(ValueError), library.transaction() as cur:
        library._bump(cur)
        raise ValueError("rolled back")
    assert library.change_counter() == before


def test_find_tracks_answers_many_keys_in_one_call(library) -> None:
    stored = [library.upsert_track(Track("itunes", str(5000 + i), f"t{i}", "a")) for i in range(450)]
    local = library.upsert_track(Track("file", "/music/x [live].flac", "x", "b"))
    keys = [t.key for t in stored] + [local.key, ("itunes", "404"), ("file", "/nowhere.mp3")]
    found = library.find_tracks(keys)  # 453 keys: more than one 400-key chunk
    assert set(found) == {t.key for t in stored} | {local.key}
    assert found[local.key] == local and found[stored[3].key] == stored[3]
    assert library.find_tracks([]) == {}
