"""recommend(): seeds, filters, duplicate collapsing, radio, explanations and the CLI's JSON shape."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musicrec_tui.core import audio, synth
from musicrec_tui.core.errors import ConfigError, NotFound
from musicrec_tui.core.features import get
from musicrec_tui.core.index import SimilarityIndex
from musicrec_tui.core.models import SOURCE_ITUNES, Neighbour, Track, VectorMatrix
from musicrec_tui.core.recommend import (
    duplicate_key,
    normalise_name,
    query_for,
    recommend,
    recommend_all,
    recommendation_json,
)

SECONDS = 8.0


def _track(i: int, title: str, artist: str) -> Track:
    return Track(source=SOURCE_ITUNES, external_id=str(900000 + i), title=title, artist=artist, album="LP", id=i)


@pytest.fixture(scope="module")
def audio_library() -> tuple[SimilarityIndex, dict[int, Track]]:
    """Real analysed audio: three drum loops, three chords, noise, a sweep, and two duplicates."""
    ext = get("handcrafted")
    items = [
        (1, "Beat One", "Drummer", synth.drums(100, SECONDS, seed=1)),
        (2, "Beat Two", "Drummer", synth.drums(104, SECONDS, seed=2)),
        (3, "Other Beat", "Percussion Co", synth.drums(98, SECONDS, seed=3)),
        (4, "Pad A", "Organist", synth.chord((220.0, 277.18, 329.63), SECONDS, seed=1)),
        (5, "Pad B", "Organist", synth.chord((246.94, 311.13, 369.99), SECONDS, seed=2)),
        (6, "Pad C", "Keys Ltd", synth.chord((196.0, 246.94, 293.66), SECONDS, seed=3)),
        (7, "Hiss", "Static", synth.noise(SECONDS)),
        (8, "Rise", "Static", synth.sweep(SECONDS)),
        (9, "Beat One (Remastered 2011)", "drummer", synth.drums(100, SECONDS, seed=1) * 0.9),
    ]
    tracks, vecs = {}, []
    for i, title, artist, samples in items:
        d = audio.decode(synth.encode(samples))
        vecs.append(ext(d.samples, d.rate))
        tracks[i] = _track(i, title, artist)
    # 10: the very same vector as 4 under another name (a re-upload): a duplicate by distance
    vecs.append(vecs[3].copy())
    tracks[10] = _track(10, "Ambient Pad", "Uploader")
    vm = VectorMatrix(ext.name, ext.version, np.array(sorted(tracks), dtype=np.int64), np.stack(vecs))
    return SimilarityIndex(vm, ext.groups), tracks


def test_drums_recommend_drums_and_never_the_seed(audio_library: tuple[SimilarityIndex, dict[int, Track]]) -> None:
    index, tracks = audio_library
    result = recommend(index, tracks, [1], k=3)
    assert [n.rank for n in result] == [1, 2, 3]
    assert 1 not in [n.track.id for n in result]
    assert {n.track.id for n in result[:2]} == {2, 3}
    assert [n.score for n in result] == sorted((n.score for n in result), reverse=True)
    for n in result:
        assert isinstance(n, Neighbour)
        assert sum(s for _, s in n.groups) == pytest.approx(1.0, abs=1e-5)
        assert [s for _, s in n.groups] == sorted((s for _, s in n.groups), reverse=True)
        assert n.why() and n.why()[0][0] == n.groups[0][0]
    pads = recommend(index, tracks, [5], k=2, collapse_duplicates=False)
    assert {n.track.id for n in pads} <= {4, 6, 10}


def test_duplicates_of_the_seed_and_of_each_other_collapse(
        audio_library: tuple[SimilarityIndex, dict[int, Track]]) -> None:
    index, tracks = audio_library
    # 9 is the seed's remaster (same normalised title and artist): never listed for seed 1
    assert 9 not in [n.track.id for n in recommend(index, tracks, [1], k=8)]
    assert 9 in [n.track.id for n in recommend(index, tracks, [1], k=8, collapse_duplicates=False)]
    # 4 and 10 have identical vectors: one entry, the other listed as its duplicate
    result = recommend(index, tracks, [5], k=8)
    ids = [n.track.id for n in result]
    assert (4 in ids) != (10 in ids)
    kept = next(n for n in result if n.track.id in (4, 10))
    assert kept.duplicates == ((10,) if kept.track.id == 4 else (4,))
    assert len(ids) == len(set(ids)) == 7  # 10 tracks less the seed, 10 (or 4) and 9 (1's remaster)
    loose = recommend(index, tracks, [5], k=9, collapse_duplicates=False)
    assert {4, 10} <= {n.track.id for n in loose} and len(loose) == 9


def test_filters(audio_library: tuple[SimilarityIndex, dict[int, Track]]) -> None:
    index, tracks = audio_library
    no_artist = recommend(index, tracks, [1], k=5, exclude_artist=True)
    assert all(normalise_name(n.track.artist) != "drummer" for n in no_artist)
    assert no_artist[0].track.id == 3
    skipped = recommend(index, tracks, [1], k=5, exclude_ids=[2, 3])
    assert not {2, 3} & {n.track.id for n in skipped}
    # everything but the seed, its remaster and one of the identical pair 4/10
    assert len(recommend(index, tracks, [1], k=50)) == 7
    assert recommend(index, tracks, [1], k=0) == []


def test_several_seeds_make_a_radio(audio_library: tuple[SimilarityIndex, dict[int, Track]]) -> None:
    index, tracks = audio_library
    seeds = [1, 4]
    result = recommend(index, tracks, seeds, k=4, collapse_duplicates=False)
    assert not set(seeds) & {n.track.id for n in result}
    mean_cos = {int(i): float(np.mean([index.rows[r] @ index.vector(s) for s in seeds]))
                for r, i in enumerate(index.ids)}
    expected = sorted((i for i in mean_cos if i not in seeds), key=lambda i: -mean_cos[i])[:4]
    assert [n.track.id for n in result] == expected
    # both kinds are represented: a drum loop and a pad are the first two
    kinds = {("Beat" in n.track.title) for n in result[:2]}
    assert kinds == {True, False}
    q = query_for(index, seeds)
    assert float(np.linalg.norm(q)) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ConfigError, match="no seed"):
        recommend(index, tracks, [], k=3)
    with pytest.raises(NotFound, match="12345"):
        recommend(index, tracks, [12345], k=3)


def test_explanation_names_the_group_that_matches() -> None:
    groups = ("timbre",) * 6 + ("rhythm",) * 6
    rng = np.random.default_rng(0)
    m = rng.standard_normal((40, 12)).astype(np.float32)
    m[1, :6] = m[0, :6]  # track 2 shares track 1's timbre, nothing else
    m[2, 6:] = m[0, 6:]  # track 3 shares its rhythm
    ids = np.arange(1, 41, dtype=np.int64)
    index = SimilarityIndex(VectorMatrix("t", 1, ids, m), groups)
    tracks = {int(i): _track(int(i), f"Song {i}", f"Artist {i}") for i in ids}
    result = {n.track.id: n for n in recommend(index, tracks, [1], k=39)}
    assert result[2].groups[0][0] == "timbre" and result[2].why()[0][0] == "timbre"
    assert result[3].groups[0][0] == "rhythm" and result[3].why()[0][0] == "rhythm"


def test_incrementally_added_tracks_are_recommended(audio_library: tuple[SimilarityIndex, dict[int, Track]]) -> None:
    base, tracks = audio_library
    index = SimilarityIndex(VectorMatrix(base.extractor, base.version, base.ids.copy(), base.raw.copy()),
                            base.groups)
    ext = get("handcrafted")
    d = audio.decode(synth.encode(synth.drums(101, SECONDS, seed=11)))
    index.add([50], ext(d.samples, d.rate)[None, :])
    more = {**tracks, 50: _track(50, "New Beat", "Newcomer")}
    assert recommend(index, more, [1], k=1)[0].track.id == 50


def test_recommend_all_matches_single_queries(audio_library: tuple[SimilarityIndex, dict[int, Track]]) -> None:
    index, tracks = audio_library
    partial = {i: t for i, t in tracks.items() if i != 8}  # 8 is in the index but not in the library any more
    seen = []
    for track, result in recommend_all(index, partial, k=3, exclude_artist=True, batch=4):
        seen.append(track.id)
        single = recommend(index, partial, [track.id], k=3, exclude_artist=True)
        assert [n.track.id for n in result] == [n.track.id for n in single]
        assert 8 not in [n.track.id for n in result]
    assert seen == sorted(partial)


def test_json_shape(audio_library: tuple[SimilarityIndex, dict[int, Track]]) -> None:
    index, tracks = audio_library
    result = recommend(index, tracks, [1], k=2)
    doc = json.loads(json.dumps(recommendation_json([tracks[1]], result, index)))
    assert doc["extractor"] == "handcrafted" and doc["extractor_version"] == index.version
    assert doc["query"]["id"] == 1 and doc["query"]["itunes_track_id"] == 900001
    assert doc["query"]["seeds"] == [{k: doc["query"][k] for k in ("id", "itunes_track_id", "artist", "title",
                                                                   "album")}]
    first = doc["results"][0]
    assert set(first) >= {"rank", "score", "id", "itunes_track_id", "artist", "title", "album", "groups"}
    assert first["rank"] == 1 and first["id"] == result[0].track.id
    assert first["itunes_track_id"] == 900000 + result[0].track.id
    assert list(first["groups"]) == [g for g, _ in result[0].groups]
    radio = recommendation_json([tracks[1], tracks[4]], recommend(index, tracks, [1, 4], k=2), index)
    assert "id" not in radio["query"] and [s["id"] for s in radio["query"]["seeds"]] == [1, 4]


def test_duplicate_keys() -> None:
    a = Track("itunes", "1", "Café del Mar (Remastered 2011)", "José González")
    b = Track("itunes", "2", "cafe del mar - 2011 Remaster", "jose gonzalez")
    c = Track("itunes", "3", "Café del Mar II", "José González")
    assert duplicate_key(a) == duplicate_key(b) == ("cafe del mar", "jose gonzalez")
    assert duplicate_key(c) != duplicate_key(a)


def test_recommend_with_mutual_proximity(audio_library: tuple[SimilarityIndex, dict[int, Track]]) -> None:
    base, tracks = audio_library
    index = SimilarityIndex(VectorMatrix(base.extractor, base.version, base.ids.copy(), base.raw.copy()),
                            base.groups, hubness="mp")
    result = recommend(index, tracks, [1], k=3)
    assert 1 not in [n.track.id for n in result] and len(result) == 3
    assert all(0.0 <= n.score <= 1.0 for n in result)
    assert {n.track.id for n in result[:2]} == {2, 3}
    doc = recommendation_json([tracks[1]], result, index)
    assert doc["hubness"] == "mp" and doc["results"][0]["cosine"] == pytest.approx(result[0].cosine, abs=1e-6)


def test_recommend_all_in_blocks_matches_single_queries() -> None:
    """recommend_all's block path (symmetric products, masks, the duplicate walk, block explanations) gives
    every track the list recommend() gives it: same tracks, order, duplicates and explanations, for a library
    with re-releases, near-identical rows, one artist's many tracks, tracks gone from the library and an
    explainer that lacks some tracks."""
    rng = np.random.default_rng(3)
    n = 900
    ranking, named = get("musicnn"), get("handcrafted")
    centres = rng.standard_normal((12, ranking.dim)).astype(np.float32) * 1.5
    m = rng.standard_normal((n, ranking.dim), dtype=np.float32) + centres[rng.integers(0, 12, n)]
    m[n - 30:] = m[:30] + 0.01 * rng.standard_normal((30, ranking.dim), dtype=np.float32)  # near-identical rows
    tracks = {}
    for i in range(1, n + 1):
        title = f"Song {i % 600}" + (" (Remastered)" if i > 600 else "")  # 300 re-releases of earlier songs
        tracks[i] = _track(i, title, f"Artist {i % 40}")
    ids = np.arange(1, n + 1, dtype=np.int64)
    index = SimilarityIndex(VectorMatrix(ranking.name, ranking.version, ids, m), ranking.groups, hubness="mp")
    ex_ids = ids[ids % 7 != 0]  # the explainer lacks every 7th track: those are explained by the ranking index
    ex = rng.standard_normal((ex_ids.shape[0], named.dim)).astype(np.float32)
    explainer = SimilarityIndex(VectorMatrix(named.name, named.version, ex_ids, ex), named.groups)
    library = {i: t for i, t in tracks.items() if i % 50 != 0}  # in the index, gone from the library
    for exclude_artist in (False, True):
        seen = []
        for track, result in recommend_all(index, library, k=5, exclude_artist=exclude_artist, batch=256,
                                           explainer=explainer):
            seen.append(track.id)
            single = recommend(index, library, [track.id], k=5, exclude_artist=exclude_artist, explainer=explainer)
            assert [n.track.id for n in result] == [n.track.id for n in single], track.id
            for a, b in zip(result, single, strict=True):
                assert a.rank == b.rank and a.duplicates == b.duplicates
                assert abs(a.score - b.score) < 1e-5 and abs(a.cosine - b.cosine) < 1e-5
                assert [g for g, _ in a.groups] == [g for g, _ in b.groups]
                assert np.allclose([s for _, s in a.groups], [s for _, s in b.groups], atol=1e-9)
        assert seen == sorted(library)
