"""SimilarityIndex: standardisation, group weights, top-k, batches, incremental adds, mutual proximity."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_tui.core import audio, synth
from musicrec_tui.core.errors import ConfigError, NotFound
from musicrec_tui.core.features import get
from musicrec_tui.core.index import SimilarityIndex, group_factors
from musicrec_tui.core.models import VectorMatrix

GROUPS = ("timbre",) * 20 + ("rhythm",) * 4 + ("harmony",) * 8


def _matrix(n: int, dim: int = len(GROUPS), seed: int = 0, start_id: int = 1) -> VectorMatrix:
    rng = np.random.default_rng(seed)
    units = rng.uniform(0.1, 1000.0, dim)  # wildly different units per dimension
    m = (rng.standard_normal((n, dim)) * units + units).astype(np.float32)
    return VectorMatrix("test", 1, np.arange(start_id, start_id + n, dtype=np.int64), m)


def _k_occurrence(index: SimilarityIndex, k: int) -> np.ndarray:
    hits = index.search_batch(index.rows, k, exclude_rows=np.arange(len(index)))
    counts = np.zeros(len(index), np.int64)
    for row in hits:
        for h in row:
            counts[h.row] += 1
    return counts


@pytest.fixture(scope="module")
def audio_index() -> tuple[SimilarityIndex, list[str]]:
    ext = get("handcrafted")
    sounds = {
        "sweep": synth.sweep(10.0), "noise": synth.noise(10.0), "drums": synth.drums(120, 10.0),
        "drums_slow": synth.drums(80, 10.0, seed=4), "chord": synth.chord((220.0, 277.18, 329.63), 10.0),
        "tone": synth.tone(880.0, 10.0), "bass": synth.chord((55.0, 110.0), 10.0),
    }
    vecs = []
    for s in sounds.values():
        d = audio.decode(synth.encode(s))
        vecs.append(ext(d.samples, d.rate))
    vm = VectorMatrix(ext.name, ext.version, np.arange(10, 10 + len(vecs), dtype=np.int64), np.stack(vecs))
    return SimilarityIndex(vm, ext.groups), list(sounds)


def test_each_sound_is_its_own_nearest_neighbour(audio_index: tuple[SimilarityIndex, list[str]]) -> None:
    index, names = audio_index
    assert index.stats.robust  # 7 tracks: median/MAD statistics
    for row, track_id in enumerate(index.ids):
        hits = index.search(index.vector(int(track_id)), k=3)
        assert hits[0].id == track_id and hits[0].row == row
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert hits[1].score < 0.99, names[row]
        excluded = index.search(index.vector(int(track_id)), k=3, exclude_ids=[int(track_id)])
        assert track_id not in [h.id for h in excluded] and len(excluded) == 3


def test_drum_loops_are_nearest_to_each_other(audio_index: tuple[SimilarityIndex, list[str]]) -> None:
    index, names = audio_index
    drums = int(index.ids[names.index("drums")])
    slow = int(index.ids[names.index("drums_slow")])
    assert index.search(index.vector(drums), k=1, exclude_ids=[drums])[0].id == slow
    shares = index.contributions(index.vector(drums), index.vector(slow))
    assert set(shares) == {"timbre", "brightness", "dynamics", "rhythm", "harmony"}
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)


def test_standardisation_with_a_big_library_uses_mean_and_std() -> None:
    vm = _matrix(200)
    index = SimilarityIndex(vm, GROUPS)
    assert not index.stats.robust
    np.testing.assert_allclose(index.stats.centre, vm.matrix.mean(axis=0), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(index.stats.scale, vm.matrix.std(axis=0), rtol=1e-4)
    norms = np.linalg.norm(index.rows, axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    # each group carries the same share of every row's squared norm on average, whatever its size
    share = {g: float(np.mean(np.sum(index.rows[:, [i for i, x in enumerate(GROUPS) if x == g]] ** 2, axis=1)))
             for g in index.group_names}
    for value in share.values():
        assert value == pytest.approx(1 / 3, abs=0.05)


def test_tiny_library_is_robust_and_never_divides_by_zero() -> None:
    m = _matrix(5).matrix.copy()
    m[:, 0] = 3.0  # no spread at all
    m[:, 1] = [1.0, 1.0, 1.0, 1.0, 50.0]  # MAD is 0, std is not
    index = SimilarityIndex(VectorMatrix("test", 1, np.arange(1, 6), m), GROUPS)
    assert index.stats.robust
    assert index.stats.scale[0] == 1.0 and index.stats.scale[1] == pytest.approx(np.std(m[:, 1]))
    assert np.all(np.isfinite(index.rows))
    one = SimilarityIndex(VectorMatrix("test", 1, np.array([7]), m[:1]), GROUPS)
    assert np.all(one.rows == 0.0)
    assert [h.id for h in one.search(one.vector(7), k=5)] == [7]
    empty = SimilarityIndex(VectorMatrix("test", 1, np.zeros(0, np.int64), np.zeros((0, 0), np.float32)), GROUPS)
    assert len(empty) == 0 and empty.search(np.ones(len(GROUPS), np.float32), k=5) == []
    with pytest.raises(NotFound, match="no test vector"):
        empty.vector(1)


def test_group_weights() -> None:
    vm = _matrix(100)
    base = vm.matrix[0].copy()
    other = base.copy()
    other[20:24] += 5000.0  # differs only in the rhythm group
    index = SimilarityIndex(vm, GROUPS, weights={"rhythm": 0.0})
    a, b = index.transform(np.stack([base, other]))
    assert float(a @ b) == pytest.approx(1.0, abs=1e-6)
    shares = index.contributions(a, b)
    assert shares["rhythm"] == 0.0
    equal = SimilarityIndex(vm, GROUPS)
    a, b = equal.transform(np.stack([base, other]))
    assert float(a @ b) < 0.9
    factors = group_factors(GROUPS, {"timbre": 2.0})
    assert factors[0] == pytest.approx(2.0 / np.sqrt(20)) and factors[20] == pytest.approx(1.0 / 2.0)
    with pytest.raises(ConfigError, match="unknown feature group"):
        SimilarityIndex(vm, GROUPS, weights={"tempo": 1.0})
    with pytest.raises(ConfigError, match=">= 0"):
        SimilarityIndex(vm, GROUPS, weights={"timbre": -1.0})
    with pytest.raises(ConfigError, match="hubness"):
        SimilarityIndex(vm, GROUPS, hubness="magic")
    with pytest.raises(ConfigError, match="shape"):
        SimilarityIndex(vm, GROUPS[:-1])


def test_top_k_matches_a_full_sort_and_batches_match_single_queries() -> None:
    vm = _matrix(3000, seed=1)
    index = SimilarityIndex(vm, GROUPS)
    queries = index.rows[[5, 17, 2999]]
    batch = index.search_batch(queries, k=10, exclude_rows=np.array([5, -1, 2999]), chunk_elements=4000)
    for q, row, hits in zip(queries, [5, 17, 2999], batch, strict=True):
        full = index.rows @ q
        if row != 17:
            full[row] = -np.inf
        expected = np.argsort(-full, kind="stable")[:10]
        assert [h.row for h in hits] == list(expected)
        single = index.search(q, k=10, exclude_rows=[row] if row != 17 else [])
        assert [h.id for h in single] == [h.id for h in hits]
        assert [h.score for h in single] == pytest.approx([h.score for h in hits], abs=1e-5)
    assert batch[1][0].row == 17  # no self-exclusion for that query
    mask = np.zeros(len(index), bool)
    mask[100:110] = True
    assert sorted(h.row for h in index.search(queries[0], k=50, mask=mask)) == list(range(100, 110))


def test_incremental_add_keeps_statistics_until_refresh() -> None:
    first = _matrix(300, seed=2)
    second = _matrix(100, seed=3, start_id=1000)
    index = SimilarityIndex(first, GROUPS, refresh_after=None)
    stats = index.stats
    index.add(second.ids, second.matrix)
    assert len(index) == 400 and index.stale == 100 and index.stats is stats
    np.testing.assert_allclose(index.rows[300:], stats.apply(second.matrix)[0], atol=1e-6)
    hit = index.search(index.transform(second.matrix[7]), k=1)[0]
    assert hit.id == 1007 and hit.score == pytest.approx(1.0, abs=1e-5)
    # re-adding an id replaces its row instead of duplicating it
    index.add([1007], first.matrix[0:1])
    assert len(index) == 400
    assert index.search(index.vector(1), k=2)[1].id == 1007
    index.add([1007], second.matrix[7:8])
    # replacing a row of the initial matrix never writes into the caller's array
    before = first.matrix.copy()
    index.add([1], first.matrix[1:2])
    index.add([1], first.matrix[0:1])
    assert np.array_equal(first.matrix, before)
    # refresh == a rebuild from scratch on everything
    index.refresh()
    assert index.stale == 0
    both = VectorMatrix("test", 1, np.concatenate([first.ids, second.ids]), np.vstack([first.matrix, second.matrix]))
    rebuilt = SimilarityIndex(both, GROUPS)
    np.testing.assert_allclose(index.rows, rebuilt.rows, atol=1e-5)
    with pytest.raises(ConfigError, match="duplicate"):
        index.add([5, 5], first.matrix[:2])


def test_mutual_proximity_moments_are_exact_and_reduce_hubs() -> None:
    rng = np.random.default_rng(4)
    # a few dense clusters plus scattered points: a classic source of hubs in high dimensions
    centres = rng.standard_normal((5, len(GROUPS))) * 0.5
    m = np.vstack([centres[rng.integers(0, 5, 600)] + rng.standard_normal((600, len(GROUPS))),
                   rng.standard_normal((200, len(GROUPS))) * 2.0]).astype(np.float32)
    vm = VectorMatrix("test", 1, np.arange(1, 801, dtype=np.int64), m)
    plain = SimilarityIndex(vm, GROUPS)
    mp = SimilarityIndex(vm, GROUPS, hubness="mp")
    full = mp.rows @ mp.rows.T
    mu, sd = mp._mp_stats()
    np.testing.assert_allclose(mu, full.mean(axis=1), atol=1e-4)
    np.testing.assert_allclose(sd, full.std(axis=1), atol=1e-4)
    k_plain, k_mp = _k_occurrence(plain, 5), _k_occurrence(mp, 5)
    assert k_mp.max() < k_plain.max()
    assert np.mean(k_mp == 0) < np.mean(k_plain == 0)  # fewer orphans never recommended
    hits = mp.search(mp.rows[3], k=5)
    assert hits[0].row == 3 and all(0.0 <= h.score <= 1.0 for h in hits)
    # adding rows extends the moments without recomputing the old ones
    mp.add([5000], m[:1] + 0.01)
    assert mp._mp_stats()[0].shape == (801,)


def test_mutual_proximity_ranks_by_the_exact_formula_even_near_saturation() -> None:
    from scipy.stats import norm

    rng = np.random.default_rng(5)
    base = rng.standard_normal((300, len(GROUPS)))
    # near-copies of row 0 at growing distances: their MP scores all saturate near 1
    near = base[0] + rng.standard_normal((8, len(GROUPS))) * np.linspace(0.3, 0.01, 8)[:, None]  # nearest last
    vm = VectorMatrix("test", 1, np.arange(1, 309, dtype=np.int64), np.vstack([base, near]).astype(np.float32))
    index = SimilarityIndex(vm, GROUPS, hubness="mp")
    x = index.rows.astype(np.float64)
    full = x @ x.T
    mu, sd = full.mean(axis=1), full.std(axis=1)
    s = full[0]
    log_tail = np.logaddexp(norm.logsf(s, mu[0], sd[0]), norm.logsf(s, mu, sd))  # ~ log(1 - MP) near MP = 1
    expected = [i for i in np.argsort(log_tail, kind="stable") if i != 0][:8]
    hits = index.search(index.rows[0], k=8, exclude_rows=[0])
    assert [h.row for h in hits] == expected
    assert set(expected) == set(range(300, 308))


def test_statistics_refresh_by_themselves_when_the_library_outgrows_them() -> None:
    m = _matrix(60, seed=6)
    tiny = SimilarityIndex(VectorMatrix("test", 1, m.ids[:5], m.matrix[:5]), GROUPS)
    assert tiny.stats.robust
    tiny.add(m.ids[5:14], m.matrix[5:14])
    assert tiny.stats.robust and tiny.stale == 9  # under 20 tracks, and 9 <= 50 % of 20
    tiny.add(m.ids[14:25], m.matrix[14:25])
    assert not tiny.stats.robust and tiny.stale == 0 and len(tiny) == 25
    np.testing.assert_allclose(tiny.stats.centre, m.matrix[:25].mean(axis=0), rtol=1e-4, atol=1e-2)
    stats = tiny.stats
    tiny.add(m.ids[25:37], m.matrix[25:37])  # 12 new rows <= 50 % of 25: kept
    assert tiny.stats is stats and tiny.stale == 12
    tiny.add(m.ids[37:40], m.matrix[37:40])  # 15 > 12.5: refreshed
    assert tiny.stats is not stats and tiny.stale == 0


def test_pruned_mutual_proximity_search_is_exact() -> None:
    """search() scores only the best rows by cosine under MP; it must equal ranking every row."""
    from musicrec_tui.core.index import SimilarityIndex
    from musicrec_tui.core.models import VectorMatrix

    rng = np.random.default_rng(3)
    n, d = 20_000, 32
    centres = rng.standard_normal((40, d))
    raw = (centres[rng.integers(0, 40, n)] + 0.7 * rng.standard_normal((n, d))).astype(np.float32)
    raw[:50] *= 0.05  # hub-like rows near the centre of everything
    index = SimilarityIndex(VectorMatrix("x", 1, np.arange(1, n + 1, dtype=np.int64), raw), ("g",) * d,
                            hubness="mp")
    for q in (0, 1, 7, 49, 123, 19_999):
        query = index.rows[q]
        keys, cos = index.scores(query)
        keys = keys[0].copy()
        keys[q] = -np.inf
        expected = index._top(keys, cos[0], 25)
        got = index.search(query, 25, exclude_rows=[q])
        assert [h.id for h in got] == [h.id for h in expected]
        assert np.allclose([h.score for h in got], [h.score for h in expected])
    index.search(index.rows[0], 5)  # moments are cached now; an incremental add must refresh them
    index.add(np.arange(n + 1, n + 501), raw[:500] + 0.3)
    query = index.rows[n + 10]
    keys, cos = index.scores(query)
    expected = index._top(keys[0].copy(), cos[0], 10)
    assert [h.id for h in index.search(query, 10)] == [h.id for h in expected]


@pytest.mark.parametrize("k", [5, 21, 60])
def test_batched_mutual_proximity_ranks_like_single_queries(k: int) -> None:
    """The batch path (a first pool of candidates per query, vectorised) returns what `search` returns."""
    rng = np.random.default_rng(21)
    n, dim = 6000, 32
    centres = rng.standard_normal((40, dim)).astype(np.float32) * 1.5
    m = rng.standard_normal((n, dim)).astype(np.float32) + centres[rng.integers(0, 40, n)]
    index = SimilarityIndex(VectorMatrix("x", 1, np.arange(1, n + 1), m), ["a"] * dim, hubness="mp")
    rows = np.arange(0, n, 37)
    batch = index.search_batch(index.rows[rows], k, exclude_rows=rows)
    for row, got in zip(rows, batch, strict=True):
        want = index.search(index.rows[row], k, exclude_rows=[int(row)])
        assert [h.id for h in got] == [h.id for h in want]
        assert np.allclose([h.score for h in got], [h.score for h in want], atol=1e-6)


def test_normal_cdf_without_scipy_matches_scipy() -> None:
    from scipy.special import ndtr as scipy_ndtr
    from scipy.special import ndtri as scipy_ndtri

    from musicrec_tui.core.normal import ndtr, ndtri

    x = np.concatenate([np.linspace(-40, 40, 20001), [0.0, np.inf, -np.inf, np.nan]])
    got, want = ndtr(x), scipy_ndtr(x)
    finite = want > 0
    assert np.allclose(got[finite], want[finite], rtol=1e-13, atol=0)
    assert np.array_equal(got == 0, want == 0) and np.isnan(got[-1])
    for p in (1e-300, 1e-12, 0.025, 0.5, 0.975):
        assert abs(ndtri(p) - float(scipy_ndtri(p))) < 1e-9 * max(1.0, abs(float(scipy_ndtri(p))))


def _assert_same_ranking(expected: list, got: list, tol: float = 2e-6) -> None:
    """The same results in the same order, except that results whose scores differ by less than `tol` (a
    matrix product and a matrix-vector product round the same cosine differently) may trade places."""
    assert len(got) == len(expected)
    for a, b in zip(expected, got, strict=True):
        assert a.id == b.id or abs(a.score - b.score) < tol, (a, b)
    mine = {h.id: h for h in got}
    for a in expected:
        if a.id in mine:
            assert abs(mine[a.id].score - a.score) < tol and abs(mine[a.id].cosine - a.cosine) < tol, a


@pytest.mark.parametrize("hubness", ["mp", "none"])
def test_all_hits_is_every_single_search(hubness: str) -> None:
    """all_hits (symmetric block products, thresholds, exactness check) returns for every row what search()
    returns for it alone, across block boundaries, with copies of one vector (ties) and shuffled ids."""
    rng = np.random.default_rng(7)
    n, dim = 1500, 24
    centres = rng.standard_normal((25, dim)).astype(np.float32) * 1.5
    m = rng.standard_normal((n, dim), dtype=np.float32) + centres[rng.integers(0, 25, n)]
    m[100:140] = m[99]  # 41 copies: their thresholds are ties, answered alone
    ids = rng.permutation(np.arange(1, n + 1)) * 7
    index = SimilarityIndex(VectorMatrix("test", 1, ids, m), ("a",) * 16 + ("b",) * 8, hubness=hubness)
    seen = 0
    for block in index.all_hits(21, block=300):
        assert block.start == seen and block.rows.shape == (min(300, n - seen), 21)
        for i in range(block.rows.shape[0]):
            row = block.start + i
            got = block.hits(i, index.ids)
            assert row not in [h.row for h in got]
            _assert_same_ranking(index.search(index.rows[row], 21, exclude_rows=[row]), got)
        seen += block.rows.shape[0]
    assert seen == n
    # 600 copies of one vector (their thresholds are all ties) and a thin pool: many rows cannot be answered
    # from their candidates (too few, or a mutual-proximity key below the threshold could win): redone alone
    m[100:700] = m[99]
    copies = SimilarityIndex(VectorMatrix("test", 1, ids, m), ("a",) * 16 + ("b",) * 8, hubness=hubness)
    for block in copies.all_hits(5, block=700, pool=0):
        for i in range(block.rows.shape[0]):
            row = block.start + i
            _assert_same_ranking(copies.search(copies.rows[row], 5, exclude_rows=[row]), block.hits(i, copies.ids))
    tiny = SimilarityIndex(VectorMatrix("test", 1, ids[:5], m[:5]), ("a",) * 16 + ("b",) * 8, hubness=hubness)
    blocks = list(tiny.all_hits(10, block=2))
    assert [b.start for b in blocks] == [0, 2, 4] and all(b.rows.shape[1] == 4 for b in blocks)
    for b in blocks:
        for i in range(b.rows.shape[0]):
            _assert_same_ranking(tiny.search(tiny.rows[b.start + i], 10, exclude_rows=[b.start + i]),
                                 b.hits(i, tiny.ids))


def test_contribution_shares_stay_between_0_and_1() -> None:
    """Shares are of what pulled the two rows together: in [0, 1], summing to 1 even when the cosine is ~0 or
    negative; a group that pulled them apart has 0; nothing pulled them together: all 0."""
    index = SimilarityIndex(_matrix(50), GROUPS)
    t, r, h = slice(0, 20), slice(20, 24), slice(24, 32)
    a = np.zeros(32, np.float32)
    b = np.zeros(32, np.float32)
    a[t], b[t] = 1.0, 1.0  # timbre pulls together: +20
    a[r], b[r] = 1.0, -5.0  # rhythm pulls apart: -20, so the cosine is 0
    a[h], b[h] = 1.0, 0.5  # harmony a little: +4, cosine +4 in all
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    shares = index.contributions(a, b)
    assert shares["timbre"] == pytest.approx(20 / 24) and shares["harmony"] == pytest.approx(4 / 24)
    assert shares["rhythm"] == 0.0
    b[r] *= 3  # now the cosine is negative; timbre and harmony still pulled together
    shares = index.contributions(a, b)
    assert float(a @ b) < 0 and shares["timbre"] == pytest.approx(20 / 24) and sum(shares.values()) == pytest.approx(1)
    assert index.contributions(a, -a) == {"timbre": 0.0, "rhythm": 0.0, "harmony": 0.0}
    rng = np.random.default_rng(5)
    q, x = rng.standard_normal((200, 32)), rng.standard_normal((200, 32))
    many = index.contribution_matrix(q, x)
    pulled = (q * x) @ np.eye(3)[[0] * 20 + [1] * 4 + [2] * 8] > 0  # which groups pulled each pair together
    assert ((many >= 0) & (many <= 1)).all() and np.array_equal(many > 0, pulled)
    assert np.allclose(many.sum(axis=1), pulled.any(axis=1).astype(float))
    assert np.allclose(many[7], list(index.contributions(q[7], x[7]).values()))
