"""A run ingests what it was asked for; jobs other runs left queued are finished only with --resume, and then
reported apart from the run's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.core.models import JobState
from musicrec_tui.store import open_library


def musicrec(tmp_path: Path, db_url: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSICREC_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    return subprocess.run([sys.executable, "-m", "musicrec_tui", "--db", db_url, "--itunes-url", url,
                           "--cache-dir", str(tmp_path / "cache"), "--data-dir", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_a_small_ingest_leaves_other_runs_jobs_alone_until_resume(tmp_path: Path, db_url: str,
                                                                   fake_itunes) -> None:
    fake_itunes.add_tracks(3, start_id=1_000_001, artist="Left Behind")
    fake_itunes.add_tracks(2, start_id=2_000_001, artist="Asked For")
    leftovers = ItunesClient(fake_itunes.url, rate_per_minute=6000).lookup([1_000_001, 1_000_002, 1_000_003])
    with open_library(db_url) as lib:
        lib.enqueue(leftovers)  # queued by a run that was interrupted before it started

    small = musicrec(tmp_path, db_url, fake_itunes.url, "ingest", "--ids", "2000001,2000002", "--json")
    assert small.returncode == 0, small.stderr
    events = [json.loads(line) for line in small.stdout.splitlines()]
    summary = events[-1]
    assert (summary["done"], summary["resumed"]["done"], summary["left_queued"]) == (2, 0, 3)
    assert {e["artist"] for e in events if e.get("state") == "done"} == {"Asked For"}
    assert all(e["progress"]["total"] == 2 for e in events if e.get("state") == "done")
    with open_library(db_url) as lib:
        assert lib.job_counts()[JobState.QUEUED] == 3

    text = musicrec(tmp_path, db_url, fake_itunes.url, "ingest", "--ids", "2000001")
    assert "already in library 1" in text.stdout and "3 job(s) queued by other runs were left alone" in text.stdout

    resumed = musicrec(tmp_path, db_url, fake_itunes.url, "ingest", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "Ingested 0" in resumed.stdout and "Resumed from earlier runs: done 3 · failed 0" in resumed.stdout
    with open_library(db_url) as lib:
        counts = lib.job_counts()
        assert counts[JobState.DONE] == 5 and counts[JobState.QUEUED] == 0
