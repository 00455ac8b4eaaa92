"""Detection metrics, anomaly = positive class, computed with scikit-learn."""

from __future__ import annotations

import numpy as np

# What tables report: name → (record column, higher is better).
METRICS = {
    "headline": ("headline", True),  # each dataset's own (Benchmark.headline): auroc or auroc-worst
    "auroc": ("auroc", True),
    "aupr": ("aupr", True),
    # FPR at 95% TPR, in both conventions (see `one_class_metrics`); lower is better
    "fpr95-anomaly-positive": ("fpr95_anomaly_positive", False),
    "fpr95-normal-positive": ("fpr95_normal_positive", False),
    "auroc-worst": ("auroc_worst", True),  # min over anomaly classes (FITYMI's CIFAR-10 vs CIFAR-100)
    "auroc-classmean": ("auroc_classmean", True),  # mean over anomaly classes (CSI's AUROC)
}
# Record column → how tables name it; every one is a fraction shown in percent.
LABELS = {
    "auroc": "AUROC",
    "aupr": "AUPR",
    "fpr95_anomaly_positive": "FPR@95%TPR (anomalies positive)",
    "fpr95_normal_positive": "FPR@95%TPR (normal positive)",
    "auroc_worst": "worst-class AUROC",
    "auroc_classmean": "class-mean AUROC",
}
UNIT = "%"


# The single-number metrics of a record, and the names older records used for some of them
# (`fpr95` was stored before both conventions were, for the anomaly-positive one).
SCALAR_METRICS = ("auroc", "aupr", "fpr95_anomaly_positive", "fpr95_normal_positive")
LEGACY_METRIC_NAMES = {"fpr95": "fpr95_anomaly_positive"}


def fpr_at_tpr(is_anomaly: np.ndarray, scores: np.ndarray, tpr: float = 0.95) -> float:
    """Fraction of negatives (normal images) flagged when the threshold catches `tpr` of the
    positives (anomalies), scores higher = more positive. For the other convention pass
    `~is_anomaly, -scores`."""
    from sklearn.metrics import roc_curve

    # drop_intermediate would drop collinear points, and with them the threshold we want
    fprs, tprs, _ = roc_curve(is_anomaly, scores, drop_intermediate=False)
    return float(fprs[np.argmax(tprs >= tpr)])


def one_class_metrics(is_anomaly: np.ndarray, scores: np.ndarray, anomaly_class: np.ndarray) -> dict:
    """AUROC with its 95% stratified bootstrap interval (`bench.bootstrap`: 1,000 resamples
    of the test images, seeded), AUPR (average precision), FPR@95TPR in both conventions, and
    AUROC per anomaly class.

    - `fpr95_anomaly_positive`: anomalies are the positives, as in AUROC — the fraction of
      normal test images flagged when the threshold catches 95% of the anomalies;
    - `fpr95_normal_positive`: normal images are the positives, the OOD papers' convention
      (in-distribution = positive, e.g. CSI's and OpenOOD's "FPR@95TPR") — the fraction of
      anomalies accepted as normal when the threshold accepts 95% of the normal test images.

    The per-class AUROC of class a uses the normal test images against the test images of
    class a only, so worst-class protocols (FITYMI's CIFAR-10 vs CIFAR-100) are an
    aggregation of stored numbers.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    from bench.bootstrap import auroc_interval

    normal = ~is_anomaly
    per_class = {}
    for name in sorted(set(anomaly_class[is_anomaly].tolist())):
        members = normal | (anomaly_class == name)
        per_class[str(name)] = float(roc_auc_score(is_anomaly[members], scores[members]))
    return {
        "auroc": float(roc_auc_score(is_anomaly, scores)),
        "auroc_ci": auroc_interval(is_anomaly, scores),
        "aupr": float(average_precision_score(is_anomaly, scores)),
        "fpr95_anomaly_positive": fpr_at_tpr(is_anomaly, scores, 0.95),
        "fpr95_normal_positive": fpr_at_tpr(~is_anomaly, -scores, 0.95),
        "auroc_per_class": per_class,
    }

