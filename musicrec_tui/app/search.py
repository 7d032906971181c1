"""Search the catalogue and say which results are already in the library (one store query for all of them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..core.models import Track
from ..store.protocol import Library


class Catalogue(Protocol):
    """The online catalogue (core/itunes.py ItunesClient)."""

    def search(self, term: str, limit: int = 50, country: str = "US") -> list[Track]: ...

    def lookup(self, ids: Iterable[int | str], country: str | None = None) -> list[Track]: ...


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A catalogue track and, when it is in the library, the stored copy."""

    track: Track
    stored: Track | None = None

    @property
    def in_library(self) -> bool:
        return self.stored is not None

    @property
    def library_id(self) -> int | None:
        return self.stored.id if self.stored is not None else None

    def to_json(self) -> dict[str, object]:
        """The `search --json` row: the track's library shape plus id, in_library, ingestible, artwork_url."""
        row = self.track.to_json()
        row.update(id=self.library_id, in_library=self.in_library, ingestible=self.track.ingestible,
                   artwork_url=self.track.artwork_url)
        return row


def with_library_flags(tracks: Sequence[Track], library: Library | None) -> list[SearchResult]:
    """Each track with its stored copy, if any: one `find_tracks` query for all of them."""
    stored = library.find_tracks(t.key for t in tracks) if library is not None and tracks else {}
    return [SearchResult(t, stored.get(t.key)) for t in tracks]


def search(catalogue: Catalogue, library: Library | None, term: str, limit: int, country: str) -> list[SearchResult]:
    """Songs matching `term` in the catalogue, flagged with what the library already holds."""
    return with_library_flags(catalogue.search(term, limit, country), library)
