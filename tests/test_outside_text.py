"""The one rule at each boundary, as units: HTTP bodies, names, URLs, ids, JSON, failure reasons, numbers."""

from __future__ import annotations

import json

import pytest

from musicrec_tui.core import limits
from musicrec_tui.core.itunes import _decode_body, parse_results
from musicrec_tui.core.models import Track
from musicrec_tui.core.text import MAX_NAME_CHARS, clean_id, clean_name, clean_url, json_line
from musicrec_tui.ingest.events import reason_key
from tests.hostile import HOSTILE, assert_inert, expected


def test_an_http_body_with_invalid_utf8_and_escaped_surrogates_parses() -> None:
    body = (b'\n\n\n{"resultCount": 1, "results": [{"wrapperType": "track", "kind": "song", "trackId": 5, '
            b'"trackName": "bad \xff\xfe bytes \\ud800 and \\u001b[31mred", "artistName": "\\u202eevil"}]}')
    (track,) = parse_results(_decode_body(body))
    assert track.title == "bad \ufffd\ufffd bytes \ufffd and [31mred" and track.artist == "evil"


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_track_normalises_once_and_for_all(value: str) -> None:
    track = Track("itunes", "1", value, value, album=value, genre=value, release_date=value, country=value,
                  preview_url="https://a/" + value, artwork_url=value)
    once = track.normalised()
    assert once.normalised() == once, "idempotent: stored values do not drift on re-save"
    for text in (once.title, once.artist, once.album, once.genre, once.release_date or "", once.country or ""):
        assert_inert(text)
        assert len(text) <= MAX_NAME_CHARS
    assert once.title == clean_name(value)
    assert once.artwork_url is None or once.artwork_url.startswith("http")


def test_names_urls_and_ids() -> None:
    assert clean_name("x" * 20_000) == "x" * (MAX_NAME_CHARS - 1) + "…"
    assert clean_url("javascript:alert(1)") is None and clean_url("https://a/" + "p" * 9000) is None
    assert clean_url(" https://a/b\x1b[2J ") == "https://a/b[2J"
    assert clean_id("/music/\x1b[31mred\udcff.flac") == "/music/\x1b[31mred\ufffd.flac", "a path stays a path"


def test_json_lines_escape_what_could_act_on_a_terminal() -> None:
    value = {"t": "\x1b]8;;http://e\x07x\x85\u202e\u200b\ud800 👩\u200d👩 \n"}
    line = json_line(value)
    assert_inert(line) if "\n" not in line else pytest.fail("one line")
    assert json.loads(line) == value, "the data is unchanged for a JSON reader"


@pytest.mark.parametrize(("error", "kind"), [
    ("HTTP 503 (http://127.0.0.1:5/p/1.m4a, 4 attempts)", "HTTP 503"),
    ("audio too short: 2.0 s", "audio too short"),
    ("preview rejected: cannot decode audio: invalid data", "cannot decode audio"),
    ("download too slow: 3 bytes/s after 16 s, below 2048 bytes/s (http://h/x)", "download too slow"),
    ("redirect loop (http://h:1/a) for preview http://h:1/a", "redirect loop"),
    ("\x1b[31mred: x", "[31mred"),
])
def test_failures_group_by_kind_without_cutting_at_a_urls_colon(error: str, kind: str) -> None:
    assert reason_key(error) == kind


@pytest.mark.parametrize(("check", "value"), [
    (limits.track_id, "99999999999999999999999999"), (limits.track_id, "0"), (limits.track_id, "-1"),
    (limits.track_id, "1e3"), (limits.track_id, "١٢"), (limits.offset, "-5"), (limits.offset, str(2**63)),
    (limits.k, "0"), (limits.k, "1001"), (limits.limit, ""), (limits.itunes_id, "+5"),
])
def test_numbers_out_of_range_are_one_line(check, value: str) -> None:
    with pytest.raises(limits.LimitError) as info:
        check(value)
    assert "\n" not in info.value.one_line() and len(info.value.one_line()) < 120


def test_numbers_from_outside_data_become_empty() -> None:
    assert [limits.int_field(v) for v in (10**30, -1, 1.5, "12", "x", True, None, float("inf"), 7.0)] == \
        [None, None, None, 12, None, None, None, None, 7]


def test_expected_is_the_documented_rule() -> None:
    assert expected(HOSTILE["brackets"]) == "Real Song [live] [feat. Someone] (Remastered)"
    assert expected(HOSTILE["newlines"]) == "line one line two  three tab"
