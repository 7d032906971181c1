"""Small HTTP helpers shared by the catalogue client and the preview cache."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests

_REASONS = (
    ("NameResolutionError", "cannot resolve host"),
    ("Name or service not known", "cannot resolve host"),
    ("Temporary failure in name resolution", "cannot resolve host"),
    ("Connection refused", "connection refused"),
    ("RemoteDisconnected", "connection closed without an answer"),
    ("Connection reset", "connection reset"),
    ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
)


def strip_query(url: str) -> str:
    """A URL without its query string or fragment, for messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def describe(exc: requests.RequestException) -> str:
    """A short reason for a transport error instead of urllib3's paragraph."""
    text = repr(exc)
    for needle, reason in _REASONS:
        if needle in text:
            return reason
    return f"connection error ({type(exc).__name__})"


def unresolvable(exc: requests.RequestException) -> bool:
    """True when the host name does not resolve: offline or a typo, not worth minutes of retries."""
    return describe(exc) == "cannot resolve host"
