"""`musicrec recommend` and `musicrec reanalyze` on a library ingested from the fake server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from musicrec_tui.core import features
from musicrec_tui.store import open_library

from .test_ingest_processes import cli, cli_env

KINDS = {"A": ("chord:0", "chord:4"), "B": ("drums:90", "drums:140"), "C": ("noise:1", "noise:2")}


def run(tmp_path: Path, db: str, url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(cli(tmp_path, db, url, *args), capture_output=True, text=True, env=cli_env(tmp_path),
                          timeout=600)


@pytest.fixture
def library_of_three_sounds(tmp_path: Path, fake_itunes) -> tuple[str, dict[str, int]]:
    """Two chord tracks by A, two drum loops by B, two noises by C, ingested; returns (db url, title → id)."""
    tid = 50
    for artist, kinds in KINDS.items():
        for kind in kinds:
            fake_itunes.add_track(tid, f"{artist} {kind}", f"Artist {artist}", preview=kind)
            tid += 1
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    proc = run(tmp_path, db, fake_itunes.url, "ingest", "artist")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open_library(db) as lib:
        return db, {t.title: t.id for t in lib.list_tracks()}


def test_recommend_finds_the_same_kind_of_sound(tmp_path: Path, fake_itunes, library_of_three_sounds) -> None:
    db, ids = library_of_three_sounds
    for artist, (first, second) in KINDS.items():
        proc = run(tmp_path, db, fake_itunes.url, "recommend", str(ids[f"{artist} {first}"]), "-k", "3", "--json")
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["extractor"] == features.get().name and out["query"]["title"] == f"{artist} {first}"
        results = out["results"]
        assert [r["rank"] for r in results] == [1, 2, 3]
        assert results[0]["title"] == f"{artist} {second}", results
        assert ids[f"{artist} {first}"] not in [r["id"] for r in results], "the seed is never in its own list"
        assert all(r["score"] >= results[i + 1]["score"] for i, r in enumerate(results[:-1]))
        assert out["explained_by"] == "handcrafted"
        assert set(results[0]["groups"]) == {"timbre", "brightness", "dynamics", "rhythm", "harmony"}
        assert abs(sum(results[0]["groups"].values()) - 1) < 1e-3


def test_recommend_filters_radio_text_and_errors(tmp_path: Path, fake_itunes, library_of_three_sounds) -> None:
    db, ids = library_of_three_sounds
    seed = ids["A chord:0"]
    proc = run(tmp_path, db, fake_itunes.url, "recommend", str(seed), "--exclude-artist", "--json", "-k", "10")
    results = json.loads(proc.stdout)["results"]
    assert len(results) == 4 and all(r["artist"] != "Artist A" for r in results)
    proc = run(tmp_path, db, fake_itunes.url, "recommend", "itunes:50", "itunes:52", "--json", "-k", "10")
    out = json.loads(proc.stdout)
    assert len(out["query"]["seeds"]) == 2 and {r["id"] for r in out["results"]}.isdisjoint({seed, ids["B drums:90"]})
    proc = run(tmp_path, db, fake_itunes.url, "recommend", str(seed))
    assert proc.returncode == 0 and "Similar to Artist A — A chord:0" in proc.stdout and "A chord:4" in proc.stdout
    proc = run(tmp_path, db, fake_itunes.url, "recommend", "--all", "--json", "-k", "2")
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 6 and all(len(x["results"]) == 2 for x in lines)
    for args in (["recommend", "424242"], ["recommend"], ["recommend", "1", "--all"], ["recommend", "itunes:x"]):
        proc = run(tmp_path, db, fake_itunes.url, *args)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)


def test_reanalyze_uses_cached_previews_only(tmp_path: Path, fake_itunes, library_of_three_sounds) -> None:
    db, ids = library_of_three_sounds
    with open_library(db) as lib:
        gone = lib.get_track(ids["C noise:2"])
    Path(gone.preview_path).unlink()
    downloads = len(fake_itunes.hits("/previews/"))
    proc = run(tmp_path, db, fake_itunes.url, "reanalyze", "--extractor", "stats256", "--json")
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["done"] == 5 and summary["failed_by_reason"] == {"preview not cached": 1}
    assert len(fake_itunes.hits("/previews/")) == downloads, "reanalyze never downloads"
    ext = features.get("stats256")
    with open_library(db) as lib:
        assert len(lib.load_matrix(ext.name, ext.version)) == 5
    proc = run(tmp_path, db, fake_itunes.url, "reanalyze", "--extractor", "stats256")
    assert proc.returncode == 1 and "Analysed 0 · failed 1" in proc.stdout
    proc = run(tmp_path, db, fake_itunes.url, "recommend", str(ids["B drums:90"]), "--extractor", "stats256",
               "--json", "-k", "1")
    assert json.loads(proc.stdout)["results"][0]["title"] == "B drums:140"


def _close(a: object, b: object, tol: float) -> bool:
    """JSON values equal, numbers to `tol` (a batch of products and one query round a cosine differently)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[key], b[key], tol) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and abs(a - b) <= tol
    return a == b


def test_recommend_all_is_recommend_for_every_id(tmp_path: Path, db_url: str) -> None:
    """`recommend --all --json` prints for each track what `recommend ID --json` prints for it (the same
    tracks, ranks, duplicates, explanations; scores to rounding), on SQLite and on MySQL: 400 tracks with
    clustered vectors, re-releases of one recording (collapsed) and an artist's many tracks."""
    from musicrec_tui.app.recommend import LibraryIndex
    from musicrec_tui.core.models import FeatureVector, Track

    n = 400
    rng = np.random.default_rng(11)
    with open_library(db_url) as lib:
        lib.upsert_tracks(Track("itunes", str(70_000 + i), f"Song {i % 300}" + (" (Remastered)" if i >= 300 else ""),
                                f"Artist {i % 300 % 25}", "LP", "Rock", 200_000) for i in range(n))
        ids = [int(t.id) for t in lib.list_tracks(sort="id")]
        for name in ("musicnn", "handcrafted"):
            ext = features.get(name)
            centres = rng.standard_normal((8, ext.dim)).astype(np.float32) * 1.5
            m = rng.standard_normal((n, ext.dim)).astype(np.float32) + centres[rng.integers(0, 8, n)]
            m[300:] = m[:100] + 0.05 * rng.standard_normal((100, ext.dim)).astype(np.float32)  # re-releases
            lib.put_vectors((tid, FeatureVector(ext.name, ext.version, m[i])) for i, tid in enumerate(ids))
    proc = run(tmp_path, db_url, "http://127.0.0.1:9", "recommend", "--all", "-k", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["query"]["id"] for x in lines] == ids
    assert sum(len(r["duplicates"]) for x in lines for r in x["results"]) >= 50, "re-releases are collapsed"
    with open_library(db_url) as lib:
        similar = LibraryIndex(lib, "musicnn", "mp", "handcrafted")
        tracks = lib.get_tracks(ids)
        for line, tid in zip(lines, ids, strict=True):
            single = json.loads(json.dumps(similar.recommendation([tracks[tid]], 5).to_json()))
            assert [r["id"] for r in line["results"]] == [r["id"] for r in single["results"]], tid
            assert _close(line, single, 2e-6), (tid, line, single)
    for tid in (ids[0], ids[150], ids[-1]):  # and the command itself, one id at a time
        proc = run(tmp_path, db_url, "http://127.0.0.1:9", "recommend", str(tid), "-k", "5", "--json")
        assert proc.returncode == 0, proc.stderr
        assert _close(json.loads(proc.stdout), lines[ids.index(tid)], 2e-6)
