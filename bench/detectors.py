"""Base classes of the methods built on a named backbone: frozen features, or a fine-tuned
network scored by kNN.

The backbone half of a profile: `SMOKE_BACKBONE` runs a random-init ResNet-18 at 32 px on a
CPU; `PAPER_BACKBONE` is the DN2/PANDA recipe (ImageNet ResNet-152 V1 weights, resize 256,
centre crop 224).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import numpy as np

from bench.backbones import RANDOM, weights_requirement
from bench.context import RunContext
from bench.detector import Detector
from bench.errors import check_is_fitted
from bench.features import FeatureExtractor, FeatureSpec
from bench.images import ImageSet
from bench.loading import run_network
from bench.requirements import Requirement
from bench.tags import Tags

SMOKE_BACKBONE = {"backbone": "resnet18", "weights": RANDOM, "image_size": 32, "resize": 32}
PAPER_BACKBONE = {"backbone": "resnet152", "weights": "IMAGENET1K_V1", "image_size": 224, "resize": 256}
SMOKE_FEATURES = {**SMOKE_BACKBONE, "batch_size": 256}
PAPER_FEATURES = {**PAPER_BACKBONE, "batch_size": 64}
RESNET_TAGS = Tags(gpu_profiles=("paper",), min_image_size=32)  # five stride-2 stages down to 1×1
FINE_TUNED_RESNET_TAGS = replace(RESNET_TAGS, untrained_params={"epochs": 0})


class BackboneDetector(Detector):
    """Base of methods built on a named backbone: they take `backbone`, `weights`,
    `image_size` and `resize` among their parameters, and need the weights file."""

    backbone: str
    weights: str
    image_size: int
    resize: int | None
    tags = RESNET_TAGS

    @classmethod
    def requirements(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        return weights_requirement(params["backbone"], params["weights"]) + cls.inputs(params, ctx)

    def feature_spec(self) -> FeatureSpec:
        return FeatureSpec(self.backbone, self.weights, self.image_size, self.resize)


class FrozenFeatureDetector(BackboneDetector):
    """Base of methods that fit and score pooled features of a frozen backbone; subclasses
    implement `fit_features(X, ctx)` and `score_features(X, ctx)` on float32 N×D arrays."""

    batch_size: int

    def fit(self, train: ImageSet, ctx: RunContext) -> "FrozenFeatureDetector":
        self.extractor_ = FeatureExtractor(self.feature_spec(), ctx, batch_size=self.batch_size)
        self.fit_features(self.extractor_(train, "train features"), ctx)
        return self

    def score(self, test: ImageSet, ctx: RunContext) -> np.ndarray:
        check_is_fitted(self, "extractor_")
        return self.score_features(self.extractor_(test, "test features"), ctx)

    def fit_features(self, features: np.ndarray, ctx: RunContext) -> None:
        raise NotImplementedError

    def score_features(self, features: np.ndarray, ctx: RunContext) -> np.ndarray:
        raise NotImplementedError


class TrainedFeatureKNN(BackboneDetector):
    """Base of methods that fine-tune their backbone (`self.network_`) and then score by the
    sum of squared L2 distances to the `k` nearest features of the normal training images,
    all taken through the eval transform. Subclasses train, set `network_`, call
    `memorise(train, ctx)`, and may override `embed` (MSC normalises)."""

    batch_size: int
    k: int
    tags = FINE_TUNED_RESNET_TAGS

    def embed(self, images):
        return self.network_(images)

    def features(self, images: ImageSet, ctx: RunContext, desc: str) -> np.ndarray:
        return run_network(self.embed, self.feature_spec().transform(), images, ctx, batch_size=self.batch_size, desc=desc)

    def memorise(self, train: ImageSet, ctx: RunContext) -> None:
        self.bank_ = self.features(train, ctx, "train features")

    def score(self, test: ImageSet, ctx: RunContext) -> np.ndarray:
        from bench.knn import knn_score

        check_is_fitted(self, "bank_")
        return knn_score(self.bank_, self.features(test, ctx, "test features"), self.k, device=ctx.device)
