"""`musicrec play ID`: play one track's audio in the terminal, with a progress line and keys when there is a TTY.

Keys: space pause/resume, q (or Ctrl-C) quit, left/right or b/f seek 5 s, +/- volume.
Without a TTY it plays to the end and exits 0, or exits 2 printing "playback off: <reason>".
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

from ..core.errors import MusicrecError
from ..core.text import ellipsize, for_terminal
from ..playback.base import SEEK_STEP, VOLUME_STEP, PlayerState
from .common import Subparsers

if TYPE_CHECKING:  # the playback package loads numpy: only when a track is played, not for `musicrec --help`
    from ..config import Settings
    from ..core.models import Track
    from ..playback.base import Player, PlayerSnapshot, Source
    from ..playback.device import Loader
    from ..playback.sd_player import StreamFactory

EXIT_OK = 0
EXIT_OFF = 2
EXIT_INTERRUPTED = 130
REFRESH_SECONDS = 0.1


def register(sub: Subparsers) -> None:
    p = sub.add_parser("play", help="play a track's preview: space pause, q quit, ←/→ or b/f seek, +/- volume")
    p.add_argument("id", metavar="ID", help="library id, itunes:<trackId>, or a local audio file")
    p.add_argument("--device", metavar="NAME|INDEX", help="output device (default: playback.device setting, "
                   "env MUSICREC_DEVICE, else the system default; `musicrec doctor` lists them)")
    p.add_argument("--volume", type=float, default=1.0, help="0..1 (default 1)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..app.audio import playable
    from ..app.factory import make_cache, make_itunes_client, make_library
    from ..app.factory import make_player as make_settings_player

    player = make_settings_player(settings, args.device, volume=args.volume)
    try:
        if not player.available:  # say so before touching the library or the network
            print(player.reason, file=sys.stderr)
            return EXIT_OFF

        def lookup(track_id: str) -> Track | None:
            found = make_itunes_client(settings).lookup([track_id], country=settings.itunes_country)
            return found[0] if found else None

        with make_library(settings) as lib:
            item = playable(args.id, lib, lookup, make_cache(settings, check="decode"))  # a short preview plays
        return run_play(item.path, item.title, player=player)
    finally:
        player.close()


def run_play(
    source: Source,
    title: str = "",
    device: str | int | None = None,
    *,
    volume: float = 1.0,
    player: Player | None = None,
    loader: Loader | None = None,
    stream_factory: StreamFactory | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Play `source` (a preview path, encoded bytes or Audio) and return the exit code.

    `player` (or `loader`/`stream_factory` for make_player) is injectable for tests; the CLI passes neither.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    from ..playback.device import load_sounddevice, make_player

    own = player is None
    if player is None:
        player = make_player(device, loader=loader or load_sounddevice, stream_factory=stream_factory,
                             volume=volume)
    try:
        if not player.available:
            print(player.reason, file=stderr)
            return EXIT_OFF
        try:
            player.load(source, title)
        except MusicrecError as exc:
            print(for_terminal(exc.one_line()), file=stderr)
            return exc.exit_code
        if _is_tty(stdin) and _is_tty(stdout):
            return _interactive(player, stdin, stdout, stderr)
        return _headless(player, stdout, stderr)
    finally:
        if own:
            player.close()


def _headless(player: Player, stdout: TextIO, stderr: TextIO) -> int:
    player.play()
    try:
        while not player.wait(timeout=0.5):
            pass
    except KeyboardInterrupt:
        player.stop()
        return EXIT_INTERRUPTED
    snap = player.snapshot()
    if snap.state is PlayerState.ERROR:
        print(snap.reason, file=stderr)
        return EXIT_OFF
    print(f"played {for_terminal(snap.title)} ({_clock(snap.position)}/{_clock(snap.duration)})", file=stdout)
    return EXIT_OK


def _interactive(player: Player, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    fd = stdin.fileno()
    player.play()
    code = EXIT_OK
    try:
        with _cbreak(fd):
            while True:
                snap = player.snapshot()
                _draw(snap, stdout)
                if snap.state in (PlayerState.ENDED, PlayerState.ERROR, PlayerState.STOPPED):
                    break
                ready, _, _ = select.select([fd], [], [], REFRESH_SECONDS)
                if ready and not _handle_keys(player, os.read(fd, 64)):
                    break
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        stdout.write("\n")
        stdout.flush()
    snap = player.snapshot()
    player.stop()
    if snap.state is PlayerState.ERROR:
        print(snap.reason, file=stderr)
        return EXIT_OFF
    return code


KEYS: dict[bytes, Callable[[Player], object]] = {
    b" ": lambda p: p.toggle(),
    b"\x1b[C": lambda p: p.seek(SEEK_STEP, relative=True),
    b"f": lambda p: p.seek(SEEK_STEP, relative=True),
    b"\x1b[D": lambda p: p.seek(-SEEK_STEP, relative=True),
    b"b": lambda p: p.seek(-SEEK_STEP, relative=True),
    b"+": lambda p: p.volume_up(VOLUME_STEP),
    b"=": lambda p: p.volume_up(VOLUME_STEP),
    b"-": lambda p: p.volume_down(VOLUME_STEP),
}
QUIT_KEYS = frozenset({b"q", b"Q", b"\x03"})


def _handle_keys(player: Player, data: bytes) -> bool:
    """Apply each key in `data`; False when a quit key came."""
    for key in split_keys(data):
        if key in QUIT_KEYS:
            return False
        action = KEYS.get(key)
        if action is not None:
            action(player)
    return True


def split_keys(data: bytes) -> list[bytes]:
    """Split raw terminal input into keys: CSI sequences (ESC [ ... final byte) stay whole."""
    keys: list[bytes] = []
    i = 0
    while i < len(data):
        if data[i:i + 2] == b"\x1b[":
            j = i + 2
            while j < len(data) and not 0x40 <= data[j] <= 0x7E:
                j += 1
            keys.append(data[i:j + 1])
            i = j + 1
        else:
            keys.append(data[i:i + 1])
            i += 1
    return keys


def progress_line(snap: PlayerSnapshot, width: int = 80) -> str:
    """`▶ 0:12 / 0:30 [#####-----] vol  80%  playing  Title`, cut to `width` columns."""
    icon = {PlayerState.PLAYING: "▶", PlayerState.PAUSED: "⏸"}.get(snap.state, "■")
    head = f"{icon} {_clock(snap.position)} / {_clock(snap.duration)} "
    tail = f" vol {round(snap.volume * 100):3d}%  {snap.state.value:<7}  {for_terminal(snap.title)}"
    bar_width = max(10, min(40, width - len(head) - 30))
    filled = round(snap.fraction * bar_width)
    line = f"{head}[{'#' * filled}{'-' * (bar_width - filled)}]{tail}"
    return ellipsize(line, max(1, width - 1))  # cut in terminal cells, not characters


def _draw(snap: PlayerSnapshot, stdout: TextIO) -> None:
    width = shutil.get_terminal_size((80, 24)).columns
    stdout.write("\r" + progress_line(snap, width) + "\x1b[K")
    stdout.flush()


@contextlib.contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    """Keys arrive one by one without echo; the terminal is restored on any exit, Ctrl-C included."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
