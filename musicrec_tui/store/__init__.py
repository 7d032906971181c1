"""The library store: `open_library(url)` picks the backend by URL scheme; `Library` is what callers may use."""

from __future__ import annotations

from .base import SqlLibrary
from .protocol import Library
from .url import DbUrl, parse_db_url

__all__ = ["DbUrl", "Library", "SqlLibrary", "open_library", "parse_db_url"]


def open_library(url: str | DbUrl) -> SqlLibrary:
    """Open the library at `url` (sqlite:///… or mysql://…), creating and migrating its schema as needed."""
    parsed = parse_db_url(url) if isinstance(url, str) else url
    if parsed.scheme == "sqlite":
        from .sqlite import SqliteLibrary

        return SqliteLibrary.open(parsed)
    from .mysql import MysqlLibrary

    return MysqlLibrary.open(parsed)
