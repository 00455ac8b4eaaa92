"""DN2 (Bergman, Cohen & Hoshen, 2020): kNN on frozen pretrained features.

Recipe (PANDA with zero epochs, as the authors define it): torchvision ResNet-152 with
ImageNet `IMAGENET1K_V1` weights, 2048-d average-pooled features, resize 256 → centre crop
224, ImageNet normalisation, no training. Score: the sum of *squared* L2 distances to the
k = 2 nearest normal training features, on raw (unnormalised) features.
"""

from __future__ import annotations

import numpy as np

from bench.detectors import PAPER_FEATURES, SMOKE_FEATURES, FrozenFeatureDetector
from bench.knn import knn_score
from bench.registry import register_method


@register_method("dn2", groups=("knn", "frozen-features"))
class DN2(FrozenFeatureDetector):
    """Deep nearest neighbours: Σ squared L2 to the 2 nearest normal features of a frozen ResNet."""

    profiles = {"smoke": dict(SMOKE_FEATURES), "paper": dict(PAPER_FEATURES)}

    def __init__(
        self,
        *,
        backbone: str = "resnet152",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 224,
        resize: int | None = 256,
        batch_size: int = 64,
        k: int = 2,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.resize = resize
        self.batch_size = batch_size
        self.k = k

    def fit_features(self, features: np.ndarray, ctx) -> None:
        self.bank_ = features

    def score_features(self, features: np.ndarray, ctx) -> np.ndarray:
        return knn_score(self.bank_, features, self.k, device=ctx.device)
