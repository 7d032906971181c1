"""Test-only stand-ins for the pieces still landing on other branches, built from the real core parts.

- `cosine_recommend`: cosine top-k over the store's matrix.
- `RecordingPlayer`: the playback contract with a clock you advance; records every call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_tui.config import Settings, load_settings
from musicrec_tui.core import features
from musicrec_tui.core.audio import decode
from musicrec_tui.core.errors import MusicrecError
from musicrec_tui.core.fetch import PreviewCache
from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.ingest.pipeline import IngestPipeline
from musicrec_tui.store import open_library
from musicrec_tui.tui.services import Services, Similar


def cosine_recommend(extractor: str | None = None) -> Callable[[Any, Sequence[int], int, bool], list[Similar]]:
    def rank(lib: Any, seeds: Sequence[int], k: int, exclude_artist: bool) -> list[Similar]:
        ex = features.get(extractor)
        m = lib.load_matrix(ex.name, ex.version)
        if not len(m):
            return []
        x = m.matrix - m.matrix.mean(axis=0)
        x /= np.maximum(m.matrix.std(axis=0), 1e-9)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
        rows = [int(np.nonzero(m.ids == s)[0][0]) for s in seeds if s in set(m.ids.tolist())]
        if not rows:
            raise MusicrecError("the seed has no feature vector yet")
        q = x[rows].mean(axis=0)
        scores = x @ q
        order = np.argsort(-scores)
        tracks = lib.get_tracks(m.ids.tolist())
        seed_artists = {tracks[s].artist for s in seeds if s in tracks}
        out: list[Similar] = []
        for i in order:
            tid = int(m.ids[i])
            if tid in seeds or (exclude_artist and tracks[tid].artist in seed_artists):
                continue
            out.append(Similar(len(out) + 1, float((scores[i] + 1) / 2), tracks[tid], tuple(ex.group_names[:2])))
            if len(out) == k:
                break
        return out

    return rank


@dataclass(frozen=True)
class Item:
    source: str
    title: str
    key: Any


@dataclass(frozen=True)
class Snap:
    state: str
    position: float = 0.0
    duration: float = 0.0
    volume: float = 1.0
    reason: str = ""
    title: str = ""
    index: int = -1
    queue_length: int = 0


class RecordingPlayer:
    """The Player contract without a device: state, queue, volume, seek; `calls` records what the app asked.

    `reason` set → behaves like the null player (state off). Position only moves with `advance(seconds)`.
    """

    def __init__(self, reason: str = "", duration: float = 30.0) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.queue: list[Any] = []
        self.index = -1
        self._state = "off" if reason else "idle"
        self.reason = reason
        self.position = 0.0
        self.duration = duration
        self.volume = 1.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return not self.reason

    @property
    def state(self) -> str:
        return self._state

    def snapshot(self) -> Snap:
        with self._lock:
            item = self.queue[self.index] if 0 <= self.index < len(self.queue) else None
            return Snap(self._state, self.position, self.duration if item else 0.0, self.volume, self.reason,
                        getattr(item, "title", ""), self.index, len(self.queue))

    def _record(self, name: str, arg: Any = None) -> None:
        with self._lock:
            self.calls.append((name, arg))

    def set_queue(self, items: Sequence[Any], start: int = 0) -> None:
        self._record("set_queue", list(items))
        if self.reason:
            return
        for item in items:
            decode(item.source, 22050)  # like the real player: the file must decode
        self.queue, self.index, self._state, self.position = list(items), start, "stopped", 0.0

    def play(self) -> None:
        self._record("play")
        if self.queue and not self.reason:
            self._state = "playing"

    def toggle(self) -> None:
        self._record("toggle")
        if self._state == "playing":
            self._state = "paused"
        elif self._state in ("paused", "stopped") and self.queue:
            self._state = "playing"

    def stop(self) -> None:
        self._record("stop")
        if self.queue and not self.reason:
            self._state, self.position = "stopped", 0.0

    def seek(self, seconds: float, *, relative: bool = False) -> None:
        self._record("seek", (seconds, relative))
        if self.queue:
            self.position = min(self.duration, max(0.0, (self.position if relative else 0.0) + seconds))

    def volume_up(self, step: float = 0.05) -> None:
        self._record("volume_up")
        self.volume = min(1.0, round(self.volume + step, 4))

    def volume_down(self, step: float = 0.05) -> None:
        self._record("volume_down")
        self.volume = max(0.0, round(self.volume - step, 4))

    def next(self) -> bool:
        self._record("next")
        if self.index + 1 < len(self.queue):
            self.index, self.position = self.index + 1, 0.0
            return True
        return False

    def previous(self) -> bool:
        self._record("previous")
        if self.index > 0:
            self.index, self.position = self.index - 1, 0.0
            return True
        return False

    def advance(self, seconds: float) -> None:
        self.position = min(self.duration, self.position + seconds)

    def close(self) -> None:
        self._record("close")


def make_settings(tmp_path: Path, db_url: str | None = None, **flags: Any) -> Settings:
    return load_settings(env={}, flags={"db_url": db_url or f"sqlite://{tmp_path / 'lib.sqlite3'}",
                                        "data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache", **flags})


def make_services(settings: Settings, itunes_url: str, player: Any) -> Services:
    cache = PreviewCache(settings.paths.previews_dir)
    client = ItunesClient(itunes_url, rate_per_minute=6000, max_retries=1, backoff_base=0.01, backoff_cap=0.02,
                          timeout=5)
    return Services(
        open_library=lambda: open_library(settings.db_url),
        catalogue=client,
        previews=cache,
        player=player,
        make_pipeline=lambda library, on_event: IngestPipeline(settings, library, cache=cache, on_event=on_event,
                                                               workers=1),
        recommend=cosine_recommend(settings.extractor),
        queue_item=Item,
        extractor=settings.extractor,
        download=None,
        artwork_dir=settings.paths.artwork_dir,
    )
