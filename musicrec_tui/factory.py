"""Build the app's collaborators from Settings, in one place, for the CLI, the TUI and the tests."""

from __future__ import annotations

from .config import Settings, ensure_writable_dir
from .core.fetch import PreviewCache
from .core.itunes import ItunesClient
from .ingest.pipeline import IngestPipeline
from .store import open_library
from .store.base import SqlLibrary


def make_itunes_client(settings: Settings) -> ItunesClient:
    return ItunesClient(settings.itunes_base_url, rate_per_minute=settings.itunes_rate_per_minute,
                        timeout=settings.itunes_timeout, max_retries=settings.itunes_max_retries)


def make_cache(settings: Settings) -> PreviewCache:
    return PreviewCache(ensure_writable_dir(settings.paths.previews_dir, "cache"),
                        max_bytes=settings.cache_max_mb * 1024 * 1024,
                        max_file_bytes=settings.preview_max_mb * 1024 * 1024)


def make_library(settings: Settings) -> SqlLibrary:
    return open_library(settings.db_url)


def make_pipeline(settings: Settings, library: SqlLibrary, **kwargs: object) -> IngestPipeline:
    """An ingest pipeline over `library`; kwargs go to IngestPipeline (on_event, workers, extractor ...)."""
    return IngestPipeline(settings, library, cache=make_cache(settings), **kwargs)  # type: ignore[arg-type]
