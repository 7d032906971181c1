"""`musicrec discover` end to end (a real process) against the fake iTunes server, faults on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from musicrec_tui.store import open_library

from .test_discover import CHORDS, catalogue
from .test_ingest_processes import cli, cli_env


def run(tmp_path: Path, db: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text("[itunes]\nrate_per_minute = 6000\n\n[analysis]\nworkers = 1\n")
    cmd = cli(tmp_path, db, url, *args)
    cmd.insert(3, "--config")
    cmd.insert(4, str(config))
    return subprocess.run(cmd, capture_output=True, text=True, env=cli_env(tmp_path), timeout=600)


def test_discover_cli_json_text_and_errors(tmp_path: Path, fake_itunes) -> None:
    catalogue(fake_itunes)
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    proc = run(tmp_path, db, fake_itunes.url, "ingest", "--ids", "10,11")
    assert proc.returncode == 0, proc.stderr
    with open_library(db) as lib:
        seed = lib.find_track("itunes", "10")
        before = lib.count_tracks()
    # transient faults on every kind of request: retried, never a failure
    fake_itunes.fail("/search", "503", "malformed")
    fake_itunes.fail("/lookup", "html", "cutoff")
    fake_itunes.fail("/previews/", "truncate", "reset")
    proc = run(tmp_path, db, fake_itunes.url, "discover", str(seed.id), "-k", "5", "--budget", "12", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    assert out["query"]["id"] == seed.id and out["k"] == 5 and out["exclude_artist"] is False
    assert out["extractor"] and out["hubness"] == "mp" and out["explained_by"] == "handcrafted"
    results = out["results"]
    assert 1 <= len(results) <= 5 and [r["rank"] for r in results] == list(range(1, len(results) + 1))
    first = results[0]
    assert first["id"] is None and first["in_library"] is False and first["itunes_artist_id"] == CHORDS
    assert first["preview_url"].startswith(fake_itunes.url) and first["found_by"]
    assert set(first["groups"]) == {"timbre", "brightness", "dynamics", "rhythm", "harmony"}
    d = out["discovery"]
    assert d["requests"] <= d["request_budget"] and d["calls"] > d["requests"], "the faults were retried"
    assert d["analysed"] <= 12 and d["budget"] == 12 and d["failed_requests"] == []
    with open_library(db) as lib:
        assert lib.count_tracks() == before, "discover adds nothing to the library"

    # the second time, the analysed candidates are reused: no preview budget needed
    proc = run(tmp_path, db, fake_itunes.url, "discover", f"itunes:{seed.external_id}", "-k", "3",
               "--budget", "0")
    assert proc.returncode == 0, proc.stderr
    assert "Discovered around" in proc.stdout and "musicrec ingest --ids" in proc.stdout
    assert "0 previews analysed" in proc.stdout and "reused" in proc.stdout

    proc = run(tmp_path, db, fake_itunes.url, "discover", "99999")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no track" in proc.stderr
    proc = run(tmp_path, db, fake_itunes.url, "discover", str(seed.id), "--source", "charts")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (from /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(stat.parent.name))
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_mid_discovery_leaves_no_process_behind(tmp_path: Path, fake_itunes) -> None:
    import signal
    import time

    catalogue(fake_itunes)
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    assert run(tmp_path, db, fake_itunes.url, "ingest", "--ids", "10").returncode == 0
    with open_library(db) as lib:
        seed = lib.find_track("itunes", "10")
    cmd = cli(tmp_path, db, fake_itunes.url, "discover", str(seed.id), "--json")
    cmd.insert(3, "--config")
    cmd.insert(4, str(tmp_path / "config.toml"))
    fake_itunes.fail("/previews/", *(["slow"] * 6))  # previews answer slowly: the pool is up, work in flight
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(tmp_path))
    children: set[int] = set()
    for _ in range(600):  # until the analysis process (workers = 1; no resource tracker any more) is started
        children = _children(proc.pid)
        if any(b"musicrec_tui.ingest.worker" in _cmdline(c) for c in children) or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert proc.poll() is None and children, "the discovery started its analysis process (ingest.worker)"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    for _ in range(300):  # PR_SET_PDEATHSIG, else the worker's watchdog
        if not any(_alive(c) for c in children):
            break
        time.sleep(0.1)
    assert not any(_alive(c) for c in children), "no process outlives the CLI"
