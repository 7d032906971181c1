"""Build the app's collaborators from Settings, in one place, for the CLI, the TUI and the tests."""

from __future__ import annotations

from .config import Settings, ensure_writable_dir
from .core.fetch import PreviewCache
from .core.itunes import ItunesClient
from .ingest.pipeline import IngestPipeline
from .store import open_library
from .store.base import SqlLibrary


def make_itunes_client(settings: Settings, **overrides: object) -> ItunesClient:
    """The catalogue client; `overrides` (e.g. fewer retries for an interactive search) win over settings."""
    options: dict[str, object] = {"rate_per_minute": settings.itunes_rate_per_minute,
                                  "timeout": settings.itunes_timeout, "max_retries": settings.itunes_max_retries,
                                  "transient_retries": settings.itunes_transient_retries,
                                  "allow_hosts": settings.redirect_hosts}
    options.update(overrides)
    return ItunesClient(settings.itunes_base_url, **options)  # type: ignore[arg-type]


def make_cache(settings: Settings, **overrides: object) -> PreviewCache:
    """The preview cache. It only probes a download (decodes its head): analysis decodes the whole file anyway,
    and the pipeline discards a preview whose analysis fails."""
    options: dict[str, object] = {"max_bytes": settings.cache_max_mb * 1024 * 1024,
                                  "max_file_bytes": settings.preview_max_mb * 1024 * 1024, "check": "probe",
                                  "allow_hosts": settings.redirect_hosts, "deadline": settings.download_deadline,
                                  "min_rate": settings.download_min_rate}
    options.update(overrides)
    return PreviewCache(ensure_writable_dir(settings.paths.previews_dir, "cache"), **options)  # type: ignore[arg-type]


def make_library(settings: Settings) -> SqlLibrary:
    return open_library(settings.db_url)


def make_pipeline(settings: Settings, library: SqlLibrary, **kwargs: object) -> IngestPipeline:
    """An ingest pipeline over `library`; kwargs go to IngestPipeline (on_event, workers, extractor ...)."""
    kwargs.setdefault("lookup", make_itunes_client(settings).lookup)
    return IngestPipeline(settings, library, cache=make_cache(settings), **kwargs)  # type: ignore[arg-type]
