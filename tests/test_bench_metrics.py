"""Known answers for the metrics of benchmarks/bench_quality.py, which choose the default extractor."""

from __future__ import annotations

import numpy as np

from benchmarks import bench_quality as bq


def _clusters(sizes: tuple[int, ...], spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.eye(len(sizes), 8)
    x = np.concatenate(
        [c + spread * rng.standard_normal((n, 8)) for c, n in zip(centres, sizes, strict=True)]
    )
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return x, labels


def test_separated_clusters_score_one_and_the_seed_is_never_its_own_neighbour():
    x, labels = _clusters((12, 12, 12), spread=0.1)
    d = bq.cosine_distance(x)
    assert bq.precision_at(d, labels, 5) == 1.0
    assert bq.precision_at(d, labels, 10) == 1.0
    nn = bq.neighbours(d, 5)
    assert not np.any(nn == np.arange(len(x))[:, None])
    assert np.all(np.diff(np.take_along_axis(d, nn, axis=1), axis=1) >= 0)  # nearest first


def test_precision_counts_the_share_of_same_label_neighbours():
    # 1-d points: each query's 2 nearest are known by hand
    x = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    labels = np.array([0, 0, 1, 1, 1, 0])
    d = bq.euclidean_distance(x)
    # neighbours@2: 0->{1,2} 1 of 2; 1->{0,2} 1/2; 2->{1,0} 0/2; 3->{4,2} 2/2; 4->{3,2} 2/2; 5->{4,3} 0/2
    assert bq.precision_at(d, labels, 2) == (0.5 + 0.5 + 0 + 1 + 1 + 0) / 6


def test_random_baseline_is_the_expected_share_of_same_label_tracks():
    labels = np.array([0] * 10 + [1] * 5)
    assert abs(bq.random_precision(labels) - (10 * 9 / 14 + 5 * 4 / 14) / 15) < 1e-12
    rng = np.random.default_rng(1)
    shuffled = [
        bq.precision_at(bq.cosine_distance(rng.standard_normal((15, 4))), labels, 5) for _ in range(400)
    ]
    assert abs(np.mean(shuffled) - bq.random_precision(labels)) < 0.02


def test_hubs_of_high_dimensional_data_show_and_mutual_proximity_demotes_them():
    # hubness emerges in high dimension: points near the data mean appear in many k-NN lists
    x = np.random.default_rng(2).standard_normal((100, 50))
    d = bq.euclidean_distance(x)
    skew, share = bq.hubness(d, 5)
    mp_skew, mp_share = bq.hubness(bq.mutual_proximity(d), 5)
    assert skew > 1.0 and share > 0.2
    assert mp_skew < skew / 2 and mp_share < share / 1.5
    uniform = bq.hubness(np.abs(np.subtract.outer(np.arange(100.0), np.arange(100.0))), 5)
    assert abs(uniform[0]) < 0.5 and uniform[1] <= 0.08  # a 1-d line has no hubs


def test_mutual_proximity_is_symmetric_with_zero_diagonal():
    x, _ = _clusters((5, 7), spread=1.0, seed=3)
    mp = bq.mutual_proximity(bq.cosine_distance(x))
    assert np.allclose(mp, mp.T)
    assert np.all(np.diag(mp) == 0.0)
    assert mp.min() >= 0.0 and mp.max() <= 1.0


def test_standardise_leaves_constant_dimensions_finite():
    x = np.column_stack([np.arange(10.0), np.full(10, 3.0)])
    z = bq.standardise(x)
    assert np.all(np.isfinite(z))
    assert abs(z[:, 0].std() - 1.0) < 1e-12 and np.all(z[:, 1] == 0.0)
