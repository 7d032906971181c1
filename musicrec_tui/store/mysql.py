"""MySQL / MariaDB backend: mysql-connector-python (pure Python), InnoDB, utf8mb4."""

from __future__ import annotations

import re
import time
from typing import Any

from ..core.errors import StoreBusy, StoreConflict, StoreDenied, StoreError, StoreUnavailable
from ..core.models import Track
from .base import KEEP_IF_NULL, TRACK_COLUMNS, SqlLibrary
from .migrations import Migration, load_migrations
from .url import DbUrl

CONNECT_TIMEOUT_S = 5
LOCK_NAME = "musicrec_migrate"

# errno → (cause, hint); the password is never part of either.
_CONNECT_ERRORS: dict[int, tuple[str | None, str]] = {
    1045: ("access denied for user {user!r}", "check the user name and password in the URL"),
    1044: ("access denied to database {database!r}",
           "does it exist? create it, then GRANT ALL ON {database}.* TO the user"),
    1049: ("unknown database {database!r}",
           "create it: CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
    2003: ("connection refused or timed out", "is the server running and listening on that port?"),
    2005: ("unknown host", "check the host name in the URL"),
    2013: ("lost connection during handshake", "is it a MySQL server on that port?"),
}


class MysqlLibrary(SqlLibrary):
    dialect = "mysql"
    ph = "%s"

    @classmethod
    def open(cls, url: DbUrl, migrations: list[Migration] | None = None) -> MysqlLibrary:
        """Connect and migrate to the latest schema; StoreUnavailable with host:port and a hint otherwise."""
        import mysql.connector

        try:
            conn = mysql.connector.connect(
                host=url.host, port=url.port, user=url.user, password=url.password, database=url.database,
                use_pure=True, charset="utf8mb4", collation="utf8mb4_unicode_ci", autocommit=False,
                connection_timeout=CONNECT_TIMEOUT_S, get_warnings=False,
            )
        except mysql.connector.Error as exc:
            raise _connect_error(url, exc) from None
        except (OSError, ValueError) as exc:
            raise StoreUnavailable(f"cannot connect to MySQL at {url.where}: {type(exc).__name__}") from None
        lib = cls(url, conn)
        with lib.transaction() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        lib.migrate(migrations if migrations is not None else load_migrations("mysql"))
        return lib

    def migrate(self, migrations: list[Migration]) -> int:
        """Apply missing migrations under a named lock so concurrent openers do not race. Returns the version.

        An up-to-date library is only read (no DDL, no lock), so a user with SELECT/INSERT/UPDATE/DELETE alone
        can use it. When a migration is pending and the user may not run it, one line names the privilege."""
        done = self._applied_versions()
        if done is not None and all(m.version in done for m in migrations):
            return max(done, default=0)
        with self.transaction() as cur:
            cur.execute("SELECT GET_LOCK(%s, 60)", (LOCK_NAME,))
            if cur.fetchone()[0] != 1:
                raise StoreBusy(f"MySQL at {self.url.where}: another process is migrating the schema")
        try:
            if done is None:
                self._ddl(None, ["CREATE TABLE IF NOT EXISTS schema_version (version INT PRIMARY KEY, "
                                 "name VARCHAR(255) NOT NULL, applied_at DOUBLE NOT NULL) ENGINE=InnoDB"])
            done = self._applied_versions() or set()
            for mig in migrations:
                if mig.version in done:
                    continue
                # MySQL commits each DDL statement itself; the version row is written last.
                self._ddl(mig, mig.statements)
        finally:
            with self.transaction() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
                cur.fetchall()
        return self.schema_version()

    def _applied_versions(self) -> set[int] | None:
        """The migration versions recorded, or None when there is no schema_version table yet."""
        import mysql.connector

        try:
            with self._lock:
                cur = self._conn.cursor()
                try:
                    cur.execute("SELECT version FROM schema_version")
                    found = {int(r[0]) for r in cur.fetchall()}
                finally:
                    cur.close()
                    self._conn.rollback()
        except mysql.connector.Error as exc:
            if getattr(exc, "errno", None) == 1146:  # table doesn't exist: a new, empty database
                return None
            raise self._translate(exc) or exc from None
        return found

    def _ddl(self, mig: Migration | None, statements: tuple[str, ...] | list[str]) -> None:
        """Run one migration's statements (and record it); a missing privilege is one line naming it."""
        what = f"migration {mig.version:03d} ({mig.name})" if mig else "the schema_version table"
        try:
            with self.transaction() as cur:
                for stmt in statements:
                    cur.execute(stmt)
                if mig is not None:
                    cur.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                                (mig.version, mig.name, time.time()))
        except StoreDenied as exc:
            privilege = _denied_privilege(str(exc))
            raise StoreDenied(
                f"MySQL at {self.url.where}: the library needs {what}, but user {self.url.user!r} lacks the "
                f"{privilege} privilege on {self.url.database!r}",
                hint="run musicrec once as a user with ALL on the database (e.g. the one that created it), "
                     "then this user can use it with SELECT, INSERT, UPDATE and DELETE") from None

    def _upsert_track_sql(self) -> str:
        cols = ", ".join((*TRACK_COLUMNS, "created_at", "updated_at"))
        marks = ", ".join(["%s"] * (len(TRACK_COLUMNS) + 2))
        updates = ", ".join(
            f"{c} = COALESCE(VALUES({c}), {c})" if c in KEEP_IF_NULL else f"{c} = VALUES({c})"
            for c in TRACK_COLUMNS[2:]
        )
        return (f"INSERT INTO tracks ({cols}) VALUES ({marks}) ON DUPLICATE KEY UPDATE {updates}, "
                f"updated_at = VALUES(updated_at), id = LAST_INSERT_ID(id)")

    def _after_upsert_id(self, cur: Any, track: Track) -> int:
        return int(cur.lastrowid)

    def _upsert_vector_sql(self) -> str:
        return ("INSERT INTO vectors (track_id, extractor, version, dim, data, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE version = VALUES(version), "
                "dim = VALUES(dim), data = VALUES(data), created_at = VALUES(created_at)")

    def _insert_job_sql(self) -> str:
        return ("INSERT IGNORE INTO jobs (source, external_id, payload, state, created_at, updated_at) "
                "VALUES (%s, %s, %s, 'queued', %s, %s)")

    def _claim_job_ids(self, cur: Any, limit: int) -> list[int]:
        cur.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                    (int(limit),))
        return [int(r[0]) for r in cur.fetchall()]

    def _translate(self, exc: Exception) -> Exception | None:
        import mysql.connector

        if not isinstance(exc, mysql.connector.Error):
            return None
        errno = getattr(exc, "errno", None)
        msg = (getattr(exc, "msg", None) or type(exc).__name__).splitlines()[0][:200]
        if errno in (1205, 1213):
            return StoreConflict(f"MySQL at {self.url.where}: {msg}", hint="another writer held a lock; try again")
        if errno in (1142, 1143, 1044, 1227):
            return StoreDenied(f"MySQL at {self.url.where}: {msg}",
                               hint=f"GRANT the missing privilege to {self.url.user!r}")
        if isinstance(exc, mysql.connector.InterfaceError | mysql.connector.OperationalError) or errno in (
                2006, 2013, 2055):
            return StoreUnavailable(f"MySQL at {self.url.where} is unreachable: {msg}",
                                    hint="is the server running?")
        return StoreError(f"MySQL at {self.url.where}: {msg}")


def _denied_privilege(message: str) -> str:
    """`ALTER` from "...: ALTER command denied to user ..." (MySQL's 1142); a generic name otherwise."""
    match = re.search(r"\b([A-Z][A-Z ]*?) command denied", message)
    return match.group(1) if match else "CREATE/ALTER"


def _connect_error(url: DbUrl, exc: Exception) -> StoreUnavailable:
    errno: int = getattr(exc, "errno", None) or 0
    cause: str | None
    cause, hint = _CONNECT_ERRORS.get(errno, (None, "check the URL and that the server is running"))
    if cause is None:
        cause = (getattr(exc, "msg", None) or type(exc).__name__).splitlines()[0][:200]
        if url.password:
            cause = cause.replace(url.password, "***")
    fields = {"user": url.user, "database": url.database}
    return StoreUnavailable(f"cannot connect to MySQL at {url.where}: {cause.format(**fields)}",
                            hint=hint.format(**fields))
