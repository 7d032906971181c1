"""Secrets and files (issue 9): URL credentials masked wherever shown; the library, UI state and exports are
0600 in 0700 directories whatever the umask; `doctor` warns about a config with a password others can read."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_tui.app.doctor import _config_status
from musicrec_tui.app.export import write_export
from musicrec_tui.config import load_settings, save_ui_state
from musicrec_tui.core.models import Neighbour, Track
from musicrec_tui.store import open_library
from musicrec_tui.store.url import mask_url
from tests.test_cli import run

SECRET = "hunter2-S3cret"


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_sqlite_library_is_0600_in_a_0700_folder(tmp_path: Path, loose_umask: None) -> None:
    folder = tmp_path / "new" / "lib"
    lib = open_library(f"sqlite://{folder / 'library.sqlite3'}")
    try:
        lib.upsert_track(Track("itunes", "1", "t", "a"))
        for path in folder.iterdir():  # the database and its -wal / -shm files
            assert mode(path) == 0o600, path
    finally:
        lib.close()
    assert mode(folder) == 0o700


def test_ui_state_is_0600(isolated_env: Path, loose_umask: None) -> None:
    settings = load_settings()
    path = save_ui_state(settings, theme="nord", k=7)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


@pytest.mark.parametrize("name", ["list.json", "list.m3u"])
def test_exports_are_0600(tmp_path: Path, loose_umask: None, name: str) -> None:
    from types import SimpleNamespace

    track = Track("itunes", "1", "t\x1b[2J\u202e", "a", id=1)
    rec = SimpleNamespace(neighbours=(Neighbour(1, 0.5, track, (), 0.5),),
                          to_json=lambda: {"results": [{"title": track.title}]})
    path = write_export(tmp_path / "out" / name, rec)  # type: ignore[arg-type]
    assert "\x1b" not in path.read_text() and "\u202e" not in path.read_text()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")], "no temp file left"


def test_doctor_warns_about_a_readable_config_with_a_password(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[library]\nurl = "mysql://bob:{SECRET}@127.0.0.1:3306/music"\n')
    cfg.chmod(0o644)
    status, _, text = _config_status(cfg)
    assert status == "warn" and "others can read it" in text and "chmod 600" in text and SECRET not in text
    cfg.chmod(0o600)
    assert _config_status(cfg)[0] == "ok"
    plain = tmp_path / "plain.toml"
    plain.write_text('[itunes]\ncountry = "GB"\n')
    plain.chmod(0o644)
    assert _config_status(plain)[0] == "ok", "no password, nothing to hide"


@pytest.mark.parametrize("url", [f"https://bob:{SECRET}@host/x", f"http://:{SECRET}@h:1/a@b?x=1",
                                 f"mysql://bob:{SECRET}@h/db"])
def test_mask_url_hides_the_password(url: str) -> None:
    masked = mask_url(url)
    assert SECRET not in masked and "***" in masked
    assert mask_url("https://h:8080/a@b:c") == "https://h:8080/a@b:c", "an @ in the path is not credentials"


def test_itunes_url_credentials_are_never_printed(tmp_path: Path) -> None:
    url = f"http://bob:{SECRET}@127.0.0.1:9"
    for args in (["--itunes-url", url, "search", "x"], ["--itunes-url", url, "doctor", "--timeout", "0.3"],
                 ["--itunes-url", "ftp://bob:" + SECRET + "@x/", "library"]):
        proc = run(args, tmp_path, timeout=120)
        assert SECRET not in proc.stdout + proc.stderr, args
        assert "Traceback" not in proc.stderr


def test_doctor_output_never_holds_the_password(isolated_env: Path) -> None:
    from musicrec_tui.app.doctor import _itunes_status

    settings = load_settings(flags={"itunes_base_url": f"http://bob:{SECRET}@127.0.0.1:9"})
    out = io.StringIO()
    _status, text = _itunes_status(settings, 0.3)
    out.write(text)
    assert SECRET not in out.getvalue() and "bob:***@" in out.getvalue()


def test_settings_repr_never_holds_a_password(isolated_env: Path) -> None:
    settings = load_settings(flags={"db_url": f"mysql://bob:{SECRET}@h:3306/db",
                                    "itunes_base_url": f"http://bob:{SECRET}@127.0.0.1:9"})
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert SECRET not in settings.masked_db_url
