"""Every CLI command over the hostile fixture set (tests/hostile.py), on SQLite and MySQL: served by the fake
iTunes server and written into local files' tags and names. Nothing raw reaches the terminal, JSON carries the
documented values, no traceback, the right exit code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import hostile
from tests.fake_itunes import FakeItunes
from tests.test_cli import run


def _cli(args: list[str], home: Path, db_url: str, itunes: str, timeout: float = 300):
    proc = run(["--db", db_url, *args], home, extra_env={"MUSICREC_ITUNES_URL": itunes, "MUSICREC_WORKERS": "1"},
               timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    hostile.assert_inert(proc.stdout, f"stdout of {args}")
    hostile.assert_inert(proc.stderr, f"stderr of {args}")
    return proc


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_every_command_over_hostile_catalogue_and_files(db_url: str, fake_itunes: FakeItunes,
                                                        tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    served = hostile.add_catalogue(fake_itunes, shots)
    home, url = tmp_path / "home", fake_itunes.url

    proc = _cli(["search", "hostile", "--limit", "200"], home, db_url, url)
    assert proc.returncode == 0, proc.stderr
    assert "oops [/]" in proc.stdout and "Real Song [live] [feat." in proc.stdout
    assert "[@click=app.quit]QUIT[/]" in proc.stdout

    proc = _cli(["search", "hostile", "--limit", "200", "--json"], home, db_url, url)
    rows = _json_lines(proc.stdout)
    assert len(rows) == len(served)
    for row in rows:
        value = served[row["itunes_track_id"]]
        assert row["title"] == row["artist"] == row["album"] == hostile.expected(value)

    proc = _cli(["ingest", "hostile", "--limit", "200", "--json"], home, db_url, url, timeout=600)
    events = _json_lines(proc.stdout)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["done"] == len(served), proc.stdout[-3000:]
    assert proc.returncode == 0

    proc = _cli(["library", "--json"], home, db_url, url)
    library = _json_lines(proc.stdout)
    assert len(library) == len(served)
    for row in library:
        assert row["title"] == row["artist"] == row["album"] == row["genre"] == \
            hostile.expected(served[row["itunes_track_id"]])
    long = next(r for r in library if r["title"].endswith("the end"))
    assert len(long["title"]) == 10_008, "a 10,000-character name is stored whole"
    ids = {hostile.expected(served[r["itunes_track_id"]]): r["id"] for r in library}

    proc = _cli(["library", "--limit", "100"], home, db_url, url)
    assert proc.returncode == 0 and "oops [/]" in proc.stdout and f"{len(served)} of {len(served)}" in proc.stdout
    assert all(len(line) < 400 for line in proc.stdout.splitlines()), "long names are cut with an ellipsis"
    proc = _cli(["library", "--search", "[link=", "--json"], home, db_url, url)
    assert [r["title"] for r in _json_lines(proc.stdout)] == ["[link=https://evil.example]x[/link]"]
    proc = _cli(["library", "--search", "!%!_", "--json"], home, db_url, url)
    assert [r["title"] for r in _json_lines(proc.stdout)] == ["100% _wild_ !%!_"], "LIKE escaping is exact"

    quit_id = ids["[@click=app.quit]QUIT[/]"]
    proc = _cli(["recommend", str(quit_id), "-k", "30"], home, db_url, url)
    assert proc.returncode == 0 and "[@click=app.quit]QUIT[/]" in proc.stdout
    proc = _cli(["recommend", str(ids["oops [/]"]), "-k", "30", "--json"], home, db_url, url)
    result = _json_lines(proc.stdout)[0]
    assert result["query"]["title"] == "oops [/]" and result["results"], "near-duplicates collapse into one"
    proc = _cli(["recommend", "--all", "-k", "3", "--json"], home, db_url, url)
    assert proc.returncode == 0 and len(_json_lines(proc.stdout)) == len(served)

    music = tmp_path / "music"
    files = hostile.write_files(music, shots)
    proc = _cli(["ingest", "--path", str(music)], home, db_url, url, timeout=600)
    assert proc.returncode == 1 and "file name is not valid UTF-8, rename the file (1)" in proc.stdout, proc.stdout
    proc = _cli(["library", "--json", "--search", "c1"], home, db_url, url)
    tagged = [r for r in _json_lines(proc.stdout) if r["source"] == "file"]
    assert tagged and tagged[0]["title"] == hostile.expected(hostile.HOSTILE["c1"]) == "c1next31mcsi0;t"
    assert "\\u0085" not in proc.stdout and "\x85" not in proc.stdout
    proc = _cli(["library", "--json", "--limit", "1000"], home, db_url, url)
    from_files = {Path(r["external_id"]).name: r for r in _json_lines(proc.stdout) if r["source"] == "file"}
    for name, value in files.items():
        if "\ufffd" in hostile.expected(name) or "\udce9" in name:
            continue  # the name that is not UTF-8: its track fails with a reason (below), nothing is half-written
        assert from_files[name]["title"] == hostile.expected(value), name

    for args in (["doctor", "--timeout", "2"], ["play", str(quit_id)], ["reanalyze"],
                 ["recommend", "99999999999999999999999"], ["library", "--offset", "-5"],
                 ["recommend", "itunes:\x1b]0;pwned\x07"], ["ingest", "--path", str(music / "\x1b[2Jmissing")]):
        proc = _cli(args, home, db_url, url)
        assert proc.returncode in (0, 1, 2), args
    assert not shots.exists() and not list(Path(".").glob("pwned*")), "no action ran"


@pytest.mark.parametrize("value", list(hostile.HOSTILE.values()), ids=list(hostile.HOSTILE))
def test_expected_values_are_inert_and_keep_their_text(value: str) -> None:
    shown = hostile.expected(value)
    hostile.assert_inert(shown)
    assert shown == hostile.expected(shown), "the normalisation is idempotent"
    if not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x202e for c in value):
        assert "[" not in value or "[" in shown


def test_unicode_file_name_that_is_not_utf8_fails_its_track_not_the_run(tmp_path: Path) -> None:
    from musicrec_tui.ingest.localfiles import tracks_under

    raw = os.path.join(os.fsencode(tmp_path), b"bad-\xff.flac")
    with open(raw, "wb") as fh:
        fh.write(b"x")
    (track,) = list(tracks_under(tmp_path))
    assert "\ufffd" in track.title and "\ufffd" in track.external_id
    hostile.assert_inert(track.title)


def test_arguments_that_are_not_utf8_or_hold_escapes_are_one_line(tmp_path: Path, fake_itunes: FakeItunes) -> None:
    bad = "\udcff\x1b[31m\u202e"  # what Python makes of the bytes FF 1B ... in argv
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    for args in (["search", bad], ["ingest", bad], ["library", "--search", bad], ["ingest", "--path", bad],
                 ["recommend", bad], ["ingest", "--ids", bad], ["library", "--sort", bad], ["frobnicate", bad]):
        proc = _cli(args, tmp_path / "home", db, fake_itunes.url)
        assert proc.returncode in (0, 2), (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) <= 1, proc.stderr
