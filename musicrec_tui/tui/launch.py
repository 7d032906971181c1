"""The app factory: build everything the app talks to from Settings, inject it, run. Tests reuse `make_app`."""

from __future__ import annotations

from typing import Any

from ..config import Settings, load_ui_state

INTERACTIVE_RETRIES = 3  # throttling retries for searches made from the app (the CLI uses itunes.max_retries)


def make_services(settings: Settings) -> Any:
    """The real Services. Clients, cache and player are built lazily (in the app's first worker): importing
    requests and probing PortAudio then costs nothing before the first frame."""
    from .services import Lazy, Services
    from .wiring import download_bytes, make_recommender

    def catalogue() -> Any:
        from ..factory import make_itunes_client

        # a person is waiting: give up on throttling after ~15 s of retries and say so, rather than after minutes
        return make_itunes_client(settings, max_retries=min(settings.itunes_max_retries, INTERACTIVE_RETRIES))

    def cache() -> Any:
        from ..factory import make_cache

        return make_cache(settings)

    def player() -> Any:
        from ..playback import make_player

        return make_player(settings.playback_device)

    previews = Lazy(cache)
    client = Lazy(catalogue)

    def pipeline(library: Any, on_event: Any) -> Any:
        from ..ingest.pipeline import IngestPipeline

        # an expired preview URL is refreshed by one lookup, as on the command line
        return IngestPipeline(settings, library, cache=previews.get(), on_event=on_event,
                              lookup=lambda ids: client.get().lookup(ids))

    def library() -> Any:
        from ..factory import make_library

        return make_library(settings)

    return Services(
        open_library=library,
        catalogue=client,
        previews=previews,
        player=Lazy(player),
        make_pipeline=pipeline,
        recommend=make_recommender(settings.extractor, settings.hubness, settings.explainer),
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
