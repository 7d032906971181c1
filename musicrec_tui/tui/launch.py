"""The app factory: build everything the app talks to from Settings, inject it, run. Tests reuse `make_app`."""

from __future__ import annotations

from typing import Any

from ..config import Settings, load_ui_state


def make_services(settings: Settings) -> Any:
    """The real Services: library opener, iTunes client, preview cache, player, pipeline factory, recommender."""
    from ..core.fetch import PreviewCache
    from ..core.itunes import ItunesClient
    from ..playback import QueueItem, make_player
    from ..store import open_library
    from .services import Services
    from .wiring import download_bytes, make_pipeline_factory, make_recommender

    itunes = ItunesClient(settings.itunes_base_url, rate_per_minute=settings.itunes_rate_per_minute,
                          timeout=settings.itunes_timeout, max_retries=settings.itunes_max_retries)
    cache = PreviewCache(settings.paths.previews_dir, max_bytes=settings.cache_max_mb * 1024 * 1024,
                         max_file_bytes=settings.preview_max_mb * 1024 * 1024)
    return Services(
        open_library=lambda: open_library(settings.db_url),
        catalogue=itunes,
        previews=cache,
        player=make_player(settings.playback_device),
        make_pipeline=make_pipeline_factory(settings),
        recommend=make_recommender(settings.extractor),
        queue_item=lambda path, title, track: QueueItem(path, title, track),
        extractor=settings.extractor,
        download=download_bytes,
        artwork_dir=settings.paths.artwork_dir,
        country=settings.itunes_country,
    )


def make_app(settings: Settings, services: Any | None = None) -> Any:
    """The app with the last UI state applied and its services injected (built from settings when None)."""
    from .app import MusicrecApp

    settings = load_ui_state(settings)
    return MusicrecApp(settings, services if services is not None else make_services(settings))


def launch(settings: Settings) -> int:
    app = make_app(settings)
    try:
        app.run()
    finally:
        app.services.player.close()
    return app.return_code or 0
