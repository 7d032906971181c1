"""`musicrec recommend` and `musicrec reanalyze` on a library ingested from the fake server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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
