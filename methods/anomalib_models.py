"""PatchCore and PaDiM through anomalib's own modules, scored at image level.

The anomalib Lightning module is built with `pre_trained=False` and, for pretrained
profiles, gets its backbone weights from the torchvision checkpoint that `bench prepare`
fetched (the paper used torchvision's ImageNet weights; anomalib would otherwise download
timm's default tag at run time). Fitting goes through the module's own `training_step` on
each batch of normal images, then its `fit()` (PatchCore: k-centre-greedy coreset of the
patch memory bank; PaDiM: a Gaussian per patch position); scoring through its
`validation_step`, whose `pred_score` is the image score (PatchCore: re-weighted maximum
patch distance; PaDiM: maximum Mahalanobis distance). No Lightning trainer is involved, so
nothing is logged or written.

Images go through the shared transform path: resize and centre crop to `image_size`
(256 in the papers), ImageNet normalisation.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from typing import Any, ClassVar

import numpy as np

from bench.backbones import RANDOM, load_state_dict_into, weights_file
from bench.context import no_progress
from bench.detectors import BackboneDetector
from bench.errors import check_is_fitted
from bench.loading import image_loader
from bench.registry import register_method
from bench.seeding import seeded

DISABLED_STAGES = {"pre_processor": False, "post_processor": False, "evaluator": False, "visualizer": False}


def quiet_unless(show: bool):
    """anomalib's own progress bar (coreset selection) is shown only when ours are."""
    return contextlib.nullcontext() if show else contextlib.redirect_stderr(io.StringIO())


class AnomalibDetector(BackboneDetector):
    """Base: an anomalib image model fitted and scored through its Lightning module's steps."""

    module_class: ClassVar[str]  # "anomalib.models.Patchcore"

    def module_arguments(self) -> dict[str, Any]:
        raise NotImplementedError

    def _build(self, ctx):
        module_name, class_name = self.module_class.rsplit(".", 1)
        with warnings.catch_warnings():  # anomalib's import warns about its own deprecations
            warnings.simplefilter("ignore", FutureWarning)
            cls = getattr(importlib.import_module(module_name), class_name)
        with seeded(ctx.seed):  # random init and PaDiM's random channel subset
            module = cls(backbone=self.backbone, pre_trained=False, **self.module_arguments(), **DISABLED_STAGES)
        if self.weights != RANDOM:
            load_state_dict_into(module.model.feature_extractor.feature_extractor, weights_file(self.backbone, self.weights))
        return module.to(ctx.device)

    def _batches(self, images, ctx, shuffle: bool):
        from anomalib.data import ImageBatch

        loader = image_loader(images, self.feature_spec().transform(), ctx, batch_size=self.batch_size, shuffle=shuffle)
        for batch in loader:
            yield ImageBatch(image=batch.to(ctx.device))

    def fit(self, train, ctx) -> "AnomalibDetector":
        import torch

        module = self._build(ctx)
        module.train()
        with torch.no_grad():
            for batch in ctx.progress(self._batches(train, ctx, shuffle=False), desc="memory bank"):
                module.training_step(batch)
        with quiet_unless(ctx.progress is not no_progress):
            module.fit()
        self.module_ = module.eval()
        return self

    def score(self, test, ctx) -> np.ndarray:
        import torch

        check_is_fitted(self, "module_")
        scores = []
        with torch.no_grad():
            for batch in ctx.progress(self._batches(test, ctx, shuffle=False), desc="test images"):
                scores.append(self.module_.validation_step(batch).pred_score.reshape(-1).float().cpu())
        return torch.cat(scores).numpy().astype(np.float64)


SMOKE = {"backbone": "resnet18", "weights": RANDOM, "image_size": 32, "resize": 32, "batch_size": 64}


@register_method("patchcore", groups=("anomalib", "memory-bank"))
class PatchCore(AnomalibDetector):
    """anomalib PatchCore: coreset memory of layer2+3 patch features, max patch NN distance."""

    module_class = "anomalib.models.Patchcore"
    profiles = {
        "smoke": dict(SMOKE),
        "paper": {"backbone": "wide_resnet50_2", "weights": "IMAGENET1K_V1", "image_size": 256, "resize": 256, "batch_size": 32},
    }

    def __init__(
        self,
        *,
        backbone: str = "wide_resnet50_2",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 256,
        resize: int | None = 256,
        batch_size: int = 32,
        layers: tuple = ("layer2", "layer3"),
        coreset_sampling_ratio: float = 0.1,
        num_neighbors: int = 9,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.resize = resize
        self.batch_size = batch_size
        self.layers = layers
        self.coreset_sampling_ratio = coreset_sampling_ratio
        self.num_neighbors = num_neighbors

    def module_arguments(self) -> dict[str, Any]:
        return {
            "layers": tuple(self.layers),
            "coreset_sampling_ratio": self.coreset_sampling_ratio,
            "num_neighbors": self.num_neighbors,
        }


@register_method("padim", groups=("anomalib",))
class PaDiM(AnomalibDetector):
    """anomalib PaDiM: a Gaussian per patch position of layer1–3 features, max Mahalanobis."""

    module_class = "anomalib.models.Padim"
    profiles = {
        "smoke": dict(SMOKE),
        "paper": {"backbone": "resnet18", "weights": "IMAGENET1K_V1", "image_size": 256, "resize": 256, "batch_size": 32},
    }

    def __init__(
        self,
        *,
        backbone: str = "resnet18",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 256,
        resize: int | None = 256,
        batch_size: int = 32,
        layers: tuple = ("layer1", "layer2", "layer3"),
        n_features: int | None = None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.resize = resize
        self.batch_size = batch_size
        self.layers = layers
        self.n_features = n_features

    def module_arguments(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "n_features": self.n_features}
