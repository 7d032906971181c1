"""Doctor's checks: what the app would use and whether each piece works, as data (cli/doctor.py prints them)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..config import Settings
from ..core.errors import MusicrecError
from ..textfmt import human_bytes


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"

    @property
    def exit_code(self) -> int:
        """0 all well, 1 something works less well than it could, 2 the library is unusable."""
        return {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}[self]


OK, WARN, FAIL = Status.OK, Status.WARN, Status.FAIL


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    text: str
    label: str


def run_checks(settings: Settings, timeout: float) -> Iterator[Check]:
    """Every check, one at a time (the slow ones, analysis and the network, come last)."""
    cfg = settings.config_file
    status, label, text = _config_status(cfg)
    yield Check(status, text, label)
    for label, path in (("data dir", settings.paths.data_dir), ("cache dir", settings.paths.cache_dir)):
        status, text = _dir_status(path)
        yield Check(status, f"{path} ({text})" if status == OK else text, label)
    size, files = _folder_size(settings.paths.previews_dir)
    yield Check(OK, label="cache", text=f"{files} previews, {human_bytes(size)} of {settings.cache_max_mb} MB "
                             f"(keep previews: {'yes' if settings.cache_keep_previews else 'no'})")
    yield Check(*_analysis_status(settings), label="analysis")
    yield Check(*_library_status(settings), label="library")
    yield Check(*_playback_status(settings), label="playback")
    yield Check(*_itunes_status(settings, timeout), label="itunes")


def _config_status(cfg: Path | None) -> tuple[Status, str, str]:
    """The config file, and a warning when it holds a password that other users can read."""
    from ..core.files import readable_by_others

    if not (cfg and cfg.exists()):
        return OK, "config", f"{cfg} (not present: defaults in use)"
    if readable_by_others(cfg) and _holds_password(cfg):
        mode = cfg.stat().st_mode & 0o777
        return WARN, "config", (f"{cfg} holds a password and others can read it (mode {mode:04o}): "
                                f"chmod 600 {cfg}")
    return OK, "config", f"{cfg} (present)"


def _holds_password(cfg: Path) -> bool:
    """A database URL with a password (user:password@) anywhere in the file, or a password/token key."""
    import re

    try:
        text = cfg.read_text("utf-8", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"://[^/\s\"'@]*:[^/\s\"'@]+@", text)
                or re.search(r"(?im)^\s*[\w.\"-]*(password|passwd|secret|token)[\w.\"-]*\s*=", text))


def _dir_status(path: Path) -> tuple[Status, str]:
    from ..config import ensure_writable_dir

    try:
        ensure_writable_dir(path, "")
    except MusicrecError as exc:
        return FAIL, exc.one_line()
    return OK, "writable"


def _folder_size(path: Path) -> tuple[int, int]:
    total = count = 0
    if path.is_dir():
        for entry in os.scandir(path):
            if entry.is_file():
                total += entry.stat().st_size
                count += 1
    return total, count


def _analysis_status(settings: Settings) -> tuple[Status, str]:
    """Run the ranking extractor (and the explainer) once on a few seconds of noise: model present and working."""
    import numpy as np

    from ..core import features

    names = [settings.extractor, settings.explainer] if settings.explainer else [settings.extractor]
    parts = []
    try:
        for name in names:
            ext = features.get(name)
            noise = (0.1 * np.random.default_rng(0).standard_normal(ext.rate * 8)).astype(np.float32)
            start = time.perf_counter()
            ext(noise, ext.rate)
            parts.append(f"{ext.name} v{ext.version} ({ext.dim}-d, loaded and ran in "
                         f"{(time.perf_counter() - start) * 1000:.0f} ms)")
    except MusicrecError as exc:
        return FAIL, exc.one_line()
    return OK, "ranking " + parts[0] + (f"; explained by {parts[1]}" if len(parts) > 1 else "") + \
        f"; hubness {settings.hubness}; {settings.analysis_workers} workers"


def _library_status(settings: Settings) -> tuple[Status, str]:
    from ..store import open_library
    from ..store.migrations import load_migrations

    try:
        with open_library(settings.db_url) as lib:
            version = lib.schema_version()
            latest = len(load_migrations(lib.dialect))
            tracks = lib.count_tracks()
            vectors = ", ".join(f"{name} v{ver}: {n}" for (name, ver), n in sorted(lib.vector_counts().items()))
            jobs = {s.value: n for s, n in lib.job_counts().items() if n}
    except MusicrecError as exc:
        return FAIL, f"{settings.masked_db_url}: {exc.one_line()}"
    text = (f"{settings.masked_db_url}: reachable, schema v{version} (latest v{latest}), {tracks} tracks"
            + (f"; vectors {vectors}" if vectors else "") + (f"; jobs {jobs}" if jobs else ""))
    return OK, text


def _playback_status(settings: Settings) -> tuple[Status, str]:
    from ..playback import probe_output

    probe = probe_output(settings.playback_device)
    if not probe.available:
        return WARN, probe.reason
    names = "; ".join(d.describe() for d in probe.devices[:6]) or "default"
    return OK, f"on: {names}"


def _itunes_status(settings: Settings, timeout: float) -> tuple[Status, str]:
    import requests

    from ..core.netutil import RedirectRefused, get_following
    from ..store.url import mask_url

    shown = mask_url(settings.itunes_base_url)
    url = settings.itunes_base_url.rstrip("/") + "/search"
    start = time.perf_counter()
    try:
        resp = get_following(requests.Session(), url, allow_hosts=settings.redirect_hosts, timeout=timeout,
                             params={"term": "test", "media": "music", "entity": "song", "limit": 1})
    except RedirectRefused as exc:
        return WARN, f"{shown}: {exc}; search and ingest are off"
    except requests.RequestException as exc:
        return WARN, f"{shown}: unreachable ({type(exc).__name__}); search and ingest are off"
    ms = (time.perf_counter() - start) * 1000
    if resp.status_code == 200:
        return OK, f"{shown}: reachable (HTTP 200 in {ms:.0f} ms)"
    if resp.status_code in (403, 429):
        return WARN, f"{shown}: throttled (HTTP {resp.status_code}); try again in a minute"
    return WARN, f"{shown}: HTTP {resp.status_code}"
