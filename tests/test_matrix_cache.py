"""The persisted index (store/matrix_cache.py): reused while the library is unchanged, brought up to date after
another connection ingests, deletes or re-analyses, rebuilt after damage; always the uncached path's results."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from musicrec_tui.app.recommend import LibraryIndex
from musicrec_tui.core import features
from musicrec_tui.core.models import FeatureVector, Track
from musicrec_tui.store import open_library
from musicrec_tui.store.base import SqlLibrary
from musicrec_tui.store.matrix_cache import CacheFile, PersistedIndex, index_dir, write_cache
from musicrec_tui.store.url import parse_db_url

from .conftest import drop_mysql_db, fresh_mysql_url, mysql_base_url

MUSICNN = f"musicnn-v{features.get('musicnn').version}"
HANDCRAFTED = f"handcrafted-v{features.get('handcrafted').version}"

EXTRACTORS = ("musicnn", "handcrafted")


def add_tracks(lib: SqlLibrary, start: int, n: int, seed: int) -> list[int]:
    """n tracks with a vector of each default extractor (clustered random vectors); returns their ids."""
    rng = np.random.default_rng(seed)
    stored = [lib.upsert_track(Track("itunes", str(1000 + i), f"Song {i}", f"Artist {i % 7}", "Album"))
              for i in range(start, start + n)]
    for name in EXTRACTORS:
        ext = features.get(name)
        centres = rng.standard_normal((5, ext.dim)).astype(np.float32) * 2
        m = rng.standard_normal((n, ext.dim)).astype(np.float32) + centres[rng.integers(0, 5, n)]
        lib.put_vectors((int(t.id or 0), FeatureVector(ext.name, ext.version, m[i])) for i, t in enumerate(stored))
    return [int(t.id or 0) for t in stored]


def answers(similar: LibraryIndex, seeds: list[int], k: int = 8) -> list[list[tuple]]:
    """Every seed's recommendations, exactly (ids, scores, cosines, explanation shares)."""
    return [[(n.track.id, n.score, n.cosine, n.groups, n.duplicates) for n in similar.similar([s], k)] for s in seeds]


def uncached(lib: SqlLibrary, seeds: list[int]) -> list[list[tuple]]:
    return answers(LibraryIndex(lib, None, "mp", "handcrafted"), seeds)


def cached(lib: SqlLibrary, folder: Path) -> LibraryIndex:
    return LibraryIndex(lib, None, "mp", "handcrafted", index_dir=folder)


def reports(similar: LibraryIndex) -> tuple[str, str]:
    assert similar.ranking.persisted is not None and similar.explainer is not None
    assert similar.ranking.persisted.last is not None and similar.explainer.persisted is not None
    assert similar.explainer.persisted.last is not None
    return similar.ranking.persisted.last.how, similar.explainer.persisted.last.how


def test_reused_while_unchanged_and_identical_to_uncached(library: SqlLibrary, tmp_path: Path) -> None:
    ids = add_tracks(library, 0, 60, seed=1)
    folder = tmp_path / "idx"
    first = cached(library, folder)
    got = answers(first, ids[:10])
    assert reports(first) == ("built", "built")
    assert got == uncached(library, ids[:10])
    second = cached(library, folder)
    assert answers(second, ids[:10]) == got
    assert reports(second) == ("reused", "reused")
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [f"{HANDCRAFTED}.idx", f"{MUSICNN}.idx"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_synced_after_another_connection_ingests_deletes_and_reanalyses(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    with open_library(db_url) as lib:
        ids = add_tracks(lib, 0, 50, seed=2)
        answers(cached(lib, folder), ids[:1])
    with open_library(db_url) as other:  # another process's connection
        new = add_tracks(other, 50, 5, seed=3)
        assert other.delete_track(ids[3])
        ext = features.get("musicnn")
        other.put_vectors([(ids[7], FeatureVector(ext.name, ext.version, np.full(ext.dim, 0.5, np.float32)))])
    with open_library(db_url) as lib:
        similar = cached(lib, folder)
        seeds = [ids[0], ids[7], new[0], new[4]]
        assert answers(similar, seeds) == uncached(lib, seeds)
        assert reports(similar) == ("synced", "synced")
        assert similar.ranking.persisted is not None and similar.ranking.persisted.last is not None
        last = similar.ranking.persisted.last
        assert (last.fetched, last.dropped, last.rows) == (6, 2, 54)  # 5 new + 1 re-analysed; 1 deleted + 1 stale
        assert ids[3] not in {int(i) for i in similar.index().ids}
        again = cached(lib, folder)
        assert answers(again, seeds) == uncached(lib, seeds)
        assert reports(again) == ("reused", "reused")


def test_a_long_lived_index_follows_the_counter(library: SqlLibrary, tmp_path: Path) -> None:
    ids = add_tracks(library, 0, 40, seed=4)
    similar = cached(library, tmp_path / "idx")
    before = similar.index()
    assert similar.index() is before  # unchanged library: not even re-read
    more = add_tracks(library, 40, 3, seed=5)
    assert similar.index() is not before
    assert answers(similar, [ids[1], more[0]]) == uncached(library, [ids[1], more[0]])


@pytest.mark.parametrize("damage", ["truncate", "flip-header", "flip-data", "garbage", "empty"])
def test_a_damaged_file_is_rebuilt_silently(library: SqlLibrary, tmp_path: Path, damage: str) -> None:
    ids = add_tracks(library, 0, 30, seed=6)
    folder = tmp_path / "idx"
    want = answers(cached(library, folder), ids[:5])
    path = folder / f"{MUSICNN}.idx"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip-header":
        data[40] ^= 0x01
    elif damage == "flip-data":
        data[-5000] ^= 0x10  # inside the last section
    elif damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    similar = cached(library, folder)
    assert answers(similar, ids[:5]) == want
    assert reports(similar)[0] in ("built", "synced")
    assert CacheFile.open(path).header["n"] == 30  # written again, whole
    again = cached(library, folder)
    assert answers(again, ids[:5]) == want
    assert reports(again) == ("reused", "reused")


def test_cache_of_another_library_at_the_same_path_is_not_used(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    folder = tmp_path / "idx"
    with open_library(url) as lib:
        add_tracks(lib, 0, 30, seed=7)
        cached(lib, folder).index()
        counter = lib.change_stamp()[1]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'lib.sqlite3'}{suffix}").unlink(missing_ok=True)
    with open_library(url) as lib:  # a new library, grown to the same counter
        ids = add_tracks(lib, 0, 30, seed=8)
        assert lib.change_stamp()[1] == counter
        similar = cached(lib, folder)
        assert answers(similar, ids[:3]) == uncached(lib, ids[:3])
        assert reports(similar) == ("built", "built")


def test_unwritable_folder_costs_only_speed(library: SqlLibrary, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        folder = blocker / "idx"  # cannot be created, even by root
    else:
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o500)
    ids = add_tracks(library, 0, 25, seed=9)
    similar = cached(library, folder)
    assert answers(similar, ids[:3]) == uncached(library, ids[:3])


def test_racing_writers_leave_one_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "race.idx"
    arrays = [{"a": np.full((2000, 64), i, np.float32), "ids": np.arange(2000, dtype=np.int64) + i}
              for i in range(6)]
    threads = [threading.Thread(target=write_cache, args=(path, {"n": i}, arrays[i])) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    f = CacheFile.open(path)
    i = f.header["n"]
    assert np.array_equal(f.array("a"), arrays[i]["a"]) and np.array_equal(f.array("ids"), arrays[i]["ids"])
    assert [p.name for p in tmp_path.iterdir()] == ["race.idx"]  # no temporary file left


def test_mysql_cache_is_per_server_and_database_without_secrets(tmp_path: Path) -> None:
    a = index_dir(parse_db_url("mysql://alice:s3cret-pw@db.example:3306/music"), tmp_path)
    b = index_dir(parse_db_url("mysql://bob:other@DB.example:3306/music"), tmp_path)
    c = index_dir(parse_db_url("mysql://alice:s3cret-pw@db.example:3307/music"), tmp_path)
    d = index_dir(parse_db_url("mysql://alice:s3cret-pw@db.example:3306/music2"), tmp_path)
    assert a == b and len({a, c, d}) == 3
    assert a.parent == tmp_path / "index"
    assert "s3cret" not in str(a) and "alice" not in str(a)
    sqlite = index_dir(parse_db_url(f"sqlite://{tmp_path / 'lib.sqlite3'}"), tmp_path / "cache")
    assert sqlite == tmp_path / "lib.sqlite3.index"


def test_mysql_cache_file_holds_no_password(tmp_path: Path) -> None:
    base = mysql_base_url()
    assert base is not None
    db_url, name = fresh_mysql_url(base)
    url = parse_db_url(db_url)
    try:
        with open_library(db_url) as lib:
            add_tracks(lib, 0, 25, seed=10)
            folder = index_dir(url, tmp_path / "cache")
            PersistedIndex(lib, features.get("musicnn"), "mp", folder).load()
    finally:
        drop_mysql_db(base, name)
    blob = (folder / f"{MUSICNN}.idx").read_bytes()
    assert url.password and url.password.encode() not in blob and f"{url.user}:".encode() not in blob


def test_cli_recommend_persists_beside_the_library(tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    with open_library(f"sqlite://{db}") as lib:
        ids = add_tracks(lib, 0, 30, seed=11)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSICREC_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "musicrec_tui", "--db", f"sqlite://{db}", "recommend", str(ids[2]), "--json"]
    runs = [subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout and runs[0].stderr == runs[1].stderr == ""
    assert sorted(p.name for p in (tmp_path / "lib.sqlite3.index").iterdir()) == [f"{HANDCRAFTED}.idx",
                                                                                  f"{MUSICNN}.idx"]


def same_ranking(a: list[list[tuple]], b: list[list[tuple]]) -> bool:
    """Same tracks in the same order, scores equal to float32 rounding (a product over a subset of rows
    rounds differently from the full scan's)."""
    return all([r[0] for r in x] == [r[0] for r in y] and np.allclose([r[1:3] for r in x], [r[1:3] for r in y],
                                                                       rtol=0, atol=1e-6)
               for x, y in zip(a, b, strict=True)) and len(a) == len(b)


def graph_how(similar: LibraryIndex) -> str | None:
    assert similar.ranking.persisted is not None
    return similar.ranking.persisted.graph_how


def test_past_the_threshold_an_approximate_graph_is_kept_in_step(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    with open_library(db_url) as lib:
        ids = add_tracks(lib, 0, 120, seed=12)
        similar = LibraryIndex(lib, None, "mp", "handcrafted", index_dir=folder, approximate_above=100)
        got = answers(similar, ids[:10])
        assert similar.index().approximate and graph_how(similar) == "built"
        assert same_ranking(got, uncached(lib, ids[:10]))  # a small graph finds every true neighbour
        assert stat.S_IMODE((folder / f"{MUSICNN}.hnsw").stat().st_mode) == 0o600
        again = LibraryIndex(lib, None, "mp", "handcrafted", index_dir=folder, approximate_above=100)
        assert answers(again, ids[:10]) == got and graph_how(again) == "reused"
    with open_library(db_url) as other:
        new = add_tracks(other, 120, 4, seed=13)
        assert other.delete_track(ids[5])
    with open_library(db_url) as lib:
        similar = LibraryIndex(lib, None, "mp", "handcrafted", index_dir=folder, approximate_above=100)
        seeds = [ids[0], new[0], new[3]]
        assert same_ranking(answers(similar, seeds), uncached(lib, seeds))
        assert graph_how(similar) == "updated"
        rest = [i for i in ids[:20] if i != ids[5]]
        assert all(ids[5] not in {n[0] for n in found} for found in answers(similar, rest))
        small = LibraryIndex(lib, None, "mp", "handcrafted", index_dir=folder, approximate_above=1000)
        assert answers(small, seeds) == uncached(lib, seeds) and not small.index().approximate


def test_a_damaged_graph_is_rebuilt(library: SqlLibrary, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    ids = add_tracks(library, 0, 110, seed=14)
    want = answers(LibraryIndex(library, None, "mp", "handcrafted", index_dir=folder, approximate_above=100), ids[:5])
    graph = folder / f"{MUSICNN}.hnsw"
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    similar = LibraryIndex(library, None, "mp", "handcrafted", index_dir=folder, approximate_above=100)
    assert answers(similar, ids[:5]) == want and graph_how(similar) == "built"


def test_the_app_recommender_starts_from_the_saved_index_then_adds_in_memory(tmp_path: Path) -> None:
    from musicrec_tui.app.recommend import Recommender

    url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    with open_library(url) as lib:
        ids = add_tracks(lib, 0, 40, seed=15)
        answers(cached(lib, tmp_path / "lib.sqlite3.index"), ids[:1])  # a command saved the index
        recommender = Recommender(None, "mp", "handcrafted", cache_dir=tmp_path / "cache")
        similar = recommender.for_library(lib)
        assert answers(similar, ids[:3]) == uncached(lib, ids[:3])
        assert reports(similar) == ("reused", "reused")
        first = similar.index()
        new = add_tracks(lib, 40, 2, seed=16)  # an ingest while the app runs: added in memory, no refit
        assert similar.index() is first and len(first) == 42
        assert (first.rows_of(new) >= 0).all() and len(similar.similar([new[1]], 5)) == 5
