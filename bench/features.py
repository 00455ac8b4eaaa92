"""Frozen-feature methods: one feature-extraction path shared by DN2, the PyOD detectors and
any method that fits on pooled backbone features."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from bench.backbones import RANDOM, load_backbone, weights_requirement
from bench.detector import Detector, Requirement, RunContext
from bench.errors import check_is_fitted
from bench.images import ImageSet
from bench.transforms import eval_transform

# The backbone half of a profile: smoke runs a random-init ResNet-18 at 32 px on a CPU; paper
# is the DN2/PANDA recipe (ImageNet ResNet-152 V1 weights, resize 256, centre crop 224).
SMOKE_FEATURES = {"backbone": "resnet18", "weights": RANDOM, "image_size": 32, "resize": 32, "batch_size": 256}
PAPER_FEATURES = {"backbone": "resnet152", "weights": "IMAGENET1K_V1", "image_size": 224, "resize": 256, "batch_size": 64}


class _Transformed:
    """torch-Dataset view of an image set through a transform."""

    def __init__(self, images: ImageSet, transform):
        self.images = images
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.transform(self.images[index])


def extract_features(model, transform, images: ImageSet, ctx: RunContext, *, batch_size: int, desc: str) -> np.ndarray:
    """Run `model` over `images` in batches (no gradients) and return float32 features."""
    import torch
    from torch.utils.data import DataLoader

    loader = DataLoader(_Transformed(images, transform), batch_size=batch_size, shuffle=False, num_workers=0)
    outputs = []
    with torch.no_grad():
        for batch in ctx.progress(loader, total=len(loader), desc=desc):
            outputs.append(model(batch.to(ctx.device)).float().cpu())
    return torch.cat(outputs).numpy()


class FrozenFeatureDetector(Detector):
    """Base of methods that fit and score pooled features of a frozen backbone.

    Subclasses take `backbone`, `weights`, `image_size`, `resize` and `batch_size` among their
    parameters and implement `fit_features(X, ctx)` and `score_features(X, ctx)`.
    """

    backbone: str
    weights: str
    image_size: int
    resize: int | None
    batch_size: int

    @classmethod
    def requirements(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        return weights_requirement(params["backbone"], params["weights"])

    def fit(self, train: ImageSet, ctx: RunContext) -> "FrozenFeatureDetector":
        self.backbone_ = load_backbone(self.backbone, self.weights, ctx.device)
        self.fit_features(self._features(train, ctx, "train features"), ctx)
        return self

    def score(self, test: ImageSet, ctx: RunContext) -> np.ndarray:
        check_is_fitted(self, "backbone_")
        return self.score_features(self._features(test, ctx, "test features"), ctx)

    def _features(self, images: ImageSet, ctx: RunContext, desc: str) -> np.ndarray:
        transform = eval_transform(self.image_size, self.resize)
        return extract_features(self.backbone_, transform, images, ctx, batch_size=self.batch_size, desc=desc)

    def fit_features(self, features: np.ndarray, ctx: RunContext) -> None:
        raise NotImplementedError

    def score_features(self, features: np.ndarray, ctx: RunContext) -> np.ndarray:
        raise NotImplementedError
