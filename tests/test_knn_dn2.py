"""kNN scoring and DN2 against independent computations."""

import numpy as np
import pytest

from bench import registry
from bench.backbones import build_backbone
from bench.context import RunContext
from bench.features import FeatureSpec
from bench.loading import run_network
from bench.knn import knn_score


@pytest.mark.parametrize("k", [1, 2, 5])
def test_knn_score_matches_sklearn(k, rng):
    from sklearn.neighbors import NearestNeighbors

    bank, queries = rng.normal(size=(200, 16)), rng.normal(size=(57, 16))
    distances, _ = NearestNeighbors(n_neighbors=k).fit(bank).kneighbors(queries)
    expected = (distances**2).sum(axis=1)  # sklearn returns plain L2; the score sums squares
    np.testing.assert_allclose(knn_score(bank, queries, k, batch_size=10), expected, rtol=1e-9)


def test_knn_score_rejects_bad_k(rng):
    with pytest.raises(ValueError, match="k = 3 needs"):
        knn_score(rng.normal(size=(2, 4)), rng.normal(size=(1, 4)), 3)


def brute_force_dn2(train_features, test_features, k=2):
    scores = []
    for query in test_features.astype(np.float64):
        squared = sorted(float(((query - row.astype(np.float64)) ** 2).sum()) for row in train_features)
        scores.append(sum(squared[:k]))
    return np.array(scores)


def test_dn2_on_digits_equals_brute_force_knn_on_the_same_features():
    benchmark = registry.datasets.get("digits").factory()
    split = benchmark.split(4, RunContext())
    test = split.test.subset(range(0, len(split.test), 7))
    params = dict(registry.methods.get("dn2").factory.profiles["smoke"])
    ctx = RunContext(seed=3)

    detector = registry.methods.get("dn2").factory(**params).fit(split.train, ctx)
    scores = detector.score(test, ctx)

    model = build_backbone(params["backbone"], params["weights"], seed=3)  # the same random init, built again
    transform = FeatureSpec(params["backbone"], params["weights"], params["image_size"], params["resize"]).transform()
    train_features = run_network(model, transform, split.train, ctx, batch_size=17, desc="")
    test_features = run_network(model, transform, test, ctx, batch_size=17, desc="")
    np.testing.assert_allclose(scores, brute_force_dn2(train_features, test_features), rtol=1e-6)
