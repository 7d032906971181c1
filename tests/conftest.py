"""Shared fixtures: a fresh library per test on each backend (SQLite always, MySQL when configured), and a
fake iTunes server over real HTTP."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from musicrec_tui.store.url import parse_db_url
from tests.fake_itunes import FakeClock, FakeItunes, Previews

MYSQL_ENV = "MUSICREC_TEST_MYSQL_URL"  # mysql://USER:PASSWORD@HOST:PORT/PREFIX; the user may create PREFIX_* dbs
REQUIRE_ENV = "MUSICREC_REQUIRE_MYSQL"  # set by CI: a MySQL test that would skip fails instead
BACKENDS = ["sqlite", "mysql"]


def mysql_base_url() -> str | None:
    url = os.environ.get(MYSQL_ENV, "").strip()
    if not url:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set but {MYSQL_ENV} is not: MySQL tests must run here")
        pytest.skip(f"MySQL tests need {MYSQL_ENV}=mysql://USER:PASSWORD@127.0.0.1:3306/PREFIX (see README)")
    return url


def _mysql_admin(base: str):
    import mysql.connector

    u = parse_db_url(base)
    try:
        return mysql.connector.connect(host=u.host, port=u.port, user=u.user, password=u.password,
                                       use_pure=True, connection_timeout=5, autocommit=True)
    except mysql.connector.Error as exc:
        pytest.fail(f"{MYSQL_ENV} is set but MySQL at {u.where} refused: {exc.msg}")


def fresh_mysql_url(base: str) -> tuple[str, str]:
    """Create an empty database named PREFIX_<random>; returns (url, name)."""
    u = parse_db_url(base)
    name = f"{u.database}_{secrets.token_hex(4)}"
    conn = _mysql_admin(base)
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    url = base.rsplit("/", 1)[0] + "/" + name
    return url, name


def drop_mysql_db(base: str, name: str) -> None:
    conn = _mysql_admin(base)
    conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@contextmanager
def fresh_mysql_database() -> Iterator[str]:
    """A URL to a fresh, empty database on the test server, dropped afterwards."""
    base = mysql_base_url()
    assert base is not None
    url, name = fresh_mysql_url(base)
    try:
        yield url
    finally:
        drop_mysql_db(base, name)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a fresh, empty library database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'library.sqlite3'}"
        return
    with fresh_mysql_database() as url:
        yield url


@pytest.fixture
def library(db_url: str):
    from musicrec_tui.store import open_library

    lib = open_library(db_url)
    try:
        yield lib
    finally:
        lib.close()


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and XDG dirs inside tmp_path, and no MUSICREC_* variables leaking in from the shell."""
    for var in list(os.environ):
        if var.startswith("MUSICREC_") and var not in (MYSQL_ENV, REQUIRE_ENV):
            monkeypatch.delenv(var)
    for var, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                     ("XDG_CACHE_HOME", "cache")):
        (tmp_path / sub).mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


# ---- the fake iTunes server ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_previews() -> Previews:
    """Real AAC/m4a previews, encoded once per session on first use."""
    return Previews()


@pytest.fixture
def fake_itunes(fake_previews: Previews) -> Iterator[FakeItunes]:
    """A fresh fake iTunes server on 127.0.0.1 (empty catalogue, no faults, its own FakeClock in .clock)."""
    with FakeItunes(fake_previews, clock=FakeClock()) as server:
        yield server


RW_ENV = "MUSICREC_TEST_MYSQL_RW_URL"  # a user with only SELECT/INSERT/UPDATE/DELETE on the PREFIX_* dbs
RW_USER, RW_PASSWORD = "musicrec_ci_rw", "ci-Rw-Pa55word"


def mysql_rw_base_url(base: str) -> str:
    """The least-privilege user's base URL: from RW_ENV (set by .ci/run), else created here as root when
    root is reachable without a password (this machine, CI); otherwise the test skips (fails under CI)."""
    url = os.environ.get(RW_ENV, "").strip()
    if url:
        return url
    import mysql.connector

    u = parse_db_url(base)
    try:
        conn = mysql.connector.connect(host=u.host, port=u.port, user="root", password="", use_pure=True,
                                       connection_timeout=5, autocommit=True)
    except mysql.connector.Error:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{RW_ENV} is not set and root cannot create the least-privilege user")
        pytest.skip(f"least-privilege tests need {RW_ENV} (see .ci/run)")
    cur = conn.cursor()
    pattern = u.database.replace("_", "\\_") + "%"
    for host in ("localhost", "127.0.0.1"):
        cur.execute(f"CREATE USER IF NOT EXISTS '{RW_USER}'@'{host}' IDENTIFIED BY '{RW_PASSWORD}'")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{pattern}`.* TO '{RW_USER}'@'{host}'")
    conn.close()
    return f"mysql://{RW_USER}:{RW_PASSWORD}@{u.host}:{u.port}/{u.database}"


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A URL to a fresh, empty MySQL database (MySQL-only tests)."""
    with fresh_mysql_database() as url:
        yield url
