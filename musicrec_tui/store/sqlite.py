"""SQLite backend: stdlib sqlite3, WAL, foreign keys on, a busy timeout for a second writer."""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from ..core.errors import StoreBusy, StoreError, StoreUnavailable
from ..core.files import create_private, private_dir
from ..core.models import Track
from .base import KEEP_IF_NULL, TRACK_COLUMNS, SqlLibrary
from .migrations import Migration, load_migrations
from .url import DbUrl

BUSY_TIMEOUT_S = 30.0


class SqliteLibrary(SqlLibrary):
    dialect = "sqlite"
    ph = "?"

    @classmethod
    def open(cls, url: DbUrl, migrations: list[Migration] | None = None,
             busy_timeout: float = BUSY_TIMEOUT_S) -> SqliteLibrary:
        """Open (creating if needed) and migrate to the latest schema."""
        assert url.path is not None
        folder = url.path.parent
        try:
            private_dir(folder)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create library folder {folder}: {exc.strerror or exc}") from None
        if url.path.exists() and not os.access(url.path, os.R_OK | os.W_OK):
            raise StoreUnavailable(f"cannot open library {url.path}: permission denied")
        if not os.access(folder, os.W_OK):
            raise StoreUnavailable(f"cannot write in library folder {folder}: permission denied")
        try:
            create_private(url.path)  # 0600 before SQLite creates it; its -wal and -shm files follow its mode
        except OSError as exc:
            raise StoreUnavailable(f"cannot create library {url.path}: {exc.strerror or exc}") from None
        try:
            conn = sqlite3.connect(str(url.path), timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open library {url.path}: {exc}") from None
        lib = cls(url, conn)
        lib.migrate(migrations if migrations is not None else load_migrations("sqlite"))
        return lib

    def migrate(self, migrations: list[Migration]) -> int:
        """Apply missing migrations, each in its own transaction with its version row. Returns the version.

        An up-to-date library is only read: opening it takes no write lock."""
        try:
            done = {int(r[0]) for r in self._read("SELECT version FROM schema_version")}
        except StoreError:
            done = set()
        if done and all(m.version in done for m in migrations):
            return max(done)
        with self.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                        "name TEXT NOT NULL, applied_at REAL NOT NULL)")
        for mig in migrations:
            with self.transaction() as cur:  # BEGIN IMMEDIATE: a concurrent opener waits, then sees it done
                cur.execute("SELECT 1 FROM schema_version WHERE version = ?", (mig.version,))
                if cur.fetchone():
                    continue
                for stmt in mig.statements:
                    cur.execute(stmt)
                cur.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                            (mig.version, mig.name, time.time()))
        return self.schema_version()

    def _begin(self, cur: Any, write: bool = True) -> None:
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def _upsert_track_sql(self) -> str:
        cols = ", ".join((*TRACK_COLUMNS, "created_at", "updated_at"))
        marks = ", ".join("?" * (len(TRACK_COLUMNS) + 2))
        updates = ", ".join(_update_clause(c) for c in TRACK_COLUMNS[2:])
        return (f"INSERT INTO tracks ({cols}) VALUES ({marks}) ON CONFLICT (source, external_id) "
                f"DO UPDATE SET {updates}, updated_at = excluded.updated_at")

    def _after_upsert_id(self, cur: Any, track: Track) -> int:
        cur.execute("SELECT id FROM tracks WHERE source = ? AND external_id = ?", (track.source, track.external_id))
        return int(cur.fetchone()[0])

    def _upsert_vector_sql(self) -> str:
        return ("INSERT INTO vectors (track_id, extractor, version, dim, data, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (track_id, extractor) DO UPDATE SET version = excluded.version, dim = excluded.dim, "
                "data = excluded.data, created_at = excluded.created_at")

    def _insert_job_sql(self) -> str:
        return ("INSERT INTO jobs (source, external_id, payload, state, created_at, updated_at) "
                "VALUES (?, ?, ?, 'queued', ?, ?) ON CONFLICT (source, external_id) DO NOTHING")

    def _claim_job_ids(self, cur: Any, limit: int) -> list[int]:
        # The transaction holds SQLite's single write lock (BEGIN IMMEDIATE), so no one else can claim meanwhile.
        cur.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT ?", (int(limit),))
        return [int(r[0]) for r in cur.fetchall()]

    def _translate(self, exc: Exception) -> Exception | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return StoreBusy(f"library {self.url.path} is busy: another process is writing to it",
                             hint="wait for it to finish, or use a MySQL library for several writers")
        if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and (
                "disk" in text or "readonly" in text or "not a database" in text or "unable to open" in text):
            return StoreUnavailable(f"library {self.url.path}: {text}")
        return StoreError(f"library {self.url.path}: {text}")


def _update_clause(col: str) -> str:
    if col in KEEP_IF_NULL:
        return f"{col} = COALESCE(excluded.{col}, tracks.{col})"
    return f"{col} = excluded.{col}"
