"""`diffusion`: a score-based diffusion model of one class (diffusers' `UNet2DModel`).

Two SDEs, as in score_sde: `vp` (DDPM's noise schedule; the network predicts the noise, which
is the score up to a known scale; DDPM or DDIM sampling) and `ve` (NCSN's variance-exploding
noise; the network outputs the score and sampling is score_sde's predictor–corrector:
reverse-diffusion predictor, Langevin corrector with signal-to-noise ratio `snr`, final
noise removal). Noise schedules and sampler steps are diffusers' (`DDPMScheduler`,
`DDIMScheduler`, `ScoreSdeVeScheduler`); only the training loop is written here.

FITYMI does not say how its fakes stay *near* the normal class. Both readings are knobs:

- **early-stopped training** (mode A): `train_steps` is where training stops, so the
  generator is sampled from that checkpoint;
- **truncated reverse process** (mode B): `sampling_steps` shortens the reverse chain, and
  `t_stop` in [0, 1) ends it at time `t_stop` (1 = pure noise) instead of 0, returning the
  chain's state — or, with `denoise_at_stop`, its one-step estimate of the clean image
  (Tweedie's formula).

Training recipes (every item a parameter):

- `paper` — score_sde's CIFAR-10 VE recipe (yang-song/score_sde_pytorch
  `configs/default_cifar10_configs.py`, `configs/ve/cifar10_ncsnpp_continuous.py`,
  `losses.py::get_sde_loss_fn`, `models/ema.py`): data in [0, 1] (`centered` False: σ_max = 50
  is calibrated for that range), σ ∈ [0.01, 50], t ~ U(1e-5, 1) (`t_min`), the σ²-weighted
  denoising score-matching loss summed over pixels and halved (`loss_reduction` "sum"), Adam
  2e-4 with a linear warm-up over 5,000 steps, gradient norm clipped at 1, dropout 0.1, random
  horizontal flips, batch 128, and an exponential moving average of the weights (rate 0.999,
  diffusers' `EMAModel`, whose decay ramps up as min(rate, (1+n)/(10+n)) like score_sde's) that
  sampling uses; the predictor–corrector sampler with 1,000 steps, snr 0.16, one Langevin step,
  noise removal. The network is a DDPM-style U-Net (diffusers' `UNet2DModel`, Fourier
  features of σ and the output divided by σ, as NCSN++), not NCSN++ itself — the closest
  score_sde configuration is `configs/ve/cifar10_ddpm.py`.
- `paper-vp` — DDPM's recipe as score_sde runs it (`configs/vp/cifar10_ddpm.py`; Ho et al.,
  2020): data in [-1, 1], the noise-prediction loss averaged over pixels, EMA 0.9999, the same
  warm-up, clip, dropout and flips; ancestral DDPM sampling over 1,000 steps.

Both work at the data's resolution (`image_size` None: the dataset's side rounded up to a
power of two, at most `max_image_size`, 128 px) with a U-Net sized for it (`channels` None):
DDPM's CIFAR-10 widths (128, 256, 256, 256) at 32 px, one more 128-wide level per doubling,
self-attention at 16×16. The training length (20k steps of 128 per class, far from
score_sde's 1.3M) is this package's choice, since FITYMI's is unknown. The `smoke` profile is
an 8×8 VP model trained for 40 steps without warm-up or EMA and sampled with 40 DDIM steps
(seconds on a CPU; its fakes are barely more than noise). Training checkpoints itself like a
method's (`bench.training.run_steps`) and resumes after an interruption.
"""

from __future__ import annotations

import math

import numpy as np

from bench.context import RunContext
from bench.generators import register_generator
from bench.generators.base import Generator, batches, to_uint8_rgb, training_tensor
from bench.images import ImageSet

SDES = ("vp", "ve")
LOSS_REDUCTIONS = ("sum", "mean")

SCORE_SDE_VE = {  # configs/ve/cifar10_ncsnpp_continuous.py on top of configs/default_cifar10_configs.py
    "sde": "ve", "sampler": "pc", "centered": False, "ema_rate": 0.999, "loss_reduction": "sum",
    "sampling_steps": 1000,
}
DDPM_VP = {"sde": "vp", "sampler": "ddpm", "centered": True, "ema_rate": 0.9999, "loss_reduction": "mean",
           "sampling_steps": 1000}  # configs/vp/cifar10_ddpm.py


def unet_channels(image_size: int) -> tuple[int, ...]:
    """DDPM's U-Net widths for `image_size`: one level per halving down to 4×4, (128, 256, 256,
    256) at 32 px, another 128-wide level in front per doubling above.

    >>> unet_channels(8), unet_channels(32), unet_channels(128)
    ((128, 256), (128, 256, 256, 256), (128, 128, 128, 256, 256, 256))
    """
    levels = max(1, int(math.log2(image_size)) - 1)
    return (128,) * max(1, levels - 3) + (256,) * min(3, levels - 1)


@register_generator("diffusion")
class ScoreDiffusion(Generator):
    """Score-based diffusion (VP/DDPM or VE/score-SDE): early-stopped training or a truncated reverse process."""

    profiles = {
        "smoke": {
            "image_size": None, "max_image_size": 8, "channels": (16, 32), "layers_per_block": 1,
            "attention": False, "dropout": 0.0, "sde": "vp", "sampler": "ddim", "centered": True,
            "train_steps": 40, "batch_size": 64, "lr": 2e-3, "warmup_steps": 0, "ema_rate": 0.0,
            "random_flip": False, "loss_reduction": "mean", "sampling_steps": 40, "sample_batch_size": 256,
        },
        "paper": dict(SCORE_SDE_VE),
        "paper-vp": dict(DDPM_VP),
    }

    def __init__(
        self,
        *,
        image_size: int | None = None,
        max_image_size: int = 128,
        channels: tuple | None = None,
        layers_per_block: int = 2,
        attention: bool = True,
        dropout: float = 0.1,
        sde: str = "ve",
        sampler: str = "pc",
        centered: bool = False,
        train_steps: int = 20_000,
        batch_size: int = 128,
        lr: float = 2e-4,
        warmup_steps: int = 5000,
        grad_clip: float = 1.0,
        ema_rate: float = 0.999,
        random_flip: bool = True,
        loss_reduction: str = "sum",
        t_min: float = 1e-5,
        diffusion_steps: int = 1000,
        sigma_min: float = 0.01,
        sigma_max: float = 50.0,
        snr: float = 0.16,
        corrector_steps: int = 1,
        sampling_steps: int = 1000,
        t_stop: float = 0.0,
        denoise_at_stop: bool = False,
        sample_batch_size: int = 500,
    ):
        self.image_size = image_size
        self.max_image_size = max_image_size
        self.channels = channels
        self.layers_per_block = layers_per_block
        self.attention = attention
        self.dropout = dropout
        self.sde = sde
        self.sampler = sampler
        self.centered = centered
        self.train_steps = train_steps
        self.batch_size = batch_size
        self.lr = lr
        self.warmup_steps = warmup_steps
        self.grad_clip = grad_clip
        self.ema_rate = ema_rate
        self.random_flip = random_flip
        self.loss_reduction = loss_reduction
        self.t_min = t_min
        self.diffusion_steps = diffusion_steps
        self.sigma_min = sigma_min
        self.sigma_max = sigma_max
        self.snr = snr
        self.corrector_steps = corrector_steps
        self.sampling_steps = sampling_steps
        self.t_stop = t_stop
        self.denoise_at_stop = denoise_at_stop
        self.sample_batch_size = sample_batch_size

    # -- building -----------------------------------------------------------------------
    @classmethod
    def check_params(cls, params, profile: str) -> None:
        if params["sde"] not in SDES:
            raise ValueError(f"sde must be one of {', '.join(SDES)}, got {params['sde']!r}")
        allowed = ("pc",) if params["sde"] == "ve" else ("ddpm", "ddim")
        if params["sampler"] not in allowed:
            raise ValueError(f"sde {params['sde']!r} samples with {' or '.join(allowed)}, not {params['sampler']!r}")
        if not 0.0 <= params["t_stop"] < 1.0:
            raise ValueError(f"t_stop must lie in [0, 1), got {params['t_stop']}")
        if params["loss_reduction"] not in LOSS_REDUCTIONS:
            raise ValueError(f"loss_reduction must be sum (score_sde's 0.5·Σ over pixels) or mean, "
                             f"got {params['loss_reduction']!r}")
        if not 0.0 <= params["ema_rate"] < 1.0:
            raise ValueError(f"ema_rate must lie in [0, 1) (0: no moving average), got {params['ema_rate']}")
        size = params["image_size"] or params["max_image_size"]
        levels = len(params["channels"] or unet_channels(size))
        if size % 2 ** (levels - 1):
            raise ValueError(f"image_size {size} must be divisible by {2 ** (levels - 1)} for a {levels}-level U-Net")

    def _network(self, in_channels: int, image_size: int):
        from diffusers import UNet2DModel

        channels = tuple(self.channels or unet_channels(image_size))
        levels = len(channels)
        down = ["DownBlock2D"] * levels
        up = ["UpBlock2D"] * levels
        at_16 = int(math.log2(image_size)) - 4  # the level working at 16×16, where DDPM attends
        if self.attention and 0 <= at_16 < levels:
            down[at_16], up[levels - 1 - at_16] = "AttnDownBlock2D", "AttnUpBlock2D"
        return UNet2DModel(
            sample_size=image_size,
            in_channels=in_channels,
            out_channels=in_channels,
            block_out_channels=channels,
            layers_per_block=self.layers_per_block,
            down_block_types=tuple(down),
            up_block_types=tuple(up),
            dropout=self.dropout,
            norm_num_groups=min(32, channels[0] // 2),
            # VE: Fourier features of log σ, and the output divided by σ (a score)
            time_embedding_type="fourier" if self.sde == "ve" else "positional",
        )

    def _noise_scheduler(self):
        from diffusers import DDIMScheduler, DDPMScheduler, ScoreSdeVeScheduler

        if self.sde == "ve":
            return ScoreSdeVeScheduler(
                num_train_timesteps=self.sampling_steps, snr=self.snr, sigma_min=self.sigma_min,
                sigma_max=self.sigma_max, correct_steps=self.corrector_steps,
            )
        scheduler = DDIMScheduler if self.sampler == "ddim" else DDPMScheduler
        return scheduler(num_train_timesteps=self.diffusion_steps, beta_schedule="linear")

    # -- training -----------------------------------------------------------------------
    def fit(self, images: ImageSet, ctx: RunContext) -> "ScoreDiffusion":
        import torch
        from diffusers.training_utils import EMAModel

        from bench.training import run_steps

        self.check_params(self.get_params(), profile="")
        self.image_size_ = self.working_image_size(images)
        data = training_tensor(images, self.image_size_, self.centered).to(ctx.device)
        self.in_channels_ = data.shape[1]
        network = self._network(self.in_channels_, self.image_size_).to(ctx.device).train()
        optimizer = torch.optim.Adam(network.parameters(), lr=self.lr)
        warmup = torch.optim.lr_scheduler.LambdaLR(  # score_sde: lr·min(step / warmup, 1)
            optimizer, lambda step: min(step / self.warmup_steps, 1.0) if self.warmup_steps else 1.0
        )
        state = {"network": network, "optimizer": optimizer, "warmup": warmup}
        ema = None
        if self.ema_rate > 0:
            ema = state["ema"] = EMAModel(network.parameters(), decay=self.ema_rate)
        scheduler = self._noise_scheduler()

        def step():
            batch = data[torch.randint(len(data), (self.batch_size,), device=ctx.device)]
            if self.random_flip:
                batch = torch.where(torch.rand(len(batch), 1, 1, 1, device=ctx.device) < 0.5, batch.flip(3), batch)
            loss = self._ve_loss(network, batch) if self.sde == "ve" else self._vp_loss(network, batch, scheduler)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), self.grad_clip)
            optimizer.step()
            warmup.step()
            if ema is not None:
                ema.step(network.parameters())
            return loss

        self.loss_history_ = run_steps(step, self.train_steps, ctx, state=state, name="diffusion",
                                       desc="diffusion training")
        if ema is not None:
            ema.copy_to(network.parameters())  # score_sde samples with the averaged weights
        self.network_ = network.eval()
        return self

    def _reduce(self, squared):
        """Per example: score_sde's 0.5·Σ over pixels ("sum") or the mean; then the batch mean."""
        per_example = squared.flatten(1)
        per_example = 0.5 * per_example.sum(1) if self.loss_reduction == "sum" else per_example.mean(1)
        return per_example.mean()

    def _vp_loss(self, network, clean, scheduler):
        """DDPM's objective: predict the noise added at a uniformly drawn step."""
        import torch

        noise = torch.randn_like(clean)
        steps = torch.randint(self.diffusion_steps, (len(clean),), device=clean.device)
        noisy = scheduler.add_noise(clean, noise, steps)
        return self._reduce((network(noisy, steps).sample - noise) ** 2)

    def _ve_loss(self, network, clean):
        """Denoising score matching, σ = σ_min(σ_max/σ_min)^t with t ~ U(t_min, 1), weighted by σ²
        (score_sde's `get_sde_loss_fn` for the VE SDE)."""
        import torch

        t = torch.rand(len(clean), device=clean.device) * (1.0 - self.t_min) + self.t_min
        sigma = self.sigma_min * (self.sigma_max / self.sigma_min) ** t
        noise = torch.randn_like(clean)
        score = network(clean + sigma.view(-1, 1, 1, 1) * noise, sigma).sample
        return self._reduce((score * sigma.view(-1, 1, 1, 1) + noise) ** 2)

    # -- sampling -----------------------------------------------------------------------
    def sample(self, n: int, ctx: RunContext) -> np.ndarray:
        import torch

        from bench.errors import check_is_fitted

        check_is_fitted(self, "network_")
        sizes = batches(n, self.sample_batch_size)
        out = []
        with torch.no_grad():
            for size in ctx.progress(sizes, total=len(sizes), desc="diffusion sampling"):
                shape = (size, self.in_channels_, self.image_size_, self.image_size_)
                chain = self._sample_ve if self.sde == "ve" else self._sample_vp
                out.append(to_uint8_rgb(chain(shape, ctx.device), self.centered))
        return np.concatenate(out) if out else np.zeros((0, self.image_size_, self.image_size_, 3), np.uint8)
    def _sample_vp(self, shape, device):
        import torch

        scheduler = self._noise_scheduler()
        scheduler.set_timesteps(self.sampling_steps)
        sample = torch.randn(shape, device=device)
        estimate = sample
        for t in scheduler.timesteps:
            if int(t) < self.t_stop * self.diffusion_steps:
                break
            noise = self.network_(sample, t.to(device)).sample
            step = scheduler.step(noise, t, sample)
            sample, estimate = step.prev_sample, step.pred_original_sample
        stopped = self.t_stop > 0.0
        return estimate if stopped and self.denoise_at_stop else sample

    def _sample_ve(self, shape, device):
        import torch

        scheduler = self._noise_scheduler()
        scheduler.set_timesteps(self.sampling_steps)
        scheduler.set_sigmas(self.sampling_steps)
        sample = torch.randn(shape, device=device) * self.sigma_max
        mean, score, sigma = sample, None, None
        for index, t in enumerate(scheduler.timesteps):
            if float(t) < self.t_stop:
                break
            sigma = scheduler.sigmas[index].to(device).expand(shape[0])
            for _ in range(self.corrector_steps):
                score = self.network_(sample, sigma).sample
                sample = scheduler.step_correct(score, sample).prev_sample
            score = self.network_(sample, sigma).sample
            step = scheduler.step_pred(score, t, sample)
            sample, mean = step.prev_sample, step.prev_sample_mean
        if self.t_stop == 0.0:
            return mean  # score_sde's noise removal: the last step's mean, no fresh noise
        if self.denoise_at_stop and score is not None:
            return sample + sigma.view(-1, 1, 1, 1) ** 2 * self.network_(sample, sigma).sample
        return sample
