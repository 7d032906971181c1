"""Write a similar-songs list as an M3U playlist or as JSON (the same shape as `musicrec recommend --json`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..core.errors import ConfigError
from ..core.files import private_dir, write_private
from ..core.models import Track
from ..core.text import clean, json_line
from .services import Similar


def m3u_text(items: Sequence[Similar]) -> str:
    """Extended M3U: #EXTINF and "Artist - Title", then the cached preview, the preview URL or the local file.

    A preview is not the whole song, so its length is written as -1 (unknown) rather than the song's."""
    lines = ["#EXTM3U"]
    for item in items:
        t = item.track
        location = t.preview_path or t.preview_url or t.external_id
        whole = t.source == "file" and t.duration_ms
        seconds = round(t.duration_ms / 1000) if whole and t.duration_ms else -1
        lines.append(f"#EXTINF:{seconds},{clean(t.artist)} - {clean(t.title)}")
        lines.append(clean(str(location)))  # one line: a control character cannot start another entry
    return "\n".join(lines) + "\n"


def json_obj(seeds: Sequence[Track], items: Sequence[Similar], extractor: str | None, k: int,
             exclude_artist: bool) -> dict[str, object]:
    query = [t.to_json() for t in seeds]
    return {
        "query": query[0] if len(query) == 1 else {"seeds": query},
        "extractor": extractor,
        "k": k,
        "exclude_artist": exclude_artist,
        "results": [{"rank": s.rank, "score": round(float(s.score), 6), **s.track.to_json(),
                     "groups": {g: round(share, 4) for g, share in s.groups}} for s in items],
    }


def write_export(path: Path, seeds: Sequence[Track], items: Sequence[Similar], extractor: str | None, k: int,
                 exclude_artist: bool) -> Path:
    """Write by extension (.json → JSON, anything else → M3U), atomically; ConfigError naming the path."""
    path = Path(path).expanduser()
    if path.suffix.lower() == ".json":
        text = json_line(json_obj(seeds, items, extractor, k, exclude_artist), indent=2) + "\n"
    else:
        text = m3u_text(items)
    if path.is_dir():
        raise ConfigError(f"cannot export to {path}: it is a directory")
    try:
        private_dir(path.parent)
        write_private(path, text)  # 0600: a list of the user's music is theirs alone
    except OSError as exc:
        raise ConfigError(f"cannot export to {path}: {exc.strerror or exc}") from None
    return path
