"""Test-only stand-ins for the pieces still landing on other branches, built from the real core parts.

- `cosine_recommend`: cosine top-k over the store's matrix.
- `stepped_player`: the real SoundDevicePlayer over playback's FakeOutput (no device, time moves on `step`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_tui.config import Settings, load_settings
from musicrec_tui.core import features
from musicrec_tui.core.errors import MusicrecError
from musicrec_tui.core.fetch import PreviewCache
from musicrec_tui.core.itunes import ItunesClient
from musicrec_tui.ingest.pipeline import IngestPipeline
from musicrec_tui.playback import SoundDevicePlayer
from musicrec_tui.playback.testing import FakeOutput
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


def stepped_player() -> tuple[SoundDevicePlayer, FakeOutput]:
    """The real sounddevice player on playback's fake output stream, stepped: time moves only on `step`."""
    output = FakeOutput(autorun=False, record=False)
    return SoundDevicePlayer(samplerate=44100, blocksize=1024, stream_factory=output), output


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
        extractor=settings.extractor,
        download=None,
        artwork_dir=settings.paths.artwork_dir,
    )
