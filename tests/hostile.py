"""The hostile fixture set (issue 9): outside text of every awkward kind, served by the fake iTunes server and
written into local files' tags and names, plus checks that what reaches a terminal is literal and inert.

Each case is a name that someone could really give a song, an artist or a file. `expected(value)` is what the
app stores and shows for it: the one documented normalisation (core/text.py), nothing else."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from musicrec_tui.core import synth
from musicrec_tui.core.text import clean_name

HOSTILE: dict[str, str] = {
    "markup_close": "oops [/]",
    "link": "[link=https://evil.example]x[/link]",
    "click_shot": "[@click=app.screenshot('pwned.svg','{shot_dir}')]SHOT[/]",
    "click_quit": "[@click=app.quit]QUIT[/]",
    "brackets": "Real Song [live] [feat. Someone] (Remastered)",
    "unbalanced": "[b]bold [i]never closed [/u]",
    "dollar": "$title costs $5 ${artist}",
    "csi": "red\x1b[31mRED\x1b[0m\x1b[2J",
    "osc_link": "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "osc_title": "\x1b]0;pwned title\x07name",
    "c0": "bell\x07back\x08vt\x0bnul-free\x7fdel",
    "c1": "c1\x85next\x9b31mcsi\x9d0;t\x9c",
    "newlines": "line one\nline two\r\nthree\ttab",
    "bidi": "abc\u202edcba\u202c def",
    "isolates": "\u2066iso\u2069 \u200fmark",
    "zwj": "👩\u200d👩\u200d👧 family",
    "zero_width": "zero\u200bwidth\ufeffbom\u2060joiner",
    "combining": "Zoe\u0301 Ba\u0308ckstro\u0308m",
    "cjk": "桜 さくら 사쿠라 夜に駆ける",
    "emoji": "🎵🔥 Fire \U0001f3b8",
    "rtl": "שלום عليكم",
    "surrogate": "\ud800x\udfff",
    "long": "L" * 10_000 + " the end",
    "sql": "'; DROP TABLE tracks; --",
    "like": "100% _wild_ !%!_",
}
# Control characters and sequences that must never reach a terminal raw (ESC, C1, bidi overrides, BEL ...).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def cases(shot_dir: Path) -> dict[str, str]:
    """The set, with the screenshot action aimed at `shot_dir` (the test asserts nothing is written there)."""
    return {k: v.replace("{shot_dir}", str(shot_dir)) for k, v in HOSTILE.items()}


def expected(value: str) -> str:
    """What the app stores and shows for an outside name (core/text.py: clean_name, stripped)."""
    return clean_name(value).strip()


def add_catalogue(server: Any, shot_dir: Path, start_id: int = 7_000_001) -> dict[int, str]:
    """Serve one song per case, titled with it and by an artist named with it, all found by the search term
    "hostile"; plus a song with every optional field missing and empty names. Returns {trackId: case value}."""
    kinds = ("chord:0", "drums:90", "noise:1", "chord:3", "drums:128", "sweep", "chord:5", "drums:160")
    out: dict[int, str] = {}
    for i, value in enumerate(cases(shot_dir).values()):
        tid = start_id + i
        server.add_track(tid, value, value, preview=kinds[i % len(kinds)], album=value, primaryGenreName=value,
                         _terms="hostile")
        out[tid] = value
    bare = server.add_track(start_id + 999, "", "", preview="chord:1", _terms="hostile")
    for key in ("collectionName", "primaryGenreName", "trackTimeMillis", "releaseDate", "country",
                "artworkUrl30", "artworkUrl60", "artworkUrl100", "trackNumber"):
        bare.pop(key, None)
    out[start_id + 999] = ""
    return out


def write_files(folder: Path, shot_dir: Path) -> dict[str, str]:
    """Real FLAC files whose tags hold the cases (title, artist, album, genre), one file whose *name* is
    hostile and one whose name is not valid UTF-8. Returns {file name: case value}."""
    from mutagen.flac import FLAC

    folder.mkdir(parents=True, exist_ok=True)
    audio = synth.encode(synth.chord((220.0, 330.0), seconds=6.0), fmt="flac")
    out: dict[str, str] = {}
    for i, (key, value) in enumerate(cases(shot_dir).items()):
        if key == "surrogate":
            continue  # a tag is UTF-8 on disk: a lone surrogate cannot be written; the file name case covers it
        path = folder / f"{i:02d}-{key}.flac"
        path.write_bytes(audio)
        tags = FLAC(path)
        for field in ("title", "artist", "album", "genre"):
            tags[field] = value
        tags.save()
        out[path.name] = value
    odd = folder / "\x1b[31mred\u202e name [@click=app.quit]q [b].flac"
    odd.write_bytes(audio)
    out[odd.name] = odd.stem
    raw = os.path.join(os.fsencode(folder), b"latin1-\xe9t\xe9.flac")
    with open(raw, "wb") as fh:
        fh.write(audio)
    out[os.fsdecode(b"latin1-\xe9t\xe9.flac")] = os.fsdecode(b"latin1-\xe9t\xe9")
    return out


def assert_inert(text: str, where: str = "") -> None:
    """No raw control character, C1, bidi override or surrogate: nothing that can act on a terminal."""
    bad = UNSAFE.search(text)
    assert bad is None, f"{where}: raw {bad.group()!r} at {bad.start()} in {text[max(0, bad.start() - 40):][:80]!r}"
