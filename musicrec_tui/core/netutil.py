"""Small HTTP helpers shared by the catalogue client and the preview cache."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

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
    """A URL without its query string or fragment, and credentials masked, for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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


# ---- redirects ---------------------------------------------------------------------------------------------

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# Hosts a redirect may lead to besides the URL's own host: Apple's catalogue and preview/artwork CDNs.
# `*.example.com` matches example.com and every subdomain; config `[network] redirect_hosts` replaces it.
DEFAULT_REDIRECT_HOSTS: tuple[str, ...] = ("*.apple.com", "*.mzstatic.com")


class RedirectRefused(Exception):
    """A redirect the app will not follow: another host, another scheme, a loop or too many hops."""


def host_allowed(host: str, origin_host: str, allow: tuple[str, ...]) -> bool:
    """True when `host` is `origin_host` or matches an allow-list entry (exact, or `*.domain`)."""
    host = host.lower().rstrip(".")
    if host == origin_host.lower().rstrip("."):
        return True
    for entry in allow:
        pattern = entry.strip().lower().rstrip(".")
        if pattern.startswith("*."):
            domain = pattern[2:]
            if host == domain or host.endswith("." + domain):
                return True
        elif host == pattern:
            return True
    return False


def get_following(session: requests.Session, url: str, *, allow_hosts: tuple[str, ...] = (),
                  max_redirects: int = MAX_REDIRECTS, **kwargs: object) -> requests.Response:
    """GET `url`, following redirects ourselves: only to http(s), only to the same host or an allowed one,
    at most `max_redirects` hops, and a URL seen twice (a loop) fails at once. RedirectRefused otherwise.

    `kwargs` go to `session.get` (stream, timeout, headers, params: params only on the first request)."""
    origin = urlsplit(url).hostname or ""
    seen = {url}
    current = url
    for hop in range(max_redirects + 1):
        resp = session.get(current, allow_redirects=False, **kwargs)  # type: ignore[arg-type]
        if resp.status_code not in REDIRECT_STATUSES:
            return resp
        location = resp.headers.get("Location")
        resp.close()
        if not location:
            raise RedirectRefused(f"HTTP {resp.status_code} redirect without a Location")
        target = urljoin(resp.url or current, location)
        parts = urlsplit(target)
        shown = strip_query(target)
        if parts.scheme not in ("http", "https"):
            raise RedirectRefused(f"redirect to a {parts.scheme or 'bad'} URL refused")
        if not host_allowed(parts.hostname or "", origin, allow_hosts):
            raise RedirectRefused(f"redirect to another host refused ({shown})")
        if target in seen:
            raise RedirectRefused(f"redirect loop ({shown})")
        if hop >= max_redirects:
            break
        seen.add(target)
        current = target
        kwargs.pop("params", None)
    raise RedirectRefused(f"more than {max_redirects} redirects")
