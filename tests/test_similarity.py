"""LibraryIndex: loaded once, new vectors added incrementally, deletions reload, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_tui.app.recommend import LibraryIndex
from musicrec_tui.core import features
from musicrec_tui.core.errors import NotFound
from musicrec_tui.core.models import FeatureVector, Track


def add(library, i: int, vec: np.ndarray, artist: str = "X") -> int:
    ext = features.get("stats256")
    t = library.save_analysis(Track("itunes", str(100 + i), f"t{i}", artist),
                              FeatureVector(ext.name, ext.version, vec))
    return t.id


def test_incremental_sync_and_reload(library) -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((30, 256)).astype(np.float32)
    ids = [add(library, i, base[i], artist=f"a{i % 3}") for i in range(30)]
    li = LibraryIndex(library, "stats256", hubness="none")
    first = li.index()
    assert len(first) == 30
    twin = add(library, 99, base[0] + 0.2 * rng.standard_normal(256).astype(np.float32), artist="twin")
    second = li.index()
    assert second is first and len(second) == 31, "a new vector is added to the same index, not reloaded"
    assert li.similar([ids[0]], k=1)[0].track.id == twin
    assert li.similar([ids[0]], k=3, exclude_artist=True)[0].track.artist != "a0"
    library.delete_track(twin)
    third = li.index()
    assert third is not first and len(third) == 30, "a deletion reloads"
    assert twin not in [n.track.id for n in li.similar([ids[0]], k=30)]
    assert li.resolve("itunes:100").id == ids[0] and li.resolve(str(ids[1])).id == ids[1]
    with pytest.raises(NotFound):
        li.resolve("itunes:555")
    no_vector = library.upsert_track(Track("itunes", "777", "raw", "x")).id
    with pytest.raises(NotFound, match="no stats256 vector"):
        li.similar([no_vector])
