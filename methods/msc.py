"""Mean-Shifted Contrastive loss (MSC; Reiss & Hoshen, AAAI 2023).

Recipe (talreiss/Mean-Shifted-Anomaly-Detection): torchvision ResNet-152 `IMAGENET1K_V1`
with L2-normalised 2048-d output; the centre c is the mean of the normalised *pretrained*
features of the normal training images (eval mode, before any update; normalised again only
with `angular`); `layer3` and `layer4` train (all layers for ResNet-18) with BatchNorm frozen
in eval mode. Each image gives two MoCo-v2 views (random resized crop, scale 0.2–1; colour
jitter 0.4/0.4/0.4/0.1 with p 0.8; grayscale p 0.2; Gaussian blur σ ∈ [0.1, 2] with p 0.5;
horizontal flip); the loss is NT-Xent at temperature 0.25 over the 2B mean-shifted,
re-normalised features normalize(f(v) − c); `angular` adds mean‖f(v) − c‖². SGD lr 1e-5,
weight decay 5e-5, no momentum; 20 epochs of batch 64, the last partial batch of each epoch
kept (the reference's loader does not drop it). Score: Σ squared L2 to the 2 nearest
training features, normalised and *not* shifted.
"""

from __future__ import annotations

import numpy as np

from bench.backbones import build_backbone
from bench.detectors import PAPER_BACKBONE, SMOKE_BACKBONE, TrainedFeatureKNN
from bench.features import FeatureExtractor
from bench.loading import image_loader
from bench.losses import nt_xent
from bench.registry import register_method
from bench.training import run_epochs, train_only
from bench.transforms import IMAGENET_MEAN, IMAGENET_STD, to_rgb


class PILGaussianBlur:
    """MoCo-v2's blur: PIL's Gaussian filter with σ drawn uniformly (from torch's RNG, so the
    run's seed fixes it). Far cheaper than a 23×23 convolution at 224 px."""

    def __init__(self, sigma=(0.1, 2.0)):
        self.sigma = sigma

    def __call__(self, image):
        import torch
        from PIL import ImageFilter

        radius = float(torch.empty(1).uniform_(*self.sigma))
        return image.filter(ImageFilter.GaussianBlur(radius=radius))


def moco_v2_views(image_size: int, crop_scale_min: float):
    """A transform returning two independent MoCo-v2 augmentations of one image."""
    from torchvision import transforms as T

    augment = T.Compose(
        [
            T.Lambda(to_rgb),
            T.RandomResizedCrop(image_size, scale=(crop_scale_min, 1.0)),
            T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            T.RandomGrayscale(p=0.2),
            T.RandomApply([PILGaussianBlur((0.1, 2.0))], p=0.5),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    return lambda image: (augment(image), augment(image))


@register_method("msc", groups=("knn", "fine-tuned"))
class MSC(TrainedFeatureKNN):
    """Mean-shifted contrastive fine-tuning of a pretrained ResNet, then 2-NN on unit features."""

    profiles = {
        # smoke: ResNet-18 trains all layers, as the recipe does for ResNet-18
        "smoke": {**SMOKE_BACKBONE, "epochs": 2, "batch_size": 32, "lr": 1e-2, "trainable_layers": None},
        "paper": {**PAPER_BACKBONE, "epochs": 20, "batch_size": 64},
    }

    def __init__(
        self,
        *,
        backbone: str = "resnet152",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 224,
        resize: int | None = 256,
        epochs: int = 20,
        batch_size: int = 64,
        lr: float = 1e-5,
        weight_decay: float = 5e-5,
        temperature: float = 0.25,
        angular: bool = False,
        crop_scale_min: float = 0.2,
        trainable_layers: tuple | None = ("layer3", "layer4"),
        k: int = 2,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.resize = resize
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.angular = angular
        self.crop_scale_min = crop_scale_min
        self.trainable_layers = trainable_layers
        self.k = k

    def fit(self, train, ctx) -> "MSC":
        import torch
        import torch.nn.functional as F

        pretrained = FeatureExtractor(self.feature_spec(), ctx, batch_size=self.batch_size)
        unit = pretrained(train, "pretrained features")
        unit = unit / np.linalg.norm(unit, axis=1, keepdims=True)
        center = torch.as_tensor(unit.mean(axis=0), device=ctx.device)
        if self.angular:
            center = F.normalize(center, dim=0)

        network = build_backbone(self.backbone, self.weights, seed=ctx.seed).to(ctx.device)
        parameters = train_only(network, self.trainable_layers)
        network.eval()  # once and for good: BatchNorm keeps its pretrained running statistics
        self.network_ = network
        optimizer = torch.optim.SGD(parameters, lr=self.lr, weight_decay=self.weight_decay)
        views = moco_v2_views(self.image_size, self.crop_scale_min)
        loader = image_loader(train, views, ctx, batch_size=self.batch_size, shuffle=True)  # last batch kept

        def mean_shifted_loss(batch):
            first, second = (self.embed(view.to(ctx.device)) - center for view in batch)
            loss = nt_xent(first, second, self.temperature)
            if self.angular:
                loss = loss + (first**2).sum(dim=1).mean() + (second**2).sum(dim=1).mean()
            return loss

        self.loss_history_ = run_epochs(
            loader, mean_shifted_loss, optimizer, self.epochs, ctx, model=network, name="msc", desc="MSC epochs"
        )
        self.memorise(train, ctx)
        return self

    def embed(self, images):
        import torch.nn.functional as F

        return F.normalize(self.network_(images), dim=1)
