"""Start the Textual app with everything it needs built and injected."""

from __future__ import annotations

from ..config import Settings


def launch(settings: Settings) -> int:
    from .app import MusicrecApp

    app = MusicrecApp(settings)
    app.run()
    return app.return_code or 0
