"""`musicrec search` and `musicrec ingest` output, exit codes and one-line errors against the fake server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .test_ingest_processes import cli, cli_env


def run(tmp_path: Path, fake_url: str, *args: str, db: str | None = None) -> subprocess.CompletedProcess:
    db_url = db or f"sqlite://{tmp_path / 'lib.sqlite3'}"
    return subprocess.run(cli(tmp_path, db_url, fake_url, *args), capture_output=True, text=True,
                          env=cli_env(tmp_path), timeout=300)


def test_search_table_and_json(tmp_path: Path, fake_itunes) -> None:
    fake_itunes.add_track(11, "夜に駆ける", "YOASOBI", preview="chord:1")
    fake_itunes.add_track(12, "'; DROP TABLE tracks; --", "YOASOBI", preview=None)
    proc = run(tmp_path, fake_itunes.url, "search", "yoasobi")
    assert proc.returncode == 0, proc.stderr
    assert "夜に駆ける" in proc.stdout and "DROP TABLE" in proc.stdout and "2 songs" in proc.stdout
    proc = run(tmp_path, fake_itunes.url, "search", "yoasobi", "--json")
    rows = {r["itunes_track_id"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert rows[11]["ingestible"] is True and rows[12]["ingestible"] is False
    assert rows[11]["in_library"] is False and rows[11]["id"] is None


def test_ingest_reports_failures_by_reason_and_exits_1(tmp_path: Path, fake_itunes) -> None:
    fake_itunes.add_track(21, "Good", "Mixed", preview="drums:100")
    fake_itunes.add_track(22, "Silent", "Mixed", preview="silent")
    fake_itunes.add_track(23, "Nothing", "Mixed", preview=None)
    proc = run(tmp_path, fake_itunes.url, "ingest", "mixed")
    assert proc.returncode == 1, proc.stderr
    assert "Ingested 1 · already in library 0 · failed 2" in proc.stdout
    assert "audio is silent (1)" in proc.stdout and "no preview URL in the catalogue (1)" in proc.stdout
    assert "Traceback" not in proc.stderr
    proc = run(tmp_path, fake_itunes.url, "library", "--json")
    assert [json.loads(line)["title"] for line in proc.stdout.splitlines()] == ["Good"]
    proc = run(tmp_path, fake_itunes.url, "ingest", "--ids", "21")
    assert proc.returncode == 0 and "already in library 1" in proc.stdout


def test_ingest_unknown_ids_and_bad_arguments(tmp_path: Path, fake_itunes) -> None:
    proc = run(tmp_path, fake_itunes.url, "ingest", "--ids", "404404")
    assert proc.returncode == 1 and "Not found in the catalogue: 404404" in proc.stderr
    for args in (["ingest"], ["ingest", "--ids", "12,abc"], ["ingest", "x", "--limit", "500"],
                 ["ingest", "--path", str(tmp_path / "nowhere")]):
        proc = run(tmp_path, fake_itunes.url, *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_throttled_api_is_one_line_after_retries(tmp_path: Path, fake_itunes) -> None:
    fake_itunes.throttle(3600.0)  # server clock is fake: it never ends for this run
    cfg = tmp_path / "c.toml"
    cfg.write_text("[itunes]\nmax_retries = 1\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "musicrec_tui", "--config", str(cfg), "--itunes-url",
                           fake_itunes.url, "--data-dir", str(tmp_path / "d"), "search", "anything"],
                          capture_output=True, text=True, env=cli_env(tmp_path), timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "403" in proc.stderr, proc.stderr
