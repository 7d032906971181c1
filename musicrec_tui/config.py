"""Settings, layered: defaults < config.toml < environment < command-line flags. Paths from platformdirs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .core.errors import ConfigError

APP_NAME = "musicrec-tui"
DEFAULT_ITUNES_URL = "https://itunes.apple.com"
CONFIG_FILE_NAME = "config.toml"
UI_STATE_FILE_NAME = "ui-state.toml"

# environment variable → (section, key)
ENVIRONMENT = {
    "MUSICREC_DB": ("library", "url"),
    "MUSICREC_ITUNES_URL": ("itunes", "base_url"),
    "MUSICREC_COUNTRY": ("itunes", "country"),
    "MUSICREC_DATA_DIR": ("paths", "data_dir"),
    "MUSICREC_CACHE_DIR": ("paths", "cache_dir"),
    "MUSICREC_EXTRACTOR": ("analysis", "extractor"),
    "MUSICREC_WORKERS": ("analysis", "workers"),
    "MUSICREC_DEVICE": ("playback", "device"),
    "MUSICREC_TOKEN": ("serve", "token"),
}


@dataclass(frozen=True, slots=True)
class Paths:
    """Where the app keeps its config, its default library and its preview cache."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def default_db(self) -> Path:
        return self.data_dir / "library.sqlite3"

    @property
    def previews_dir(self) -> Path:
        return self.cache_dir / "previews"

    @property
    def artwork_dir(self) -> Path:
        return self.cache_dir / "artwork"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, resolved. Passed into the core; nothing deeper reads the environment."""

    paths: Paths
    db_url: str = field(repr=False)  # may hold a password: never in a repr (masked_db_url is for showing)
    config_file: Path | None = None
    itunes_base_url: str = field(default=DEFAULT_ITUNES_URL, repr=False)  # may hold credentials too
    itunes_country: str = "US"
    itunes_rate_per_minute: float = 20.0
    itunes_timeout: float = 10.0
    itunes_max_retries: int = 8
    itunes_transient_retries: int = 4
    cache_keep_previews: bool = True
    cache_max_mb: int = 2048
    preview_max_mb: int = 10
    extractor: str | None = None
    hubness: str = "mp"
    explainer: str | None = "handcrafted"
    approximate_above: int = 1_000_000  # rows from which recommend uses an approximate graph (0: never)
    analysis_workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    download_workers: int = 4
    playback_device: str | None = None
    keymap: Mapping[str, str] = field(default_factory=dict)
    ui_theme: str | None = None
    ui_pane: str | None = None
    ui_k: int = 10
    ui_exclude_artist: bool = False
    redirect_hosts: tuple[str, ...] = ("*.apple.com", "*.mzstatic.com")
    download_deadline: float = 120.0
    download_min_rate: float = 2048.0
    discover_sources: tuple[str, ...] = ("artist", "genre", "related", "terms")
    discover_budget: int = 50
    discover_requests: int = 12
    discover_k: int = 20
    discover_max_age_days: float = 30.0
    serve_token: str | None = field(default=None, repr=False)  # `musicrec serve`: a secret, never shown

    @property
    def masked_db_url(self) -> str:
        from .store.url import mask_url

        return mask_url(self.db_url)


def default_paths() -> Paths:
    """platformdirs locations for this user."""
    import platformdirs

    return Paths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )


# (section, key) → (Settings field, converter)
_KEYS: dict[tuple[str, str], tuple[str, Any]] = {
    ("library", "url"): ("db_url", str),
    ("itunes", "base_url"): ("itunes_base_url", str),
    ("itunes", "country"): ("itunes_country", str),
    ("itunes", "rate_per_minute"): ("itunes_rate_per_minute", float),
    ("itunes", "timeout"): ("itunes_timeout", float),
    ("itunes", "max_retries"): ("itunes_max_retries", int),
    ("itunes", "transient_retries"): ("itunes_transient_retries", int),
    ("cache", "keep_previews"): ("cache_keep_previews", "bool"),
    ("cache", "max_mb"): ("cache_max_mb", int),
    ("cache", "preview_max_mb"): ("preview_max_mb", int),
    ("analysis", "extractor"): ("extractor", str),
    ("analysis", "workers"): ("analysis_workers", int),
    ("similarity", "hubness"): ("hubness", str),
    ("similarity", "explainer"): ("explainer", str),
    ("similarity", "approximate_above"): ("approximate_above", int),
    ("analysis", "download_workers"): ("download_workers", int),
    ("playback", "device"): ("playback_device", str),
    ("ui", "theme"): ("ui_theme", str),
    ("ui", "pane"): ("ui_pane", str),
    ("ui", "k"): ("ui_k", int),
    ("ui", "exclude_artist"): ("ui_exclude_artist", "bool"),
    ("network", "redirect_hosts"): ("redirect_hosts", "hosts"),
    ("network", "download_deadline"): ("download_deadline", float),
    ("network", "min_rate"): ("download_min_rate", float),
    ("discover", "sources"): ("discover_sources", "sources"),
    ("discover", "budget"): ("discover_budget", int),
    ("discover", "requests"): ("discover_requests", int),
    ("discover", "k"): ("discover_k", int),
    ("discover", "max_age_days"): ("discover_max_age_days", float),
    ("serve", "token"): ("serve_token", str),
}
DISCOVER_SOURCES = ("artist", "genre", "related", "terms")
_PATH_KEYS = {"config_dir", "data_dir", "cache_dir"}


def load_settings(config_file: str | Path | None = None, env: Mapping[str, str] | None = None,
                  flags: Mapping[str, Any] | None = None, paths: Paths | None = None) -> Settings:
    """Resolve settings: defaults < config file < environment < flags (keys are Settings field names)."""
    env = os.environ if env is None else env
    base = paths or default_paths()
    explicit = config_file is not None
    cfg_path = Path(config_file).expanduser() if config_file is not None else base.config_dir / CONFIG_FILE_NAME
    layered: dict[str, Any] = {}
    path_over: dict[str, Path] = {}

    data = _read_toml(cfg_path, required=explicit)
    for section, table in data.items():
        if section == "keys" and isinstance(table, dict):
            layered["keymap"] = {str(k): str(v) for k, v in table.items()}
            continue
        if section == "paths" and isinstance(table, dict):
            for key, value in table.items():
                if key in _PATH_KEYS:
                    path_over[key] = Path(str(value)).expanduser()
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{cfg_path}: [{section}] must be a table")
        for key, value in table.items():
            _apply(layered, section, key, value, f"{cfg_path} [{section}] {key}")
    for var, (section, key) in ENVIRONMENT.items():
        value = env.get(var)
        if value:
            if section == "paths":
                path_over[key] = Path(value).expanduser()
            else:
                _apply(layered, section, key, value, f"environment {var}")
    for name, value in (flags or {}).items():
        if value is None:
            continue
        if name in _PATH_KEYS:
            path_over[name] = Path(value).expanduser()
        elif name in {f.name for f in fields(Settings)}:
            layered[name] = value
        else:
            raise ConfigError(f"unknown setting {name!r}")

    if layered.get("explainer") in ("", "none"):
        layered["explainer"] = None
    resolved = replace(base, **path_over) if path_over else base
    db_url = layered.pop("db_url", None) or f"sqlite://{resolved.default_db.resolve()}"
    settings = Settings(paths=resolved, db_url=db_url, config_file=cfg_path, **layered)
    _validate(settings)
    return settings


def _apply(target: dict[str, Any], section: str, key: str, value: Any, where: str) -> None:
    entry = _KEYS.get((section, key))
    if entry is None:
        raise ConfigError(f"unknown setting {where}")
    name, kind = entry
    try:
        if kind == "bool":
            target[name] = _to_bool(value)
        elif kind == "hosts":
            target[name] = _to_hosts(value)
        elif kind == "sources":
            target[name] = _to_sources(value)
        else:
            target[name] = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"bad value for {where}: {value!r}") from None


def _to_hosts(value: Any) -> tuple[str, ...]:
    """A list of host names (`*.example.com` for a domain and its subdomains), or one comma-separated string."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        raise ValueError(value)
    return tuple(v.strip().lower() for v in items if v.strip())
def _to_sources(value: Any) -> tuple[str, ...]:
    """A list of Discover sources (TOML array, or a comma-separated string from the environment)."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    names = tuple(dict.fromkeys(str(v).strip().lower() for v in items if str(v).strip()))
    unknown = [n for n in names if n not in DISCOVER_SOURCES]
    if unknown or not names:
        raise ValueError(value)
    return names


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _read_toml(path: Path, required: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            import tomllib  # only when there is a file to read (most starts have none): ~5 ms less to start

            try:
                return tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file not found: {path}") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None


def _validate(settings: Settings) -> None:
    from .store.url import mask_url, parse_db_url

    parse_db_url(settings.db_url)
    url = settings.itunes_base_url
    if not (url.startswith("http://") or url.startswith("https://")) or len(url) < 10:
        raise ConfigError(f"bad iTunes URL {mask_url(url)!r}: expected http(s)://HOST[:PORT][/PATH]")
    if settings.itunes_rate_per_minute <= 0:
        raise ConfigError("itunes.rate_per_minute must be positive")
    if settings.analysis_workers < 1 or settings.download_workers < 1:
        raise ConfigError("worker counts must be at least 1")
    if settings.hubness not in ("none", "mp"):
        raise ConfigError(f"similarity.hubness must be none or mp, not {settings.hubness!r}")
    if settings.download_deadline <= 0 or settings.download_min_rate < 0:
        raise ConfigError("network.download_deadline must be positive and network.min_rate 0 or more")
    if settings.approximate_above < 0:
        raise ConfigError("similarity.approximate_above must be 0 (never) or a number of tracks")
    if not 1 <= settings.ui_k <= 200:
        raise ConfigError("ui.k must be between 1 and 200")
    if settings.discover_budget < 0 or settings.discover_requests < 0 or not 1 <= settings.discover_k <= 200:
        raise ConfigError("discover: budget and requests must be 0 or more, k between 1 and 200")
    if settings.discover_max_age_days <= 0:
        raise ConfigError("discover.max_age_days must be positive")


def ensure_writable_dir(path: Path, what: str) -> Path:
    """Create a directory if needed and check it is writable; ConfigError naming the path otherwise."""
    from .core.files import private_dir

    try:
        private_dir(path)
    except OSError as exc:
        raise ConfigError(f"cannot create {what} directory {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} directory {path} is not writable")
    return path


def save_ui_state(settings: Settings, **values: Any) -> Path:
    """Persist UI choices (theme, pane, k, exclude_artist) to ui-state.toml in the config dir, atomically."""
    path = settings.paths.config_dir / UI_STATE_FILE_NAME
    current = _read_toml(path, required=False).get("ui", {})
    unknown = [k for k in values if ("ui", k) not in _KEYS]
    if unknown:
        raise ConfigError(f"unknown UI setting(s): {', '.join(unknown)}")
    current.update({k: v for k, v in values.items() if v is not None})
    ensure_writable_dir(path.parent, "config")
    lines = ["[ui]"] + [f"{k} = {_toml_value(v)}" for k, v in sorted(current.items())]
    from .core.files import write_private

    try:
        write_private(path, "\n".join(lines) + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot save UI state to {path}: {exc.strerror or exc}") from None
    return path


def load_ui_state(settings: Settings) -> Settings:
    """Settings with the last persisted UI choices (theme, pane, k, exclude_artist) applied on top."""
    state = _read_toml(settings.paths.config_dir / UI_STATE_FILE_NAME, required=False).get("ui", {})
    layered: dict[str, Any] = {}
    for key, value in state.items():
        if ("ui", key) in _KEYS:
            try:
                _apply(layered, "ui", key, value, f"ui-state {key}")
            except ConfigError:
                continue  # a stale or hand-edited state file never blocks start-up
    return replace(settings, **layered)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
