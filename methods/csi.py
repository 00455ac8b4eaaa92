"""CSI: contrasting shifted instances (Tack et al., NeurIPS 2020), trained from scratch.

Recipe (alinlab/CSI, `simclr_CSI` training, `ood_pre` evaluation with the CSI score):

- Network: CIFAR ResNet-18 — 3×3 stride-1 first convolution, no max-pool, four stages of two
  basic blocks (64, 128, 256, 512 channels), global average pool — fed (x − 0.5)/0.5; a
  projection head 512 → 512 → 128 and a 4-way rotation head on the 512-d feature.
- Each batch of B images becomes 8B samples on the device: the batch twice, each copy
  randomly flipped, each rotated by 0/90/180/270° (4B per copy), then per sample colour
  jitter 0.4/0.4/0.4/0.1 (p 0.8), grayscale (p 0.2) and a random resized crop of scale
  0.08–1 (kornia). Every (image, rotation) is its own instance: its positive is the same
  image and rotation in the other copy.
- Loss: NT-Xent at temperature 0.5 over the 8B normalised projections + cross-entropy of
  the rotation head.
- LARS (timm) over SGD with momentum 0.9, weight decay 1e-6; lr 0.1 raised linearly ×10 over
  10 warm-up epochs, then cosine (T = epochs), stepped every batch. 1,000 epochs at batch
  32 × 4 GPUs (the paper profile uses 128 on one device).
- Score, from `ood_samples` draws per image (10), each a flip, the 4 rotations and the
  augmentation with the crop scale fixed at 0.54, seeded per draw: per rotation k,
  z_k(x) = mean projection and ℓ_k(x) = mean rotation logits. The training set gives axes
  a_k(m) = z_k(x_m)/‖z_k(x_m)‖ and weights w_sim_k = 1/mean_m ‖z_k(x_m)‖,
  w_shi_k = 1/mean_m ℓ_k(x_m)[k]. Then
  s(x) = ¼ Σ_k [w_sim_k · max_m ⟨z_k(x), a_k(m)⟩ + w_shi_k · ℓ_k(x)[k]],
  higher = normal; nearbench returns −s(x).

Training checkpoints after every epoch (see `bench.training`), so a requeued cell resumes.
"""

from __future__ import annotations

import math

import numpy as np

from bench.detector import Detector
from bench.errors import check_is_fitted
from bench.loading import image_loader
from bench.losses import nt_xent
from bench.registry import register_method
from bench.seeding import seeded
from bench.tags import Tags
from bench.training import run_epochs
from bench.transforms import eval_transform

ROTATIONS = 4


def cifar_resnet18(width: int = 64, projection_dim: int = 128):
    """CSI's CIFAR ResNet-18 (first-stage width `width`) with its projection and rotation heads."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    class BasicBlock(nn.Module):
        def __init__(self, inputs: int, outputs: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(outputs)
            self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(outputs)
            self.shortcut = nn.Sequential()
            if stride != 1 or inputs != outputs:
                self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    class CSINetwork(nn.Module):
        def __init__(self):
            super().__init__()
            widths = [width, 2 * width, 4 * width, 8 * width]
            self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            stages, inputs = [], width
            for index, outputs in enumerate(widths):
                stride = 1 if index == 0 else 2
                stages.append(nn.Sequential(BasicBlock(inputs, outputs, stride), BasicBlock(outputs, outputs, 1)))
                inputs = outputs
            self.stages = nn.Sequential(*stages)
            self.projection = nn.Sequential(nn.Linear(inputs, inputs), nn.ReLU(), nn.Linear(inputs, projection_dim))
            self.rotation = nn.Linear(inputs, ROTATIONS)

        def forward(self, x):
            x = (x - 0.5) / 0.5
            features = self.stages(F.relu(self.bn1(self.conv1(x))))
            features = torch.flatten(F.adaptive_avg_pool2d(features, 1), 1)
            return self.projection(features), self.rotation(features)

    return CSINetwork()


def simclr_augment(image_size: int, crop_scale: tuple[float, float]):
    """CSI's per-sample, on-device augmentation: colour jitter, grayscale, resized crop."""
    import kornia.augmentation as K
    from torch import nn

    return nn.Sequential(
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
        K.RandomGrayscale(p=0.2),
        K.RandomResizedCrop((image_size, image_size), scale=crop_scale),
    )


def random_flip(images):
    import torch

    flip = torch.rand(len(images), device=images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def rotations(images):
    """The 4B shifted instances of a batch: all images at 0°, then 90°, 180°, 270°."""
    import torch

    return torch.cat([torch.rot90(images, k, (2, 3)) for k in range(ROTATIONS)])


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


@register_method("csi", groups=("from-scratch", "self-supervised"))
class CSI(Detector):
    """CSI: contrastive learning with rotations as shifted instances, from scratch; CSI score."""

    tags = Tags(gpu_profiles=("paper",), min_image_size=8)

    profiles = {
        "smoke": {"image_size": 16, "width": 8, "epochs": 4, "warmup_epochs": 1, "batch_size": 8, "ood_samples": 2},
        "paper": {"image_size": 32, "width": 64, "epochs": 1000, "warmup_epochs": 10, "batch_size": 128, "ood_samples": 10},
    }

    def __init__(
        self,
        *,
        image_size: int = 32,
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
        score_batch_size: int = 256,
    ):
        self.image_size = image_size
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

    def _transform(self):
        return eval_transform(self.image_size, mean=None)  # pixels in [0, 1]: the network normalises

    def shifted_batch(self, images, augment):
        """8B samples and their rotation labels: two flipped copies × 4 rotations, augmented."""
        import torch

        first, second = random_flip(images.repeat(2, 1, 1, 1)).chunk(2)
        samples = augment(torch.cat([rotations(first), rotations(second)]))
        labels = torch.arange(ROTATIONS, device=images.device).repeat_interleave(len(images)).repeat(2)
        return samples, labels

    def fit(self, train, ctx) -> "CSI":
        import torch
        import torch.nn.functional as F
        from timm.optim import Lars

        network = cifar_resnet18(self.width).to(ctx.device)
        augment = simclr_augment(self.image_size, (self.crop_scale_min, 1.0)).to(ctx.device)
        loader = image_loader(train, self._transform(), ctx, batch_size=self.batch_size, shuffle=True, drop_last=True)
        optimizer = Lars(network.parameters(), lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                         trust_coeff=0.001, eps=1e-8)
        schedule = warmup_cosine(self.epochs, self.warmup_epochs, self.warmup_multiplier, len(loader))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        network.train()

        def csi_loss(images):
            samples, labels = self.shifted_batch(images.to(ctx.device), augment)
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

        augment = simclr_augment(self.image_size, (self.eval_crop_scale, self.eval_crop_scale)).to(ctx.device)
        loader = image_loader(images, self._transform(), ctx, batch_size=self.score_batch_size)
        z_parts, logit_parts = [], []
        with torch.no_grad():
            for batch in ctx.progress(loader, total=len(loader), desc="CSI features"):
                batch = batch.to(ctx.device)
                z_sum, logit_sum = 0.0, 0.0
                for draw in range(self.ood_samples):
                    with seeded(draw, ctx.device):  # the same augmentations for every image set, as the reference
                        projections, logits = self.network_(augment(rotations(random_flip(batch))))
                    z_sum = z_sum + projections.view(ROTATIONS, len(batch), -1)
                    logit_sum = logit_sum + logits.view(ROTATIONS, len(batch), -1)
                z_parts.append(z_sum / self.ood_samples)
                logit_parts.append(logit_sum / self.ood_samples)
        return torch.cat(z_parts, dim=1), torch.cat(logit_parts, dim=1)

    def score(self, test, ctx) -> np.ndarray:
        check_is_fitted(self, "network_")
        z_test, logits_test = self._draw_averaged(test, ctx)
        return -csi_scores(self.train_z_, self.train_logits_, z_test, logits_test)
