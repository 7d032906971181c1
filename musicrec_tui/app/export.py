"""Export a recommendation as an M3U playlist or as JSON (exactly what `musicrec recommend --json` prints)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from ..core.errors import ConfigError
from ..core.files import private_dir, write_private
from ..core.models import SOURCE_FILE, Track
from ..core.text import clean, json_line
from .recommend import Recommendation


class ExportFormat(StrEnum):
    M3U = "m3u"
    JSON = "json"

    @classmethod
    def for_path(cls, path: Path) -> ExportFormat:
        """By extension: .json writes JSON, anything else M3U."""
        return cls.JSON if path.suffix.lower() == ".json" else cls.M3U


def m3u_text(tracks: Sequence[Track]) -> str:
    """Extended M3U: #EXTINF and "Artist - Title", then the cached preview, the preview URL or the local file.

    A preview is not the whole song, so its length is written as -1 (unknown) rather than the song's."""
    lines = ["#EXTM3U"]
    for t in tracks:
        location = t.preview_path or t.preview_url or t.external_id
        whole = t.source == SOURCE_FILE and t.duration_ms
        seconds = round(t.duration_ms / 1000) if whole and t.duration_ms else -1
        lines.append(f"#EXTINF:{seconds},{clean(t.artist)} - {clean(t.title)}")
        lines.append(clean(str(location)))
    return "\n".join(lines) + "\n"


def json_text(rec: Recommendation) -> str:
    """The recommendation's JSON, one object, as `recommend --json` prints it (one line, UTF-8, controls and
    bidi characters as \\u escapes: core/text.json_line)."""
    return json_line(rec.to_json()) + "\n"


def export_text(fmt: ExportFormat, rec: Recommendation) -> str:
    """The export's text: the JSON of `recommend --json`, or an M3U playlist of the results."""
    return json_text(rec) if fmt is ExportFormat.JSON else m3u_text([n.track for n in rec.neighbours])


def write_export(path: Path, rec: Recommendation) -> Path:
    """Write by extension (.json → JSON, anything else → M3U), atomically; ConfigError naming the path."""
    path = Path(path).expanduser()
    text = export_text(ExportFormat.for_path(path), rec)
    if path.is_dir():
        raise ConfigError(f"cannot export to {path}: it is a directory")
    try:
        private_dir(path.parent)
        write_private(path, text)  # 0600: a list of the user's music is theirs alone
    except OSError as exc:
        raise ConfigError(f"cannot export to {path}: {exc.strerror or exc}") from None
    return path
