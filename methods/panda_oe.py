"""PANDA-OE (Reiss et al., CVPR 2021): outlier exposure — a pretrained ResNet fine-tuned to tell
the normal images from an outlier image set.

Recipe (talreiss/PANDA `outlier_exposure.py`, latest commit bfcd278): torchvision ResNet-152
`IMAGENET1K_V1`, its classifier replaced by a new `Linear(2048, 1)` (PyTorch's default init,
seeded); `layer3`, `layer4` and the new head train, BatchNorm frozen in eval mode for good;
every step takes a batch of 32 normal images and 32 outlier images drawn at random from the
whole outlier set (the reference restarts a shuffled outlier loader at each step), both through
the 224 eval transform (no augmentation), and minimises binary cross-entropy of
sigmoid(logit) with normal = 0 and outlier = 1; SGD lr 0.1, momentum 0.9, no weight decay,
gradient norm clipped to 1e-3; 50 epochs over the normal images, the last one kept. Score:
the logit — the reference's sigmoid of it is monotone, so the AUROC is the same, without the
ties a saturated sigmoid makes in float32.

The outlier set is an input only you can provide (`outlier_images`, default `panda/tiny`
under the data root): PANDA's README links its 80M-Tiny-Images subset (`tiny.zip`, Google
Drive; 80M Tiny Images itself was withdrawn by its authors), read as torchvision's
ImageFolder reads it — unzip it so that `panda/tiny/<folder>/<images>` exist. Any folder in
that layout works (say, Hendrycks et al.'s 300K random images written out as PNGs). Reached
through a group, the method is skipped with a notice when the folder is missing; named, the
plan fails with what to do.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from bench.backbones import build_backbone
from bench.context import RunContext
from bench.detectors import FINE_TUNED_RESNET_TAGS, PAPER_BACKBONE, SMOKE_BACKBONE, BackboneDetector
from bench.errors import check_is_fitted
from bench.imagefolder import LAYOUT, has_images, read_image_folder, resolve
from bench.loading import TransformedImages, image_loader, run_network
from bench.registry import register_method
from bench.requirements import Requirement
from bench.seeding import seeded
from bench.training import run_epochs, train_only

OUTLIER_FOLDER = "panda/tiny"
PANDA_README = "https://github.com/talreiss/PANDA#data-preparation"


class OutlierBatches:
    """`batch_size` outlier images (transformed, stacked) per call, drawn at random without
    replacement within a batch from the whole set by torch's generator — seeded with the run's
    seed and saved with the training checkpoints, so a resumed run draws what it would have."""

    def __init__(self, images, transform, batch_size: int):
        self.images = TransformedImages(images, transform)
        self.batch_size = batch_size

    def __call__(self):
        import torch

        chosen = torch.randperm(len(self.images))[: self.batch_size]
        return torch.stack([self.images[int(i)] for i in chosen])


@register_method("panda-oe", groups=("fine-tuned", "outlier-exposure"))
class PANDAOE(BackboneDetector):
    """PANDA's outlier exposure: a pretrained ResNet's new head, layer3 and layer4 trained to tell
    normal images (0) from an outlier set (1) by cross-entropy; the logit is the score."""

    tags = FINE_TUNED_RESNET_TAGS

    profiles = {
        "smoke": {**SMOKE_BACKBONE, "epochs": 3, "batch_size": 32, "lr": 0.1, "clip_norm": 1.0},
        "paper": {**PAPER_BACKBONE, "epochs": 50, "batch_size": 32},
    }

    def __init__(
        self,
        *,
        backbone: str = "resnet152",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 224,
        resize: int | None = 256,
        epochs: int = 50,
        batch_size: int = 32,
        lr: float = 0.1,
        momentum: float = 0.9,
        clip_norm: float = 1e-3,
        trainable_layers: tuple = ("layer3", "layer4"),
        outlier_images: str = OUTLIER_FOLDER,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.resize = resize
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.clip_norm = clip_norm
        self.trainable_layers = trainable_layers
        self.outlier_images = outlier_images

    @classmethod
    def inputs(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        return [Requirement(
            what="an outlier image folder (PANDA's tiny.zip of 80M Tiny Images, unzipped)",
            path=resolve(params["outlier_images"], ctx.data_root),
            how_to_get=(f"download tiny.zip from the link in talreiss/PANDA's README ({PANDA_README}) and unzip it "
                        f"into <data root>/{OUTLIER_FOLDER}, or point outlier_images at a folder of your own in that layout"),
            param="outlier_images", layout=LAYOUT, usable=has_images,
        )]

    def fit(self, train, ctx) -> "PANDAOE":
        import torch

        spec = self.feature_spec()
        outliers = read_image_folder(resolve(self.outlier_images, ctx.data_root), "panda-oe outlier_images")
        network = build_backbone(self.backbone, self.weights, seed=ctx.seed)
        with seeded(ctx.seed):  # the head's init depends on the seed alone
            head = torch.nn.Linear(_width(network, spec), 1)
        model = torch.nn.Sequential(network, head).to(ctx.device)
        parameters = train_only(network, self.trainable_layers) + list(head.parameters())
        model.eval()  # once and for good: BatchNorm keeps its pretrained running statistics
        optimizer = torch.optim.SGD(parameters, lr=self.lr, momentum=self.momentum)
        loader = image_loader(train, spec.transform(), ctx, batch_size=self.batch_size, shuffle=True)
        draw_outliers = OutlierBatches(outliers.images, spec.transform(), self.batch_size)
        bce = torch.nn.BCEWithLogitsLoss()  # BCE of the sigmoid, computed stably

        def normal_vs_outliers(images):
            inputs = torch.cat([images, draw_outliers()]).to(ctx.device)
            targets = torch.cat([torch.zeros(len(images)), torch.ones(len(inputs) - len(images))]).to(ctx.device)
            return bce(model(inputs).squeeze(1), targets)

        self.loss_history_ = run_epochs(
            loader, normal_vs_outliers, optimizer, self.epochs, ctx, model=model,
            clip_norm=self.clip_norm, parameters=parameters, name="panda-oe", desc="PANDA-OE epochs",
        )
        self.network_ = model
        return self

    def score(self, test, ctx) -> np.ndarray:
        check_is_fitted(self, "network_")
        logits = run_network(self.network_, self.feature_spec().transform(), test, ctx,
                             batch_size=self.batch_size, desc="test logits")
        return logits[:, 0].astype(np.float64)


def _width(network, spec) -> int:
    """The width of `network`'s pooled features (one forward of a blank image)."""
    import torch

    with torch.no_grad():
        return int(network(torch.zeros(1, 3, spec.image_size, spec.image_size)).shape[1])
