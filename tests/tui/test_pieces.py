"""The app's small pure parts: export formats, artwork decoding and caching, half-block pictures, score bars."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import numpy as np
import pytest

from musicrec_tui.app.export import m3u_text, write_export
from musicrec_tui.app.recommend import Recommendation
from musicrec_tui.core.errors import ConfigError, DecodeError
from musicrec_tui.core.index import SimilarityIndex
from musicrec_tui.core.models import Track, VectorMatrix
from musicrec_tui.core.recommend import recommend
from musicrec_tui.tui.artwork import artwork_text, decode_image, small_url
from musicrec_tui.tui.panes.similar import score_bar
from musicrec_tui.tui.widgets.halfblock import rgb_to_text, waveform_rows


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="image2pipe") as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], "yuvj420p"
        for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def tracks() -> list[Track]:
    a = Track("itunes", "1", "Song \x1b[2JOne", "Artist A", preview_path="/cache/itunes-1.m4a", id=1,
              duration_ms=200_000)
    b = Track("file", "/music/b.flac", "Song Two", "Artist B", duration_ms=61_400, id=2)
    return [a, b]


def recommendation() -> Recommendation:
    seed = Track("itunes", "9", "Seed", "S", id=9)
    rows = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32)
    library = [seed, *tracks(), *(Track("itunes", str(20 + i), f"t{i}", "X", id=20 + i) for i in range(3))]
    index = SimilarityIndex(VectorMatrix("t", 1, np.array([t.id for t in library]), rows),
                            ("timbre",) * 4 + ("rhythm",) * 4, hubness="none")
    found = recommend(index, {int(t.id or 0): t for t in library}, [9], k=2)
    return Recommendation((seed,), tuple(found), index, "t", 2, True)


def test_m3u_lists_files_in_rank_order_without_control_characters() -> None:
    text = m3u_text(tracks())
    assert text.splitlines() == ["#EXTM3U", "#EXTINF:-1,Artist A - Song [2JOne", "/cache/itunes-1.m4a",
                                 "#EXTINF:61,Artist B - Song Two", "/music/b.flac"]


def test_json_export_is_the_recommendation_json(tmp_path: Path) -> None:
    rec = recommendation()
    path = write_export(tmp_path / "sub" / "list.json", rec)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(rec.to_json()))
    assert data["query"]["id"] == 9 and data["extractor"] == "t" and data["exclude_artist"] is True
    assert data["k"] == 2 and [r["rank"] for r in data["results"]] == [1, 2]
    assert all({"score", "cosine", "groups", "id"} <= set(r) for r in data["results"])
    m3u = write_export(tmp_path / "list.m3u", rec).read_text(encoding="utf-8")
    assert m3u == m3u_text([n.track for n in rec.neighbours])


def test_export_to_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        write_export(tmp_path, recommendation())


def test_artwork_is_downloaded_once_then_read_from_the_cache(tmp_path: Path) -> None:
    red = np.zeros((60, 60, 3), np.uint8)
    red[..., 0] = 220
    asked: list[str] = []

    def download(url: str) -> bytes:
        asked.append(url)
        return jpeg(red)

    track = Track("itunes", "5", "T", "A", artwork_url="https://x/image/thumb/5/100x100bb.jpg")
    first = artwork_text(track, download, tmp_path, 6, "itunes-5")
    second = artwork_text(track, download, tmp_path, 6, "itunes-5")
    assert asked == ["https://x/image/thumb/5/60x60bb.jpg"]
    assert first is not None and second is not None and first.plain == second.plain == "▀" * 6 + "\n" + "▀" * 6 + \
        "\n" + "▀" * 6
    colour = first.spans[0].style.color.triplet  # type: ignore[union-attr]
    assert colour.red > 180 and colour.green < 60 and colour.blue < 60


def test_artwork_that_is_not_an_image_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_image(b"<html>nope</html>", 6, 6)
    assert small_url("https://a/b/100x100bb.jpg", 60) == "https://a/b/60x60bb.jpg"


def test_half_blocks_pair_pixel_rows_and_waveform_fills_its_envelope() -> None:
    rgb = np.zeros((3, 2, 3), np.uint8)
    rgb[0] = (255, 0, 0)
    rgb[1] = (0, 0, 255)
    text = rgb_to_text(rgb)
    assert text.plain == "▀▀\n▀▀"
    top = text.spans[0].style
    assert top.color.triplet == (255, 0, 0) and top.bgcolor.triplet == (0, 0, 255)  # type: ignore[union-attr]
    mask = waveform_rows(np.concatenate([np.zeros(100), np.ones(100), -np.ones(100)]).astype(np.float32), 3, 2)
    assert mask.shape == (4, 3)
    assert mask[:, 0].sum() == 1  # silence: the middle line only
    assert mask[0, 1] and mask[-1, 2]  # full positive / full negative swing reach the edges


def test_score_bar_is_proportional_and_clamped() -> None:
    assert score_bar(1.0, 4) == "████ 1.000"
    assert score_bar(0.5, 4) == "██   0.500"
    assert score_bar(-0.2, 4) == "     0.000"
