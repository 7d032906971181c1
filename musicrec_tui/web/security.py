"""Who may talk to the server: a token (constant-time compare) whenever one is set, and required off loopback;
on loopback without a token, only loopback Host names (a DNS-rebinding page cannot reach the API) and, for the
app's websocket, only pages of this server (WebSockets are not covered by the browser's same-origin rule)."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..core.errors import ConfigError

COOKIE = "musicrec_token"
QUERY = "token"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
MIN_TOKEN_LENGTH = 8

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the usual names of this machine's loopback."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen off loopback without a token, or with a token too short to mean anything."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"the token must be at least {MIN_TOKEN_LENGTH} characters long",
                          hint="e.g. MUSICREC_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe())')")
    if token is None and not is_loopback(host):
        raise ConfigError(f"serving on {host} needs a token: anyone who can reach it could use the app",
                          hint="pass --token, set MUSICREC_TOKEN or [serve] token in config.toml, "
                               "or bind to 127.0.0.1")


def _host_name(host_header: str) -> str:
    """The name part of a Host header value (no port), lower case."""
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def same_token(given: str | None, token: str) -> bool:
    """Constant-time comparison of a presented token with the server's."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def presented_token(request: web.Request) -> str | None:
    """The token a request carries: `Authorization: Bearer T`, the cookie set by the page, or `?token=T`."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    if COOKIE in request.cookies:
        return request.cookies[COOKIE]
    return request.query.get(QUERY)


def is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def deny(request: web.Request, status: int, message: str) -> web.Response:
    if is_api(request):
        return web.json_response({"error": message, "status": status}, status=status)
    return web.Response(status=status, text=message + "\n", content_type="text/plain")


def guard(token: str | None, loopback_only: bool) -> Middleware:
    """The middleware that admits a request or answers 401/403 (JSON on /api)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if loopback_only and not is_loopback(_host_name(request.host)):
            return deny(request, 403, "this server answers only to localhost names (it has no token)")
        if request.path == "/ws":
            origin = request.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
                return deny(request, 403, "the app's websocket is only for pages of this server")
        if token is not None:
            if not same_token(presented_token(request), token):
                hint = "send Authorization: Bearer TOKEN" if is_api(request) else "open /?token=TOKEN"
                return deny(request, 401, f"a valid token is needed: {hint}")
            if request.method == "GET" and request.path == "/" and QUERY in request.query:
                # keep the token out of the address bar and history: a cookie carries it from now on
                rest = request.rel_url.without_query_params(QUERY)
                response = web.HTTPSeeOther(location=str(rest))
                response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                                    secure=request.secure)
                raise response
        return await handler(request)

    return middleware
