"""The app as served to a web browser (`musicrec serve`): the same app, with a player that plays in the tab."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..playback.browser import BrowserPlayer


def browser_sender(app: Any) -> Any:
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


def make_browser_app(settings: Settings) -> Any:
    from .launch import make_app, make_services

    services = make_services(settings)
    app = make_app(settings, services)
    services.player = BrowserPlayer(browser_sender(app))
    return app
