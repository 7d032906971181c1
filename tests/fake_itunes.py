"""A fake iTunes Search API over real HTTP on 127.0.0.1 (port 0), with real AAC/m4a previews and faults.

Shape: /search and /lookup answer like Apple (body starts with three newlines, content type
`text/javascript; charset=utf-8`, `{"resultCount", "results"}` with Apple's field names); /previews/<id>.m4a
serves real AAC in an .m4a container synthesised with core.synth (encoded when a track is added, once per
kind per session). Every request is recorded (method, path, query, server time, status, fault) in `requests`;
`hits(prefix)` filters them.

Time: the server reads time from `clock`. Tests give the client and the server the SAME FakeClock (the client
sleeps with `clock.sleep`, which only advances it), so a 60 s 403 throttle window is measured in the same time
the client's backoff spends, and a test asserts the retries outlasted it without waiting a real minute. Faults
that are about real sockets (slow, stall) use real time: a few seconds of server silence against client
timeouts of 0.5 s. A FakeClock does not model concurrent sleepers (their sleeps add up), so assert per-thread
timing on a TokenBucket with its own clock, not through the server. `python -m tests.fake_itunes` runs the
server by hand on real time.

Faults:
- `fail(path, *faults)` queues one-shot faults for a path ("/search", "/lookup", "/previews/123.m4a") or for a
  prefix ending in "/" ("/previews/"); each matching request takes the next one, so faults arrive mixed.
  Kinds: "403" (empty body, no Retry-After), "429" (Retry-After: `retry_after`: seconds, an HTTP date, or "+N"
  for a date N s ahead), "500"/"503" (HTML body), "html" (200 with Apple's HTML error page), "malformed" and
  "cutoff" (bad JSON with a correct length), "truncate" (Content-Length larger than what is sent, then the
  connection closes), "reset" (connection closed with no answer), "slow" (no answer for `delay` s), "stall"
  (headers and part of the body, then `delay` s of silence), "nolength" (no Content-Length, body ends when the
  connection closes), "gzip" (Content-Encoding gzip whatever the client accepts), "404".
- `throttle(seconds, paths)` answers 403 to every search/lookup until the window ends (server clock).
- `server_limit(per_minute)`: like Apple, a server-side limit below the client's; going over it starts a 60 s
  403 window.
- Preview content per track: kinds "chord:<n>", "drums:<bpm>", "noise:<seed>", "sweep", "silent", "short",
  "corrupt", "large" (see Previews), "file:<path>" (a real audio file's bytes, for benchmarks), and "gone" (the
  preview URL answers 404).
- `add_chaos()` switches every fault on at once and says how each track must end.

Artists and genres (what Discover walks): `add_artist(artist_id, name, genre)` registers an artist; songs added
with `artist_id=` belong to it (otherwise each song gets an artist id of its own, as before). `lookup?id=A,B`
answers like Apple: a song id gives the song; an artist id gives the artist record (`wrapperType` "artist",
`artistType`, `artistLinkUrl`, `amgArtistId`, `primaryGenreName`, `primaryGenreId`), and with `entity=song` it is
followed by up to `limit` (default 50) of the artist's songs; a collection id likewise gives the collection
record, then its songs. `search` honours `attribute` (artistTerm, albumTerm, songTerm, genreIndex: the term
matches the genre's name) and otherwise matches every word in title, artist, album and genre. Genre names map to
Apple's genre ids (GENRE_IDS).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from musicrec_tui.core import synth
from musicrec_tui.core.ratelimit import http_date

JSON_TYPE = "text/javascript; charset=utf-8"
HTML_ERROR = (b"<html><head><title>Error</title></head><body>Your request produced an error."
              b"  <br>[newNullResponse]</body></html>")
HTML_503 = (b"<html><body><h1>503 Service Unavailable</h1>"
            b"No server is available to handle this request.</body></html>")

ODD_STRINGS = (
    "桜 さくら 사쿠라",                      # CJK
    "שלום עליכם مرحبا",                   # RTL (Hebrew, Arabic)
    "🎵🔥 Fire 👩‍👩‍👧 \U0001f3b8",            # emoji incl. a ZWJ sequence
    "Zoe\u0301 Ba\u0308ckstro\u0308m",     # combining marks
    "tab\there\x07bell\x1b[31mred",        # control characters, NUL-free (tab, BEL, ESC sequence)
)
HOSTILE_STRINGS = (
    "'; DROP TABLE tracks; --",
    "100% _wild_ \\ card",
    "<script>alert(1)</script>",
    "../../etc/passwd",
)


# Apple's top-level music genre ids (primaryGenreId of artist records; songs only carry the name)
GENRE_IDS = {
    "Blues": 2, "Comedy": 3, "Children's Music": 4, "Classical": 5, "Country": 6, "Electronic": 7, "Holiday": 8,
    "Opera": 9, "Singer/Songwriter": 10, "Jazz": 11, "Latino": 12, "New Age": 13, "Pop": 14, "R&B/Soul": 15,
    "Soundtrack": 16, "Dance": 17, "Hip-Hop/Rap": 18, "World": 19, "Alternative": 20, "Rock": 21,
    "Christian & Gospel": 22, "Vocal": 23, "Reggae": 24, "Easy Listening": 25, "J-Pop": 27, "Anime": 29,
    "Instrumental": 53, "Metal": 1153,
}


class FakeClock:
    """Monotonic time that only moves when someone sleeps on it: share it between client and server."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)
            self.slept.append(seconds)

    @property
    def total_slept(self) -> float:
        with self._lock:
            return sum(self.slept)


class Previews:
    """Real encoded previews by kind, encoded on first use and kept (share one instance per test session)."""

    SECONDS = 6.0  # >= 5 s so they are ingestible, short so encoding and decoding stay quick

    def __init__(self, seconds: float = SECONDS) -> None:
        self.seconds = seconds
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, kind: str) -> bytes:
        with self._lock:
            data = self._cache.get(kind)
            if data is None:
                data = self._cache[kind] = self._make(kind)
            return data

    def _make(self, kind: str) -> bytes:
        name, _, arg = kind.partition(":")
        s = self.seconds
        if name == "chord":
            roots = (220.0, 246.94, 261.63, 293.66, 329.63, 349.23, 392.0)
            root = roots[int(arg or 0) % len(roots)]
            return synth.encode(synth.chord((root, root * 1.26, root * 1.5), seconds=s, seed=int(arg or 0)))
        if name == "drums":
            return synth.encode(synth.drums(float(arg or 120), seconds=s))
        if name == "noise":
            return synth.encode(synth.noise(seconds=s, seed=int(arg or 0)))
        if name == "sweep":
            return synth.encode(synth.sweep(seconds=s))
        if name == "silent":
            return synth.encode(np.zeros(int(s * 44100), dtype=np.float32))
        if name == "short":
            return synth.encode(synth.chord((440.0, 554.37), seconds=3.0))
        if name == "corrupt":
            rng = np.random.default_rng(7)
            return b"\x00\x00\x00\x18ftypM4A " + rng.integers(0, 256, 60_000, dtype=np.uint8).tobytes()
        if name == "file":  # a real recording, served as is (the benchmarks' corpora)
            from pathlib import Path

            return Path(arg).read_bytes()
        if name == "large":
            # ~840 KB at the default length, 8x the others (under 100 KB); 3.5x them for 30 s previews
            return synth.encode(synth.noise(seconds=max(30.0, 2 * s), seed=3), bitrate=320_000)
        raise ValueError(f"unknown preview kind {kind!r}")


@dataclass(frozen=True)
class Fault:
    kind: str
    retry_after: str | None = None
    delay: float = 1.5


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    time: float
    status: int | None = None
    fault: str | None = None


@dataclass
class _State:
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    throttle_until: float = float("-inf")
    throttle_paths: tuple[str, ...] = ("/search", "/lookup")
    server_limit: int | None = None
    api_times: deque[float] = field(default_factory=deque)


class FakeItunes:
    """The server; `url` is its base URL (for ItunesClient). Use as a context manager or call close()."""

    def __init__(self, previews: Previews | None = None, clock: Callable[[], float] | None = None) -> None:
        self.previews = previews or Previews()
        self.clock = clock or FakeClock()
        self.catalogue: dict[int, dict[str, Any]] = {}
        self.artists: dict[int, dict[str, Any]] = {}
        self.extra_results: list[dict[str, Any]] = []
        self.raw: dict[str, bytes] = {}
        self.requests: list[Request] = []
        self._state = _State()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-itunes",
                                        daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> FakeItunes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- catalogue ----------------------------------------------------------------------------------------

    def add_artist(self, artist_id: int, name: str, genre: str = "Electronic") -> dict[str, Any]:
        """Register an artist (the record `lookup?id=ARTIST` answers with); add its songs with artist_id=."""
        record: dict[str, Any] = {
            "wrapperType": "artist", "artistType": "Artist", "artistName": name,
            "artistLinkUrl": f"https://music.apple.com/us/artist/x/{artist_id}?uo=4", "artistId": artist_id,
            "amgArtistId": 400_000 + artist_id % 100_000, "primaryGenreName": genre,
            "primaryGenreId": GENRE_IDS.get(genre, 7),
        }
        self.artists[artist_id] = record
        return record

    def add_track(self, track_id: int, title: str, artist: str, *, preview: str | None = "chord:0",
                  artist_id: int | None = None, collection_id: int | None = None,
                  **fields: Any) -> dict[str, Any]:
        """Add a song; `preview` is a Previews kind, or None for a result without previewUrl. Without
        `artist_id` / `collection_id` the song gets ids of its own."""
        item: dict[str, Any] = {
            "wrapperType": "track", "kind": "song",
            "artistId": artist_id if artist_id is not None else 900_000 + track_id % 100_000,
            "collectionId": collection_id if collection_id is not None else 800_000 + track_id % 100_000,
            "trackId": track_id, "artistName": artist,
            "collectionName": fields.pop("album", f"{artist} Album"),
            "trackName": title, "collectionCensoredName": f"{artist} Album", "trackCensoredName": title,
            "artistViewUrl": f"https://music.apple.com/us/artist/x/id{track_id}?uo=4",
            "trackViewUrl": f"https://music.apple.com/us/album/x/id1?i={track_id}&uo=4",
            "artworkUrl30": f"https://is1-ssl.mzstatic.com/image/thumb/Music/{track_id}/30x30bb.jpg",
            "artworkUrl60": f"https://is1-ssl.mzstatic.com/image/thumb/Music/{track_id}/60x60bb.jpg",
            "artworkUrl100": f"https://is1-ssl.mzstatic.com/image/thumb/Music/{track_id}/100x100bb.jpg",
            "collectionPrice": 9.99, "trackPrice": 1.29, "releaseDate": "2011-05-02T07:00:00Z",
            "collectionExplicitness": "notExplicit", "trackExplicitness": "notExplicit",
            "discCount": 1, "discNumber": 1, "trackCount": 12, "trackNumber": 1 + track_id % 12,
            "trackTimeMillis": 180_000 + track_id % 60_000, "country": "USA", "currency": "USD",
            "primaryGenreName": "Electronic", "isStreamable": True,
        }
        if preview is not None:
            item["previewUrl"] = f"{self.url}/previews/{track_id}.m4a"
            item["_preview"] = preview
            if preview != "gone":
                self.previews.get(preview)  # encode now, not in a server thread while a client's timeout runs
        item.update(fields)
        self.catalogue[track_id] = item
        return item

    def add_tracks(self, n: int, *, start_id: int = 1_000_001, artist: str = "Fake Artist",
                   kinds: Iterable[str] = ("chord:0", "drums:90", "noise:1", "chord:3", "drums:128",
                                           "drums:160", "sweep", "chord:5")) -> list[dict[str, Any]]:
        kinds = tuple(kinds)
        return [self.add_track(start_id + i, f"Song {i}", artist, preview=kinds[i % len(kinds)])
                for i in range(n)]

    # -- faults -------------------------------------------------------------------------------------------

    def fail(self, path: str, *faults: str | Fault) -> None:
        with self._lock:
            queue = self._state.faults.setdefault(path, deque())
            queue.extend(f if isinstance(f, Fault) else Fault(f) for f in faults)

    def throttle(self, seconds: float = 60.0, paths: tuple[str, ...] = ("/search", "/lookup")) -> None:
        with self._lock:
            self._state.throttle_until = self.clock() + seconds
            self._state.throttle_paths = paths

    def server_limit(self, per_minute: int | None) -> None:
        with self._lock:
            self._state.server_limit = per_minute
            self._state.api_times.clear()

    def add_chaos(self, *, start_id: int = 2_000_001, previews_ok: int = 4, transient: bool = True,
                  throttle_seconds: float = 0.0) -> dict[int, str | None]:
        """Every fault at once: a catalogue (search term "chaos") whose tracks map to the reason each must
        fail with (None: ingestible), plus queued transient faults that retries must absorb.

        Ingestible tracks carry odd Unicode and hostile titles. The "large" preview is ~840 KB, the others
        under 100 KB (at the default 6 s): the expected reasons hold for a max_file_bytes in between.
        Transient faults are queued at most three per path (the default retries of ItunesClient and
        PreviewCache absorb them even if one request meets all).
        """
        expected: dict[int, str | None] = {}
        titles = (*ODD_STRINGS, *HOSTILE_STRINGS)
        kinds = ("chord:0", "drums:90", "noise:1", "drums:160", "chord:3", "sweep")
        track_id = start_id
        for i in range(max(previews_ok, len(titles))):
            title = titles[i % len(titles)]
            self.add_track(track_id, f"chaos {title}", f"Chaos {title}", preview=kinds[i % len(kinds)])
            expected[track_id] = None
            track_id += 1
        for kind, reason in (("corrupt", "cannot decode audio"), ("silent", "audio is silent"),
                             ("short", "audio too short"), ("large", "preview larger than cap"),
                             (None, "no preview URL"), ("gone", "HTTP 404")):
            self.add_track(track_id, f"chaos {kind or 'no preview'}", "Chaos Broken", preview=kind)
            expected[track_id] = reason
            track_id += 1
        if transient:
            self.fail("/search", "503", "malformed", Fault("429", retry_after="2"))
            self.fail("/lookup", "cutoff", "html", "500")
            self.fail("/previews/", "503", "truncate", "reset")
        if throttle_seconds > 0:
            self.throttle(throttle_seconds)
        return expected

    def reset(self) -> None:
        with self._lock:
            self._state = _State()
            self.requests.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._state.faults.values())

    # -- assertions ---------------------------------------------------------------------------------------

    def hits(self, path_prefix: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    # -- request handling (server threads) ------------------------------------------------------------------

    def _next_fault(self, path: str, now: float) -> Fault | None:
        with self._lock:
            st = self._state
            api = path in ("/search", "/lookup")
            if path in st.throttle_paths and now < st.throttle_until:
                return Fault("403")
            if api and st.server_limit is not None:
                while st.api_times and st.api_times[0] <= now - 60.0:
                    st.api_times.popleft()
                st.api_times.append(now)
                if len(st.api_times) > st.server_limit:
                    st.throttle_until = now + 60.0
                    st.throttle_paths = ("/search", "/lookup")
                    st.api_times.clear()
                    return Fault("403")
            for key in (path, path[: path.rfind("/") + 1]):
                queue = st.faults.get(key)
                if queue:
                    return queue.popleft()
            return None

    def _record(self, method: str, path: str, query: dict[str, str], now: float, status: int | None,
                fault: str | None) -> None:
        with self._lock:
            self.requests.append(Request(method, path, query, now, status, fault))

    def _body_for(self, path: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        if path in self.raw:
            return 200, JSON_TYPE, self.raw[path]
        if path == "/search":
            return 200, JSON_TYPE, _json_body(self._search(query))
        if path == "/lookup":
            return 200, JSON_TYPE, _json_body(self._lookup(query))
        if path.startswith("/previews/") and path.endswith(".m4a"):
            stem = path[len("/previews/"):-len(".m4a")]
            item = self.catalogue.get(int(stem)) if stem.isdigit() else None
            if item is None or item.get("_preview") in (None, "gone"):
                return 404, "text/html", b"<html><body>Not Found</body></html>"
            return 200, "audio/mp4", self.previews.get(item["_preview"])
        return 404, "text/html", b"<html><body>Not Found</body></html>"

    def _search(self, query: dict[str, str]) -> list[dict[str, Any]]:
        term = query.get("term", "").lower()
        limit = _int_param(query.get("limit"), 50)
        words = term.split()
        fields = {"artistTerm": ("artistName",), "albumTerm": ("collectionName",), "songTerm": ("trackName",),
                  "genreIndex": ("primaryGenreName",)}.get(query.get("attribute", ""),
                                                           ("trackName", "artistName", "collectionName"))
        if query.get("attribute") == "genreIndex":
            hits = [item for item in self.catalogue.values() if str(item.get("primaryGenreName", "")).lower() == term]
        else:
            hits = [item for item in self.catalogue.values()
                    if all(w in " ".join(str(item.get(f, "")) for f in (*fields, "_terms")).lower() for w in words)]
        return (hits + list(self.extra_results))[:limit]

    def _lookup(self, query: dict[str, str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        songs = query.get("entity") == "song"
        limit = _int_param(query.get("limit"), 50)
        for text in query.get("id", "").split(","):
            if not text.strip().isdigit():
                continue
            wanted = int(text)
            if wanted in self.catalogue:
                out.append(self.catalogue[wanted])
                continue
            by_artist = [i for i in self.catalogue.values() if i["artistId"] == wanted]
            by_collection = [i for i in self.catalogue.values() if i["collectionId"] == wanted]
            if wanted in self.artists or by_artist:
                out.append(self.artists.get(wanted) or _artist_record(by_artist[0]))
                if songs:
                    out.extend(by_artist[:limit])
            elif by_collection:
                out.append(_collection_record(by_collection[0]))
                if songs:
                    out.extend(by_collection[:limit])
        return out


def _int_param(text: str | None, default: int) -> int:
    return int(text) if text and text.strip().isdigit() else default


def _artist_record(song: dict[str, Any]) -> dict[str, Any]:
    genre = str(song.get("primaryGenreName", "Electronic"))
    return {"wrapperType": "artist", "artistType": "Artist", "artistName": song["artistName"],
            "artistLinkUrl": f"https://music.apple.com/us/artist/x/{song['artistId']}?uo=4",
            "artistId": song["artistId"], "primaryGenreName": genre, "primaryGenreId": GENRE_IDS.get(genre, 7)}


def _collection_record(song: dict[str, Any]) -> dict[str, Any]:
    return {"wrapperType": "collection", "collectionType": "Album", "artistId": song["artistId"],
            "collectionId": song["collectionId"], "artistName": song["artistName"],
            "collectionName": song["collectionName"], "collectionCensoredName": song["collectionName"],
            "collectionPrice": 9.99, "collectionExplicitness": "notExplicit", "trackCount": 12,
            "country": "USA", "currency": "USD", "releaseDate": "2011-05-02T07:00:00Z",
            "primaryGenreName": song.get("primaryGenreName", "Electronic")}


class _QuietServer(ThreadingHTTPServer):
    """Dropped client connections are part of the faults: do not print their tracebacks."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def _json_body(results: list[dict[str, Any]]) -> bytes:
    clean = [{k: v for k, v in item.items() if not k.startswith("_")} for item in results]
    text = json.dumps({"resultCount": len(clean), "results": clean}, ensure_ascii=False)
    # a lone surrogate (legal in JSON as an escape, as Apple could send) goes out as that escape
    text = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)
    return ("\n\n\n" + text + "\n").encode("utf-8")


def _handler_for(server: FakeItunes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            now = server.clock()
            fault = server._next_fault(parts.path, now)
            self._recorded = False
            self._mark = lambda status: self._record_once(parts.path, query, now, status, fault)
            try:
                self._answer(parts.path, query, fault)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            finally:
                self._mark(None)

        def _record_once(self, path: str, query: dict[str, str], now: float, status: int | None,
                         fault: Fault | None) -> None:
            # recorded before the answer is written, so a client never sees an answer that is not yet recorded
            if not self._recorded:
                self._recorded = True
                server._record("GET", path, query, now, status, fault.kind if fault else None)

        def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None,
                  length: int | None = None) -> None:
            self._mark(status)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.send_header("Cache-Control", "no-cache")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def _answer(self, path: str, query: dict[str, str], fault: Fault | None) -> int | None:
            kind = fault.kind if fault else None
            if kind == "reset":
                self._mark(None)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            if kind == "slow":
                self._mark(None)
                server._stop.wait(fault.delay)
                self.close_connection = True
                kind = None
            if kind == "403":
                self._send(403, "text/html", b"")
                return 403
            if kind == "429":
                retry = fault.retry_after or "1"
                if retry.startswith("+"):
                    retry = http_date(time.time() + float(retry[1:]))
                self._send(429, "text/html", b"", {"Retry-After": retry})
                return 429
            if kind in ("500", "503"):
                self._send(int(kind), "text/html", HTML_503)
                return int(kind)
            if kind == "404":
                self._send(404, "text/html", b"<html><body>Not Found</body></html>")
                return 404
            if kind == "html":
                self._send(200, "text/html; charset=utf-8", HTML_ERROR)
                return 200
            status, ctype, body = server._body_for(path, query)
            if status != 200 or kind is None:
                self._send(status, ctype, body)
                return status
            if kind == "malformed":
                self._send(200, ctype, b'\n\n\n{"resultCount": 1, "results": [{"trackId": 1,, }]}')
            elif kind == "cutoff":
                self._send(200, ctype, body[: max(5, len(body) // 2)])
            elif kind == "truncate":
                self.close_connection = True
                self._send(200, ctype, body[: len(body) // 2], length=len(body))
            elif kind == "gzip":
                self._send(200, ctype, gzip.compress(body), {"Content-Encoding": "gzip"})
            elif kind == "nolength":
                self.close_connection = True
                self._mark(200)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            elif kind == "stall":
                self.close_connection = True
                self._mark(200)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 3])
                self.wfile.flush()
                server._stop.wait(fault.delay)
            else:
                raise ValueError(f"unknown fault {kind!r}")
            return 200

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Run the fake server by hand (`python -m tests.fake_itunes --tracks 50 --chaos`) and point
    `musicrec --itunes-url URL` at it. Time is real here: throttle windows end by themselves."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.fake_itunes", description=main.__doc__)
    parser.add_argument("--tracks", type=int, default=50, help="ingestible tracks (search term: 'fake')")
    parser.add_argument("--seconds", type=float, default=30.0, help="preview length")
    parser.add_argument("--chaos", action="store_true", help="also add_chaos() (search term: 'chaos')")
    parser.add_argument("--throttle", type=float, default=0.0, help="403 all calls for N s at start")
    args = parser.parse_args(argv)
    with FakeItunes(Previews(args.seconds), clock=time.monotonic) as server:
        server.add_tracks(args.tracks)
        if args.chaos:
            for track_id, reason in server.add_chaos(throttle_seconds=args.throttle).items():
                print(f"{track_id}\t{reason or 'ingestible'}")
        elif args.throttle:
            server.throttle(args.throttle)
        print(f"fake iTunes at {server.url}  (Ctrl-C stops it)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
