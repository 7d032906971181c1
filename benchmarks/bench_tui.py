"""TUI benchmark: first frame over a 100k-track SQLite library, filtering it by a typed word, and
keypress-to-render while an ingest of 50 tracks runs. Prints medians, each with a baseline from the same run.

    .venv/bin/python benchmarks/bench_tui.py [--tracks 100000] [--repeat 5] [--ingest 50]

The 100k library is built once under benchmarks/.cache/ (a few seconds) and reused.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.widgets import Input  # noqa: E402

from musicrec_tui.core.models import Track  # noqa: E402
from musicrec_tui.store import open_library  # noqa: E402
from musicrec_tui.tui.app import MusicrecApp  # noqa: E402
from tests.fake_itunes import FakeClock, FakeItunes, Previews  # noqa: E402
from tests.tui.support import make_services, make_settings, stepped_player  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
WORDS = ["Velvet", "Harbor", "Ember", "Quartz", "Lantern"]
ADJ = ["Velvet", "Silent", "Golden", "Broken", "Electric", "Paper", "Hollow", "Crimson", "Wild", "Glass"]
NOUN = ["Harbor", "Ember", "Quartz", "Lantern", "River", "Signal", "Garden", "Echo", "Comet", "Tide"]


def library_url(n: int) -> str:
    """A SQLite library with n tracks of varied metadata, built once."""
    path = CACHE / f"library-{n}.sqlite3"
    url = f"sqlite://{path}"
    if path.exists():
        return url
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with open_library(f"sqlite://{tmp}") as lib:
        lib.upsert_tracks(
            Track("itunes", str(10_000_000 + i), f"{ADJ[i % 10]} {NOUN[(i // 10) % 10]} {i}",
                  f"Artist {i % 4999}", f"Album {i % 9973}", ["Rock", "Jazz", "Pop", "Ambient"][i % 4],
                  120_000 + i % 180_000) for i in range(n))
    tmp.rename(path)
    return url


def app_for(url: str, tmp: Path, itunes_url: str = "http://127.0.0.1:9") -> MusicrecApp:
    settings = make_settings(tmp, url)
    return MusicrecApp(settings, make_services(settings, itunes_url, stepped_player()[0]))


async def wait_until(pilot: Any, cond: Callable[[], bool], limit: float = 60.0) -> None:
    end = time.perf_counter() + limit
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("condition not met")
        await pilot.pause(0.002)


async def first_frame(url: str, tmp: Path) -> tuple[float, float]:
    """(ms to first frame, ms until the first page of rows is on screen), from constructing the app."""
    t0 = time.perf_counter()
    app = app_for(url, tmp)
    async with app.run_test(size=(120, 40)) as pilot:
        t_frame = time.perf_counter()
        await wait_until(pilot, lambda: (app.library is not None and app.library_pane.table.page_loads > 0)
                         or app.library_pane.library_total == 0)
        t_rows = time.perf_counter()
    app.services.player.close()
    return (t_frame - t0) * 1000, (t_rows - t0) * 1000


MINIMAL = """
from textual.app import App
from textual.widgets import Footer, Header, Static


class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("Hello")
        yield Footer()


Minimal().run()
"""
FOOTER_MARK = b"palette"  # the Footer's "^p palette": drawn in the first full frame of both apps


def cpu_ms(pid: int) -> float:
    """CPU time (user + system, all threads) the process `pid` has used so far, in ms (Linux /proc; 10 ms ticks)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def pty_run(argv: list[str], marks: list[bytes], env: dict[str, str], size: tuple[int, int] = (120, 40),
            limit: float = 60.0, cpu: list[float] | None = None) -> list[float]:
    """Start `argv` on a pseudo-terminal of `size` (a real terminal to Textual) and return the ms from the
    process start until each of `marks` has appeared in what it wrote; then kill it. With `cpu`, the child's
    CPU ms at each mark are appended to it (less sensitive than wall time to other processes' load)."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios

    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the app
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    seen: list[float] = []
    out = b""
    try:
        while len(seen) < len(marks) and time.perf_counter() - t0 < limit:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            out += chunk
            while len(seen) < len(marks) and marks[len(seen)] in out:
                seen.append((time.perf_counter() - t0) * 1000)
                if cpu is not None:
                    cpu.append(cpu_ms(pid))
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    if len(seen) < len(marks):
        raise RuntimeError(f"{argv[-1]!r}: no {marks[len(seen)]!r} in {limit:.0f} s; last output "
                           f"{out[-300:]!r}")
    return seen


def process_first_frames(empty: str, big: str, tmp: Path, repeat: int) -> None:
    """Process start -> first full frame in a real terminal (a pty at 120x40), for a minimal Textual app
    (Header, Static, Footer) and for `musicrec` over an empty and a big library, run in turn (A B C A B C ...)
    so that each ratio compares runs made under the same load."""
    def env(name: str) -> dict[str, str]:
        """A home of its own per app: the remembered UI state (last pane) of one run must not steer another."""
        home = tmp / f"home-{name}"
        out = {**os.environ, "HOME": str(home), "TERM": "xterm-256color", "COLORTERM": "truecolor",
               "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
               "XDG_CACHE_HOME": str(home / "cache")}
        # Bytecode is cached (in a folder of the run, for all three apps alike), as after a pip install: with
        # PYTHONDONTWRITEBYTECODE set (as on the shared machine) our modules were compiled from source on every
        # start while Textual's came precompiled from site-packages, which cost musicrec ~0.1 s more per start.
        out["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        return {k: v for k, v in out.items()
                if not k.startswith(("MUSICREC_", "TEXTUAL")) and k != "PYTHONDONTWRITEBYTECODE"}

    minimal = tmp / "minimal_app.py"
    minimal.write_text(MINIMAL)

    def musicrec(url: str) -> list[str]:
        return [sys.executable, "-m", "musicrec_tui", "--db", url]

    runs = {
        "minimal": ([sys.executable, str(minimal)], [FOOTER_MARK]),
        "empty": (musicrec(empty), [FOOTER_MARK, b"Welcome"]),
        "big": (musicrec(big), [FOOTER_MARK, b"Velvet Harbor 0"]),
    }
    envs = {name: env(name) for name in runs}
    for name, (argv, marks) in runs.items():  # warm the OS file cache and bytecode; create the empty library
        pty_run(argv, marks, envs[name])
    rows: list[tuple[float, float, float, float, float]] = []
    cpus: list[tuple[float, float, float]] = []
    load_before = os.getloadavg()
    for _ in range(repeat):
        c_min: list[float] = []
        c_empty: list[float] = []
        c_big: list[float] = []
        base = pty_run(*runs["minimal"], envs["minimal"], cpu=c_min)[0]
        e_frame, e_ready = pty_run(*runs["empty"], envs["empty"], cpu=c_empty)
        f_frame, f_rows = pty_run(*runs["big"], envs["big"], cpu=c_big)
        rows.append((base, e_frame, e_ready, f_frame, f_rows))
        cpus.append((c_min[0], c_empty[0], c_big[0]))
    load_after = os.getloadavg()
    col = list(zip(*rows, strict=True))
    ccol = list(zip(*cpus, strict=True))
    print(f"machine: {os.cpu_count()} cores, load average (1/5/15 min) {'/'.join(f'{x:.1f}' for x in load_before)}"
          f" before, {'/'.join(f'{x:.1f}' for x in load_after)} after; bytecode cached (PYTHONPYCACHEPREFIX)")
    print(f"process start -> first full frame in a 120x40 terminal (median of {repeat}, run in turn):")
    print(f"  minimal Textual app (Header, Static, Footer): {median(list(col[0])):7.1f} ms")
    print(f"  musicrec, empty library:   {median(list(col[1])):7.1f} ms   ratio "
          f"{median([r[1] / r[0] for r in rows]):.2f}x minimal   (welcome text drawn {median(list(col[2])):7.1f} ms)")
    print(f"  musicrec, {BIG_LABEL[0]} tracks: {median(list(col[3])):7.1f} ms   ratio "
          f"{median([r[3] / r[0] for r in rows]):.2f}x minimal   (first rows drawn {median(list(col[4])):7.1f} ms, "
          f"{median([r[4] / r[0] for r in rows]):.2f}x)")
    print(f"  CPU time of the process at its first frame (all threads, 10 ms ticks): minimal "
          f"{median(list(ccol[0])):5.0f} ms, empty {median(list(ccol[1])):5.0f} ms (ratio "
          f"{median([c[1] / c[0] for c in cpus]):.2f}x), {BIG_LABEL[0]} tracks {median(list(ccol[2])):5.0f} ms "
          f"(ratio {median([c[2] / c[0] for c in cpus]):.2f}x)")


BIG_LABEL = ["100,000"]


async def filtering(url: str, tmp: Path, words: list[str]) -> list[float]:
    """ms from the last typed key of a word to its filtered count and first page on screen."""
    out = []
    app = app_for(url, tmp)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.library_pane.table.page_loads > 0)
        table = app.library_pane.table
        for word in words:
            await pilot.press("slash")  # focus the filter, start from an empty one
            app.library_pane.query_one("#library-filter", Input).value = ""
            await wait_until(pilot, lambda: table.search == "" and table.total > 0)
            for ch in word[:-1]:
                await pilot.press(ch)
            loads = table.page_loads
            t0 = time.perf_counter()
            app.simulate_key(word[-1])
            await wait_until(pilot, lambda w=word, n=loads: table.search == w and table.page_loads > n)
            out.append((time.perf_counter() - t0) * 1000)
            await pilot.press("escape")
    app.services.player.close()
    return out


async def keypresses(app: MusicrecApp, presses: int, busy: Callable[[], bool] | None = None) -> list[float]:
    """ms from a j/k key event to the first screen paint that shows the moved cursor (library pane).

    Pilot's own waits (wait_for_idle) stretch to 1 s while worker threads are busy, so this posts the key and
    watches the compositor instead."""
    table = app.library_pane.table
    screen = app.screen
    paints: list[tuple[float, int]] = []
    original = screen._compositor_refresh

    def painted() -> None:
        original()
        paints.append((time.perf_counter(), table.cursor))

    screen._compositor_refresh = painted  # type: ignore[method-assign]
    out: list[float] = []
    step = 1
    try:
        while len(out) < presses and (busy is None or busy() or not out):
            if table.cursor in (0, table.total - 1):
                step = -step if table.cursor else 1
            target = table.cursor + step
            seen = len(paints)
            t0 = time.perf_counter()
            app.simulate_key("j" if step > 0 else "k")
            while not any(c == target for _, c in paints[seen:]):
                await asyncio.sleep(0.0005)
            out.append((next(t for t, c in paints[seen:] if c == target) - t0) * 1000)
            await asyncio.sleep(0.02)  # a person's pace, not a key-repeat storm
    finally:
        screen._compositor_refresh = original  # type: ignore[method-assign]
    return out


async def during_ingest(url: str, tmp: Path, n: int) -> tuple[list[float], list[float], int]:
    """Keypress ms on the library pane idle, then while an ingest of n tracks runs (and how many were done)."""
    with FakeItunes(Previews(), clock=FakeClock()) as fake:
        fake.add_tracks(n, artist="Bench Artist")
        app = app_for(url, tmp, fake.url)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.library_pane.table.page_loads > 0)
            await pilot.press("escape")
            idle = await keypresses(app, 60)
            await pilot.press("1", *"song", "enter")
            await wait_until(pilot, lambda: len(app.search_pane.results) == n)
            await pilot.press("a")
            await wait_until(pilot, lambda: app._ingest_running)
            await pilot.press("2")
            await wait_until(pilot, lambda: app.focused is app.library_pane.table)
            busy = await keypresses(app, 100_000, busy=lambda: app._ingest_running)
            await wait_until(pilot, lambda: not app._ingest_running, limit=600)
            done = app.ingest_pane.counts["done"]
        app.services.player.close()
    return idle, busy, done


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ingest", type=int, default=50)
    parser.add_argument("--first-frame-only", action="store_true", help="stop after the process start figures")
    args = parser.parse_args()

    t0 = time.perf_counter()
    big = library_url(args.tracks)
    print(f"library: {args.tracks:,} tracks ({(time.perf_counter() - t0):.1f} s to open/build)")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        empty = f"sqlite://{tmp / 'empty.sqlite3'}"
        BIG_LABEL[0] = f"{args.tracks:,}"
        process_first_frames(empty, big, tmp, args.repeat)
        if args.first_frame_only:
            return
        run(first_frame(empty, tmp))  # warm imports and the CSS parse before measuring
        base = [run(first_frame(empty, tmp)) for _ in range(args.repeat)]
        full = [run(first_frame(big, tmp)) for _ in range(args.repeat)]
        bf, bl = median([b[0] for b in base]), median([b[1] for b in base])
        ff, fl = median([f[0] for f in full]), median([f[1] for f in full])
        print(f"first frame, empty library:      {bf:7.1f} ms   (ready: {bl:7.1f} ms)")
        print(f"first frame, {args.tracks:,} tracks:   {ff:7.1f} ms   (first rows: {fl:7.1f} ms)"
              f"   ratio {ff / bf:.2f}x the empty library")

        with open_library(big) as lib:
            store = []
            for word in WORDS:
                s0 = time.perf_counter()
                lib.count_tracks(word)
                lib.list_tracks(word, limit=200)
                store.append((time.perf_counter() - s0) * 1000)
        typed = run(filtering(big, tmp, WORDS))
        print(f"filter by a typed word: median {median(typed):7.1f} ms to count + first rows on screen "
              f"(incl. 150 ms debounce); store alone {median(store):6.1f} ms; UI overhead "
              f"{median(typed) - median(store) - 150:6.1f} ms")

        scratch = tmp / "ingest.sqlite3"  # the ingest writes: work on a copy of the cached library
        shutil.copyfile(big.removeprefix("sqlite://"), scratch)
        idle, busy, done = run(during_ingest(f"sqlite://{scratch}", tmp, args.ingest))
        print(f"keypress to render, idle:               median {median(idle):6.2f} ms  (n={len(idle)})")
        print(f"keypress to render, ingest of {args.ingest} running: median {median(busy):6.2f} ms  "
              f"(n={len(busy)}, p95 {sorted(busy)[int(0.95 * (len(busy) - 1))]:.2f} ms, "
              f"{done} ingested)   ratio {median(busy) / median(idle):.2f}x idle")
        print(f"  slowest presses during the ingest (ms): {', '.join(f'{x:.0f}' for x in sorted(busy)[-5:])}")


if __name__ == "__main__":
    main()
