"""Deep SVDD (Ruff et al., ICML 2018), one-class objective, with autoencoder pretraining.

Recipe (lukasruff/Deep-SVDD-PyTorch, CIFAR-10 LeNet): a bias-free CNN trained from scratch
— three 5×5 convolutions (32, 64, 128 channels), each followed by BatchNorm (eps 1e-4, no
affine), leaky ReLU and 2×2 max-pooling, then a linear map to 128-d. Inputs: global contrast
normalisation (L1), then min-max scaling to [0, 1]. First a convolutional autoencoder with
this encoder, its convolutions and transposed convolutions Xavier-uniform initialised with the
leaky-ReLU gain (`src/networks/cifar10_LeNet.py`), is trained on the normal images (MSE, Adam
lr 1e-4, weight decay 5e-7, 350 epochs, lr × 0.1 at epoch 250, batch 200); its encoder
initialises the network. The centre c
is the mean output of one forward pass in eval mode, entries with |c_j| < 0.1 pushed to ±0.1.
Then the network minimises mean‖φ(x) − c‖² (Adam lr 1e-4, weight decay 5e-7, 150 epochs,
lr × 0.1 at epoch 50, batch 200). Score: ‖φ(x) − c‖².

Resolution: 32 × 32 on every dataset (`image_size`), the reference's CIFAR-10 network; larger
images (MVTec, CUB, ...) are resized to 32 px, smaller ones (MNIST's 28, digits' 8) enlarged.
The reference has no high-resolution network; `--set deep-svdd.image_size=64` (a multiple of 8)
widens the linear layer accordingly, a choice of nearbench's, not the paper's.

One deviation, for datasets beyond CIFAR-10: the min-max constants, which the reference
hard-codes per CIFAR-10 class, are the min and max of the normalised training images.
"""

from __future__ import annotations

import numpy as np

from bench.detector import Detector
from bench.errors import check_is_fitted
from bench.loading import TransformedImages, image_loader
from bench.registry import register_method
from bench.tags import Tags
from bench.training import run_epochs
from bench.transforms import eval_transform


def build_networks(image_size: int, rep_dim: int):
    """The LeNet-type encoder and its autoencoder for `image_size` (a multiple of 8)."""
    import torch
    from torch import nn

    grid = image_size // 8

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 32, 5, bias=False, padding=2)
            self.bn1 = nn.BatchNorm2d(32, eps=1e-4, affine=False)
            self.conv2 = nn.Conv2d(32, 64, 5, bias=False, padding=2)
            self.bn2 = nn.BatchNorm2d(64, eps=1e-4, affine=False)
            self.conv3 = nn.Conv2d(64, 128, 5, bias=False, padding=2)
            self.bn3 = nn.BatchNorm2d(128, eps=1e-4, affine=False)
            self.fc1 = nn.Linear(128 * grid * grid, rep_dim, bias=False)
            self.pool = nn.MaxPool2d(2, 2)
            self.act = nn.LeakyReLU()

        def forward(self, x):
            for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
                x = self.pool(self.act(bn(conv(x))))
            return self.fc1(x.flatten(1))

    class Autoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.bn_code = nn.BatchNorm1d(rep_dim, eps=1e-4, affine=False)
            channels = rep_dim // (grid * grid)
            self.deconv1 = nn.ConvTranspose2d(channels, 128, 5, bias=False, padding=2)
            self.bn4 = nn.BatchNorm2d(128, eps=1e-4, affine=False)
            self.deconv2 = nn.ConvTranspose2d(128, 64, 5, bias=False, padding=2)
            self.bn5 = nn.BatchNorm2d(64, eps=1e-4, affine=False)
            self.deconv3 = nn.ConvTranspose2d(64, 32, 5, bias=False, padding=2)
            self.bn6 = nn.BatchNorm2d(32, eps=1e-4, affine=False)
            self.deconv4 = nn.ConvTranspose2d(32, 3, 5, bias=False, padding=2)
            self.act = nn.LeakyReLU()
            self.channels = channels

            # the reference's init: Xavier-uniform with the leaky-ReLU gain on every
            # convolution and transposed convolution (not the linear code layer)
            gain = nn.init.calculate_gain("leaky_relu")
            for layer in (self.encoder.conv1, self.encoder.conv2, self.encoder.conv3,
                          self.deconv1, self.deconv2, self.deconv3, self.deconv4):
                nn.init.xavier_uniform_(layer.weight, gain=gain)

        def forward(self, x):
            code = self.bn_code(self.encoder(x))
            y = self.act(code.view(len(x), self.channels, grid, grid))
            for deconv, bn in ((self.deconv1, self.bn4), (self.deconv2, self.bn5), (self.deconv3, self.bn6)):
                y = nn.functional.interpolate(self.act(bn(deconv(y))), scale_factor=2)
            return torch.sigmoid(self.deconv4(y))

    return Encoder, Autoencoder


def contrast_normalize(batch):
    """Global contrast normalisation with the L1 norm, per image."""
    centred = batch - batch.mean(dim=(1, 2, 3), keepdim=True)
    return centred / centred.abs().mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)


@register_method("deep-svdd", groups=("from-scratch",))
class DeepSVDD(Detector):
    """Deep SVDD: a from-scratch CNN mapping normal images close to a centre, AE-pretrained."""

    tags = Tags(gpu_profiles=("paper",), min_image_size=8, untrained_params={"epochs": 0, "ae_epochs": 0})

    profiles = {
        "smoke": {"image_size": 16, "ae_epochs": 12, "ae_milestone": 9, "epochs": 12, "milestone": 9,
                  "batch_size": 32, "lr": 1e-3, "ae_lr": 1e-3},
        "paper": {"image_size": 32},
    }

    def __init__(
        self,
        *,
        image_size: int = 32,
        rep_dim: int = 128,
        ae_epochs: int = 350,
        ae_milestone: int = 250,
        ae_lr: float = 1e-4,
        epochs: int = 150,
        milestone: int = 50,
        lr: float = 1e-4,
        weight_decay: float = 5e-7,
        batch_size: int = 200,
    ):
        self.image_size = image_size
        self.rep_dim = rep_dim
        self.ae_epochs = ae_epochs
        self.ae_milestone = ae_milestone
        self.ae_lr = ae_lr
        self.epochs = epochs
        self.milestone = milestone
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size

    @classmethod
    def check_params(cls, params, profile: str) -> None:
        image_size, rep_dim = params["image_size"], params["rep_dim"]
        if image_size % 8 or image_size < 8:
            raise ValueError(f"image_size must be a multiple of 8 (three 2×2 poolings), got {image_size}")
        if rep_dim % (image_size // 8) ** 2:
            raise ValueError(f"rep_dim must be divisible by (image_size / 8)² = {(image_size // 8) ** 2}, got {rep_dim}")

    def _transform(self):
        return eval_transform(self.image_size, mean=None)  # pixels in [0, 1], normalised per image below

    def _prepare(self, batch):
        normalised = contrast_normalize(batch)
        return (normalised - self.low_) / (self.high_ - self.low_)

    def fit(self, train, ctx) -> "DeepSVDD":
        import torch

        self.check_params(self.get_params(), "")
        everything = torch.stack(list(TransformedImages(train, self._transform())))
        normalised = contrast_normalize(everything)
        self.low_, self.high_ = float(normalised.min()), float(normalised.max())
        loader = image_loader(train, self._transform(), ctx, batch_size=self.batch_size, shuffle=True)
        Encoder, Autoencoder = build_networks(self.image_size, self.rep_dim)

        autoencoder = Autoencoder().to(ctx.device).train()
        optimizer = torch.optim.Adam(autoencoder.parameters(), lr=self.ae_lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[self.ae_milestone], gamma=0.1)

        def reconstruction(images):
            inputs = self._prepare(images.to(ctx.device))
            return ((autoencoder(inputs) - inputs) ** 2).sum(dim=(1, 2, 3)).mean()

        self.ae_loss_history_ = run_epochs(
            loader, reconstruction, optimizer, self.ae_epochs, ctx,
            model=autoencoder, scheduler=scheduler, name="autoencoder", desc="AE epochs",
        )

        network = Encoder().to(ctx.device)
        network.load_state_dict(autoencoder.encoder.state_dict())
        center = self._center(network, everything, ctx)
        network.train()
        optimizer = torch.optim.Adam(network.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[self.milestone], gamma=0.1)

        def one_class(images):
            return ((network(self._prepare(images.to(ctx.device))) - center) ** 2).sum(dim=1).mean()

        self.loss_history_ = run_epochs(
            loader, one_class, optimizer, self.epochs, ctx, model=network, scheduler=scheduler, name="svdd", desc="SVDD epochs"
        )
        self.network_, self.center_ = network.eval(), center
        return self

    def _center(self, network, images, ctx, eps: float = 0.1):
        import torch

        network.eval()
        with torch.no_grad():
            center = torch.cat([network(self._prepare(chunk.to(ctx.device))) for chunk in images.split(self.batch_size)]).mean(dim=0)
        center[(center.abs() < eps) & (center < 0)] = -eps
        center[(center.abs() < eps) & (center > 0)] = eps
        return center

    def score(self, test, ctx) -> np.ndarray:
        import torch

        check_is_fitted(self, "network_")
        loader = image_loader(test, self._transform(), ctx, batch_size=self.batch_size)
        with torch.no_grad():
            distances = [((self.network_(self._prepare(x.to(ctx.device))) - self.center_) ** 2).sum(dim=1) for x in loader]
        return torch.cat(distances).cpu().numpy().astype(np.float64)
