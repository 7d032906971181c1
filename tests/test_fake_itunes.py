"""The fake server itself: Apple's response shape and real AAC/m4a previews of the promised lengths."""

from __future__ import annotations

import av
import pytest
import requests

from musicrec_tui.core.audio import check_analysable, decode


def test_json_is_shaped_like_apples(fake_itunes):
    fake_itunes.add_track(7, "Title", "Artist", preview=None)
    resp = requests.get(f"{fake_itunes.url}/lookup", params={"id": "7"}, timeout=5)
    assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert resp.content.startswith(b"\n\n\n{")
    data = resp.json()
    assert data["resultCount"] == 1
    (item,) = data["results"]
    assert (item["wrapperType"], item["kind"], item["trackId"]) == ("track", "song", 7)
    assert "previewUrl" not in item and not any(k.startswith("_") for k in item)


@pytest.mark.parametrize("kind", ["chord:0", "chord:3", "drums:90", "drums:160", "noise:1", "sweep"])
def test_previews_are_real_ingestible_aac(fake_itunes, kind, tmp_path):
    fake_itunes.add_track(8, "t", "a", preview=kind)
    body = requests.get(f"{fake_itunes.url}/previews/8.m4a", timeout=5).content
    path = tmp_path / "p.m4a"
    path.write_bytes(body)
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        assert "mp4" in container.format.name
    audio = decode(path)
    check_analysable(audio)
    assert audio.seconds == pytest.approx(6.0, abs=0.1)


def test_drum_previews_differ_by_tempo(fake_previews):
    assert fake_previews.get("drums:90") != fake_previews.get("drums:160")


def test_requests_are_recorded_with_server_time(fake_itunes):
    fake_itunes.clock.sleep(5.0)
    requests.get(f"{fake_itunes.url}/search", params={"term": "x y"}, timeout=5)
    (req,) = fake_itunes.requests
    assert (req.path, req.query["term"], req.time, req.status) == ("/search", "x y", 1005.0, 200)
