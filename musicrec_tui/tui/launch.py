"""Run the app: Services built from Settings by the application layer's factory, the last UI state applied."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Settings, load_ui_state

if TYPE_CHECKING:
    from ..app.services import Services
    from .app import MusicrecApp


def make_app(settings: Settings, services: Services | None = None) -> MusicrecApp:
    """The app with the last UI state applied and its services injected (built from settings when None)."""
    from ..app.factory import make_services
    from .app import MusicrecApp

    settings = load_ui_state(settings)
    return MusicrecApp(settings, services if services is not None else make_services(settings))


def launch(settings: Settings) -> int:
    app = make_app(settings)
    try:
        app.run()
    finally:
        app.session.player.close()
        app.session.close()
    return app.return_code or 0
