"""The generators' paper recipes (score_sde VE, DDPM VP), resolution that follows the data, and
generator training that resumes after an interruption."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.context import RunContext
from bench.datasets.digits import digit_images
from bench.generators import generator_params, make_generator
from bench.generators.bank import BankRequest, fake_bank
from bench.generators.base import follow_data, working_size
from bench.generators.diffusion import ScoreDiffusion, unet_channels
from bench.images import ArrayImages
from bench.seeding import seeded

TINY_UNET = {"channels": (16, 32), "layers_per_block": 1, "attention": False, "batch_size": 16,
             "sample_batch_size": 64, "sampling_steps": 4}


@pytest.fixture(scope="module")
def sevens():
    images, labels = digit_images()
    return ArrayImages(images[labels == 7][:40], name="test/sevens")


def test_paper_profile_is_score_sdes_cifar10_ve_recipe():
    paper = generator_params("diffusion", "paper")
    # configs/default_cifar10_configs.py + configs/ve/cifar10_ncsnpp_continuous.py
    assert (paper["sde"], paper["sampler"], paper["centered"]) == ("ve", "pc", False)
    assert (paper["sigma_min"], paper["sigma_max"], paper["t_min"]) == (0.01, 50.0, 1e-5)
    assert (paper["ema_rate"], paper["warmup_steps"], paper["grad_clip"]) == (0.999, 5000, 1.0)
    assert (paper["random_flip"], paper["dropout"], paper["loss_reduction"]) == (True, 0.1, "sum")
    assert (paper["lr"], paper["batch_size"]) == (2e-4, 128)
    assert (paper["sampling_steps"], paper["snr"], paper["corrector_steps"]) == (1000, 0.16, 1)
    vp = generator_params("diffusion", "paper-vp")  # DDPM, as score_sde's configs/vp/cifar10_ddpm.py
    assert (vp["sde"], vp["sampler"], vp["centered"], vp["ema_rate"], vp["loss_reduction"]) == (
        "vp", "ddpm", True, 0.9999, "mean")
    assert (vp["warmup_steps"], vp["grad_clip"], vp["random_flip"], vp["dropout"]) == (5000, 1.0, True, 0.1)


def test_network_is_sized_for_the_resolution_with_dropout_and_attention_at_16px():
    assert unet_channels(32) == (128, 256, 256, 256)  # DDPM's CIFAR-10 U-Net
    assert unet_channels(64) == (128, 128, 256, 256, 256)
    generator = ScoreDiffusion(channels=(8, 16, 16, 16), layers_per_block=1)
    network = generator._network(3, 32)
    assert tuple(network.config.block_out_channels) == (8, 16, 16, 16)
    assert [type(b).__name__ for b in network.down_blocks] == ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D",
                                                               "DownBlock2D"]  # the 16×16 level
    dropouts = {m.p for name, m in network.named_modules() if isinstance(m, torch.nn.Dropout) and "resnets" in name}
    assert dropouts == {0.1}
    wide = ScoreDiffusion(channels=(8, 8, 8, 16, 16, 16), layers_per_block=1)._network(3, 128)
    assert type(wide.down_blocks[3]).__name__ == "AttnDownBlock2D"  # 128 → 64 → 32 → 16


def test_resolution_follows_the_data_up_to_a_cap(sevens):
    assert [working_size(n, 128) for n in (8, 28, 32, 120, 500, None)] == [8, 32, 32, 128, 128, 128]
    paper = generator_params("diffusion", "paper")
    assert paper["image_size"] is None and paper["max_image_size"] == 128
    assert follow_data(paper, 32)["image_size"] == 32 and follow_data(paper, None)["image_size"] == 128
    assert follow_data({**paper, "image_size": 16}, 32)["image_size"] == 16  # an explicit size wins
    fakes = make_generator("dcgan", "smoke", {"train_steps": 1, "max_image_size": 16}).fit(
        sevens, RunContext()).sample(3, RunContext())
    assert fakes.shape == (3, 8, 8, 3)  # 8-px digits stay 8 px under a 16-px cap
    from bench.generators.base import training_tensor

    assert training_tensor(sevens, 8, centered=False).min() >= 0.0  # score_sde's VE data range is [0, 1]
    assert training_tensor(sevens, 8).min() < 0.0


def test_loss_is_half_the_sum_over_pixels_and_the_clip_then_acts(sevens, monkeypatch):
    squared = torch.arange(24.0).reshape(2, 3, 2, 2)
    assert ScoreDiffusion(loss_reduction="sum")._reduce(squared) == pytest.approx(0.5 * squared.sum().item() / 2)
    assert ScoreDiffusion(loss_reduction="mean")._reduce(squared) == pytest.approx(squared.mean().item())
    norms = []
    original = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda *a, **k: norms.append(float(original(*a, **k))))
    params = {**TINY_UNET, "train_steps": 3, "warmup_steps": 0, "ema_rate": 0.0, "dropout": 0.0}
    with seeded(0):
        make_generator("diffusion", "paper", params).fit(sevens, RunContext())
    assert len(norms) == 3 and min(norms) > 1.0  # score_sde's clip at 1 is active with its summed loss


def test_warm_up_ema_and_flips_are_applied(sevens, monkeypatch):
    rates = []
    original_step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step",
                        lambda self, *a, **k: rates.append(self.param_groups[0]["lr"]) or original_step(self, *a, **k))
    params = {**TINY_UNET, "train_steps": 4, "warmup_steps": 4, "lr": 1e-3, "dropout": 0.0}
    with seeded(0):
        averaged = make_generator("diffusion", "paper", {**params, "ema_rate": 0.5}).fit(sevens, RunContext())
    assert rates == pytest.approx([0.0, 2.5e-4, 5e-4, 7.5e-4])  # lr·min(step / warm-up, 1)
    with seeded(0):
        raw = make_generator("diffusion", "paper", {**params, "ema_rate": 0.0}).fit(sevens, RunContext())
    # the same training, but sampling uses the moving average of the weights, not the last ones
    same = [torch.equal(a, b) for a, b in zip(averaged.network_.parameters(), raw.network_.parameters())]
    assert not all(same)
    flipped = []
    monkeypatch.setattr(ScoreDiffusion, "_ve_loss", lambda self, network, batch: flipped.append(batch) or
                        network(batch, torch.ones(len(batch))).sample.mean())
    with seeded(0):
        make_generator("diffusion", "paper", {**params, "train_steps": 1, "ema_rate": 0.0}).fit(sevens, RunContext())
    data = torch.from_numpy(sevens.array).float() / 255.0
    rows = flipped[0][:, 0]
    is_flipped = [bool((data == row.flip(1)).all(dim=(1, 2)).any()) and not bool((data == row).all(dim=(1, 2)).any())
                  for row in rows]
    assert any(is_flipped) and not all(is_flipped)


@pytest.mark.parametrize("name, params", [
    ("diffusion", {"train_steps": 6, "ema_rate": 0.9, "warmup_steps": 3, "random_flip": True}),
    ("dcgan", {"train_steps": 6}),
])
def test_interrupted_generator_resumes_to_the_identical_bank(sevens, tmp_path, name, params):
    request = BankRequest(name, generator_params(name, "smoke", params), n=12, seed=0)
    whole, _ = fake_bank(sevens, request, RunContext(cache_dir=tmp_path / "whole"))

    class Interrupted(Exception):
        pass

    def stop_after_three(iterable, total=None, desc=None):
        for index, item in enumerate(iterable):
            if "training" in (desc or "") and index == 3:
                raise Interrupted
            yield item

    cache = tmp_path / "interrupted"
    with pytest.raises(Interrupted):
        fake_bank(sevens, request, RunContext(cache_dir=cache, checkpoint_interval_s=0.0, progress=stop_after_three))
    saved = list((cache / "checkpoints" / "fakes").rglob("*.pt"))
    assert len(saved) == 1 and not list((cache / "fakes").rglob("*.npy"))
    steps_run = []
    resumed, path = fake_bank(sevens, request, RunContext(
        cache_dir=cache, progress=lambda it, total=None, desc=None: steps_run.append(total) or it))
    assert steps_run[0] == 3  # training went on from step 3 of 6
    np.testing.assert_array_equal(resumed, whole)
    assert not (cache / "checkpoints" / "fakes" / path.stem).exists()  # deleted once the bank is written
