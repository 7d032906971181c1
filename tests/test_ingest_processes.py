"""`musicrec ingest` as separate processes: kill -9 then resume, and two workers sharing one queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from musicrec_tui.core import features
from musicrec_tui.core.models import JobState
from musicrec_tui.store import open_library

N_TRACKS = 24


def cli(tmp_path: Path, db_url: str, fake_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "musicrec_tui", "--db", db_url, "--itunes-url", fake_url,
            "--cache-dir", str(tmp_path / "cache"), "--data-dir", str(tmp_path / "data"), *args]


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSICREC_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    return env


def ids_arg(fake) -> str:
    return ",".join(str(t) for t in sorted(fake.catalogue))


def assert_library_complete(db_url: str, fake, cache: Path) -> None:
    with open_library(db_url) as lib:
        tracks = lib.list_tracks()
        assert sorted(int(t.external_id) for t in tracks) == sorted(fake.catalogue), "no duplicates, none lost"
        counts = lib.job_counts()
        assert counts[JobState.DONE] == N_TRACKS and sum(counts.values()) == N_TRACKS
        ext = features.get()
        for t in tracks:
            vec = lib.get_vector(t.id, ext.name)
            assert vec is not None and vec.version == ext.version and vec.dim == ext.dim
    assert [p.name for p in (cache / "previews").iterdir() if p.name.endswith(".part")] == []
    for p in (cache / "previews").glob("*.m4a"):
        from musicrec_tui.core.audio import decode

        assert decode(p).seconds > 5, f"{p.name} is complete and decodable"


def test_kill_9_mid_run_then_rerun_resumes(tmp_path: Path, db_url: str, fake_itunes) -> None:
    fake_itunes.add_tracks(N_TRACKS)
    args = cli(tmp_path, db_url, fake_itunes.url, "ingest", "--ids", ids_arg(fake_itunes), "--json",
               "--workers", "1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(tmp_path))
    done = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("state") == "done":
            done += 1
            if done == 3:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with open_library(db_url) as lib:
        assert 3 <= lib.count_tracks() < N_TRACKS, "killed mid-run"
        assert lib.job_counts()[JobState.QUEUED] > 0

    rerun = subprocess.run(cli(tmp_path, db_url, fake_itunes.url, "ingest", "--resume", "--json"),
                           capture_output=True, text=True, env=cli_env(tmp_path), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout.splitlines()[-1])
    assert summary["event"] == "summary" and summary["failed"] == 0
    assert_library_complete(db_url, fake_itunes, tmp_path / "cache")
    again = subprocess.run(cli(tmp_path, db_url, fake_itunes.url, "ingest", "--ids", ids_arg(fake_itunes)),
                           capture_output=True, text=True, env=cli_env(tmp_path), timeout=120)
    assert again.returncode == 0 and f"already in library {N_TRACKS}" in again.stdout


def test_ctrl_c_stops_cleanly_and_rerun_finishes(tmp_path: Path, fake_itunes) -> None:
    db_url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    fake_itunes.add_tracks(N_TRACKS)
    args = cli(tmp_path, db_url, fake_itunes.url, "ingest", "--ids", ids_arg(fake_itunes), "--json",
               "--workers", "1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(tmp_path))
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line).get("state") == "done":
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and "interrupted" in err
    with open_library(db_url) as lib:
        counts = lib.job_counts()
        assert counts[JobState.DOWNLOADING] == counts[JobState.ANALYSING] == 0, "unfinished jobs were given back"
    rerun = subprocess.run(cli(tmp_path, db_url, fake_itunes.url, "ingest", "--resume"),
                           capture_output=True, text=True, env=cli_env(tmp_path), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert_library_complete(db_url, fake_itunes, tmp_path / "cache")


def test_two_ingest_processes_share_the_queue(tmp_path: Path, db_url: str, fake_itunes) -> None:
    fake_itunes.add_tracks(N_TRACKS)
    open_library(db_url).close()
    args = cli(tmp_path, db_url, fake_itunes.url, "ingest", "--ids", ids_arg(fake_itunes), "--json",
               "--workers", "1")
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=cli_env(tmp_path)) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    done_by: list[set[str]] = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        events = [json.loads(line) for line in out.splitlines()]
        done_by.append({e["external_id"] for e in events if e.get("state") == "done"})
        assert events[-1]["event"] == "summary" and events[-1]["failed"] == 0
    assert not done_by[0] & done_by[1], "no track was analysed by both workers"
    with open_library(db_url) as lib:
        jobs = lib.list_jobs()
        assert all(j.attempts == 1 for j in jobs), "every job was claimed exactly once"
    assert_library_complete(db_url, fake_itunes, tmp_path / "cache")
    assert done_by[0] | done_by[1] == {str(t) for t in fake_itunes.catalogue}, "both together did every track"
