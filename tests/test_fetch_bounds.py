"""Downloads are bounded (issue 9): an overall deadline and a minimum rate against a trickling server;
redirects only to the same host or an allow-listed one, a loop fails at once, other schemes are refused.
A small local HTTP server of its own (real sockets, 127.0.0.1, port 0)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from musicrec_tui.core.errors import DownloadError, ItunesError
from musicrec_tui.core.fetch import PreviewCache
from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.core.models import Track
from tests.fake_itunes import FakeClock, Previews


class Server:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.hits: list[str] = []
        self.stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                owner.hits.append(path)
                if path == "/trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(owner.body)))
                    self.end_headers()
                    for i in range(len(owner.body)):
                        if owner.stop.wait(0.25):
                            return
                        try:
                            self.wfile.write(owner.body[i:i + 1])
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                if path.startswith("/chain/"):
                    n = int(path.rsplit("/", 1)[1])
                    if n > 0:
                        return self._redirect(f"/chain/{n - 1}")
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(owner.body)))
                    self.end_headers()
                    self.wfile.write(owner.body)
                    return
                if path == "/loop":
                    return self._redirect("/loop-b")
                if path == "/loop-b":
                    return self._redirect(f"http://127.0.0.1:{owner.port}/loop")
                if path == "/away":
                    return self._redirect(f"http://localhost:{owner.port}/chain/0")
                if path == "/file":
                    return self._redirect("file:///etc/passwd")
                if path == "/redir/search":
                    return self._redirect(f"http://localhost:{owner.port}/search")
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(fake_previews: Previews) -> Iterator[Server]:
    srv = Server(fake_previews.get("chord:0"))
    try:
        yield srv
    finally:
        srv.close()


def _cache(dir: Path, **kw: object) -> PreviewCache:
    kw.setdefault("timeout", 5.0)
    return PreviewCache(dir, sleep=FakeClock().sleep, rng=random.Random(1), check="probe", **kw)  # type: ignore[arg-type]


def _track(url: str) -> Track:
    return Track("itunes", "77", "Song", "Artist", preview_url=url)


def test_a_trickling_server_fails_on_the_minimum_rate_not_hangs(server: Server, tmp_path: Path) -> None:
    cache = _cache(tmp_path, min_rate=1000, rate_grace=1.5, deadline=60)
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"download too slow: .* below 1000 bytes/s"):
        cache.fetch(_track(server.url + "/trickle"))
    assert time.monotonic() - started < 10
    assert server.hits.count("/trickle") == 1, "a slow host is not retried"
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_a_trickling_server_fails_on_the_overall_deadline(server: Server, tmp_path: Path) -> None:
    cache = _cache(tmp_path, min_rate=0, deadline=1.5)
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"not complete after 1\.5 s"):
        cache.fetch(_track(server.url + "/trickle"))
    assert time.monotonic() - started < 10


def test_redirects_on_the_same_host_are_followed(server: Server, tmp_path: Path) -> None:
    got = _cache(tmp_path).fetch(_track(server.url + "/chain/3"))
    assert got.size == len(server.body)


def test_too_many_redirects_fail_fast(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="more than 5 redirects"):
        _cache(tmp_path).fetch(_track(server.url + "/chain/9"))
    assert len(server.hits) == 6


def test_a_redirect_loop_fails_at_once_without_retries(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="redirect loop"):
        _cache(tmp_path).fetch(_track(server.url + "/loop"))
    assert server.hits == ["/loop", "/loop-b"]


def test_a_redirect_to_another_host_is_refused_unless_allowed(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="another host refused"):
        _cache(tmp_path / "a").fetch(_track(server.url + "/away"))
    assert server.hits == ["/away"]
    got = _cache(tmp_path / "b", allow_hosts=("localhost",)).fetch(_track(server.url + "/away"))
    assert got.size == len(server.body)


def test_a_redirect_to_a_file_url_is_refused(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="redirect to a file URL refused"):
        _cache(tmp_path).fetch(_track(server.url + "/file"))


def test_credentials_in_a_preview_url_are_masked_in_errors(server: Server, tmp_path: Path) -> None:
    url = f"http://user:s3cret@127.0.0.1:{server.port}/nothing-here"
    with pytest.raises(DownloadError) as info:
        _cache(tmp_path).fetch(_track(url))
    assert "s3cret" not in info.value.one_line() and "***@" in info.value.one_line()


def test_the_catalogue_client_refuses_a_redirect_to_another_host(server: Server) -> None:
    clock = FakeClock()
    client = ItunesClient(server.url + "/redir", sleep=clock.sleep, clock=clock, rate_per_minute=6000)
    with pytest.raises(ItunesError, match="another host refused"):
        client.search("anything")
    assert server.hits == ["/redir/search"], "a refused redirect is not retried"
