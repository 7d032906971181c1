"""Settings layering: defaults < config file < environment < flags; paths; bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicrec_tui.config import (
    DEFAULT_ITUNES_URL,
    load_settings,
    load_ui_state,
    save_ui_state,
)
from musicrec_tui.core.errors import ConfigError
from musicrec_tui.store.url import mask_url, parse_db_url


def test_defaults_use_platformdirs(isolated_env: Path) -> None:
    s = load_settings(env={})
    assert s.itunes_base_url == DEFAULT_ITUNES_URL
    assert str(s.paths.data_dir).startswith(str(isolated_env / "data"))
    assert str(s.paths.cache_dir).startswith(str(isolated_env / "cache"))
    assert s.db_url == f"sqlite://{s.paths.data_dir / 'library.sqlite3'}"
    assert parse_db_url(s.db_url).path == s.paths.data_dir / "library.sqlite3"


def test_layers_file_then_env_then_flags(isolated_env: Path) -> None:
    cfg = isolated_env / "c.toml"
    cfg.write_text('[itunes]\nbase_url = "http://file.example"\ncountry = "GB"\nrate_per_minute = 10\n'
                   '[library]\nurl = "sqlite:///from/file.sqlite3"\n[keys]\nplay_pause = "p"\n'
                   '[cache]\nkeep_previews = false\n', encoding="utf-8")
    s = load_settings(cfg, env={})
    assert (s.itunes_base_url, s.itunes_country, s.itunes_rate_per_minute) == ("http://file.example", "GB", 10.0)
    assert s.db_url == "sqlite:///from/file.sqlite3" and s.keymap == {"play_pause": "p"}
    assert s.cache_keep_previews is False
    s = load_settings(cfg, env={"MUSICREC_ITUNES_URL": "http://env.example", "MUSICREC_DB": "sqlite:///env.db"})
    assert (s.itunes_base_url, s.db_url, s.itunes_country) == ("http://env.example", "sqlite:///env.db", "GB")
    s = load_settings(cfg, env={"MUSICREC_ITUNES_URL": "http://env.example"},
                      flags={"itunes_base_url": "http://flag.example", "db_url": None})
    assert s.itunes_base_url == "http://flag.example" and s.db_url == "sqlite:///from/file.sqlite3"


def test_config_file_in_config_dir_is_read(isolated_env: Path) -> None:
    first = load_settings(env={})
    first.paths.config_dir.mkdir(parents=True)
    (first.paths.config_dir / "config.toml").write_text('[ui]\nk = 7\n', encoding="utf-8")
    assert load_settings(env={}).ui_k == 7


def test_path_overrides(isolated_env: Path) -> None:
    s = load_settings(env={"MUSICREC_DATA_DIR": str(isolated_env / "d")}, flags={"cache_dir": str(isolated_env / "c")})
    assert s.paths.data_dir == isolated_env / "d" and s.paths.cache_dir == isolated_env / "c"
    assert s.db_url == f"sqlite://{isolated_env / 'd' / 'library.sqlite3'}"


@pytest.mark.parametrize(("content", "message"), [
    ("[itunes\n", "not valid TOML"),
    ("[itunes]\ncolour = 1\n", "unknown setting"),
    ("[itunes]\nrate_per_minute = 'fast'\n", "bad value"),
    ("[library]\nurl = 'postgres://x/y'\n", "unknown database scheme"),
    ("[itunes]\nbase_url = 'ftp://x'\n", "bad iTunes URL"),
])
def test_bad_config_is_one_clear_error(isolated_env: Path, content: str, message: str) -> None:
    cfg = isolated_env / "bad.toml"
    cfg.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, env={})


def test_missing_explicit_config_file(isolated_env: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(isolated_env / "nope.toml", env={})


@pytest.mark.parametrize("url", ["", "library.db", "sqlite://relative.db", "sqlite:///", "mysql://host/",
                                 "mysql://u:p@:3306/db", "mysql://u:p@h:notaport/db", "redis://h/0"])
def test_bad_db_urls_say_the_expected_form(url: str) -> None:
    with pytest.raises(ConfigError, match=r"expected sqlite:///ABSOLUTE/PATH\.sqlite3 or mysql://"):
        parse_db_url(url)


def test_password_is_masked_everywhere() -> None:
    u = parse_db_url("mysql://bob:s3cr%40t@db.local:3307/music")
    assert (u.user, u.password, u.host, u.port, u.database) == ("bob", "s3cr@t", "db.local", 3307, "music")
    for text in (str(u), repr(u), u.masked()):
        assert "s3cr" not in text
    assert u.masked() == "mysql://bob:***@db.local:3307/music"
    assert mask_url("mysql://bob:hunter2@h:1/x") == "mysql://bob:***@h:1/x"
    with pytest.raises(ConfigError) as err:
        parse_db_url("mysql://bob:hunter2@h:notaport/x")
    assert "hunter2" not in str(err.value)


def test_ui_state_persists(isolated_env: Path) -> None:
    s = load_settings(env={})
    save_ui_state(s, theme="nord", k=12, exclude_artist=True, pane="library")
    again = load_ui_state(load_settings(env={}))
    assert (again.ui_theme, again.ui_k, again.ui_exclude_artist, again.ui_pane) == ("nord", 12, True, "library")


def test_example_config_is_valid_and_states_the_defaults(isolated_env: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "assets" / "config.example.toml"
    s = load_settings(example, env={})
    d = load_settings(env={})
    for name in ("itunes_base_url", "itunes_country", "itunes_rate_per_minute", "itunes_timeout",
                 "itunes_max_retries", "itunes_transient_retries", "cache_keep_previews", "cache_max_mb",
                 "preview_max_mb", "hubness", "explainer", "download_workers", "ui_k", "ui_exclude_artist",
                 "discover_sources", "discover_budget", "discover_requests", "discover_k", "discover_max_age_days",
                 "redirect_hosts", "download_deadline", "download_min_rate"):
        assert getattr(s, name) == getattr(d, name), name
    assert s.extractor == "musicnn"


def test_discover_settings(isolated_env: Path) -> None:
    cfg = isolated_env / "d.toml"
    cfg.write_text('[discover]\nsources = ["genre", "Terms"]\nbudget = 10\nrequests = 4\nmax_age_days = 2\n')
    s = load_settings(cfg, env={})
    assert (s.discover_sources, s.discover_budget, s.discover_requests, s.discover_max_age_days) == (
        ("genre", "terms"), 10, 4, 2.0)
    cfg.write_text('[discover]\nsources = ["genre", "charts"]\n')
    with pytest.raises(ConfigError, match="discover"):
        load_settings(cfg, env={})
