"""The Recommender the faces hold: one LibraryIndex (app/recommend.py) per open library, built on first use.

Its own small module so that building the Services (app/factory.py) imports neither numpy nor the index: the
TUI's first frame waits for none of them; the first recommendation, in a worker, loads them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.protocol import Library
    from .recommend import LibraryIndex


class Recommender:
    """One LibraryIndex per open library, built on first use (the TUI asks from several workers)."""

    def __init__(self, extractor: str | None, hubness: str = "mp", explainer: str | None = None,
                 cache_dir: Path | None = None, approximate_above: int = 0) -> None:
        self.extractor = extractor
        self.hubness = hubness
        self.explainer = explainer
        self.cache_dir = cache_dir  # with it, each library's index starts from its persisted copy
        self.approximate_above = approximate_above
        self._indexes: dict[int, LibraryIndex] = {}
        self._lock = threading.Lock()

    def for_library(self, library: Library) -> LibraryIndex:
        from ..store.matrix_cache import index_dir
        from ..store.url import DbUrl
        from .recommend import LibraryIndex

        with self._lock:
            index = self._indexes.get(id(library))
            if index is None or index.library is not library:
                url = getattr(library, "url", None)
                folder = index_dir(url, self.cache_dir) if self.cache_dir and isinstance(url, DbUrl) else None
                index = self._indexes[id(library)] = LibraryIndex(
                    library, self.extractor, self.hubness, self.explainer, index_dir=folder,
                    approximate_above=self.approximate_above, refit_on_change=False)
            return index
