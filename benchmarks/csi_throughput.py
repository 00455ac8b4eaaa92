"""CSI paper-profile training throughput through nearbench against a bare loop (needs a GPU).

    python benchmarks/csi_throughput.py [--images 8192] [--loader-workers 8]

Harness: `CSI.fit` with the paper profile (CIFAR ResNet-18, batch 128 → 1,024 shifted and
augmented samples per step) on synthetic 32×32 RGB images, timed with 1 and with 2 epochs;
the difference is one epoch, so feature extraction for the score cancels out. Bare loop: the
same network, augmentations, LARS optimiser and loss over a GPU-resident tensor of the same
images, no loader, no checkpointing, no schedule. Reported: training images per second of
each and their ratio (goal ≥ 0.9). Figures go to benchmarks/figures/csi_throughput.json.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
from _common import cuda_seconds, record


def bare_epoch_seconds(pixels: np.ndarray, params: dict) -> float:
    import torch
    import torch.nn.functional as F
    from timm.optim import Lars

    from bench.losses import nt_xent
    from bench.methods.csi import CSI
    from bench.methods.csi_augment import simclr_augment
    from bench.methods.csi_network import csi_network

    detector = CSI(**params)
    network = csi_network("resnet18", params["width"]).cuda().train()
    augment = simclr_augment(params["image_size"], (0.08, 1.0)).cuda()
    optimizer = Lars(network.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-6, trust_coeff=0.001, eps=1e-8)
    images = torch.as_tensor(pixels).permute(0, 3, 1, 2).float().div(255).cuda()
    batch = params["batch_size"]

    def epoch():
        order = torch.randperm(len(images), device="cuda")
        for start in range(0, len(images) - batch + 1, batch):
            samples, labels = detector.shifted_batch(images[order[start : start + batch]], augment)
            projections, logits = network(samples)
            first, second = projections.chunk(2)
            loss = nt_xent(first, second, 0.5) + F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    epoch()  # warm-up
    return cuda_seconds(epoch)


def main() -> int:
    import torch

    from bench.context import RunContext
    from bench.images import ArrayImages
    from bench.methods.csi import CSI
    from bench.seeding import seed_everything

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8192)
    parser.add_argument("--loader-workers", type=int, default=8)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("csi_throughput.py needs a CUDA GPU")

    pixels = np.random.default_rng(0).integers(0, 256, size=(args.images, 32, 32, 3), dtype=np.uint8)
    images = ArrayImages(pixels)
    params = {**CSI.profiles["paper"], "ood_samples": 1}
    scratch = tempfile.mkdtemp(prefix="csi-checkpoints-")
    ctx = RunContext(seed=0, device="cuda", loader_workers=args.loader_workers, checkpoint_dir=Path(scratch))
    seed_everything(0)
    CSI(**{**params, "epochs": 1}).fit(images.subset(range(1024)), ctx)  # warm-up
    times = {}
    for epochs in (1, 2):
        seed_everything(0)
        shutil.rmtree(scratch, ignore_errors=True)  # each fit starts afresh, checkpointing as `bench run` does
        times[epochs] = cuda_seconds(lambda: CSI(**{**params, "epochs": epochs}).fit(images, ctx))
    usable = args.images // params["batch_size"] * params["batch_size"]
    harness = usable / (times[2] - times[1])
    seed_everything(0)
    bare = usable / bare_epoch_seconds(pixels, params)
    figures = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "images": args.images,
        "loader_workers": args.loader_workers,
        "harness_train_images_per_s": round(harness, 1),
        "bare_loop_train_images_per_s": round(bare, 1),
        "harness_over_bare": round(harness / bare, 3),
    }
    record("csi_throughput", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
