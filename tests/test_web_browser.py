"""The real page in Debian's Chromium (Playwright, /usr/bin/chromium, nothing downloaded): the app appears, a
search typed in the page and an ingest started there give tracks that the JSON API returns, listening plays in
the tab (the server's audio endpoint), and an export downloads through the browser.

textual-serve draws on a canvas: the page's DOM holds no text, so the test asserts through the JSON API, the
page's own audio element and downloads, and saves screenshots (build/screenshots/)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from musicrec_tui.store import open_library

from .test_ingest_processes import cli_env
from .web_support import serve

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
N_TRACKS = 3


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"the browser test needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required",
                                           "--mute-audio"])
        try:
            yield chromium
        finally:
            chromium.close()


def wait_for(predicate, timeout: float, what: str, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_the_app_in_a_browser(tmp_path: Path, fake_itunes, browser) -> None:
    for i, kind in enumerate(("chord:0", "chord:4", "drums:120")):
        fake_itunes.add_track(900 + i, f"Song {i} [{kind}]", "Web Artist", preview=kind)
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    served = serve(tmp_path, db, fake_itunes.url)
    api = served.url + "api"
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(served.url)
        page.wait_for_selector("body.-first-byte", timeout=60_000)  # the app's first screen arrived
        assert len(served.app_pids()) == 1, "the tab runs its own app"
        wait_for(lambda: Path(db.removeprefix("sqlite://")).exists(), 60, "the app to open its library")
        page.wait_for_timeout(2000)  # the empty library opens on the Search pane, its input focused
        page.screenshot(path=str(SHOTS / "serve-1-welcome.png"))
        page.locator(".xterm-helper-textarea").focus()

        # a search typed in the page, then an ingest of every result started there
        page.keyboard.type("web artist")
        page.keyboard.press("Enter")
        wait_for(lambda: fake_itunes.hits("/search"), 30, "the app to search the catalogue")

        def ingest_all() -> bool:
            page.keyboard.press("Escape")  # from the input to the results (once they are there)
            page.wait_for_timeout(500)  # a lone ESC, not the start of alt+a
            page.keyboard.press("a")  # ingest them all
            page.wait_for_timeout(1000)
            with open_library(db) as lib:
                return bool(lib.list_jobs())

        wait_for(ingest_all, 60, "the ingest to start from the page", step=0)
        library = wait_for(lambda: (r := requests.get(f"{api}/library", timeout=10).json())["total"] == N_TRACKS
                           and r, 240, "the ingest started in the page to reach the library")
        titles = sorted(t["title"] for t in library["tracks"])
        assert titles == [f"Song {i} [{k}]" for i, k in enumerate(("chord:0", "chord:4", "drums:120"))]
        wait_for(lambda: requests.get(f"{api}/health", timeout=10).json()["analysed"] == N_TRACKS, 120,
                 "every track analysed")
        seed = min(library["tracks"], key=lambda t: t["id"])  # the Library pane's first row (id order)
        others = [t["title"] for t in library["tracks"] if t["id"] != seed["id"]]
        assert requests.get(f"{api}/tracks/{seed['id']}", timeout=10).json()["title"] == seed["title"]

        # listen: the tab plays the preview from the server's audio endpoint
        page.keyboard.press("2")  # Library pane, first row highlighted
        page.wait_for_timeout(2000)

        def listen() -> list[dict]:
            page.keyboard.press("l")
            page.wait_for_timeout(1000)
            return [c for c in page.evaluate("window.musicrec.audioLog")
                    if c["action"] == "play" and c["url"].startswith("/api/tracks/")]

        command = wait_for(listen, 60, "the app to ask the page to play", step=0)[0]
        assert command["url"] == f"/api/tracks/{seed['id']}/audio"
        wait_for(lambda: page.evaluate("document.getElementById('musicrec-audio').readyState >= 1"), 30,
                 "the browser to load the preview")
        assert page.evaluate("document.getElementById('musicrec-audio').duration") > 5

        # similar songs, then export: the file downloads through the browser
        page.keyboard.press("Enter")
        page.wait_for_timeout(4000)  # the Similar pane computes the list in a worker
        page.screenshot(path=str(SHOTS / "serve-2-similar.png"))
        page.keyboard.press("x")
        page.wait_for_timeout(1500)
        with page.expect_download(timeout=30_000) as download_info:
            page.keyboard.press("Enter")  # accept the offered name, musicrec-similar-ID.m3u
        download = download_info.value
        assert download.suggested_filename == f"musicrec-similar-{seed['id']}.m3u"
        text = Path(download.path()).read_text(encoding="utf-8")
        assert text.startswith("#EXTM3U") and all(f"Web Artist - {title}" in text for title in others), text
        assert seed["title"] not in text, "the seed is not in its own list"
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "serve-3-exported.png"))
        shutil.copy(SHOTS / "serve-2-similar.png", SHOTS / "serve-browser.png")
    finally:
        context.close()
        assert served.stop() == 0, served.output()
    assert "Traceback" not in served.output(), served.output()


def test_the_token_page_in_a_browser(tmp_path: Path, fake_itunes, browser) -> None:
    """With a token: the page opens from /?token=…, the token leaves the address bar, and the cookie it left
    carries the page's scripts and the app's websocket; without it the browser gets 401."""
    token = "browser-Token-9f8e7d"
    env = {**cli_env(tmp_path), "MUSICREC_TOKEN": token}
    served = serve(tmp_path, f"sqlite://{tmp_path / 'lib.sqlite3'}", fake_itunes.url, env=env)
    context = browser.new_context(viewport={"width": 1024, "height": 600})
    page = context.new_page()
    try:
        assert page.goto(served.url).status == 401
        page.goto(served.url + "?token=" + token)
        page.wait_for_selector("body.-first-byte", timeout=60_000)
        assert token not in page.url
        assert page.evaluate("document.cookie") == "", "the cookie is HttpOnly: no script can read the token"
        assert page.evaluate("fetch('/api/health').then(r => r.status)") == 200
        assert len(served.app_pids()) == 1
    finally:
        context.close()
        assert served.stop() == 0
    assert token not in served.output()
