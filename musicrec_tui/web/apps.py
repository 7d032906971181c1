"""The app processes: one per browser tab, each `python -m musicrec_tui.web.child`, tracked so that the server
can stop every one it started.

Nothing outlives the server: each app runs in its own process group (its ingest workers with it), asks the
kernel for SIGTERM when the server dies (PR_SET_PDEATHSIG, even on kill -9), and watches its parent as well
(child.py). On an orderly stop the server asks each app to quit, then signals its whole group.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from asyncio.subprocess import Process
from collections.abc import Mapping

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from .protocol import AUDIO_MESSAGE

log = logging.getLogger("musicrec.serve")

PARENT_ENV = "MUSICREC_SERVE_PARENT"  # the server's pid: the app exits when its parent is no longer this
QUIT_GRACE = 3.0  # seconds an app has to quit when asked, before its process group is signalled
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL for the group
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: child.py's parent watch still ends the app
        pass


class AppProcess(AppService):
    """textual-serve's AppService, started without a shell, in a process group of its own, with the
    environment it is given (settings travel there, never on the command line where `ps` shows them)."""

    def __init__(self, argv: list[str], env: Mapping[str, str], **kwargs: object) -> None:
        super().__init__(" ".join(argv), **kwargs)  # type: ignore[arg-type]
        self.argv = argv
        self.extra_env = dict(env)
        self.pid: int | None = None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width, height)
        env.pop("MUSICREC_TOKEN", None)  # the server checks the token; an app has no use for it
        env.update(self.extra_env)
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=environment, start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        assert process.stdin is not None
        self._stdin = process.stdin
        self.pid = process.pid
        log.info("app process %s started", process.pid)
        return process

    async def on_meta(self, data: bytes) -> None:
        """The app's messages for the page: textual-serve's own, plus the browser player's audio commands."""
        import json

        try:
            meta = json.loads(data)
        except ValueError:
            return
        if isinstance(meta, dict) and meta.get("type") == AUDIO_MESSAGE:
            await self.remote_write_str(json.dumps([AUDIO_MESSAGE, meta]))
            return
        await super().on_meta(data)

    async def shutdown(self) -> None:
        """Cancel its downloads, end the process (and its group), and wait for its output pump to finish."""
        with contextlib.suppress(Exception):
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        await self.terminate()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(task, KILL_GRACE)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def terminate(self) -> None:
        """Ask the app to quit; signal its process group if it does not, then make sure the group is gone."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(Exception):
                await self.send_meta({"type": "quit"})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), QUIT_GRACE)
        for sig, grace in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
            if not _group_alive(process.pid) and process.returncode is not None:
                break
            _signal_group(process.pid, sig)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), grace)
        _signal_group(process.pid, signal.SIGKILL)  # stray workers of an app that already exited
        log.info("app process %s stopped (exit %s)", process.pid, process.returncode)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


class AppRegistry:
    """Every app process the server started, to limit how many run at once and to stop them all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.apps: set[AppProcess] = set()
        self.downloads = DownloadManager()

    def full(self) -> bool:
        """True at the limit; an app counts from its websocket's arrival (before its process exists) until the
        tab closes, so a burst of connections cannot slip past it."""
        return len(self.apps) >= self.limit

    async def stop_all(self) -> None:
        apps = list(self.apps)
        self.apps.clear()
        await asyncio.gather(*(app.shutdown() for app in apps), return_exceptions=True)
