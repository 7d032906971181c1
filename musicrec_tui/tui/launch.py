"""The app factory: build everything the app talks to from Settings, inject it, run. Tests reuse `make_app`."""

from __future__ import annotations

from typing import Any

from ..config import Settings, load_ui_state


def make_services(settings: Settings) -> Any:
    """The real Services: library opener, iTunes client, preview cache, player, pipeline factory, recommender."""
    from ..factory import make_cache, make_itunes_client, make_library, make_pipeline
    from ..playback import make_player
    from .services import Services
    from .wiring import download_bytes, make_recommender

    cache = make_cache(settings)
    return Services(
        open_library=lambda: make_library(settings),
        catalogue=make_itunes_client(settings),
        previews=cache,
        player=make_player(settings.playback_device),
        make_pipeline=lambda library, on_event: make_pipeline(settings, library, on_event=on_event),
        recommend=make_recommender(settings.extractor, settings.hubness),
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
