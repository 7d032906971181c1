"""The app as served to a web browser (`musicrec serve`): the same app, with a player that plays in the tab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..playback.browser import BrowserPlayer

if TYPE_CHECKING:
    from .app import MusicrecApp


def browser_sender(app: MusicrecApp) -> Any:
    """A `send(message)` for BrowserPlayer: writes a meta packet through the web driver, on the app's thread."""

    def write(message: dict[str, Any]) -> None:
        driver = getattr(app, "_driver", None)
        write_meta = getattr(driver, "write_meta", None)
        if write_meta is not None:
            write_meta(message)

    def send(message: dict[str, Any]) -> None:
        try:
            app.call_from_thread(write, message)
        except RuntimeError:  # already on the app's thread (or it is not running: write() then does nothing)
            write(message)

    return send


def make_browser_app(settings: Settings) -> MusicrecApp:
    from ..app.factory import make_services
    from .launch import make_app

    app: MusicrecApp | None = None

    def send(message: dict[str, Any]) -> None:
        if app is not None:
            browser_sender(app)(message)

    services = make_services(settings, player=BrowserPlayer(send))
    app = make_app(settings, services)
    return app
