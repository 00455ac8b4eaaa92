"""The stratified bootstrap of AUROC, checked against scikit-learn and SciPy."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from bench.bootstrap import BATCH, auroc_interval, draw_counts, resampled_aurocs


@pytest.fixture
def cell():
    """Scores with ties (rounded), 40 normal and 160 anomalous test images, shuffled."""
    rng = np.random.default_rng(3)
    is_anomaly = rng.permutation(np.r_[np.zeros(40, bool), np.ones(160, bool)])
    scores = np.round(rng.normal(is_anomaly * 0.8, 1.0), 1)
    return is_anomaly, scores


def test_each_resample_is_the_auroc_of_its_resampled_images(cell):
    is_anomaly, scores = cell
    resamples = BATCH // 2
    values = resampled_aurocs(is_anomaly, scores, resamples=resamples, seed=11)
    rng = np.random.default_rng(11)  # the same draws, in the same order: normal counts, then anomalous
    normal, anomalous = scores[~is_anomaly], scores[is_anomaly]
    normal_counts, anomalous_counts = draw_counts(len(normal), resamples, rng), draw_counts(len(anomalous), resamples, rng)
    for value, n_counts, a_counts in zip(values, normal_counts, anomalous_counts):
        resampled = np.r_[np.repeat(normal, n_counts), np.repeat(anomalous, a_counts)]
        labels = np.r_[np.zeros(n_counts.sum()), np.ones(a_counts.sum())]
        assert value == pytest.approx(roc_auc_score(labels, resampled), abs=1e-12)


def test_resamples_are_stratified():
    counts = draw_counts(7, 50, np.random.default_rng(0))
    assert counts.shape == (50, 7) and (counts.sum(axis=1) == 7).all() and (counts >= 0).all()


def test_the_interval_agrees_with_scipy_bootstrap(cell):
    is_anomaly, scores = cell
    ours = auroc_interval(is_anomaly, scores, resamples=4000, seed=0)

    def auroc(anomalous, normal, axis):
        return stats.mannwhitneyu(anomalous, normal, axis=axis).statistic / (anomalous.shape[axis] * normal.shape[axis])

    scipy = stats.bootstrap((scores[is_anomaly], scores[~is_anomaly]), auroc, n_resamples=4000, method="percentile",
                            vectorized=True, batch=500, random_state=1).confidence_interval
    assert ours["low"] == pytest.approx(scipy.low, abs=0.015) and ours["high"] == pytest.approx(scipy.high, abs=0.015)
    point = roc_auc_score(is_anomaly, scores)
    assert ours["low"] < point < ours["high"]
    assert ours["level"] == 0.95 and ours["resamples"] == 4000 and ours["seed"] == 0


def test_the_interval_is_seeded_and_needs_both_classes(cell):
    is_anomaly, scores = cell
    assert auroc_interval(is_anomaly, scores) == auroc_interval(is_anomaly, scores)
    assert auroc_interval(is_anomaly, scores, seed=1) != auroc_interval(is_anomaly, scores)
    with pytest.raises(ValueError, match="normal and anomalous"):
        resampled_aurocs(np.ones(5, bool), np.arange(5.0))
