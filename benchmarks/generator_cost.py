"""What the diffusion generator's paper profiles cost at each working resolution.

    python benchmarks/generator_cost.py                   FLOPs only (any machine, no GPU)
    python benchmarks/generator_cost.py --device cuda     also measured steps/s and images/s

FLOPs: the U-Net `bench.generators.diffusion` builds for each side (8 … 256 px, `channels`
None: sized for it), counted by torch's `FlopCounterMode` on one forward of one image (on the
meta device: nothing is computed). Per class, the paper profile costs about
3 × forward × batch (128) × train_steps (20,000) to train and forward × 2 (predictor and one
corrector step) × 1,000 steps × N to sample N fakes. On a GPU (`--device cuda`): training
steps per second at batch 128 and sampling images per second for the VE paper profile at
32 and 128 px, each timed over a few steps after one warm-up step. Figures go to
benchmarks/figures/generator_cost.json (and generator_cost_<device>.json with timings).
"""

from __future__ import annotations

import argparse
import time

from _common import record

SIDES = (8, 16, 32, 64, 128, 256)


def forward_flops(side: int) -> tuple[int, int]:
    """(FLOPs of one forward of one image, parameters) of the paper U-Net at `side` px."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from bench.generators.diffusion import ScoreDiffusion

    with torch.device("meta"):
        network = ScoreDiffusion()._network(3, side)
        image, sigma = torch.zeros(1, 3, side, side), torch.ones(1)
        counter = FlopCounterMode(display=False)
        with counter:
            network(image, sigma)
    return counter.get_total_flops(), sum(p.numel() for p in network.parameters())


def timed(side: int, device: str, steps: int = 5) -> dict:
    """Measured training steps/s (batch 128) and sampling images/s (1,000 PC steps) at `side`."""
    import numpy as np
    import torch

    from bench.context import RunContext
    from bench.generators import make_generator
    from bench.images import ArrayImages

    images = ArrayImages(np.random.default_rng(0).integers(0, 256, (256, side, side, 3), dtype=np.uint8))
    ctx = RunContext(device=device)
    generator = make_generator("diffusion", "paper", {"train_steps": 1, "image_size": side})
    generator.fit(images, ctx)  # warm-up (cuDNN plans, allocator)
    generator.train_steps = steps
    torch.cuda.synchronize()
    start = time.perf_counter()
    generator.fit(images, ctx)
    torch.cuda.synchronize()
    train_steps_per_s = steps / (time.perf_counter() - start)
    generator.sampling_steps, generator.sample_batch_size = 20, 250
    generator.sample(250, ctx)
    torch.cuda.synchronize()
    start = time.perf_counter()
    generator.sample(250, ctx)
    torch.cuda.synchronize()
    images_per_s_20 = 250 / (time.perf_counter() - start)
    return {"train_steps_per_s": train_steps_per_s, "sample_images_per_s": images_per_s_20 * 20 / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    figures = {}
    for side in SIDES:
        flops, parameters = forward_flops(side)
        figures[side] = {
            "parameters_M": parameters / 1e6,
            "forward_GFLOP": flops / 1e9,
            "train_PFLOP_per_class": 3 * flops * 128 * 20_000 / 1e15,
            "sample_TFLOP_per_1000_fakes": flops * 2 * 1000 * 1000 / 1e12,
        }
    for side in SIDES:
        figures[side]["relative_to_32px"] = figures[side]["forward_GFLOP"] / figures[32]["forward_GFLOP"]
    record("generator_cost", {str(k): v for k, v in figures.items()})
    if args.device.startswith("cuda"):
        record(f"generator_cost_{args.device.replace(':', '')}", {str(side): timed(side, args.device) for side in (32, 128)})


if __name__ == "__main__":
    main()
