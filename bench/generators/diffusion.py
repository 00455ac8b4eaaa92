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

Default (both profiles): mode A — training stopped early, the full reverse process
(`t_stop` 0). The `paper` profile follows score_sde's CIFAR-10 VE sampler (1,000 PC steps,
snr 0.16, one corrector step, noise removal) with a DDPM-style U-Net in place of NCSN++;
its training length (20k steps of 128 per class, far from score_sde's 1.3M) is this
package's choice, since the paper's is unknown. The `smoke` profile is an 8×8 VP model
trained for 40 steps and sampled with 40 DDIM steps (seconds on a CPU).
"""

from __future__ import annotations

import numpy as np

from bench.context import RunContext
from bench.generators import register_generator
from bench.generators.base import Generator, batches, to_uint8_rgb, training_tensor
from bench.images import ImageSet

SDES = ("vp", "ve")


@register_generator("diffusion")
class ScoreDiffusion(Generator):
    """Score-based diffusion (VP/DDPM or VE/score-SDE): early-stopped training or a truncated reverse process."""

    profiles = {
        "smoke": {
            "image_size": 8, "channels": (16, 32), "layers_per_block": 1, "attention": False,
            "sde": "vp", "sampler": "ddim", "train_steps": 40, "batch_size": 64, "lr": 2e-3,
            "sampling_steps": 40, "sample_batch_size": 256,
        },
        "paper": {
            "image_size": 32, "channels": (128, 256, 256, 256), "layers_per_block": 2, "attention": True,
            "sde": "ve", "sampler": "pc", "train_steps": 20_000, "batch_size": 128, "lr": 2e-4,
            "sampling_steps": 1000, "sample_batch_size": 500,
        },
    }

    def __init__(
        self,
        *,
        image_size: int = 32,
        channels: tuple = (128, 256, 256, 256),
        layers_per_block: int = 2,
        attention: bool = True,
        sde: str = "ve",
        sampler: str = "pc",
        train_steps: int = 20_000,
        batch_size: int = 128,
        lr: float = 2e-4,
        grad_clip: float = 1.0,
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
        self.channels = channels
        self.layers_per_block = layers_per_block
        self.attention = attention
        self.sde = sde
        self.sampler = sampler
        self.train_steps = train_steps
        self.batch_size = batch_size
        self.lr = lr
        self.grad_clip = grad_clip
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

    def _network(self, in_channels: int):
        from diffusers import UNet2DModel

        levels = len(self.channels)
        down = ["DownBlock2D"] * levels
        up = ["UpBlock2D"] * levels
        if self.attention and levels > 1:  # self-attention at the second resolution, as DDPM's CIFAR model
            down[1], up[-2] = "AttnDownBlock2D", "AttnUpBlock2D"
        return UNet2DModel(
            sample_size=self.image_size,
            in_channels=in_channels,
            out_channels=in_channels,
            block_out_channels=tuple(self.channels),
            layers_per_block=self.layers_per_block,
            down_block_types=tuple(down),
            up_block_types=tuple(up),
            norm_num_groups=min(32, self.channels[0] // 2),
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

        self.check_params(self.get_params(), profile="")
        data = training_tensor(images, self.image_size).to(ctx.device)
        self.in_channels_ = data.shape[1]
        self.network_ = self._network(self.in_channels_).to(ctx.device).train()
        optimizer = torch.optim.Adam(self.network_.parameters(), lr=self.lr)
        scheduler = self._noise_scheduler()
        losses = []
        for _ in ctx.progress(range(self.train_steps), total=self.train_steps, desc="diffusion training"):
            batch = data[torch.randint(len(data), (self.batch_size,), device=ctx.device)]
            loss = self._ve_loss(batch) if self.sde == "ve" else self._vp_loss(batch, scheduler)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.network_.parameters(), self.grad_clip)
            optimizer.step()
            losses.append(loss.detach())
        self.loss_history_ = torch.stack(losses).cpu().numpy().tolist() if losses else []
        self.network_.eval()
        return self

    def _vp_loss(self, clean, scheduler):
        """DDPM's objective: predict the noise added at a uniformly drawn step."""
        import torch

        noise = torch.randn_like(clean)
        steps = torch.randint(self.diffusion_steps, (len(clean),), device=clean.device)
        noisy = scheduler.add_noise(clean, noise, steps)
        return torch.nn.functional.mse_loss(self.network_(noisy, steps).sample, noise)

    def _ve_loss(self, clean):
        """Denoising score matching with σ log-uniform in [σ_min, σ_max], weighted by σ²."""
        import torch

        u = torch.rand(len(clean), device=clean.device)
        sigma = self.sigma_min * (self.sigma_max / self.sigma_min) ** u
        noise = torch.randn_like(clean)
        score = self.network_(clean + sigma.view(-1, 1, 1, 1) * noise, sigma).sample
        return ((score * sigma.view(-1, 1, 1, 1) + noise) ** 2).mean()

    # -- sampling -----------------------------------------------------------------------
    def sample(self, n: int, ctx: RunContext) -> np.ndarray:
        import torch

        from bench.errors import check_is_fitted

        check_is_fitted(self, "network_")
        sizes = batches(n, self.sample_batch_size)
        out = []
        with torch.no_grad():
            for size in ctx.progress(sizes, total=len(sizes), desc="diffusion sampling"):
                shape = (size, self.in_channels_, self.image_size, self.image_size)
                chain = self._sample_ve if self.sde == "ve" else self._sample_vp
                out.append(to_uint8_rgb(chain(shape, ctx.device)))
        return np.concatenate(out) if out else np.zeros((0, self.image_size, self.image_size, 3), np.uint8)

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
