"""Names shared by the server, the app process and the page."""

from ..playback.browser import AUDIO_MESSAGE

__all__ = ["AUDIO_MESSAGE"]
