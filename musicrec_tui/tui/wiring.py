"""Adapters from the core's pieces to the app's Services: ingest pipeline, recommender, artwork download."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.errors import DownloadError
from .services import Similar

ARTWORK_MAX_BYTES = 2 * 1024 * 1024


def download_bytes(url: str, timeout: float = 10.0) -> bytes:
    """GET a small file (artwork) into memory, capped; DownloadError with one line otherwise."""
    import requests

    try:
        with requests.get(url, timeout=timeout, stream=True) as resp:
            if resp.status_code != 200:
                raise DownloadError(f"HTTP {resp.status_code} for artwork")
            data = bytearray()
            for chunk in resp.iter_content(65536):
                data += chunk
                if len(data) > ARTWORK_MAX_BYTES:
                    raise DownloadError("artwork larger than 2 MB")
            return bytes(data)
    except requests.RequestException as exc:
        raise DownloadError(f"cannot fetch artwork: {type(exc).__name__}") from None


def make_recommender(extractor_name: str | None) -> Callable[[Any, Sequence[int], int, bool], list[Similar]]:
    """Rank with core/index.py + core/recommend.py; the index is rebuilt when the library's vectors change."""
    cache: dict[str, Any] = {}

    def recommend_for(library: Any, seeds: Sequence[int], k: int, exclude_artist: bool) -> list[Similar]:
        from ..core import features
        from ..core.index import SimilarityIndex
        from ..core.recommend import recommend

        extractor = features.get(extractor_name)
        stamp = (extractor.name, extractor.version, library.vector_counts().get((extractor.name, extractor.version)))
        if cache.get("stamp") != stamp:
            matrix = library.load_matrix(extractor.name, extractor.version)
            cache["index"] = SimilarityIndex(matrix, extractor.groups)
            cache["stamp"] = stamp
        index = cache["index"]
        ids = [int(i) for i in index.ids] if hasattr(index, "ids") else []
        tracks = library.get_tracks(ids)
        found = recommend(index, tracks, list(seeds), k=k, exclude_artist=exclude_artist)
        return [Similar(n.rank, float(n.score), n.track, tuple(n.groups)) for n in found]

    return recommend_for
