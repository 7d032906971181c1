"""Adapters from the core's pieces to the app's Services: ingest pipeline, recommender, artwork download."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..core.errors import DownloadError
from .services import Similar

ARTWORK_MAX_BYTES = 2 * 1024 * 1024


def download_bytes(url: str, timeout: float = 10.0) -> bytes:
    """GET a small file (artwork) into memory, capped; DownloadError with one line otherwise."""
    import requests

    from ..core.netutil import DEFAULT_REDIRECT_HOSTS, RedirectRefused, get_following

    try:
        with get_following(requests.Session(), url, allow_hosts=DEFAULT_REDIRECT_HOSTS, timeout=timeout,
                           stream=True) as resp:
            if resp.status_code != 200:
                raise DownloadError(f"HTTP {resp.status_code} for artwork")
            data = bytearray()
            for chunk in resp.iter_content(65536):
                data += chunk
                if len(data) > ARTWORK_MAX_BYTES:
                    raise DownloadError("artwork larger than 2 MB")
            return bytes(data)
    except RedirectRefused as exc:
        raise DownloadError(f"cannot fetch artwork: {exc}") from None
    except requests.RequestException as exc:
        raise DownloadError(f"cannot fetch artwork: {type(exc).__name__}") from None


def make_recommender(extractor: str | None, hubness: str = "mp", explainer: str | None = None
                     ) -> Callable[[Any, Sequence[int], int, bool], list[Similar]]:
    """Rank with the shared LibraryIndex (similarity.py): loaded once per library, kept current incrementally."""
    indexes: dict[int, Any] = {}
    lock = threading.Lock()

    def recommend_for(library: Any, seeds: Sequence[int], k: int, exclude_artist: bool) -> list[Similar]:
        from ..similarity import LibraryIndex

        with lock:
            index = indexes.get(id(library))
            if index is None or index.library is not library:
                index = indexes[id(library)] = LibraryIndex(library, extractor, hubness, explainer)
        found = index.similar(list(seeds), k=k, exclude_artist=exclude_artist)
        return [Similar(n.rank, float(n.score), n.track, n.why()) for n in found]

    return recommend_for
