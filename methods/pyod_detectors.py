"""PyOD detectors on the same frozen backbone features as DN2.

Each registered name fixes one PyOD class; `detector_params` holds that class's own
hyper-parameters (PyOD's defaults unless a profile says otherwise). Features are
standardised first by default, as PyOD's own image path (`EmbeddingOD`) does. PyOD's
`decision_function` is already "higher = more anomalous", so scores pass through unchanged.
The run's seed goes to every detector that takes a `random_state`.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import replace
from typing import ClassVar

import numpy as np

from bench.detectors import PAPER_FEATURES, SMOKE_FEATURES, FrozenFeatureDetector
from bench.registry import register_method


def feature_profiles(**detector_params) -> dict[str, dict]:
    return {
        "smoke": {**SMOKE_FEATURES, "detector_params": detector_params},
        "paper": {**PAPER_FEATURES, "detector_params": detector_params},
    }


class PyODOnFeatures(FrozenFeatureDetector):
    """Base: a PyOD detector fitted on pooled backbone features of the normal images."""

    pyod_class: ClassVar[str]  # "module.Class"
    tags = replace(FrozenFeatureDetector.tags, expected_failures={
        "check_init_defaults_are_paper_profile": "detector_params defaults to None (PyOD's own defaults, one "
        "__init__ for every PyOD class); the profiles spell those defaults out per class",
    })

    def __init__(
        self,
        *,
        backbone: str = "resnet152",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 224,
        resize: int | None = 256,
        batch_size: int = 64,
        standardize: bool = True,
        detector_params: dict | None = None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.resize = resize
        self.batch_size = batch_size
        self.standardize = standardize
        self.detector_params = detector_params

    def fit_features(self, features: np.ndarray, ctx) -> None:
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(features) if self.standardize else None
        module, name = self.pyod_class.rsplit(".", 1)
        detector_class = getattr(importlib.import_module(module), name)
        params = dict(self.detector_params or {})
        if "random_state" in inspect.signature(detector_class).parameters:
            params.setdefault("random_state", ctx.seed)
        self.detector_ = detector_class(**params).fit(self._scaled(features))

    def score_features(self, features: np.ndarray, ctx) -> np.ndarray:
        return np.asarray(self.detector_.decision_function(self._scaled(features)), dtype=np.float64)

    def _scaled(self, features: np.ndarray) -> np.ndarray:
        return self.scaler_.transform(features) if self.scaler_ is not None else features


@register_method("pyod-knn", groups=("pyod", "knn", "frozen-features"))
class PyODKNN(PyODOnFeatures):
    """PyOD KNN: distance to the 5th nearest normal feature (PyOD defaults)."""

    pyod_class = "pyod.models.knn.KNN"
    profiles = feature_profiles(n_neighbors=5, method="largest")


@register_method("pyod-lof", groups=("pyod", "frozen-features"))
class PyODLOF(PyODOnFeatures):
    """PyOD LOF: local outlier factor with 20 neighbours, in novelty mode."""

    pyod_class = "pyod.models.lof.LOF"
    profiles = feature_profiles(n_neighbors=20)


@register_method("pyod-iforest", groups=("pyod", "frozen-features"))
class PyODIForest(PyODOnFeatures):
    """PyOD isolation forest, 100 trees, seeded by the run."""

    pyod_class = "pyod.models.iforest.IForest"
    profiles = feature_profiles(n_estimators=100)


@register_method("pyod-ocsvm", groups=("pyod", "frozen-features"))
class PyODOCSVM(PyODOnFeatures):
    """PyOD one-class SVM: RBF kernel, gamma 'auto', nu 0.5 (PyOD defaults)."""

    pyod_class = "pyod.models.ocsvm.OCSVM"
    profiles = feature_profiles(kernel="rbf", nu=0.5)


@register_method("pyod-ecod", groups=("pyod", "frozen-features"))
class PyODECOD(PyODOnFeatures):
    """PyOD ECOD: empirical-CDF tail probabilities per feature, no hyper-parameters."""

    pyod_class = "pyod.models.ecod.ECOD"
    profiles = feature_profiles()


@register_method("pyod-copod", groups=("pyod", "frozen-features"))
class PyODCOPOD(PyODOnFeatures):
    """PyOD COPOD: copula-based tail probabilities, no hyper-parameters."""

    pyod_class = "pyod.models.copod.COPOD"
    profiles = feature_profiles()


@register_method("pyod-pca", groups=("pyod", "frozen-features"))
class PyODPCA(PyODOnFeatures):
    """PyOD PCA: weighted distance to the principal axes of the normal features."""

    pyod_class = "pyod.models.pca.PCA"
    profiles = feature_profiles()
