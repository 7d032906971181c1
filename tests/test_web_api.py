"""`musicrec serve`'s JSON API over real HTTP, on SQLite and MySQL: the same answers as the CLI, JSON errors,
limits, the token, and no app process outliving the server."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from musicrec_tui.core.audio import decode
from musicrec_tui.core.models import JobState
from musicrec_tui.store import open_library

from .test_ingest_processes import cli, cli_env
from .web_support import alive, cmdline, group_members, kill_group, serve, wait_until

KINDS = {"A": ("chord:0", "chord:4"), "B": ("drums:90", "drums:140"), "C": ("noise:1", "noise:2")}
TOKEN = "s3cret-Token-for-tests"


def run_cli(tmp_path: Path, db: str, url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(cli(tmp_path, db, url, *args), capture_output=True, text=True, env=cli_env(tmp_path),
                          timeout=600)


@pytest.fixture
def ingested(tmp_path: Path, db_url: str, fake_itunes) -> dict[str, int]:
    """Six tracks (two of each of three sounds, three artists) ingested with the CLI; title -> library id."""
    tid = 70
    for artist, kinds in KINDS.items():
        for kind in kinds:
            fake_itunes.add_track(tid, f"{artist} {kind} [live]", f"Artist {artist}", preview=kind)
            tid += 1
    proc = run_cli(tmp_path, db_url, fake_itunes.url, "ingest", "artist")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open_library(db_url) as lib:
        return {t.title: int(t.id or 0) for t in lib.list_tracks()}


def test_api_answers_as_the_cli_does(tmp_path: Path, db_url: str, fake_itunes, ingested) -> None:
    served = serve(tmp_path, db_url, fake_itunes.url)
    api = served.url + "api"
    try:
        health = requests.get(f"{api}/health", timeout=30)
        assert health.status_code == 200 and health.headers["Content-Type"].startswith("application/json")
        assert health.json()["status"] == "ok" and health.json()["tracks"] == 6 and health.json()["analysed"] == 6

        page = requests.get(f"{api}/library", params={"limit": 2, "offset": 1}, timeout=30).json()
        assert page["total"] == 6 and page["limit"] == 2 and page["offset"] == 1
        cli_rows = [json.loads(line) for line in
                    run_cli(tmp_path, db_url, fake_itunes.url, "library", "--json").stdout.splitlines()]
        assert page["tracks"] == cli_rows[1:3], "the same rows as `musicrec library --json`"
        found = requests.get(f"{api}/library", params={"search": "artist b"}, timeout=30).json()
        assert found["total"] == 2 and {t["artist"] for t in found["tracks"]} == {"Artist B"}
        assert requests.get(f"{api}/library", params={"search": "[live]"}, timeout=30).json()["total"] == 6

        seed = ingested["A chord:0 [live]"]
        track = requests.get(f"{api}/tracks/{seed}", timeout=30).json()
        assert track["title"] == "A chord:0 [live]" and track["analysed"] is True
        by_itunes = requests.get(f"{api}/tracks/itunes:{track['itunes_track_id']}", timeout=30).json()
        assert by_itunes["id"] == seed

        rec = requests.get(f"{api}/recommend", params={"id": seed, "k": 3}, timeout=60)
        assert rec.status_code == 200, rec.text
        cli_rec = json.loads(run_cli(tmp_path, db_url, fake_itunes.url, "recommend", str(seed), "-k", "3",
                                     "--json").stdout)
        assert rec.json() == cli_rec, "exactly the JSON of `recommend --json`"
        assert rec.json()["results"][0]["title"] == "A chord:4 [live]"
        excl = requests.get(f"{api}/recommend", params={"id": seed, "k": 5, "exclude_artist": "true"},
                            timeout=60).json()
        assert all(r["artist"] != "Artist A" for r in excl["results"]) and excl["exclude_artist"] is True

        seeds = [ingested["A chord:0 [live]"], ingested["B drums:90 [live]"]]
        radio = requests.post(f"{api}/recommend", json={"ids": seeds, "k": 4}, timeout=60)
        assert radio.status_code == 200, radio.text
        cli_radio = json.loads(run_cli(tmp_path, db_url, fake_itunes.url, "recommend", *map(str, seeds), "-k", "4",
                                       "--json").stdout)
        assert radio.json() == cli_radio
        assert [s["id"] for s in radio.json()["query"]["seeds"]] == seeds
        bare = requests.post(f"{api}/recommend", data=json.dumps(seeds), timeout=60).json()
        assert [r["id"] for r in bare["results"]] == [r["id"] for r in
                                                       requests.post(f"{api}/recommend", json={"ids": seeds},
                                                                     timeout=60).json()["results"]]

        audio = requests.get(f"{api}/tracks/{seed}/audio", timeout=60)
        assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/mp4"
        (tmp_path / "got.m4a").write_bytes(audio.content)
        assert decode(tmp_path / "got.m4a").seconds > 5
        part = requests.get(f"{api}/tracks/{seed}/audio", headers={"Range": "bytes=0-99"}, timeout=60)
        assert part.status_code == 206 and len(part.content) == 100, "a browser can seek"
    finally:
        assert served.stop() == 0, served.output()


def test_api_errors_are_json_with_a_status(tmp_path: Path, fake_itunes) -> None:
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    served = serve(tmp_path, db, fake_itunes.url)
    api = served.url + "api"
    cases = [
        ("get", "/tracks/999", {}, 404, "no track"),
        ("get", "/tracks/nonsense", {}, 404, "no track"),
        ("get", "/recommend", {"params": {"k": 3}}, 400, "give the seed"),
        ("get", "/recommend", {"params": {"id": 1, "k": 0}}, 400, "k must be between 1 and 100"),
        ("get", "/recommend", {"params": {"id": 1, "k": 101}}, 400, "k must be between 1 and 100"),
        ("get", "/recommend", {"params": {"id": 1, "k": "many"}}, 400, "k must be"),
        ("get", "/recommend", {"params": {"id": 1, "exclude_artist": "perhaps"}}, 400, "true or false"),
        ("get", "/library", {"params": {"limit": 501}}, 400, "limit must be between 1 and 500"),
        ("get", "/library", {"params": {"offset": -1}}, 400, "offset"),
        ("get", "/library", {"params": {"sort": "1; DROP TABLE tracks"}}, 400, "sort by one of"),
        ("get", "/library", {"params": {"search": "x" * 201}}, 400, "at most 200"),
        ("post", "/recommend", {"data": "{not json"}, 400, "must be JSON"),
        ("post", "/recommend", {"json": {"ids": []}}, 400, "at least one seed"),
        ("post", "/recommend", {"json": {"ids": [1], "k": 1000}}, 400, "k must be between"),
        ("post", "/recommend", {"json": {"ids": list(range(51))}}, 400, "at most 50 seeds"),
        ("post", "/recommend", {"json": {"ids": [1], "kk": 3}}, 400, "unknown field"),
        ("post", "/recommend", {"json": {"ids": [{"a": 1}]}}, 400, "ids are library ids"),
        ("post", "/recommend", {"data": b"[" + b"1," * 40000 + b"1]"}, 413, "larger than 64 KiB"),
        ("get", "/nowhere", {}, 404, "no such endpoint"),
        ("delete", "/library", {}, 405, "not allowed"),
    ]
    try:
        for method, path, kwargs, status, text in cases:
            answer = requests.request(method, api + path, timeout=30, **kwargs)
            assert answer.status_code == status, (path, kwargs, answer.text)
            body = answer.json()
            assert body["status"] == status and text in body["error"], (path, body)
            assert "Traceback" not in answer.text
        assert requests.get(f"{api}/library", timeout=30).json() == {"total": 0, "limit": 50, "offset": 0,
                                                                     "tracks": []}
        # a DNS-rebinding page reaches 127.0.0.1 under its own name: without a token, only loopback names pass
        rebound = requests.get(f"{api}/health", headers={"Host": "evil.example:8000"}, timeout=30)
        assert rebound.status_code == 403 and rebound.json()["status"] == 403
    finally:
        assert served.stop() == 0
    assert "Traceback" not in served.output()


def test_health_says_when_the_database_is_down(tmp_path: Path, fake_itunes) -> None:
    served = serve(tmp_path, "mysql://nobody:pw-Secret9@127.0.0.1:1/nothing", fake_itunes.url)
    try:
        answer = requests.get(served.url + "api/health", timeout=60)
        assert answer.status_code == 503 and answer.json()["status"] == "unavailable"
        assert "pw-Secret9" not in answer.text
        library = requests.get(served.url + "api/library", timeout=60)
        assert library.status_code == 503 and "pw-Secret9" not in library.text
    finally:
        served.stop()
    assert "pw-Secret9" not in served.output()


def test_token_guards_page_and_api_and_never_shows(tmp_path: Path, fake_itunes) -> None:
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    env = {**cli_env(tmp_path), "MUSICREC_TOKEN": TOKEN}
    served = serve(tmp_path, db, fake_itunes.url, env=env)
    url = served.url
    try:
        for path in ("api/health", "api/library", "", "static/js/textual.js", "ws"):
            denied = requests.get(url + path, timeout=30, allow_redirects=False)
            assert denied.status_code == 401, path
        assert requests.get(url + "api/health", timeout=30).json()["status"] == 401
        wrong = requests.get(url + "api/health", headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"}, timeout=30)
        assert wrong.status_code == 401
        ok = requests.get(url + "api/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert ok.status_code == 200 and ok.json()["status"] == "ok"
        assert requests.get(url + "api/library", params={"token": TOKEN}, timeout=30).status_code == 200

        browser = requests.Session()
        first = browser.get(url, params={"token": TOKEN, "fontsize": 14}, timeout=30, allow_redirects=False)
        assert first.status_code == 303 and TOKEN not in first.headers["Location"], "the token leaves the URL"
        assert "fontsize=14" in first.headers["Location"]
        assert "HttpOnly" in first.headers["Set-Cookie"] and "SameSite=Strict" in first.headers["Set-Cookie"]
        page = browser.get(url, timeout=30)
        assert page.status_code == 200 and "textual.js" in page.text and TOKEN not in page.text
        assert browser.get(url + "api/health", timeout=30).status_code == 200, "the page's cookie opens the API"
        # a token-holding server answers under any Host name (it may be reached by a public name)
        named = requests.get(url + "api/health", headers={"Host": "music.example", "Authorization": f"Bearer {TOKEN}"},
                             timeout=30)
        assert named.status_code == 200
    finally:
        assert served.stop() == 0
    assert TOKEN not in served.output()


def test_binding_beyond_loopback_needs_a_token(tmp_path: Path, fake_itunes) -> None:
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    for extra in (["--host", "0.0.0.0"], ["--host", "0.0.0.0", "--token", "short"]):
        proc = subprocess.run(cli(tmp_path, db, fake_itunes.url, "serve", "--port", "0", *extra),
                              capture_output=True, text=True, env=cli_env(tmp_path), timeout=120)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stderr.startswith("musicrec: error:") and "Traceback" not in proc.stderr
        assert "token" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    served = serve(tmp_path, db, fake_itunes.url, "--host", "0.0.0.0", env={**cli_env(tmp_path),
                                                                              "MUSICREC_TOKEN": TOKEN})
    try:
        port = served.url.rsplit(":", 1)[1].strip("/")
        assert requests.get(f"http://127.0.0.1:{port}/api/health", timeout=30).status_code == 401
    finally:
        assert served.stop() == 0


async def open_session(url: str) -> tuple[object, object]:
    """A browser tab's websocket: the server starts an app; wait for its first screen, then keep reading the
    screen updates in the background (as a page does)."""
    import aiohttp

    session = aiohttp.ClientSession()
    ws = await session.ws_connect(url.replace("http://", "ws://") + "ws?width=100&height=30")
    received = 0
    while received < 1000:
        message = await asyncio.wait_for(ws.receive(), 60)
        if message.type == aiohttp.WSMsgType.BINARY:
            received += len(message.data)
        elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            raise AssertionError("the app's websocket closed early")

    async def drain() -> None:
        async for _ in ws:
            pass

    ws._musicrec_drain = asyncio.create_task(drain())  # type: ignore[attr-defined]
    return session, ws


@pytest.mark.parametrize("how", ["ctrl-c", "kill -9"])
async def test_no_app_outlives_the_server(tmp_path: Path, fake_itunes, how: str) -> None:
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    served = serve(tmp_path, db, fake_itunes.url)
    sessions = []
    try:
        for _ in range(2):  # two browser tabs: two apps
            sessions.append(await open_session(served.url))
        apps = served.app_pids()
        assert len(apps) == 2, served.output()
        if how == "ctrl-c":
            assert await asyncio.to_thread(served.stop, signal.SIGINT) == 0
        else:
            served.proc.kill()
            served.proc.wait(10)
        gone = await asyncio.to_thread(wait_until, lambda: not any(alive(p) or group_members(p) for p in apps), 20)
        assert gone, f"app processes left after {how}: {[p for p in apps if alive(p)]}"
    finally:
        for session, ws in sessions:
            await ws.close()  # type: ignore[attr-defined]
            await session.close()  # type: ignore[attr-defined]
        for pid in served.app_pids():
            kill_group(pid)
        served.stop(signal.SIGKILL)
    if how == "ctrl-c":
        assert "stopped." in served.output()


async def test_a_closed_tab_ends_its_app_and_the_limit_holds(tmp_path: Path, fake_itunes) -> None:
    import aiohttp

    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    served = serve(tmp_path, db, fake_itunes.url, "--max-apps", "1")
    try:
        session, ws = await open_session(served.url)
        [app] = served.app_pids()
        async with aiohttp.ClientSession() as other:
            extra = await other.ws_connect(served.url.replace("http://", "ws://") + "ws")
            message = await asyncio.wait_for(extra.receive(), 30)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert extra.close_code == 1013, "a second tab beyond --max-apps is refused"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:  # another site's page cannot drive the app
            await session.ws_connect(served.url.replace("http://", "ws://") + "ws",  # type: ignore[attr-defined]
                                     origin="http://evil.example")
        assert refused.value.status == 403
        await ws.close()  # type: ignore[attr-defined]
        await session.close()  # type: ignore[attr-defined]
        assert await asyncio.to_thread(wait_until, lambda: not alive(app), 20), "closing the tab ends its app"
    finally:
        assert served.stop() == 0


async def test_kill_9_during_an_ingest_leaves_no_process(tmp_path: Path, fake_itunes) -> None:
    """An ingest started in a tab runs analysis processes in that app's process group: kill -9 of the server
    ends them all (the app hears of its parent's death and takes its group with it)."""
    fake_itunes.add_tracks(60)
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    served = serve(tmp_path, db, fake_itunes.url)
    session, ws = await open_session(served.url)
    try:
        [app] = served.app_pids()
        await asyncio.sleep(2)  # the library opens and the search input takes the focus
        await ws.send_json(["stdin", "fake artist\r"])  # type: ignore[attr-defined]
        assert await asyncio.to_thread(wait_until, lambda: fake_itunes.hits("/search"), 30)
        await asyncio.sleep(1.5)  # the results take the focus
        await ws.send_json(["stdin", "a"])  # type: ignore[attr-defined]  # ingest them all

        def ingesting() -> bool:
            with open_library(db) as lib:
                done = lib.job_counts()[JobState.DONE]
            workers = [p for p in group_members(app) if b"spawn_main" in cmdline(p)]
            return 1 <= done < 60 and bool(workers)

        assert await asyncio.to_thread(wait_until, ingesting, 180), "the ingest started from the tab"
        members = group_members(app)
        served.proc.kill()
        served.proc.wait(10)
        assert await asyncio.to_thread(wait_until, lambda: not group_members(app), 30), \
            f"left running after kill -9: {[cmdline(p) for p in group_members(app)]} (of {members})"
        with open_library(db) as lib:
            assert lib.job_counts()[JobState.DONE] < 60, "it was killed mid-ingest"
    finally:
        await ws.close()  # type: ignore[attr-defined]
        await session.close()  # type: ignore[attr-defined]
        for pid in served.app_pids():
            kill_group(pid)
        served.stop(signal.SIGKILL)


def test_audio_endpoint_serves_a_local_file_track(tmp_path: Path, fake_itunes, fake_previews) -> None:
    """A track ingested from a local file plays in the browser from the server: its own bytes, seekable."""
    song = tmp_path / "music" / "Local Song [demo].m4a"
    song.parent.mkdir()
    song.write_bytes(fake_previews.get("chord:0"))
    db = f"sqlite://{tmp_path / 'lib.sqlite3'}"
    proc = run_cli(tmp_path, db, fake_itunes.url, "ingest", "--path", str(song.parent))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    served = serve(tmp_path, db, fake_itunes.url)
    try:
        [track] = requests.get(served.url + "api/library", timeout=30).json()["tracks"]
        assert track["source"] == "file" and track["external_id"] == str(song)
        audio = requests.get(served.url + f"api/tracks/{track['id']}/audio", timeout=30)
        assert audio.status_code == 200 and audio.content == song.read_bytes()
        song.unlink()
        gone = requests.get(served.url + f"api/tracks/{track['id']}/audio", timeout=30)
        assert gone.status_code in (404, 502) and "error" in gone.json(), gone.text
    finally:
        assert served.stop() == 0
