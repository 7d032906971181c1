"""The library store: `open_library(url)` picks the backend by URL scheme; `Library` is what callers may use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .url import DbUrl, parse_db_url

if TYPE_CHECKING:
    from .base import SqlLibrary
    from .protocol import Library

__all__ = ["DbUrl", "Library", "SqlLibrary", "open_library", "parse_db_url"]


def __getattr__(name: str) -> Any:
    """SqlLibrary and Library on first use: importing store.url (the settings mask a URL with it) must not load
    the SQL base and json before the TUI's first frame."""
    if name == "SqlLibrary":
        from .base import SqlLibrary

        return SqlLibrary
    if name == "Library":
        from .protocol import Library

        return Library
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_library(url: str | DbUrl) -> SqlLibrary:
    """Open the library at `url` (sqlite:///… or mysql://…), creating and migrating its schema as needed."""
    parsed = parse_db_url(url) if isinstance(url, str) else url
    if parsed.scheme == "sqlite":
        from .sqlite import SqliteLibrary

        return SqliteLibrary.open(parsed)
    from .mysql import MysqlLibrary

    return MysqlLibrary.open(parsed)
