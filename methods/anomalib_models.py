"""anomalib's image models through their own modules, scored at image level: the base of
PatchCore (`methods/patchcore.py`) and PaDiM.

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

PaDiM's `paper` profile is the headline of anomalib's README (MVTec image AUROC 0.950): wide
ResNet-50-2, layers 1–3, a fixed random subset of 550 channels (anomalib's default for that
backbone). Its ResNet-18 configuration (0.891, 100 channels) is the profile `paper-resnet18`.
At 256 px PaDiM holds 4,096 covariances of 550×550 (4.6 GiB, and as much again for their
inverses) and, until they are fitted, every training embedding (8.6 MiB per image with
WRN-50-2): the planner states the estimate when it passes 8 GiB.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from bench.backbones import RANDOM, load_state_dict_into, resnet_feature_maps, weights_file
from bench.context import no_progress
from bench.detectors import RESNET_TAGS, BackboneDetector
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
# anomalib's published configuration of both models: wide ResNet-50-2 (ImageNet) at 256 px
PAPER = {"backbone": "wide_resnet50_2", "weights": "IMAGENET1K_V1", "image_size": 256, "resize": 256, "batch_size": 32}
PADIM_FEATURES = {"resnet18": 100, "wide_resnet50_2": 550}  # anomalib's random channel subset by backbone


@register_method("padim", groups=("anomalib",))
class PaDiM(AnomalibDetector):
    """anomalib PaDiM: a Gaussian per patch position of layer1–3 features, max Mahalanobis."""

    module_class = "anomalib.models.Padim"
    tags = replace(RESNET_TAGS, gpu_profiles=("paper", "paper-resnet18"))
    profiles = {
        "smoke": dict(SMOKE),
        # the headline (anomalib README, MVTec image AUROC 0.950): wide ResNet-50-2, 550 channels
        "paper": dict(PAPER),
        # anomalib's default backbone (0.891): `--profile paper-resnet18`
        "paper-resnet18": {**PAPER, "backbone": "resnet18"},
    }

    def __init__(
        self,
        *,
        backbone: str = "wide_resnet50_2",
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

    @classmethod
    def check_resources(cls, params, max_train_images: int | None) -> str | None:
        """PaDiM keeps every training embedding until it fits its Gaussians, then one
        covariance (and its inverse) per position: a notice when that passes 8 GiB."""
        maps = resnet_feature_maps(params["backbone"], params["layers"], params["image_size"])
        features = params["n_features"] or PADIM_FEATURES.get(params["backbone"])
        if maps is None or features is None or max_train_images is None:
            return None
        positions = maps[0][1] ** 2
        embeddings = max_train_images * features * positions * 4
        covariances = 3 * positions * features**2 * 4  # the covariances, their stabilised copy, the inverses
        if embeddings + covariances < 8 * 2**30:
            return None
        return (f"about {(embeddings + covariances) / 2**30:.1f} GiB: the embeddings of {max_train_images:,} images "
                f"({features} channels × {positions:,} positions, {embeddings / 2**30:.1f} GiB, all kept until the "
                f"Gaussians are fitted) and {positions:,} covariances of {features}×{features}")
