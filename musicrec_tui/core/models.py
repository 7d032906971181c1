"""Records shared by every layer: frozen dataclasses the store returns and the UI renders."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy costs ~0.1-0.2 s to import: not before the TUI's first frame
    import numpy as np

SOURCE_ITUNES = "itunes"
SOURCE_FILE = "file"


@dataclass(frozen=True, slots=True)
class Track:
    """A song, from the iTunes catalogue or a local file. `id` is set once it is in the library."""

    source: str
    external_id: str
    title: str
    artist: str
    album: str = ""
    genre: str = ""
    duration_ms: int | None = None
    preview_url: str | None = None
    artwork_url: str | None = None
    release_date: str | None = None
    track_number: int | None = None
    country: str | None = None
    preview_path: str | None = None
    preview_sha256: str | None = None
    id: int | None = None

    @property
    def itunes_track_id(self) -> int | None:
        """The iTunes trackId, for catalogue tracks."""
        if self.source == SOURCE_ITUNES and self.external_id.isdigit():
            return int(self.external_id)
        return None

    @property
    def ingestible(self) -> bool:
        """True when there is audio to analyse: a preview URL or a local file."""
        return self.source == SOURCE_FILE or bool(self.preview_url)

    @property
    def key(self) -> tuple[str, str]:
        """The natural key (source, external_id), unique in the library."""
        return (self.source, self.external_id)

    def with_id(self, track_id: int) -> Track:
        return replace(self, id=track_id)

    def normalised(self) -> Track:
        """The track as the store keeps it (the one rule, core/text.py): names cleaned and capped, URLs
        cleaned or dropped, ids storable, numbers in range. Idempotent; the same on every backend."""
        from . import limits
        from .text import clean_id, clean_name, clean_url

        def opt(value: str | None) -> str | None:
            return clean_name(value) or None if value is not None else None

        return replace(
            self, source=clean_id(self.source), external_id=clean_id(self.external_id),
            title=clean_name(self.title), artist=clean_name(self.artist), album=clean_name(self.album),
            genre=clean_name(self.genre), duration_ms=limits.int_field(self.duration_ms),
            preview_url=clean_url(self.preview_url), artwork_url=clean_url(self.artwork_url),
            release_date=opt(self.release_date), track_number=limits.int_field(self.track_number, 0, 2**31 - 1),
            country=opt(self.country), preview_path=clean_id(self.preview_path) if self.preview_path else None,
        )

    def to_json(self) -> dict[str, object]:
        """The stable JSON shape of a library row (`library --json`, see README.md)."""
        return {
            "id": self.id,
            "source": self.source,
            "itunes_track_id": self.itunes_track_id,
            "external_id": self.external_id,
            "artist": self.artist,
            "title": self.title,
            "album": self.album,
            "genre": self.genre,
            "duration_ms": self.duration_ms,
            "preview_url": self.preview_url,
        }


@dataclass(frozen=True, slots=True)
class FeatureVector:
    """One track's vector from one extractor version: float32, stored as a little-endian BLOB."""

    extractor: str
    version: int
    values: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        import numpy as np

        arr = np.ascontiguousarray(self.values, dtype=np.float32).reshape(-1)
        object.__setattr__(self, "values", arr)

    @property
    def dim(self) -> int:
        return int(self.values.shape[0])

    def to_blob(self) -> bytes:
        return self.values.astype("<f4", copy=False).tobytes()

    @classmethod
    def from_blob(cls, extractor: str, version: int, blob: bytes) -> FeatureVector:
        import numpy as np

        return cls(extractor, version, np.frombuffer(blob, dtype="<f4").astype(np.float32))


class JobState(StrEnum):
    """Life of an ingest job: queued → downloading → analysing → done | failed."""

    QUEUED = "queued"
    DOWNLOADING = "downloading"
    ANALYSING = "analysing"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    """A row of the durable ingest queue."""

    id: int
    source: str
    external_id: str
    state: JobState
    track: Track
    attempts: int = 0
    last_error: str | None = None
    worker: str | None = None
    track_id: int | None = None
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class VectorMatrix:
    """All vectors of one extractor: row i of `matrix` belongs to library track `ids[i]`."""

    extractor: str
    version: int
    ids: np.ndarray
    matrix: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One recommendation: its rank (1-based), ranking score, plain cosine, the track, and why.

    `groups` holds (feature group, share of what pulled the two together, 0 to 1) pairs, largest share first;
    `duplicates` the ids of near-duplicate tracks collapsed into this one.
    """

    rank: int
    score: float
    track: Track
    groups: tuple[tuple[str, float], ...]
    cosine: float
    duplicates: tuple[int, ...] = ()

    def why(self) -> tuple[tuple[str, float], ...]:
        """The groups that pulled the two tracks together, each as its share of all that pulled (summing to 1),
        largest first; groups that pulled them apart are left out."""
        positive = [(g, share) for g, share in self.groups if share > 0]
        total = sum(share for _, share in positive)
        if total <= 0:
            return ()
        return tuple(sorted(((g, share / total) for g, share in positive), key=lambda gs: (-gs[1], gs[0])))
