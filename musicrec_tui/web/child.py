"""What each browser tab runs (started by apps.py): the full TUI over textual-serve's web driver, its player
playing in the browser tab. Settings come from the environment the server sets (and `--config`).

It ends with its server: the kernel sends SIGTERM when the server dies (set before exec by apps.py), the web
driver turns that into an orderly exit, and a watchdog thread makes sure: once the parent is gone it asks for
that exit, and a few seconds later kills the app's whole process group (its ingest workers included).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
import time

from .apps import PARENT_ENV

WATCH_SECONDS = 0.5
EXIT_GRACE = 5.0


def _parent_gone(parent: int | None) -> bool:
    return os.getppid() != parent if parent else os.getppid() == 1


def _watch_parent(parent: int | None) -> None:
    while not _parent_gone(parent):
        time.sleep(WATCH_SECONDS)
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)  # the web driver's orderly exit
    time.sleep(EXIT_GRACE)
    with contextlib.suppress(OSError):
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(1)


def _end_group() -> None:
    """Stop what this app started (its ingest's analysis processes share its process group): the server
    started it as a group leader, so the group is the app and its descendants, nothing else."""
    if os.getpgrp() != os.getpid():
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgrp(), signal.SIGTERM)
    except OSError:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="musicrec-web-app")
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    text = os.environ.get(PARENT_ENV, "")
    parent = int(text) if text.isdigit() else None
    if _parent_gone(parent):  # the server died before this process got going
        return 1
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()

    from ..config import load_settings
    from ..tui.browser import make_browser_app

    settings = load_settings(args.config)
    app = make_browser_app(settings)
    try:
        app.run()
    finally:
        with contextlib.suppress(Exception):
            app.session.player.close()
        with contextlib.suppress(Exception):
            app.session.close()
        _end_group()
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())
