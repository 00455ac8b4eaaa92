"""Frozen backbone features: one extraction path, one on-disk cache, shared by every method
that scores or initialises from pooled features (DN2, the PyOD detectors, PANDA's and MSC's
centres).

Features are cached as `.npy` under `<cache>/features/`, keyed by the backbone, its weights
(and the seed, for random weights), the transform, and the image set's key. Several methods
of one sweep on one backbone therefore run the network once per image set. Image sets
without a key are never cached.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from bench.atomic import atomic_file
from bench.backbones import RANDOM, build_backbone, is_path, weights_requirement
from bench.detector import Detector, Requirement, RunContext
from bench.errors import check_is_fitted
from bench.images import ImageSet
from bench.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform

CACHE_VERSION = 1

# The backbone half of a profile: smoke runs a random-init ResNet-18 at 32 px on a CPU; paper
# is the DN2/PANDA recipe (ImageNet ResNet-152 V1 weights, resize 256, centre crop 224).
SMOKE_BACKBONE = {"backbone": "resnet18", "weights": RANDOM, "image_size": 32, "resize": 32}
PAPER_BACKBONE = {"backbone": "resnet152", "weights": "IMAGENET1K_V1", "image_size": 224, "resize": 256}
SMOKE_FEATURES = {**SMOKE_BACKBONE, "batch_size": 256}
PAPER_FEATURES = {**PAPER_BACKBONE, "batch_size": 64}


class TransformedImages:
    """torch-Dataset view of an image set through a transform, with a label per image
    when `labels` is given (items are then (image, label) pairs)."""

    def __init__(self, images: ImageSet, transform, labels=None):
        self.images = images
        self.transform = transform
        self.labels = labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        image = self.transform(self.images[index])
        return image if self.labels is None else (image, int(self.labels[index]))


def image_loader(
    images: ImageSet, transform, ctx: RunContext, *, batch_size: int, shuffle: bool = False,
    drop_last: bool = False, labels=None,
):
    """Batches of transformed images (with `labels`: (images, labels) batches); the order
    depends on the run's seed alone, and `ctx.loader_workers` processes prepare them."""
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(
        TransformedImages(images, transform, labels),
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last and len(images) > batch_size,
        generator=torch.Generator().manual_seed(ctx.seed),
        num_workers=ctx.loader_workers,
        persistent_workers=ctx.loader_workers > 0,  # no re-forking at every epoch
        pin_memory=ctx.device.startswith("cuda"),
    )


def run_network(model, transform, images: ImageSet, ctx: RunContext, *, batch_size: int, desc: str) -> np.ndarray:
    """`model` over `images` in batches, no gradients, as float32 rows."""
    import torch

    loader = image_loader(images, transform, ctx, batch_size=batch_size)
    outputs = []
    with torch.no_grad():
        for batch in ctx.progress(loader, total=len(loader), desc=desc):
            outputs.append(model(batch.to(ctx.device)).float().cpu())
    return torch.cat(outputs).numpy()


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that determines a backbone's features of an image."""

    backbone: str
    weights: str
    image_size: int
    resize: int | None
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD

    def transform(self):
        return eval_transform(self.image_size, self.resize, self.mean, self.std)

    def identity(self, seed: int) -> dict[str, Any]:
        """What the cache key covers: the seed matters only for random weights, and a weights
        file is identified by its path, size and modification time."""
        identity = {**asdict(self), "version": CACHE_VERSION}
        if self.weights == RANDOM:
            identity["seed"] = seed
        elif is_path(self.weights):
            stat = Path(self.weights).expanduser().stat()
            identity["weights_file"] = [str(Path(self.weights).expanduser().resolve()), stat.st_size, stat.st_mtime_ns]
        return identity


class FeatureExtractor:
    """Features of image sets for one spec: from the cache, or by running the backbone once.

    The network is built only when a set is not cached; `forward_images` counts the images
    it has run (tests and benchmarks read it).
    """

    def __init__(self, spec: FeatureSpec, ctx: RunContext, *, batch_size: int):
        self.spec = spec
        self.ctx = ctx
        self.batch_size = batch_size
        self.forward_images = 0
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = build_backbone(self.spec.backbone, self.spec.weights, seed=self.ctx.seed).to(self.ctx.device)
        return self._model

    def cache_path(self, images: ImageSet) -> Path | None:
        if self.ctx.cache_dir is None or images.key is None:
            return None
        identity = {"spec": self.spec.identity(self.ctx.seed), "images": images.key, "n": len(images)}
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:24]
        safe_backbone = self.spec.backbone.replace(":", "-").replace("/", "-")
        return Path(self.ctx.cache_dir) / "features" / safe_backbone / f"{digest}.npy"

    def __call__(self, images: ImageSet, desc: str = "features") -> np.ndarray:
        path = self.cache_path(images)
        if path is not None and path.exists():
            try:
                return np.load(path)
            except (OSError, ValueError):
                pass  # an unreadable cache file is recomputed and replaced
        features = run_network(self.model, self.spec.transform(), images, self.ctx, batch_size=self.batch_size, desc=desc)
        self.forward_images += len(images)
        if path is not None:
            with atomic_file(path) as handle:
                np.save(handle, features)
        return features


class BackboneDetector(Detector):
    """Base of methods built on a named backbone: they take `backbone`, `weights`,
    `image_size` and `resize` among their parameters, and need the weights file."""

    backbone: str
    weights: str
    image_size: int
    resize: int | None

    @classmethod
    def requirements(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        return weights_requirement(params["backbone"], params["weights"])

    def feature_spec(self) -> FeatureSpec:
        return FeatureSpec(self.backbone, self.weights, self.image_size, self.resize)


class FrozenFeatureDetector(BackboneDetector):
    """Base of methods that fit and score pooled features of a frozen backbone; subclasses
    implement `fit_features(X, ctx)` and `score_features(X, ctx)`."""

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
