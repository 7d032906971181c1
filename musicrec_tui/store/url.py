"""Database URLs: `sqlite:///ABSOLUTE/PATH.sqlite3` or `mysql://USER:PASSWORD@HOST:PORT/DATABASE`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..core.errors import ConfigError

EXPECTED = "expected sqlite:///ABSOLUTE/PATH.sqlite3 or mysql://USER:PASSWORD@HOST:PORT/DATABASE"


@dataclass(frozen=True, slots=True)
class DbUrl:
    """A parsed database URL. `str()` and `repr()` never show the password."""

    scheme: str
    path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = ""
    password: str = field(default="", repr=False)
    database: str = ""

    def masked(self) -> str:
        """The URL with the password replaced by ***."""
        if self.scheme == "sqlite":
            return f"sqlite://{self.path}"
        auth = self.user + (":***" if self.password else "")
        return f"mysql://{auth}@{self.host}:{self.port}/{self.database}"

    @property
    def where(self) -> str:
        """Where the database lives, for messages: a path or host:port."""
        return str(self.path) if self.scheme == "sqlite" else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.masked()


def parse_db_url(url: str) -> DbUrl:
    """Parse and validate a database URL; ConfigError saying the expected form otherwise."""
    text = (url or "").strip()
    scheme, sep, _ = text.partition("://")
    if not sep:
        raise ConfigError(f"malformed database URL {mask_url(text)!r}: {EXPECTED}")
    scheme = scheme.lower()
    if scheme in ("sqlite", "sqlite3"):
        raw = text[len(scheme) + 3:]
        if not raw.startswith("/") or raw in ("/", ""):
            raise ConfigError(f"malformed database URL {mask_url(text)!r}: {EXPECTED}")
        path = Path("/" + unquote(raw).lstrip("/"))
        if "\x00" in str(path):
            raise ConfigError(f"malformed database URL {mask_url(text)!r}: {EXPECTED}")
        return DbUrl("sqlite", path=path)
    if scheme in ("mysql", "mariadb", "mysql+mysqlconnector"):
        try:
            parts = urlsplit(text)
            port = parts.port or 3306
        except ValueError:
            raise ConfigError(f"malformed database URL {mask_url(text)!r}: {EXPECTED}") from None
        database = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not database or "/" in database:
            raise ConfigError(f"malformed database URL {mask_url(text)!r}: {EXPECTED}")
        return DbUrl("mysql", host=parts.hostname, port=port, user=unquote(parts.username or ""),
                      password=unquote(parts.password or ""), database=database)
    raise ConfigError(f"unknown database scheme {scheme!r}: {EXPECTED}")


def mask_url(url: str) -> str:
    """Hide any password in a URL-ish string, even a malformed one: `scheme://user:***@host/...`.

    Only the authority (between `://` and the next `/`, `?` or `#`) is looked at, so an `@` or `:` later in
    the path or query is left alone."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    auth, at, host = authority.rpartition("@")
    if not at:
        return url
    user, colon, _ = auth.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}{tail}"
