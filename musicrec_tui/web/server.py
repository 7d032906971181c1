"""The server behind `musicrec serve`: the TUI for each browser tab (textual-serve's protocol, one app process
per websocket) and the JSON API, on one aiohttp application.

Routes: `/` the page, `/ws` the app's websocket, `/download/{key}` files the app delivers (exports),
`/static/...` textual-serve's page assets, `/musicrec-static/...` ours, `/api/...` the JSON API (api.py).
Ctrl-C or SIGTERM stops the server and every app process it started (apps.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import signal
import sys
from pathlib import Path
from string import Template
from typing import TextIO
from urllib.parse import quote

import textual_serve
from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractAccessLogger

from ..config import Settings
from .api import MAX_BODY, Api, Backend
from .apps import PARENT_ENV, AppProcess, AppRegistry
from .security import check_bind, guard

log = logging.getLogger("musicrec.serve")

HERE = Path(__file__).resolve().parent
TEXTUAL_STATIC = Path(textual_serve.__file__).resolve().parent / "static"
MAX_APPS = 8  # app processes at once (each browser tab runs one)
MAX_WS_MESSAGE = 1024 * 1024  # bytes of one message from the page (keys, pastes, resizes)


class AccessLog(AbstractAccessLogger):
    """One line per request without the query string (it may hold a token)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.0f ms", request.method, request.path, response.status, time * 1000)


class MusicrecServer:
    """Serve the app and the API for `settings`' library on host:port (port 0: any free port)."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
                 max_apps: int = MAX_APPS, out: TextIO | None = None) -> None:
        check_bind(host, token)
        self.settings = settings
        self.host = host
        self.port = port
        self.token = token
        self.out = out or sys.stdout
        self.registry = AppRegistry(max_apps)
        self.backend = Backend(settings)
        self._page = Template((HERE / "templates" / "index.html").read_text(encoding="utf-8"))
        self._stop = asyncio.Event()
        self._sockets: set[web.WebSocketResponse] = set()
        self.url: str | None = None

    # ---- the aiohttp application ---------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        from .api import json_errors

        loopback_only = self.token is None
        app = web.Application(middlewares=[guard(self.token, loopback_only), json_errors], client_max_size=MAX_BODY)
        app.add_routes([
            web.get("/", self.index),
            web.get("/ws", self.websocket),
            web.get("/download/{key}", self.download),
            web.static("/static", TEXTUAL_STATIC),
            web.static("/musicrec-static", HERE / "static"),
            *Api(self.backend).routes(),
        ])
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def index(self, request: web.Request) -> web.Response:
        try:
            font_size = min(max(int(request.query.get("fontsize", "16")), 6), 48)
        except ValueError:
            font_size = 16
        scheme = "wss" if request.secure else "ws"
        page = self._page.safe_substitute(websocket_url=html.escape(f"{scheme}://{request.host}/ws"),
                                          font_size=font_size)
        return web.Response(text=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                     "Referrer-Policy": "no-referrer"})

    def child_argv(self) -> list[str]:
        argv = [sys.executable, "-m", "musicrec_tui.web.child"]
        cfg = self.settings.config_file
        if cfg is not None and cfg.exists():
            argv += ["--config", str(cfg)]
        return argv

    def child_env(self) -> dict[str, str]:
        """Settings an app needs that may have come from flags; the environment keeps them out of `ps`."""
        import os

        s = self.settings
        return {"MUSICREC_DB": s.db_url, "MUSICREC_ITUNES_URL": s.itunes_base_url,
                "MUSICREC_DATA_DIR": str(s.paths.data_dir), "MUSICREC_CACHE_DIR": str(s.paths.cache_dir),
                PARENT_ENV: str(os.getpid())}

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One browser tab: start an app process and pump keys in and screen updates out until either side ends."""
        ws = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_WS_MESSAGE)
        await ws.prepare(request)
        if self.registry.full() or self._stop.is_set():
            await ws.close(code=1013, message=b"too many musicrec sessions: close another tab first")
            return ws
        width = _clamp_int(request.query.get("width"), 80, 10, 1000)
        height = _clamp_int(request.query.get("height"), 24, 5, 500)
        app = AppProcess(self.child_argv(), self.child_env(), write_bytes=ws.send_bytes, write_str=ws.send_str,
                         close=ws.close, download_manager=self.registry.downloads)
        self.registry.apps.add(app)
        self._sockets.add(ws)
        try:
            await app.start(width, height)
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                await _dispatch(ws, app, message.data)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the session's websocket failed")
        finally:
            self._sockets.discard(ws)
            self.registry.apps.discard(app)
            await app.shutdown()
            with contextlib.suppress(Exception):
                await ws.close()
        return ws

    async def download(self, request: web.Request) -> web.StreamResponse:
        """A file an app delivered (App.deliver_text/deliver_binary): streamed from that app, once."""
        manager = self.registry.downloads
        key = request.match_info["key"]
        try:
            meta = await manager.get_download_metadata(key)
        except KeyError:
            raise web.HTTPNotFound(text="no such download (each link works once)") from None
        response = web.StreamResponse()
        kind = meta.mime_type + (f"; charset={meta.encoding}" if meta.encoding else "")
        disposition = "inline" if meta.open_method == "browser" else "attachment"
        name = Path(meta.file_name or "download").name
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
        response.headers["Content-Type"] = kind
        response.headers["Content-Disposition"] = (f'{disposition}; filename="{ascii_name}"; '
                                                   f"filename*=UTF-8''{quote(name)}")
        response.headers["X-Content-Type-Options"] = "nosniff"
        await response.prepare(request)
        async for chunk in manager.download(key):
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.registry.stop_all()

    # ---- running ------------------------------------------------------------------------------------------
    async def start(self) -> web.AppRunner:
        runner = web.AppRunner(self.make_app(), access_log_class=AccessLog, access_log=log, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"
        return runner

    async def run(self) -> None:
        """Serve until stop() (or SIGINT/SIGTERM), then stop every app and close the library."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        runner = await self.start()
        auth = "  (token required: open it as /?token=YOUR_TOKEN)" if self.token else ""
        print(f"musicrec serving {self.settings.masked_db_url}", file=self.out)
        print(f"  app  {self.url}{auth}", file=self.out)
        print(f"  API  {self.url}api/health  (see README: JSON API)", file=self.out)
        print("  Ctrl-C stops the server and every app it started.", file=self.out, flush=True)
        try:
            await self._stop.wait()
        finally:
            print("musicrec serve: stopping…", file=self.out, flush=True)
            await self.registry.stop_all()
            for ws in list(self._sockets):  # the pages say "Session ended" at once
                with contextlib.suppress(Exception):
                    await ws.close(code=1001, message=b"musicrec serve stopped")
            await runner.cleanup()
            await asyncio.to_thread(self.backend.close)
            print("musicrec serve: stopped.", file=self.out, flush=True)

    def stop(self) -> None:
        self._stop.set()


async def _dispatch(ws: web.WebSocketResponse, app: AppProcess, data: str) -> None:
    """A message from the page (textual-serve's protocol): keys, a resize, a ping, focus changes."""
    import json

    try:
        envelope = json.loads(data)
    except ValueError:
        return
    if not isinstance(envelope, list) or not envelope:
        return
    kind = envelope[0]
    if kind == "stdin" and len(envelope) > 1 and isinstance(envelope[1], str):
        await app.send_bytes(envelope[1].encode("utf-8", "replace"))
    elif kind == "resize" and len(envelope) > 1 and isinstance(envelope[1], dict):
        size = envelope[1]
        await app.set_terminal_size(_clamp_int(size.get("width"), 80, 10, 1000),
                                    _clamp_int(size.get("height"), 24, 5, 500))
    elif kind == "ping" and len(envelope) > 1:
        await ws.send_json(["pong", str(envelope[1])[:40]])
    elif kind == "blur":
        await app.blur()
    elif kind == "focus":
        await app.focus()


def _clamp_int(value: object, default: int, low: int, high: int) -> int:
    if not isinstance(value, int | str):
        return default
    try:
        number = int(value)
    except ValueError:
        return default
    return min(max(number, low), high)


def serve(settings: Settings, host: str, port: int, token: str | None, max_apps: int = MAX_APPS) -> int:
    """Run the server in the foreground until Ctrl-C; 0 when it stopped cleanly."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    logging.getLogger("textual-serve").setLevel(logging.WARNING)
    server = MusicrecServer(settings, host, port, token, max_apps)
    asyncio.run(server.run())
    return 0
