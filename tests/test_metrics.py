"""Metrics against brute-force computations written from their definitions."""

import numpy as np
import pytest

from bench.metrics import fpr_at_tpr, one_class_metrics


def brute_auroc(is_anomaly, scores):
    """P(score of an anomaly > score of a normal), ties counting one half."""
    anomalous, normal = scores[is_anomaly], scores[~is_anomaly]
    wins = sum((a > n) + 0.5 * (a == n) for a in anomalous for n in normal)
    return wins / (len(anomalous) * len(normal))


def brute_average_precision(is_anomaly, scores):
    """Σ over thresholds (distinct scores, high to low) of Δrecall × precision."""
    total, previous_recall = 0.0, 0.0
    for threshold in sorted(set(scores), reverse=True):
        flagged = scores >= threshold
        recall = (flagged & is_anomaly).sum() / is_anomaly.sum()
        precision = (flagged & is_anomaly).sum() / flagged.sum()
        total += (recall - previous_recall) * precision
        previous_recall = recall
    return total


def brute_fpr95(is_anomaly, scores):
    """Anomalies positive: the lowest fraction of normal images flagged over thresholds that
    flag at least 95% of the anomalies (flagged = score ≥ threshold)."""
    best = 1.0
    for threshold in sorted(set(scores)) + [np.inf]:
        flagged = scores >= threshold
        if (flagged & is_anomaly).sum() >= 0.95 * is_anomaly.sum():
            best = min(best, (flagged & ~is_anomaly).sum() / (~is_anomaly).sum())
    return best


def brute_fpr95_normal_positive(is_anomaly, scores):
    """Normal images positive (the OOD convention): the lowest fraction of anomalies accepted
    over thresholds that accept at least 95% of the normal images (accepted = score ≤ threshold)."""
    best = 1.0
    for threshold in [-np.inf] + sorted(set(scores)):
        accepted = scores <= threshold
        if (accepted & ~is_anomaly).sum() >= 0.95 * (~is_anomaly).sum():
            best = min(best, (accepted & is_anomaly).sum() / is_anomaly.sum())
    return best


def handcrafted():
    is_anomaly = np.array([False, False, False, False, True, True, True, True, True, True])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.9, 0.7, 0.3, 0.8, 0.95, 0.6])
    anomaly_class = np.array(["", "", "", "", "x", "x", "y", "y", "z", "z"])
    return is_anomaly, scores, anomaly_class


def test_handcrafted_values():
    is_anomaly, scores, anomaly_class = handcrafted()
    metrics = one_class_metrics(is_anomaly, scores, anomaly_class)
    # 24 pairs; anomalies win 4 + 3 + 1 + 3.5 (0.8 ties the normal 0.8) + 4 + 3
    assert metrics["auroc"] == pytest.approx(brute_auroc(is_anomaly, scores))
    assert metrics["auroc"] == pytest.approx(18.5 / 24)
    assert metrics["auroc_per_class"] == pytest.approx({"x": 7 / 8, "y": 4.5 / 8, "z": 7 / 8})
    assert metrics["aupr"] == pytest.approx(brute_average_precision(is_anomaly, scores))
    assert metrics["fpr95_anomaly_positive"] == pytest.approx(brute_fpr95(is_anomaly, scores))
    # normal positive: accepting 95% of the 4 normal images means all 4 (threshold 0.8), which
    # accepts the anomalies 0.3, 0.6, 0.7 and 0.8: 4 of 6
    assert metrics["fpr95_normal_positive"] == pytest.approx(4 / 6)
    assert metrics["fpr95_normal_positive"] == pytest.approx(brute_fpr95_normal_positive(is_anomaly, scores))


@pytest.mark.parametrize("seed", range(5))
def test_random_scores_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=120)
    is_anomaly = labels != 0
    scores = np.round(rng.normal(size=120) + 0.8 * is_anomaly, 1)  # rounding makes ties
    anomaly_class = np.where(is_anomaly, labels.astype(str), "")
    metrics = one_class_metrics(is_anomaly, scores, anomaly_class)
    assert metrics["auroc"] == pytest.approx(brute_auroc(is_anomaly, scores))
    assert metrics["aupr"] == pytest.approx(brute_average_precision(is_anomaly, scores))
    assert metrics["fpr95_anomaly_positive"] == pytest.approx(brute_fpr95(is_anomaly, scores))
    assert metrics["fpr95_normal_positive"] == pytest.approx(brute_fpr95_normal_positive(is_anomaly, scores))
    for name, value in metrics["auroc_per_class"].items():
        keep = ~is_anomaly | (anomaly_class == name)
        assert value == pytest.approx(brute_auroc(is_anomaly[keep], scores[keep]))


def test_perfect_and_inverted_scores():
    is_anomaly = np.array([False] * 5 + [True] * 5)
    scores = np.arange(10.0)
    classes = np.where(is_anomaly, "a", "")
    assert one_class_metrics(is_anomaly, scores, classes)["auroc"] == 1.0
    assert one_class_metrics(is_anomaly, scores, classes)["fpr95_anomaly_positive"] == 0.0
    assert one_class_metrics(is_anomaly, scores, classes)["fpr95_normal_positive"] == 0.0
    assert one_class_metrics(is_anomaly, -scores, classes)["auroc"] == 0.0
    assert fpr_at_tpr(is_anomaly, -scores) == 1.0


def test_the_two_fpr95_conventions_differ_and_are_named():
    # normal images at 0..19; two anomalies score far below every normal image, 18 far above.
    # Catching 95% of the anomalies (19 of 20) needs the threshold at -100: every normal image
    # is flagged (1.0). Accepting 95% of the normal images (19 of 20, threshold 18) accepts
    # the two low anomalies: 2 of 20 (0.1).
    is_anomaly = np.array([False] * 20 + [True] * 20)
    scores = np.r_[np.arange(20.0), [-100.0, -100.0], np.full(18, 100.0)]
    metrics = one_class_metrics(is_anomaly, scores, np.where(is_anomaly, "a", ""))
    assert metrics["fpr95_anomaly_positive"] == pytest.approx(1.0)
    assert metrics["fpr95_normal_positive"] == pytest.approx(0.1)
    assert metrics["fpr95_anomaly_positive"] == pytest.approx(brute_fpr95(is_anomaly, scores))
    assert metrics["fpr95_normal_positive"] == pytest.approx(brute_fpr95_normal_positive(is_anomaly, scores))
    assert "fpr95" not in metrics  # the ambiguous name is gone from new records


def test_tables_read_records_written_with_the_old_fpr95_name():
    from bench.table import long_frame, summary

    cell = {"method": "m", "profile": "smoke", "method_hash": "h", "dataset": "d", "dataset_hash": "h",
            "normal_class": 0, "class_name": "0", "seed": 0}
    old = {"status": "ok", "cell": cell, "metrics": {"auroc": 0.9, "aupr": 0.8, "fpr95": 0.3}}
    frame = long_frame([old])
    assert summary(frame, "fpr95-anomaly-positive")["mean"].tolist() == [0.3]
    assert summary(frame, "fpr95-normal-positive").empty  # never computed for that record: not invented
