"""The app's small pure parts: export formats, artwork decoding and caching, half-block pictures, score bars."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import numpy as np
import pytest

from musicrec_tui.core.errors import ConfigError, DecodeError
from musicrec_tui.core.models import Track
from musicrec_tui.tui.artwork import artwork_text, decode_image, small_url
from musicrec_tui.tui.export import m3u_text, write_export
from musicrec_tui.tui.panes.similar import score_bar
from musicrec_tui.tui.services import Services, Similar
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


def items() -> list[Similar]:
    a = Track("itunes", "1", "Song \x1b[2JOne", "Artist A", preview_path="/cache/itunes-1.m4a", id=1,
              duration_ms=200_000)
    b = Track("file", "/music/b.flac", "Song Two", "Artist B", duration_ms=61_400, id=2)
    return [Similar(1, 0.9, a, (("timbre", 0.75), ("rhythm", 0.25))), Similar(2, 0.5, b, ())]


def test_m3u_lists_files_in_rank_order_without_control_characters() -> None:
    text = m3u_text(items())
    assert text.splitlines() == ["#EXTM3U", "#EXTINF:-1,Artist A - Song [2JOne", "/cache/itunes-1.m4a",
                                 "#EXTINF:61,Artist B - Song Two", "/music/b.flac"]


def test_json_export_matches_the_cli_shape(tmp_path: Path) -> None:
    seed = Track("itunes", "9", "Seed", "S", id=9)
    path = write_export(tmp_path / "sub" / "list.json", [seed], items(), "musicnn", 2, True)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["query"]["id"] == 9 and data["extractor"] == "musicnn" and data["exclude_artist"] is True
    assert [(r["rank"], r["id"], r["score"]) for r in data["results"]] == [(1, 1, 0.9), (2, 2, 0.5)]


def test_export_to_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        write_export(tmp_path, [], items(), None, 2, False)


def test_artwork_is_downloaded_once_then_read_from_the_cache(tmp_path: Path) -> None:
    red = np.zeros((60, 60, 3), np.uint8)
    red[..., 0] = 220
    asked: list[str] = []

    def download(url: str) -> bytes:
        asked.append(url)
        return jpeg(red)

    services = Services(open_library=lambda: None, catalogue=None, previews=None, player=None,  # type: ignore[arg-type]
                        make_pipeline=lambda lib, cb: None, recommend=lambda *a: [],  # type: ignore[arg-type,return-value]
                        download=download, artwork_dir=tmp_path)
    track = Track("itunes", "5", "T", "A", artwork_url="https://x/image/thumb/5/100x100bb.jpg")
    first = artwork_text(track, services, 6, "itunes-5")
    second = artwork_text(track, services, 6, "itunes-5")
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
