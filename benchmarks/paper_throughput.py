"""Paper-profile training throughput of PANDA and MSC at 224 px (needs a GPU).

    python benchmarks/paper_throughput.py [--images 1024] [--loader-workers 0 8]

Each method is fitted twice with its paper profile (ResNet-152, resize 256 → 224) on the same
synthetic 32×32 RGB images, once with 1 epoch and once with 2; the difference is the time of
one training epoch, so centre and bank extraction cancel out. Reported: training images per
second (PANDA: one forward+backward per image; MSC: two views per image, counted as one
image), and DN2's frozen feature extraction images per second. Weights are random: the
arithmetic is the same as with ImageNet weights. Figures go to
benchmarks/figures/paper_throughput.json.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import cuda_seconds, record


def main() -> int:
    import torch

    from bench.context import RunContext
    from bench.features import FeatureExtractor, FeatureSpec
    from bench.images import ArrayImages
    from bench.methods.msc import MSC
    from bench.methods.panda import PANDA
    from bench.seeding import seed_everything

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--loader-workers", type=int, nargs="+", default=[0, 8])
    parser.add_argument("--methods", nargs="+", default=["panda", "msc"], choices=["panda", "msc"])
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="let cuDNN pick the fastest (non-deterministic) kernels, as `bench run` does not")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("paper_throughput.py needs a CUDA GPU")

    pixels = np.random.default_rng(0).integers(0, 256, size=(args.images, 32, 32, 3), dtype=np.uint8)
    images = ArrayImages(pixels)
    figures = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "images": args.images}
    for workers in args.loader_workers:
        ctx = RunContext(seed=0, device="cuda", loader_workers=workers)
        for cls in [{"panda": PANDA, "msc": MSC}[name] for name in args.methods]:
            params = {**cls.profiles["paper"], "weights": "random"}
            cls(**{**params, "epochs": 1}).fit(images.subset(range(256)), ctx)  # warm-up: CUDA, cuDNN
            times = {}
            for epochs in (1, 2):
                seed_everything(0)
                torch.backends.cudnn.benchmark = args.cudnn_benchmark
                torch.backends.cudnn.deterministic = not args.cudnn_benchmark
                times[epochs] = cuda_seconds(lambda: cls(**{**params, "epochs": epochs}).fit(images, ctx))
            figures[f"{cls.__name__.lower()}_train_images_per_s_workers{workers}"] = round(args.images / (times[2] - times[1]), 1)
        spec = FeatureSpec("resnet152", "random", 224, 256)
        extractor = FeatureExtractor(spec, ctx, batch_size=64)
        extractor(images.subset(range(64)))  # build and warm up
        figures[f"dn2_extract_images_per_s_workers{workers}"] = round(args.images / cuda_seconds(lambda: extractor(images)), 1)
    figures["cudnn_benchmark"] = args.cudnn_benchmark
    name = "paper_throughput_cudnn_benchmark" if args.cudnn_benchmark else "paper_throughput"
    record(name, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
