"""FITYMI throughput: fake generation per sampler setting, and fine-tuning through nearbench
against a bare timm loop of the same model.

    python benchmarks/fitymi_throughput.py --profile paper --device cuda [--images 2048]
    python benchmarks/fitymi_throughput.py --profile smoke --device cpu   (what a CPU can do)

Generation: each generator of the profile, with the sampler settings below, samples
`--fakes` images from a network trained for one step (sampling cost does not depend on how
long it trained); images per second.

Fine-tuning: `FITYMI.fit` (generator "bank": fakes from a file, so no generator trains) on
`--images` synthetic normal images and as many fakes, timed with 1 and with 2 epochs; the
difference is one epoch, so the feature bank for the kNN score cancels out. Bare loop: the
same timm ViT, frozen blocks, head, SGD and loss, fed by a plain DataLoader with the same
transform and workers — no checkpointing, no progress hooks. Reported: training images per
second of each and their ratio (goal ≥ 0.9). Figures go to
benchmarks/figures/fitymi_throughput_<profile>.json.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import record

SAMPLERS = {
    "smoke": [
        ("diffusion", {"sde": "vp", "sampler": "ddim", "sampling_steps": 40}),
        ("diffusion", {"sde": "vp", "sampler": "ddpm", "sampling_steps": 1000}),
        ("diffusion", {"sde": "ve", "sampler": "pc", "sampling_steps": 100}),
        ("diffusion", {"sde": "vp", "sampler": "ddim", "sampling_steps": 40, "t_stop": 0.5}),
        ("dcgan", {}),
        ("wgan-gp", {}),
    ],
    "paper": [
        ("diffusion", {"sde": "ve", "sampler": "pc", "sampling_steps": 1000}),
        ("diffusion", {"sde": "ve", "sampler": "pc", "sampling_steps": 100}),
        ("diffusion", {"sde": "vp", "sampler": "ddim", "sampling_steps": 100}),
        ("diffusion", {"sde": "vp", "sampler": "ddim", "sampling_steps": 100, "t_stop": 0.5}),
        ("dcgan", {}),
        ("wgan-gp", {}),
    ],
}


def synchronised(device: str):
    import torch

    def wait():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    return wait


def timed(fn, wait) -> float:
    wait()
    start = time.perf_counter()
    fn()
    wait()
    return time.perf_counter() - start


def generation(profile: str, device: str, n: int, wait) -> list[dict]:
    from bench.context import RunContext
    from bench.generators import make_generator
    from bench.images import ArrayImages

    rows = []
    for name, settings in SAMPLERS[profile]:
        generator = make_generator(name, profile, {**settings, "train_steps": 1})
        size = generator.image_size
        pixels = np.random.default_rng(0).integers(0, 256, (64, size, size, 3), dtype=np.uint8)
        ctx = RunContext(device=device)
        generator.fit(ArrayImages(pixels), ctx)
        generator.sample(min(n, 8), ctx)  # warm-up
        seconds = timed(lambda: generator.sample(n, ctx), wait)
        rows.append({"generator": name, **settings, "images_per_s": round(n / seconds, 2)})
        print(rows[-1])
    return rows


def bare_epoch_seconds(images, fakes, params: dict, device: str, workers: int, wait) -> float:
    import torch
    from torch.utils.data import DataLoader

    from bench.backbones import build_backbone
    from bench.loading import TransformedImages
    from bench.images import ArrayImages, ConcatImages
    from bench.methods.fitymi import freeze_blocks
    from bench.transforms import train_transform

    vit = build_backbone(params["backbone"], "random", drop_rate=params["dropout"], **(params["model_options"] or {}))
    head = torch.nn.Linear(vit.num_features, 2)
    trainable = freeze_blocks(vit, params["frozen_blocks"]) + list(head.parameters())
    model = torch.nn.Sequential(vit, head).to(device).train()
    optimizer = torch.optim.SGD(trainable, lr=params["lr"], momentum=params["momentum"], weight_decay=5e-5)
    labels = np.r_[np.zeros(len(images)), np.ones(len(fakes))]
    data = TransformedImages(ConcatImages([images, ArrayImages(fakes)]),
                             train_transform(params["image_size"], params["resize"]), labels)
    loader = DataLoader(data, batch_size=params["batch_size"], shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, pin_memory=device.startswith("cuda"))
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        for inputs, targets in loader:
            loss = loss_fn(model(inputs.to(device)), targets.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    epoch()  # warm-up
    return timed(epoch, wait)


def fine_tuning(profile: str, device: str, n: int, workers: int, wait) -> dict:
    from bench.context import RunContext
    from bench.images import ArrayImages
    from bench.methods.fitymi import FITYMIBank
    from bench.seeding import seed_everything

    params = {**FITYMIBank.profiles[profile], "weights": "random"}  # throughput does not depend on the weights
    size = 32 if profile == "paper" else 8
    rng = np.random.default_rng(0)
    images = ArrayImages(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8))
    fakes = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    scratch = Path(tempfile.mkdtemp(prefix="fitymi-bench-"))
    np.save(scratch / "bank.npy", fakes)
    bank = {"bank_path": str(scratch / "bank.npy"), "bank_classes": 1}
    ctx = RunContext(seed=0, device=device, loader_workers=workers, checkpoint_dir=scratch / "checkpoints")
    times = {}
    for epochs in (1, 1, 2):  # the first is a warm-up
        seed_everything(0)
        shutil.rmtree(scratch / "checkpoints", ignore_errors=True)  # each fit starts afresh, as in `bench run`
        times[epochs] = timed(lambda: FITYMIBank(**{**params, **bank, "epochs": epochs}).fit(images, ctx), wait)
    harness = 2 * n / (times[2] - times[1])
    seed_everything(0)
    bare = 2 * n / bare_epoch_seconds(images, fakes, params, device, workers, wait)
    return {
        "images": n,
        "loader_workers": workers,
        "harness_train_images_per_s": round(harness, 1),
        "bare_loop_train_images_per_s": round(bare, 1),
        "harness_over_bare": round(harness / bare, 3),
    }


def main() -> int:
    import platform

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke", choices=("smoke", "paper"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=None, help="normal images (default: 2048 paper, 512 smoke)")
    parser.add_argument("--fakes", type=int, default=None, help="fakes per sampler (default: 500 paper, 256 smoke)")
    parser.add_argument("--loader-workers", type=int, default=None, help="default: 8 on a GPU, 0 on a CPU")
    args = parser.parse_args()
    paper = args.profile == "paper"
    workers = args.loader_workers if args.loader_workers is not None else (8 if args.device != "cpu" else 0)
    wait = synchronised(args.device)
    figures = {
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else f"{platform.machine()} CPU, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "profile": args.profile,
        "generation": generation(args.profile, args.device, args.fakes or (500 if paper else 256), wait),
        "fine_tuning": fine_tuning(args.profile, args.device, args.images or (2048 if paper else 512), workers, wait),
    }
    record(f"fitymi_throughput_{args.profile}", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
