"""A stratified bootstrap confidence interval of a cell's AUROC.

Each resample draws the normal test images with replacement among the normal ones and the
anomalous among the anomalous (stratified: both counts stay as they are), and the interval is
the percentile interval of the resampled AUROCs (Efron & Tibshirani, *An Introduction to the
Bootstrap*, 1993, ch. 13). A resample is represented by how often it draws each image, so its
AUROC — the Mann–Whitney statistic, ties counting one half — comes from cumulative counts over
the normal scores sorted once: O(resamples × test images), about ten times faster than
`scipy.stats.bootstrap` over `scipy.stats.mannwhitneyu`, which re-ranks every resample (0.12 s
against 0.87 s for 900 test images, 1.0 s against 11.3 s for 10,000; `tests/test_bootstrap.py`
checks both against scikit-learn and SciPy).
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
SEED = 0
BATCH = 100  # resamples held in memory at once (each is a row of counts)


def draw_counts(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """int64 (resamples, n): how many times each of `n` items is drawn in each resample of
    `n` draws with replacement."""
    draws = rng.integers(0, n, size=(resamples, n))
    flat = (np.arange(resamples)[:, None] * n + draws).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n)


def resampled_aurocs(is_anomaly: np.ndarray, scores: np.ndarray, resamples: int = RESAMPLES,
                     seed: int = SEED) -> np.ndarray:
    """float64 (resamples,): the AUROC (anomaly = positive, higher score = more anomalous) of
    each stratified resample of the test images, drawn from `np.random.default_rng(seed)`
    (normal counts first, then anomalous, per batch of `BATCH`). ValueError unless both
    classes are present."""
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    normal, anomalous = scores[~is_anomaly], scores[is_anomaly]
    if not len(normal) or not len(anomalous):
        raise ValueError("a bootstrap of AUROC needs normal and anomalous test images")
    order = np.argsort(normal, kind="stable")
    sorted_normal = normal[order]
    below = np.searchsorted(sorted_normal, anomalous, side="left")  # normals strictly below each anomaly
    up_to = np.searchsorted(sorted_normal, anomalous, side="right")  # ... and those equal to it
    rng = np.random.default_rng(seed)
    values = []
    for start in range(0, resamples, BATCH):
        batch = min(BATCH, resamples - start)
        normal_counts = draw_counts(len(normal), batch, rng)[:, order]
        anomalous_counts = draw_counts(len(anomalous), batch, rng)
        cumulative = np.concatenate([np.zeros((batch, 1)), np.cumsum(normal_counts, axis=1)], axis=1)
        # resampled normals below each anomaly, ties counting one half
        beaten = 0.5 * (cumulative[:, below] + cumulative[:, up_to])
        values.append((anomalous_counts * beaten).sum(axis=1) / (len(normal) * len(anomalous)))
    return np.concatenate(values)


def auroc_interval(is_anomaly: np.ndarray, scores: np.ndarray, resamples: int = RESAMPLES, level: float = LEVEL,
                   seed: int = SEED) -> dict:
    """The `level` percentile interval of AUROC over `resamples` stratified resamples, as the
    record's `metrics.auroc_ci`: {low, high, level, resamples, seed, method} (fractions)."""
    values = resampled_aurocs(is_anomaly, scores, resamples, seed)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return {"low": float(low), "high": float(high), "level": level, "resamples": resamples, "seed": seed,
            "method": "stratified percentile bootstrap over test images"}
