"""CSI's augmentations on the device: its own colour jitter, grayscale, resized crop, and the
rotations with their flips.

CSI (alinlab/CSI, `models/transform_layers.py`, `models/classifier.py::get_simclr_augmentation`)
does not use torchvision's colour jitter. Its `ColorJitterLayer`, applied to each sample with
probability p (0.8), either adjusts contrast then hue/saturation/value or the reverse (one coin
per batch), with per-sample factors:

- contrast: x ← (x − m)·c + m with m the sample's mean *per channel* (torchvision blends with
  the mean of the grayscale image), c ~ U(1 − 0.4, 1 + 0.4), then clipped to [0, 1];
- hue: in HSV space (hue from atan2(√3(G − B), 2R − G − B), not the hexcone table) the hue
  moves by f·255/360 of a turn, f ~ U(−0.1, 0.1) — at most ±0.071 of a turn, where
  torchvision's hue 0.1 means ±0.1;
- saturation × U(0.6, 1.4) and value × U(0.6, 1.4) (brightness), in HSV, clipped to [0, 1].

Grayscale (p 0.2, weights 0.299/0.587/0.114) and the random resized crop are kornia's. Nothing
here imports torch until a function is called, so listing methods stays cheap.
"""

from __future__ import annotations

import math

ROTATIONS = 4
HUE_UNIT = 255.0 / 360.0  # CSI scales its hue factor by this before adding it to the hue (in turns)


def rgb_to_hsv(rgb):
    """N×3×H×W RGB in [0, 1] → HSV in [0, 1], hue from atan2 (as CSI); undefined values → 0."""
    import torch

    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    high = rgb.max(dim=1).values
    low = rgb.min(dim=1).values
    hue = torch.atan2(math.sqrt(3.0) * (g - b), 2 * r - g - b).remainder(2 * math.pi) / (2 * math.pi)
    hsv = torch.stack([hue, (high - low) / high, high], dim=1)
    return torch.where(torch.isfinite(hsv), hsv, torch.zeros_like(hsv))


def hsv_to_rgb(hsv):
    """N×3×H×W HSV in [0, 1] → RGB: channel n ∈ (5, 3, 1) is v − v·s·clip(min(k, 4 − k), 0, 1)
    with k = (n + 6h) mod 6."""
    import torch

    h, s, v = hsv[:, 0:1], hsv[:, 1:2], hsv[:, 2:3]
    n = hsv.new_tensor([5.0, 3.0, 1.0]).view(1, 3, 1, 1)
    k = (n + 6 * h).remainder(6)
    return v - v * s * torch.minimum(k, 4 - k).clamp(0, 1)


def color_jitter(brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4, hue: float = 0.1,
                 p: float = 0.8):
    """CSI's colour jitter as a module (see the module docstring)."""
    import torch
    from torch import nn

    class CSIColorJitter(nn.Module):
        def _contrast(self, x):
            factor = x.new_empty(len(x), 1, 1, 1).uniform_(1 - contrast, 1 + contrast)
            means = x.mean(dim=(2, 3), keepdim=True)
            return ((x - means) * factor + means).clamp(0, 1)

        def _hsv(self, x):
            shift = x.new_empty(len(x), 1, 1).uniform_(-hue, hue) * HUE_UNIT
            scale_s = x.new_empty(len(x), 1, 1).uniform_(1 - saturation, 1 + saturation)
            scale_v = x.new_empty(len(x), 1, 1).uniform_(1 - brightness, 1 + brightness)
            hsv = rgb_to_hsv(x)
            hsv = torch.stack([(hsv[:, 0] + shift).remainder(1), hsv[:, 1] * scale_s, hsv[:, 2] * scale_v], dim=1)
            return hsv_to_rgb(hsv.clamp(0, 1))

        def forward(self, x):
            chosen = torch.bernoulli(x.new_full((len(x),), p)).view(-1, 1, 1, 1)
            steps = (self._contrast, self._hsv) if torch.rand(()) > 0.5 else (self._hsv, self._contrast)
            jittered = x
            for step in steps:
                jittered = step(jittered)
            return x * (1 - chosen) + jittered * chosen

    return CSIColorJitter()


def simclr_augment(image_size: int, crop_scale: tuple[float, float] | None):
    """CSI's per-sample, on-device augmentation: its colour jitter (p 0.8), grayscale (p 0.2) and,
    unless `crop_scale` is None (the ImageNet-style path crops on the images), a random resized
    crop to `image_size` with that scale range."""
    import kornia.augmentation as K
    from torch import nn

    crop = [] if crop_scale is None else [K.RandomResizedCrop((image_size, image_size), scale=crop_scale)]
    return nn.Sequential(color_jitter(), K.RandomGrayscale(p=0.2), *crop)


def random_flip(images):
    """Each image flipped left–right with probability ½."""
    import torch

    flip = torch.rand(len(images), device=images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def rotations(images):
    """The 4B shifted instances of a batch: all images at 0°, then 90°, 180°, 270°."""
    import torch

    return torch.cat([torch.rot90(images, k, (2, 3)) for k in range(ROTATIONS)])


def flipped_rotations(images):
    """The 4B scoring instances: for each rotation k a fresh random flip of the batch, then the
    rotation (CSI's `ood_pre` draws the flip per rotation, not once for all four)."""
    import torch

    return torch.cat([torch.rot90(random_flip(images), k, (2, 3)) for k in range(ROTATIONS)])
