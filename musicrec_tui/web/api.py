"""The JSON API: /api/health, /api/library, /api/tracks/{id}, /api/tracks/{id}/audio, /api/recommend (GET one
seed, POST several: a radio). Every answer is JSON with an HTTP status, errors included; every query runs in a
thread so the server (and every browser tab's app) never waits for the database.

It is a face, like the CLI: argument checking and JSON here, the use-cases in the application layer.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from .. import __version__
from ..config import Settings
from ..core.errors import DownloadError, ItunesError, MusicrecError, NotFound, StoreBusy, StoreUnavailable
from ..core.models import Track
from ..core.text import json_line
from ..store.base import SORT_FIELDS
from ..store.protocol import Library
from .security import is_api

if TYPE_CHECKING:
    from ..app.recommend import LibraryIndex

log = logging.getLogger("musicrec.serve")

MAX_K = 100  # most neighbours one request may ask for
MAX_LIMIT = 500  # most library rows per page
DEFAULT_LIMIT = 50
MAX_SEEDS = 50  # most seed ids in one radio request
MAX_SEARCH = 200  # characters of a library search
MAX_BODY = 64 * 1024  # bytes of a request body

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(MusicrecError):
    """A request the API cannot answer as asked (400)."""


class Backend:
    """The application layer's Session over the library, opened on first use (the server starts even when the
    database is down, and /api/health says so) and shared by every request (the store and the similarity index
    are thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        from ..app.factory import make_services
        from ..app.services import Session

        self.settings = settings
        self.session = Session(make_services(settings, artwork=False))
        self._lock = threading.Lock()

    def library(self) -> Library:
        with self._lock:
            if not self.session.is_open:
                self.session.open()
            return self.session.library

    def index(self) -> LibraryIndex:
        return self.session.services.recommender.for_library(self.library())

    def close(self) -> None:
        with self._lock:
            self.session.close()

    # ---- use-cases ----------------------------------------------------------------------------------------
    def health(self) -> dict[str, object]:
        lib = self.library()
        index = self.index()
        return {"status": "ok", "version": __version__, "tracks": lib.count_tracks(),
                "analysed": len(index.index()), "extractor": index.extractor.name}

    def page(self, search: str | None, limit: int, offset: int, sort: str, descending: bool) -> dict[str, object]:
        lib = self.library()
        rows = lib.list_tracks(search, sort, descending, limit, offset)
        return {"total": lib.count_tracks(search), "limit": limit, "offset": offset,
                "tracks": [t.to_json() for t in rows]}

    def track(self, ref: str) -> Track:
        return self.index().resolve(ref)

    def track_json(self, ref: str) -> dict[str, object]:
        track = self.track(ref)
        row = track.to_json()
        row["analysed"] = bool(self.index().index().rows_of([int(track.id or 0)])[0] >= 0)
        row["audio_url"] = f"/api/tracks/{track.id}/audio"
        return row

    def recommend(self, refs: list[str], k: int, exclude_artist: bool) -> dict[str, object]:
        """What `musicrec recommend REF... -k K [--exclude-artist] --json` prints."""
        self.library()
        seeds = [self.track(ref) for ref in refs]
        return self.session.recommend(seeds, k, exclude_artist).to_json()

    def audio_path(self, ref: str) -> Path:
        """A local file with the track's audio: its own file, or its preview (cached, downloaded if needed)."""
        self.library()
        path = Path(self.session.audio(self.track(ref)).path)
        if not path.is_file():
            raise NotFound(f"the audio of track {ref} is not on this machine any more")
        return path


# ---- request parsing -------------------------------------------------------------------------------------
def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {text[:40]!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def _bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise BadRequest(f"{name} must be true or false")


def _k(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"k must be a whole number between 1 and {MAX_K}")
    try:
        k = int(value)
    except ValueError:
        raise BadRequest(f"k must be a whole number between 1 and {MAX_K}") from None
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be between 1 and {MAX_K}")
    return k


def _ref(value: object) -> str:
    """A track reference: a library id or itunes:<trackId>."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest("ids are library ids (numbers) or itunes:<trackId>")
    text = str(value).strip()
    if not text or len(text) > 40:
        raise BadRequest("ids are library ids (numbers) or itunes:<trackId>")
    return text


# ---- handlers ----------------------------------------------------------------------------------------------
class Api:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/health", self.health),
            web.get("/api/library", self.library),
            web.get("/api/tracks/{ref}", self.track),
            web.get("/api/tracks/{ref}/audio", self.audio),
            web.get("/api/recommend", self.recommend_one),
            web.post("/api/recommend", self.recommend_many),
        ]

    async def health(self, request: web.Request) -> web.Response:
        try:
            body = await asyncio.to_thread(self.backend.health)
        except MusicrecError as exc:
            return json_response({"status": "unavailable", "version": __version__, "error": exc.one_line()}, 503)
        return json_response(body)

    async def library(self, request: web.Request) -> web.Response:
        search = request.query.get("search", "").strip() or None
        if search is not None and len(search) > MAX_SEARCH:
            raise BadRequest(f"search is at most {MAX_SEARCH} characters")
        limit = _int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int(request, "offset", 0, 0, 2**31 - 1)
        sort = request.query.get("sort", "id")
        if sort not in SORT_FIELDS:
            raise BadRequest(f"sort by one of: {', '.join(sorted(SORT_FIELDS))}")
        descending = _bool(request.query.get("desc", ""), "desc")
        return json_response(await asyncio.to_thread(self.backend.page, search, limit, offset, sort, descending))

    async def track(self, request: web.Request) -> web.Response:
        ref = _ref(request.match_info["ref"])
        return json_response(await asyncio.to_thread(self.backend.track_json, ref))

    async def audio(self, request: web.Request) -> web.StreamResponse:
        ref = _ref(request.match_info["ref"])
        path = await asyncio.to_thread(self.backend.audio_path, ref)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix.lower() in (".m4a", ".mp4", ".aac"):
            kind = "audio/mp4"
        return web.FileResponse(path, headers={"Content-Type": kind, "Cache-Control": "private, max-age=3600"})

    async def recommend_one(self, request: web.Request) -> web.Response:
        ref = request.query.get("id")
        if not ref:
            raise BadRequest("give the seed track: /api/recommend?id=ID (a library id or itunes:<trackId>)")
        k = _k(request.query.get("k", "5"))
        exclude = _bool(request.query.get("exclude_artist", ""), "exclude_artist")
        return json_response(await asyncio.to_thread(self.backend.recommend, [_ref(ref)], k, exclude))

    async def recommend_many(self, request: web.Request) -> web.Response:
        """A radio: {"ids": [...], "k": 5, "exclude_artist": false}, or a bare list of ids."""
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise BadRequest('the body must be JSON: {"ids": [1, 2], "k": 5} or [1, 2]') from None
        if isinstance(body, list):
            body = {"ids": body}
        if not isinstance(body, dict):
            raise BadRequest('the body must be a JSON object {"ids": [...]} or a list of ids')
        unknown = set(body) - {"ids", "k", "exclude_artist"}
        if unknown:
            raise BadRequest(f"unknown field(s): {', '.join(sorted(map(str, unknown)))[:200]}")
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids:
            raise BadRequest('give at least one seed: {"ids": [1, 2]}')
        if len(ids) > MAX_SEEDS:
            raise BadRequest(f"at most {MAX_SEEDS} seeds in one radio")
        refs = list(dict.fromkeys(_ref(i) for i in ids))
        k = _k(body.get("k", 5))
        exclude = _bool(body.get("exclude_artist", False), "exclude_artist")
        return json_response(await asyncio.to_thread(self.backend.recommend, refs, k, exclude))


def json_response(body: object, status: int = 200) -> web.Response:
    return web.Response(text=json_line(body), status=status, content_type="application/json",
                        charset="utf-8")


_STATUS = ((BadRequest, 400), (NotFound, 404), (StoreBusy, 503), (StoreUnavailable, 503), (DownloadError, 502),
           (ItunesError, 502))


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api error as {"error": "...", "status": N}; never a traceback (that goes to the server log)."""
    if not is_api(request):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = {404: "no such endpoint", 405: f"{request.method} is not allowed here",
                   413: f"the request body is larger than {MAX_BODY // 1024} KiB"}.get(exc.status, exc.reason)
        return json_response({"error": message, "status": exc.status}, exc.status)
    except MusicrecError as exc:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        return json_response({"error": exc.one_line(), "status": status}, status)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("internal error answering %s %s", request.method, request.path)
        return json_response({"error": "internal error (see the server's log)", "status": 500}, 500)
