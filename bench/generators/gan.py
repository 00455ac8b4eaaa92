"""GAN generators of one class: `dcgan` and `wgan-gp`, the GAN-fake baselines' generators.

Both share one convolutional architecture sized to the image (a power of two, at least 8; by
default the data's side rounded up to a power of two, at most `max_image_size`, as the
diffusion generator's):
the generator maps a Gaussian latent to a 4×4 map and doubles it with strided transposed
convolutions up to the image size; the second network mirrors it. As the papers name it,
that network is DCGAN's *discriminator* and WGAN-GP's *critic*.

- `dcgan` (Radford et al., 2016): BatchNorm in both networks, non-saturating logistic loss,
  Adam lr 2e-4, β = (0.5, 0.999), one discriminator step per generator step.
- `wgan-gp` (Gulrajani et al., 2017): no BatchNorm in the critic (layer norm instead),
  Wasserstein loss with gradient penalty λ = 10 on real–fake interpolates, five critic steps
  per generator step, Adam lr 1e-4, β = (0, 0.9).

`train_steps` counts generator updates; stopping early (the GAN analogue of FITYMI's
early-stopped diffusion model) is that knob. `loss_history_` holds the generator's loss;
`discriminator_history_` (DCGAN) or `critic_history_` (WGAN-GP) the second network's (for
WGAN-GP, minus the critic's Wasserstein estimate plus its penalty). Training checkpoints
itself and resumes (`bench.training.run_steps`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import numpy as np

from bench.context import RunContext
from bench.generators import register_generator
from bench.generators.base import Generator, batches, to_uint8_rgb, training_tensor
from bench.images import ImageSet


def _levels(image_size: int) -> int:
    levels = math.log2(image_size) - 2 if image_size > 0 else 0.5
    if image_size < 8 or levels != int(levels):
        raise ValueError(f"GAN image_size must be a power of two ≥ 8, got {image_size}")
    return int(levels)


def generator_network(latent_dim: int, width: int, image_size: int, channels: int):
    """Latent (N×latent_dim) → images N×channels×S×S in [-1, 1]."""
    from torch import nn

    levels = _levels(image_size)
    width_at = [width * 2 ** (levels - 1 - i) for i in range(levels)]  # 4×4, 8×8, ... maps
    layers = [
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, width_at[0], 4, 1, 0, bias=False),
        nn.BatchNorm2d(width_at[0]),
        nn.ReLU(True),
    ]
    for wide, narrow in zip(width_at, width_at[1:]):
        layers += [nn.ConvTranspose2d(wide, narrow, 4, 2, 1, bias=False), nn.BatchNorm2d(narrow), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(width_at[-1], channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def adversary_network(width: int, image_size: int, channels: int, norm: str):
    """Images → one logit (discriminator) or score (critic) each; `norm` is "batch" or "layer"."""
    from torch import nn

    def normalise(features: int):
        return nn.BatchNorm2d(features) if norm == "batch" else nn.GroupNorm(1, features)

    levels = _levels(image_size)
    width_at = [width * 2**i for i in range(levels)]
    layers = [nn.Conv2d(channels, width_at[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
    for narrow, wide in zip(width_at, width_at[1:]):
        layers += [nn.Conv2d(narrow, wide, 4, 2, 1, bias=False), normalise(wide), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(width_at[-1], 1, 4, 1, 0), nn.Flatten(0)]
    return nn.Sequential(*layers)


class ConvGAN(Generator):
    """What DCGAN and WGAN-GP share: the networks, the alternating training schedule,
    sampling. Subclasses name their second network (`adversary`: "discriminator" or
    "critic"), its normalisation, how many of its steps come per generator step, and the
    two losses."""

    adversary: ClassVar[str]
    adversary_norm: ClassVar[str]  # "batch" or "layer"

    image_size: int | None
    max_image_size: int
    latent_dim: int
    width: int
    train_steps: int
    batch_size: int
    lr: float
    betas: tuple
    sample_batch_size: int

    @classmethod
    def check_params(cls, params: Mapping[str, Any], profile: str) -> None:
        _levels(params["image_size"] or params["max_image_size"])
        if params["train_steps"] < 0:
            raise ValueError(f"train_steps must be 0 or more, got {params['train_steps']}")

    def adversary_steps(self) -> int:
        return 1

    def adversary_loss(self, real_scores, fake_scores, real, fake):
        raise NotImplementedError

    def generator_loss(self, fake_scores):
        raise NotImplementedError

    def fit(self, images: ImageSet, ctx: RunContext) -> "ConvGAN":
        import torch

        from bench.training import run_steps

        self.image_size_ = self.working_image_size(images)
        _levels(self.image_size_)
        data = training_tensor(images, self.image_size_).to(ctx.device)
        self.in_channels_ = data.shape[1]
        generator = generator_network(self.latent_dim, self.width, self.image_size_, self.in_channels_).to(ctx.device)
        adversary = adversary_network(self.width, self.image_size_, self.in_channels_, self.adversary_norm).to(ctx.device)
        self.adversary_ = adversary  # the losses read it (WGAN-GP's penalty runs it again)
        g_optimizer = torch.optim.Adam(generator.parameters(), lr=self.lr, betas=tuple(self.betas))
        a_optimizer = torch.optim.Adam(adversary.parameters(), lr=self.lr, betas=tuple(self.betas))

        def step():
            for _ in range(self.adversary_steps()):
                real = data[torch.randint(len(data), (self.batch_size,), device=ctx.device)]
                with torch.no_grad():
                    fake = generator(torch.randn(self.batch_size, self.latent_dim, device=ctx.device))
                a_loss = self.adversary_loss(adversary(real), adversary(fake), real, fake)
                a_optimizer.zero_grad(set_to_none=True)
                a_loss.backward()
                a_optimizer.step()
            fake = generator(torch.randn(self.batch_size, self.latent_dim, device=ctx.device))
            g_loss = self.generator_loss(adversary(fake))
            g_optimizer.zero_grad(set_to_none=True)
            g_loss.backward()
            g_optimizer.step()
            return torch.stack([g_loss.detach(), a_loss.detach()])

        state = {"generator": generator, "adversary": adversary, "g_optimizer": g_optimizer, "a_optimizer": a_optimizer}
        history = run_steps(step, self.train_steps, ctx, state=state, name=self.name, desc=f"{self.name} training")
        del self.adversary_
        self.loss_history_ = [g for g, _ in history]
        setattr(self, f"{self.adversary}_", adversary.eval())
        setattr(self, f"{self.adversary}_history_", [a for _, a in history])
        self.network_ = generator.eval()
        return self

    def sample(self, n: int, ctx: RunContext) -> np.ndarray:
        import torch

        from bench.errors import check_is_fitted

        check_is_fitted(self, "network_")
        out = []
        with torch.no_grad():
            for size in batches(n, self.sample_batch_size):
                latent = torch.randn(size, self.latent_dim, device=ctx.device)
                out.append(to_uint8_rgb(self.network_(latent)))
        return np.concatenate(out) if out else np.zeros((0, self.image_size_, self.image_size_, 3), np.uint8)


@register_generator("dcgan")
class DCGAN(ConvGAN):
    """DCGAN: BatchNorm convolutional GAN with the non-saturating logistic loss."""

    adversary = "discriminator"
    adversary_norm = "batch"
    profiles = {
        "smoke": {"image_size": None, "max_image_size": 8, "latent_dim": 32, "width": 32, "train_steps": 100,
                  "batch_size": 64},
        "paper": {"image_size": None, "max_image_size": 128, "latent_dim": 100, "width": 64, "train_steps": 20_000,
                  "batch_size": 64},
    }

    def __init__(
        self,
        *,
        image_size: int | None = None,
        max_image_size: int = 128,
        latent_dim: int = 100,
        width: int = 64,
        train_steps: int = 20_000,
        batch_size: int = 64,
        lr: float = 2e-4,
        betas: tuple = (0.5, 0.999),
        sample_batch_size: int = 500,
    ):
        self.image_size = image_size
        self.max_image_size = max_image_size
        self.latent_dim = latent_dim
        self.width = width
        self.train_steps = train_steps
        self.batch_size = batch_size
        self.lr = lr
        self.betas = betas
        self.sample_batch_size = sample_batch_size

    def adversary_loss(self, real_scores, fake_scores, real, fake):
        import torch
        from torch.nn.functional import binary_cross_entropy_with_logits as bce

        return bce(real_scores, torch.ones_like(real_scores)) + bce(fake_scores, torch.zeros_like(fake_scores))

    def generator_loss(self, fake_scores):
        import torch
        from torch.nn.functional import binary_cross_entropy_with_logits as bce

        return bce(fake_scores, torch.ones_like(fake_scores))


@register_generator("wgan-gp")
class WGANGP(ConvGAN):
    """WGAN-GP: Wasserstein critic with a gradient penalty, five critic steps per generator step."""

    adversary = "critic"
    adversary_norm = "layer"
    penalty_weight = 10.0
    profiles = {
        "smoke": {
            "image_size": None, "max_image_size": 8, "latent_dim": 32, "width": 32, "train_steps": 25, "batch_size": 64,
            "lr": 1e-3, "betas": (0.0, 0.9), "critic_steps": 5,
        },
        "paper": {
            "image_size": None, "max_image_size": 128, "latent_dim": 128, "width": 64, "train_steps": 20_000,
            "batch_size": 64,
            "lr": 1e-4, "betas": (0.0, 0.9), "critic_steps": 5,
        },
    }

    def __init__(
        self,
        *,
        image_size: int | None = None,
        max_image_size: int = 128,
        latent_dim: int = 128,
        width: int = 64,
        train_steps: int = 20_000,
        batch_size: int = 64,
        lr: float = 1e-4,
        betas: tuple = (0.0, 0.9),
        critic_steps: int = 5,
        sample_batch_size: int = 500,
    ):
        self.image_size = image_size
        self.max_image_size = max_image_size
        self.latent_dim = latent_dim
        self.width = width
        self.train_steps = train_steps
        self.batch_size = batch_size
        self.lr = lr
        self.betas = betas
        self.critic_steps = critic_steps
        self.sample_batch_size = sample_batch_size

    def adversary_steps(self) -> int:
        return self.critic_steps

    def adversary_loss(self, real_scores, fake_scores, real, fake):
        import torch

        mix = torch.rand(len(real), 1, 1, 1, device=real.device)
        between = (mix * real + (1 - mix) * fake).requires_grad_(True)
        (gradient,) = torch.autograd.grad(self.adversary_(between).sum(), between, create_graph=True)
        penalty = ((gradient.flatten(1).norm(dim=1) - 1) ** 2).mean()
        return fake_scores.mean() - real_scores.mean() + self.penalty_weight * penalty

    def generator_loss(self, fake_scores):
        return -fake_scores.mean()
