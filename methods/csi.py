"""CSI: contrasting shifted instances (Tack et al., NeurIPS 2020), trained from scratch.

Recipe (alinlab/CSI, `simclr_CSI` training, `ood_pre` evaluation with the CSI score):

- Network (`methods/csi_network.py`): CSI's ResNet-18, projection head 512 → 512 → 128 and a
  4-way rotation head, inputs normalised inside as (x − 0.5)/0.5. `network="resnet18"` is its
  CIFAR network (3×3 stride-1 stem, no max-pool) at 32 px; on high-resolution sets (datasets
  tagged `high-res`: MVTec, CUB, Flowers, Cars, WBC) the `paper` profile switches to its
  ImageNet-30 protocol, `network="resnet18_imagenet"` (torchvision's stem) at 224 px.
- Each batch of B images becomes 8B samples on the device: two copies, each rotated by
  0/90/180/270° (4B per copy), then per sample CSI's own colour jitter 0.4/0.4/0.4/0.1 (p 0.8;
  not torchvision's formulas, see `methods/csi_augment.py`), grayscale (p 0.2) and — CIFAR
  network — a random resized crop of scale 0.08–1 (kornia). The two copies are the batch twice,
  each randomly flipped (CIFAR network), or two views each resized to 256 (`resize`), cropped
  by torchvision's RandomResizedCrop to 224 and flipped (ImageNet network, whose device
  augmentation has no crop). Every (image, rotation) is its own instance: its positive is the
  same image and rotation in the other copy.
- Loss: NT-Xent at temperature 0.5 over the 8B normalised projections + cross-entropy of
  the rotation head.
- LARS (timm) over SGD with momentum 0.9, weight decay 1e-6; lr 0.1 raised linearly ×10 over
  10 warm-up epochs, then cosine (T = epochs), stepped every batch. 1,000 epochs at batch
  32 × 4 GPUs (the paper profile uses 128 on one device). Every training image is used each
  epoch: the last, partial batch is kept, as the reference's loader does.
- Score, from `ood_samples` draws per image (10), each for every rotation k a fresh random
  flip, the rotation, and the augmentation with the crop scale fixed at 0.54: per rotation k,
  z_k(x) = mean projection and ℓ_k(x) = mean rotation logits. The training set gives axes
  a_k(m) = z_k(x_m)/‖z_k(x_m)‖ and weights w_sim_k = 1/mean_m ‖z_k(x_m)‖,
  w_shi_k = 1/mean_m ℓ_k(x_m)[k]. Then
  s(x) = ¼ Σ_k [w_sim_k · max_m ⟨z_k(x), a_k(m)⟩ + w_shi_k · ℓ_k(x)[k]],
  higher = normal; nearbench returns −s(x).
- Batch dependence (CIFAR network), inherited from the reference: draw d re-seeds the random
  generators with d at the start of every scoring batch, and the batch's augmentations are
  drawn together, so an image's augmentations — and its score — depend on its position in its
  batch of `score_batch_size` images. The default, 100, is the reference's test batch size;
  another value, or another image order, gives slightly different scores. The ImageNet
  network's path scores one image at a time with seed 0, as the reference's batch of 1 does
  (its S crops by torchvision's RandomResizedCrop at scale 0.54 on the 256-px image), and has
  no such dependence.

Training checkpoints after every epoch (see `bench.training`), so a requeued cell resumes.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from bench.detector import Detector
from bench.errors import check_is_fitted
from bench.loading import image_loader
from bench.losses import nt_xent
from bench.methods.csi_augment import ROTATIONS, flipped_rotations, random_flip, rotations, simclr_augment
from bench.methods.csi_network import NETWORKS, csi_network
from bench.registry import register_method
from bench.seeding import seeded
from bench.tags import Tags
from bench.training import run_epochs
from bench.transforms import eval_transform, to_rgb


def warmup_cosine(epochs: int, warmup: int, multiplier: float, steps_per_epoch: int):
    """lr factor per batch: linear from 1 to `multiplier` over `warmup` epochs, then
    `multiplier` × cosine over `epochs` (CSI's GradualWarmupScheduler + CosineAnnealingLR)."""

    def factor(step: int) -> float:
        epoch = step / steps_per_epoch
        if epoch < warmup:
            return 1.0 + (multiplier - 1.0) * epoch / warmup
        return multiplier * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / epochs))

    return factor


def csi_scores(z_train, logits_train, z_test, logits_test) -> np.ndarray:
    """The CSI score (higher = normal) from draw-averaged features: z_* is (K, N, d) projections
    and logits_* (K, N, 4) rotation logits, one slice per rotation."""
    import torch.nn.functional as F

    total = 0.0
    for k in range(ROTATIONS):
        axes = F.normalize(z_train[k], dim=1)
        weight_sim = 1.0 / z_train[k].norm(dim=1).mean()
        weight_shift = 1.0 / logits_train[k][:, k].mean()
        similarity = (z_test[k] @ axes.T).max(dim=1).values
        total = total + weight_sim * similarity + weight_shift * logits_test[k][:, k]
    return (total / ROTATIONS).double().cpu().numpy()


def imagenet_views(image_size: int, resize: int, crop_scale: tuple[float, float], views: int, seed: int | None = None):
    """CSI's ImageNet-style views of a PIL image: `views` independent draws of Resize(resize) →
    RandomResizedCrop(image_size, crop_scale) → horizontal flip → tensor in [0, 1], stacked
    (views×3×S×S); with `seed`, drawn from that seed (the same draws for every image)."""
    from torchvision import transforms as T

    view = T.Compose([
        T.Lambda(to_rgb),
        T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
        T.RandomResizedCrop(image_size, scale=crop_scale),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
    ])

    def transform(image):
        import torch

        with seeded(seed) if seed is not None else contextlib.nullcontext():
            return torch.stack([view(image) for _ in range(views)])

    return transform


@register_method("csi", groups=("from-scratch", "self-supervised"))
class CSI(Detector):
    """CSI: contrastive learning with rotations as shifted instances, from scratch; CSI score."""

    tags = Tags(gpu_profiles=("paper",), min_image_size=8, untrained_params={"epochs": 0})

    profiles = {
        "smoke": {"image_size": 16, "width": 8, "epochs": 4, "warmup_epochs": 1, "batch_size": 8, "ood_samples": 2},
        "paper": {"image_size": 32, "width": 64, "epochs": 1000, "warmup_epochs": 10, "batch_size": 128, "ood_samples": 10},
        # the ImageNet-30 protocol on high-resolution sets
        "paper+high-res": {"network": "resnet18_imagenet", "image_size": 224, "resize": 256},
    }

    def __init__(
        self,
        *,
        network: str = "resnet18",
        image_size: int = 32,
        resize: int | None = None,
        width: int = 64,
        epochs: int = 1000,
        warmup_epochs: int = 10,
        batch_size: int = 128,
        lr: float = 0.1,
        warmup_multiplier: float = 10.0,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        temperature: float = 0.5,
        crop_scale_min: float = 0.08,
        ood_samples: int = 10,
        eval_crop_scale: float = 0.54,
        score_batch_size: int = 100,
    ):
        self.network = network
        self.image_size = image_size
        self.resize = resize
        self.width = width
        self.epochs = epochs
        self.warmup_epochs = warmup_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.warmup_multiplier = warmup_multiplier
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.crop_scale_min = crop_scale_min
        self.ood_samples = ood_samples
        self.eval_crop_scale = eval_crop_scale
        self.score_batch_size = score_batch_size

    @classmethod
    def check_params(cls, params, profile: str) -> None:
        if params["network"] not in NETWORKS:
            raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {params['network']!r}")

    @property
    def _imagenet(self) -> bool:
        return self.network == "resnet18_imagenet"

    def _transform(self):
        return eval_transform(self.image_size, self.resize, mean=None)  # pixels in [0, 1]: the network normalises

    def _training_transform(self):
        if self._imagenet:  # two independent views per image, cropped on the image
            views = imagenet_views(self.image_size, self.resize or self.image_size, (self.crop_scale_min, 1.0), 2)
            return lambda image: tuple(views(image))
        return self._transform()

    def shifted_batch(self, images, augment):
        """8B samples and their rotation labels: two copies × 4 rotations, augmented. `images`
        is a batch (CIFAR network: copied and randomly flipped twice) or a pair of views."""
        import torch

        if isinstance(images, (tuple, list)):
            first, second = images
        else:
            first, second = random_flip(images.repeat(2, 1, 1, 1)).chunk(2)
        samples = augment(torch.cat([rotations(first), rotations(second)]))
        labels = torch.arange(ROTATIONS, device=first.device).repeat_interleave(len(first)).repeat(2)
        return samples, labels

    def fit(self, train, ctx) -> "CSI":
        import torch
        import torch.nn.functional as F
        from timm.optim import Lars

        self.check_params(self.get_params(), ctx.profile)
        network = csi_network(self.network, self.width).to(ctx.device)
        crop = None if self._imagenet else (self.crop_scale_min, 1.0)
        augment = simclr_augment(self.image_size, crop).to(ctx.device)
        loader = image_loader(train, self._training_transform(), ctx, batch_size=self.batch_size, shuffle=True)
        optimizer = Lars(network.parameters(), lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                         trust_coeff=0.001, eps=1e-8)
        schedule = warmup_cosine(self.epochs, self.warmup_epochs, self.warmup_multiplier, len(loader))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        network.train()

        def csi_loss(images):
            if isinstance(images, (tuple, list)):
                images = tuple(view.to(ctx.device) for view in images)
            else:
                images = images.to(ctx.device)
            samples, labels = self.shifted_batch(images, augment)
            projections, logits = network(samples)
            first, second = projections.chunk(2)
            return nt_xent(first, second, self.temperature) + F.cross_entropy(logits, labels)

        self.loss_history_ = run_epochs(
            loader, csi_loss, optimizer, self.epochs, ctx, model=network,
            scheduler=scheduler, scheduler_per_batch=True, name="csi", desc="CSI epochs",
        )
        self.network_ = network.eval()
        self.train_z_, self.train_logits_ = self._draw_averaged(train, ctx)
        return self

    def _draw_averaged(self, images, ctx):
        """(K, N, d) projections and (K, N, 4) logits, averaged over `ood_samples` seeded draws."""
        import torch

        draws = self._imagenet_draws if self._imagenet else self._batch_draws
        crop = None if self._imagenet else (self.eval_crop_scale, self.eval_crop_scale)
        augment = simclr_augment(self.image_size, crop).to(ctx.device)
        transform = (imagenet_views(self.image_size, self.resize or self.image_size,
                                    (self.eval_crop_scale, self.eval_crop_scale), self.ood_samples, seed=0)
                     if self._imagenet else self._transform())
        loader = image_loader(images, transform, ctx, batch_size=self.score_batch_size)
        z_parts, logit_parts = [], []
        with torch.no_grad():
            for batch in ctx.progress(loader, total=len(loader), desc="CSI features"):
                z, logits = draws(batch.to(ctx.device), augment, ctx)
                z_parts.append(z)
                logit_parts.append(logits)
        return torch.cat(z_parts, dim=1), torch.cat(logit_parts, dim=1)

    def _batch_draws(self, batch, augment, ctx):
        """CIFAR network: draw d of the whole batch seeded with d (the reference's
        batch-position dependence); the draws' mean per rotation, (K, B, ·)."""
        z_sum, logit_sum = 0.0, 0.0
        for draw in range(self.ood_samples):
            with seeded(draw, ctx.device):
                projections, logits = self.network_(augment(flipped_rotations(batch)))
            z_sum = z_sum + projections.view(ROTATIONS, len(batch), -1)
            logit_sum = logit_sum + logits.view(ROTATIONS, len(batch), -1)
        return z_sum / self.ood_samples, logit_sum / self.ood_samples

    def _imagenet_draws(self, batch, augment, ctx):
        """ImageNet network: `batch` is B×S×3×H×W (S crops per image); each image alone, its
        flips and jitter seeded with 0, as the reference's batch of one; (K, B, ·) means over S."""
        import torch

        z_parts, logit_parts = [], []
        for crops in batch:
            with seeded(0, ctx.device):
                projections, logits = self.network_(augment(flipped_rotations(crops)))
            z_parts.append(projections.view(ROTATIONS, len(crops), -1).mean(dim=1))
            logit_parts.append(logits.view(ROTATIONS, len(crops), -1).mean(dim=1))
        return torch.stack(z_parts, dim=1), torch.stack(logit_parts, dim=1)

    def score(self, test, ctx) -> np.ndarray:
        check_is_fitted(self, "network_")
        z_test, logits_test = self._draw_averaged(test, ctx)
        return -csi_scores(self.train_z_, self.train_logits_, z_test, logits_test)
