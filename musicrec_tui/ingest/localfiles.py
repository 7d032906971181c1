"""Local audio files as tracks: found under a path, tags read where present, files never copied."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core import limits
from ..core.audio import AUDIO_EXTENSIONS
from ..core.errors import NotFound
from ..core.models import SOURCE_FILE, Track
from ..core.text import clean


def find_audio_files(root: str | Path) -> list[Path]:
    """Audio files at `root` (a file, or a folder searched recursively), sorted, as absolute paths."""
    path = Path(root).expanduser()
    if not path.exists():
        raise NotFound(f"no such file or folder: {path}")
    if path.is_file():
        return [path.resolve()]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(path, onerror=None):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath, f).resolve() for f in filenames
                  if Path(f).suffix.lower() in AUDIO_EXTENSIONS and not f.startswith(".")]
    return sorted(found)


def track_for_file(path: Path) -> Track:
    """A Track for a local file: title/artist/album/genre from its tags, else its name and folder.

    Tags and names go through the one normalisation (core/text.py, via Track.normalised): an undecodable file
    name's bytes become U+FFFD in the title, controls and bidi overrides in tags are removed."""
    tags = _read_tags(path)
    return Track(
        source=SOURCE_FILE, external_id=str(path), title=tags.get("title") or clean(path.stem),
        artist=tags.get("artist") or tags.get("albumartist") or "",
        album=tags.get("album") or clean(path.parent.name),
        genre=tags.get("genre") or "", duration_ms=tags.get("duration_ms"),
        track_number=_track_number(tags.get("tracknumber")), preview_path=str(path),
    ).normalised()


def tracks_under(root: str | Path) -> Iterator[Track]:
    for path in find_audio_files(root):
        yield track_for_file(path)


def _read_tags(path: Path) -> dict[str, Any]:  # str tags, and duration_ms: int
    try:
        import mutagen

        audio = mutagen.File(str(path), easy=True)
    except Exception:  # mutagen raises many types for odd files; tags are optional, decoding decides later
        return {}
    if audio is None:
        return {}
    out: dict[str, Any] = {}
    for key in ("title", "artist", "albumartist", "album", "genre", "tracknumber"):
        try:
            value = audio.get(key)
        except (KeyError, ValueError):
            value = None
        if value:
            text = clean(str(value[0]) if isinstance(value, list) else str(value)).strip()
            if text:
                out[key] = text
    length = getattr(getattr(audio, "info", None), "length", None)
    if length and isinstance(length, int | float) and 0 < length < 10**9:
        out["duration_ms"] = round(float(length) * 1000)
    return out


def _track_number(text: str | None) -> int | None:
    if not text:
        return None
    head = text.split("/", 1)[0].strip()
    return limits.int_field(head, 0, 2**31 - 1)
