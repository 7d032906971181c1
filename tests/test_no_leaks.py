"""No process outlives `musicrec` (the CLI's `ingest`, or the TUI in a pty), however it is stopped mid-analysis.

Each test starts a real process, waits until its analysis workers are busy, snapshots its process tree from
/proc, sends SIGKILL, SIGTERM or SIGINT, and asserts that nothing of that tree is alive 5 s later. SIGTERM and
SIGINT must also end the run with one line and no traceback, its unfinished jobs given back to the queue; after
SIGKILL a later run gives back the dead run's jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.core.models import JobState
from musicrec_tui.store import open_library
from tests.fake_itunes import FakeItunes, Previews
from tests.procwatch import cmdline, descendants
from tests.procwatch import stat as _stat

N_TRACKS = 40
GRACE_S = 5.0
SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]


# ---- /proc ------------------------------------------------------------------------------------------------

def workers_of(pid: int) -> list[int]:
    """Live analysis processes started by `pid` (found by their argv, wherever they were re-parented)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            argv = cmdline(int(entry))
            if "musicrec_tui.ingest.worker" in argv and str(pid) in argv:
                st = _stat(int(entry))
                if st is not None and st[1] != "Z":
                    out.append(int(entry))
    return out


def survivors(tree: dict[int, int]) -> list[str]:
    alive = []
    for pid, start in tree.items():
        st = _stat(pid)
        if st is not None and st[1] != "Z" and st[2] == start:
            alive.append(f"{pid} {' '.join(cmdline(pid))[:120]}")
    return alive


def assert_all_gone(root: int, tree: dict[int, int]) -> None:
    ends = time.monotonic() + GRACE_S
    while time.monotonic() < ends and (survivors(tree) or workers_of(root)):
        time.sleep(0.1)
    left = survivors(tree) + [f"{p} {' '.join(cmdline(p))[:120]}" for p in workers_of(root)]
    assert not left, f"still alive {GRACE_S:.0f} s after the parent was stopped: {left}"


def wait_for(predicate, timeout: float, what: str) -> None:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ---- fixtures ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> Iterator[FakeItunes]:
    """Its own fake catalogue of 30 s previews, so a run is still analysing when the signal arrives."""
    with FakeItunes(Previews(seconds=30.0), clock=time.monotonic) as fake:
        kinds = ("chord:0", "drums:90", "noise:1", "chord:3", "drums:128", "sweep")
        for i in range(N_TRACKS):
            fake.add_track(4_000_000 + i, f"Leak {i}", "Leak Artist", preview=kinds[i % len(kinds)])
        yield fake


def musicrec(tmp_path: Path, db_url: str, url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "musicrec_tui", "--db", db_url, "--itunes-url", url,
            "--cache-dir", str(tmp_path / "cache"), "--data-dir", str(tmp_path / "data"), *args]


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSICREC_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), PYTHONUNBUFFERED="1",
               TERM="xterm-256color")
    return env


def ids(server: FakeItunes) -> str:
    return ",".join(str(t) for t in sorted(server.catalogue))


def counts(db_url: str) -> dict[JobState, int]:
    with open_library(db_url) as lib:
        return lib.job_counts()


# ---- the CLI ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_cli_ingest_stopped_mid_analysis_leaves_no_process(tmp_path: Path, server: FakeItunes,
                                                           sig: signal.Signals) -> None:
    db_url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    proc = subprocess.Popen(musicrec(tmp_path, db_url, server.url, "ingest", "--ids", ids(server), "--json",
                                     "--workers", "2"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for(tmp_path))
    assert proc.stdout is not None and proc.stderr is not None
    try:
        for line in proc.stdout:
            if json.loads(line).get("state") == "done":
                break  # analysis is under way: one track done, more in the workers
        tree = descendants(proc.pid)
        assert len(tree) >= 2, f"the analysis processes are running: {tree}"
        stopped = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=GRACE_S)
        took = time.monotonic() - stopped
        try:  # a survivor holding the pipes open would make this wait forever
            remaining_out, err = proc.communicate(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            remaining_out, err = "", "(pipes still held open by a survivor)"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_all_gone(proc.pid, tree)
    if sig is signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        # a later run gives back the dead run's jobs and finishes them
        rerun = subprocess.run(musicrec(tmp_path, db_url, server.url, "ingest", "--resume", "--json"),
                               capture_output=True, text=True, env=env_for(tmp_path), timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        c = counts(db_url)
        assert c[JobState.DONE] == N_TRACKS and c[JobState.ANALYSING] == c[JobState.DOWNLOADING] == 0
        return
    assert proc.returncode == (130 if sig is signal.SIGINT else 128 + sig), err
    assert err.strip().splitlines() == ["musicrec: " + ("interrupted" if sig is signal.SIGINT else "terminated")], \
        f"one line, no traceback (from workers neither): {err!r}"
    assert took < GRACE_S
    summary = [json.loads(x) for x in remaining_out.splitlines() if x.strip()]
    assert all(e.get("event") != "summary" for e in summary), "a stopped run prints no summary"
    c = counts(db_url)
    assert c[JobState.ANALYSING] == c[JobState.DOWNLOADING] == 0, f"unfinished jobs given back: {c}"
    assert c[JobState.QUEUED] > 0 and c[JobState.FAILED] == 0


# ---- the TUI in a pty -------------------------------------------------------------------------------------

def _drain(fd: int, stop: threading.Event) -> None:
    """Keep reading the pty so the app never blocks on a full terminal."""
    while not stop.is_set():
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_tui_stopped_mid_analysis_leaves_no_process(tmp_path: Path, server: FakeItunes,
                                                    sig: signal.Signals) -> None:
    db_url = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    tracks = ItunesClient(server.url, rate_per_minute=6000).lookup(sorted(server.catalogue))
    with open_library(db_url) as lib:
        lib.enqueue(tracks)  # the app resumes queued jobs as it starts
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen(musicrec(tmp_path, db_url, server.url), stdin=slave, stdout=slave, stderr=slave,
                            env=env_for(tmp_path), start_new_session=True, close_fds=True)
    os.close(slave)
    stop = threading.Event()
    reader = threading.Thread(target=_drain, args=(master, stop), daemon=True)
    reader.start()
    try:
        wait_for(lambda: counts(db_url)[JobState.DONE] >= 1 and len(descendants(proc.pid)) >= 1, 60,
                 "the app to resume the queue and analyse a track")
        tree = descendants(proc.pid)
        assert tree, "analysis processes are running"
        proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=GRACE_S)
        assert proc.poll() is not None, f"the app is still running {GRACE_S:.0f} s after {sig.name}"
        assert_all_gone(proc.pid, tree)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stop.set()
        os.close(master)
    # whatever the app left mid-flight, the next run gives back
    rerun = subprocess.run(musicrec(tmp_path, db_url, server.url, "ingest", "--resume", "--json"),
                           capture_output=True, text=True, env=env_for(tmp_path), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    c = counts(db_url)
    assert c[JobState.DONE] == N_TRACKS and c[JobState.ANALYSING] == c[JobState.DOWNLOADING] == 0
