"""Frozen backbone features of image sets, cached on disk.

Features are cached as `.npy` under `<cache>/features/`, keyed by the backbone, its weights
(and the seed, for random weights), the transform, and the image set's key — derived from the
images' content (`bench.images`), so a changed image never gets another image's features.
Several methods of one sweep on one backbone therefore run the network once per image set.
Image sets without a key, and runs without a cache (`--no-cache`), are never cached.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.atomic import atomic_write
from bench.backbones import RANDOM, build_backbone, is_path
from bench.context import RunContext
from bench.digest import digest
from bench.images import ImageSet
from bench.loading import run_network
from bench.notices import discarded
from bench.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform

CACHE_VERSION = 2  # 2: image-set keys from content


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
    """Features (float32 N×D) of image sets for one spec: from the cache, or by running the
    backbone once.

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
        folder = self.ctx.cache("features")
        if folder is None or images.key is None:
            return None
        identity = {"spec": self.spec.identity(self.ctx.seed), "images": images.key, "n": len(images)}
        safe_backbone = self.spec.backbone.replace(":", "-").replace("/", "-")
        return folder / safe_backbone / f"{digest(identity, 24)}.npy"

    def __call__(self, images: ImageSet, desc: str = "features") -> np.ndarray:
        path = self.cache_path(images)
        if path is not None and path.exists():
            cached = load_features(path, len(images))
            if cached is not None:
                return cached
        features = run_network(self.model, self.spec.transform(), images, self.ctx, batch_size=self.batch_size, desc=desc)
        self.forward_images += len(images)
        if path is not None:
            with atomic_write(path) as handle:
                np.save(handle, features)
        return features


def load_features(path: Path, n_images: int) -> np.ndarray | None:
    """The cached features at `path` if they are what the cache stores — float32, one finite
    row per image (`n_images` × D) — else None, the damaged file deleted with a notice.
    Loaded with `allow_pickle=False`: a planted pickle cannot run code."""
    try:
        features = np.load(path, allow_pickle=False)
        if features.dtype != np.float32 or features.ndim != 2 or len(features) != n_images or not features.shape[1]:
            raise ValueError(f"{features.dtype} {features.shape}, expected float32 {n_images}×D")
        if not np.isfinite(features).all():
            raise ValueError("non-finite values")
    except (OSError, ValueError, EOFError) as error:
        path.unlink(missing_ok=True)
        discarded(path, str(error).splitlines()[0][:160] if str(error) else type(error).__name__)
        return None
    return features
