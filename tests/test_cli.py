"""The `musicrec` command as a person runs it: exit codes, one-line errors, JSON rows, no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musicrec_tui import __version__
from musicrec_tui.core.models import Track
from musicrec_tui.store import open_library
from musicrec_tui.store.migrations import load_migrations

from .conftest import mysql_base_url

SECRET = "Sup3r-s3cret"


def run(args: list[str], env_home: Path, extra_env: dict[str, str] | None = None, timeout: float = 60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSICREC_")}
    env.update(HOME=str(env_home), XDG_CONFIG_HOME=str(env_home / "config"), XDG_DATA_HOME=str(env_home / "data"),
               XDG_CACHE_HOME=str(env_home / "cache"), MUSICREC_ITUNES_URL="http://127.0.0.1:9")
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "musicrec_tui", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, proc.stderr
    assert err.startswith("musicrec: error:")
    for needle in needles:
        assert needle in err, err
    assert SECRET not in proc.stdout + proc.stderr


def test_version(tmp_path: Path) -> None:
    proc = run(["--version"], tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"musicrec {__version__}"


def test_library_empty_then_rows_and_json(tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    proc = run(["--db", f"sqlite://{db}", "library"], tmp_path)
    assert proc.returncode == 0 and "library is empty" in proc.stdout
    with open_library(f"sqlite://{db}") as lib:
        lib.upsert_track(Track("itunes", "123", "夜に駆ける", "YOASOBI", "THE BOOK", "J-Pop", 261_000, "http://p/1"))
        lib.upsert_track(Track("file", "/music/a.flac", "'; DROP TABLE tracks; --", "Bobby", duration_ms=None))
    proc = run(["--db", f"sqlite://{db}", "library", "--json"], tmp_path)
    assert proc.returncode == 0
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows[0] == {"id": 1, "source": "itunes", "itunes_track_id": 123, "external_id": "123",
                       "artist": "YOASOBI", "title": "夜に駆ける", "album": "THE BOOK", "genre": "J-Pop",
                       "duration_ms": 261_000, "preview_url": "http://p/1"}
    assert rows[1]["itunes_track_id"] is None and rows[1]["title"] == "'; DROP TABLE tracks; --"
    proc = run(["--db", f"sqlite://{db}", "library", "--search", "drop"], tmp_path)
    assert "DROP TABLE" in proc.stdout and "YOASOBI" not in proc.stdout and "1 of 1 tracks" in proc.stdout
    proc = run(["--db", f"sqlite://{db}", "library", "--sort", "artist", "--desc"], tmp_path)
    lines = proc.stdout.splitlines()
    assert "YOASOBI" in lines[1] and "Bobby" in lines[2]


def test_default_library_is_created_in_user_data_dir(tmp_path: Path) -> None:
    proc = run(["library"], tmp_path)
    assert proc.returncode == 0
    assert (tmp_path / "data" / "musicrec-tui" / "library.sqlite3").exists()


@pytest.mark.parametrize("url", ["nonsense", "postgres://u@h/db", "mysql://u:" + SECRET + "@h:notaport/db"])
def test_malformed_db_url(tmp_path: Path, url: str) -> None:
    assert_one_line_error(run(["--db", url, "library"], tmp_path), "expected sqlite:///ABSOLUTE/PATH.sqlite3")


def test_unwritable_data_dir_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = run(["--data-dir", str(blocker / "sub"), "library"], tmp_path)
    assert_one_line_error(proc, str(blocker / "sub"))


def test_unknown_subcommand_and_bad_flag(tmp_path: Path) -> None:
    proc = run(["frobnicate"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = run(["library", "--limit", "0"], tmp_path)
    assert proc.returncode == 2 and "must be a whole number from 1 to" in proc.stderr


def test_mysql_unreachable_port(tmp_path: Path) -> None:
    proc = run(["--db", f"mysql://root:{SECRET}@127.0.0.1:9/musicrec", "library"], tmp_path)
    assert_one_line_error(proc, "127.0.0.1:9", "connection refused")


def test_mysql_wrong_password_and_unknown_database(tmp_path: Path) -> None:
    base = mysql_base_url()
    head, _, _ = base.rpartition("/")
    user = head.split("//", 1)[1].split(":", 1)[0]
    hostport = head.rsplit("@", 1)[1]
    proc = run(["--db", f"mysql://{user}:{SECRET}@{hostport}/whatever", "library"], tmp_path)
    assert_one_line_error(proc, hostport, "access denied", "password")
    prefix = base.rpartition("/")[2]
    proc = run(["--db", f"{head}/{prefix}_does_not_exist", "library"], tmp_path)
    assert_one_line_error(proc, hostport, "unknown database", "CREATE DATABASE")


def test_doctor_reports_each_check_and_masks_password(tmp_path: Path) -> None:
    proc = run(["--db", f"mysql://root:{SECRET}@127.0.0.1:9/x", "doctor", "--timeout", "0.5"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    for label in ("config", "data dir", "cache dir", "cache", "analysis", "library", "playback", "itunes"):
        assert f" {label} " in proc.stdout
    assert "mysql://root:***@127.0.0.1:9/x" in proc.stdout
    proc = run(["doctor", "--timeout", "0.5"], tmp_path)
    latest = len(load_migrations("sqlite"))
    assert f"schema v{latest} (latest v{latest}), 0 tracks" in proc.stdout
    assert "ok  analysis     ranking musicnn v1 (256-d" in proc.stdout
    assert proc.returncode == 1  # the fake iTunes URL is unreachable: a warning, not a failure


def test_unwritable_cache_dir_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    music = tmp_path / "music"
    music.mkdir()
    proc = run(["--cache-dir", str(blocker / "cache"), "--data-dir", str(tmp_path / "d"), "ingest", "--path",
                str(music)], tmp_path)
    assert_one_line_error(proc, str(blocker / "cache"))


def test_only_global_options_opens_the_tui_without_the_subcommands() -> None:
    """`musicrec --db URL` parses with the global options alone (the TUI's first frame waits for no subcommand
    module); anything else goes to the full parser, with its subcommands, help and errors."""
    from musicrec_tui.cli import build_parser, only_global_options

    assert only_global_options([])
    assert only_global_options(["--db", "sqlite:///x.sqlite3", "--itunes-url=http://127.0.0.1:1", "--config",
                                "c.toml"])
    for argv in (["search", "x"], ["--help"], ["--version"], ["--db"], ["--bogus"], ["--db", "u", "library"]):
        assert not only_global_options(argv), argv
    light = build_parser(commands=False).parse_args(["--db", "sqlite:///x.sqlite3"])
    full = build_parser().parse_args(["--db", "sqlite:///x.sqlite3"])
    assert vars(light) == {k: v for k, v in vars(full).items() if k != "command"}
    assert not hasattr(light, "handler") and not hasattr(full, "handler")  # both: the TUI (run_tui)
