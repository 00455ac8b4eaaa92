"""PatchCore's peak memory at the paper resolution: anomalib's path against the memory budget.

    python benchmarks/patchcore_memory.py [--images 1000] [--budget-gib 2] [--exact 100,200]
                                          [--compare 200] [--ratio 0.1] [--folder DIR]

Writes a folder of generated 256×256 RGB PNGs (smooth random textures, seeded) in the
ImageFolder layout, then fits PatchCore's paper configuration (wide ResNet-50-2, layer2 +
layer3 at 256 px, a `--ratio` coreset, the paper's 10% by default; random weights —
pretrained ones change neither shapes nor memory) in a fresh process per run, on the CPU, and records its peak resident memory
(`ru_maxrss`) and what the process held once the network was built, so that their difference
is the patch memory:

- `--images` images within `--budget-gib` (the chunked coreset), against the planner's estimate;
- anomalib's path (`memory_budget_gib=None`) on each `--exact` count of images — its peak grows
  with the class, and its coreset selection over all vectors at once is what makes a larger
  count impractical on a CPU;
- on `--compare` images, anomalib's path and a budget whose chunks hold a quarter of them, scoring the same
  100 held-out images: the Spearman correlation of the two score vectors and their mean
  relative difference say what chunking changes.

Figures go to benchmarks/figures/patchcore_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import record

PAPER = {"backbone": "wide_resnet50_2", "weights": "random", "image_size": 256, "resize": 256, "batch_size": 32}


def write_folder(folder: Path, count: int, seed: int = 0) -> None:
    """`count` smooth random 256×256 textures (upsampled 16×16 noise), as PNGs in one class folder."""
    from PIL import Image

    target = folder / "images"
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        path = target / f"{index:05d}.png"
        if not path.exists():
            small = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(small).resize((256, 256), Image.BICUBIC).save(path)


def resident_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def child(args) -> None:
    """One fit in this process; prints its figures as JSON."""
    import torch

    from bench.context import RunContext
    from bench.imagefolder import read_image_folder
    from bench.methods.patchcore import PatchCore

    torch.set_num_threads(os.cpu_count() or 1)
    images = read_image_folder(Path(args.folder), "benchmark").images
    train = images.subset(range(args.count), key=None)
    detector = PatchCore(**PAPER, memory_budget_gib=args.budget, coreset_sampling_ratio=args.ratio)
    ctx = RunContext(seed=0)
    detector._build(ctx)  # the network alone, to subtract
    built = resident_bytes()
    start = time.perf_counter()
    detector.fit(train, ctx)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {"count": args.count, "budget_gib": args.budget, "chunks": detector.coreset_chunks_,
           "fit_s": round(seconds, 1), "peak_gib": round(peak / 2**30, 3),
           "patch_memory_gib": round((peak - built) / 2**30, 3),
           "bank_vectors": len(detector.module_.model.memory_bank)}
    if args.score:
        held_out = images.subset(range(len(images) - 100, len(images)), key=None)
        out["scores"] = detector.score(held_out, ctx).tolist()
    print(json.dumps(out))


def run(folder: Path, count: int, budget, ratio: float, score: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", "--folder", str(folder), "--count", str(count), "--ratio", str(ratio),
               "--budget", "none" if budget is None else str(budget)] + (["--score"] if score else [])
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps({k: v for k, v in figures.items() if k != "scores"}), flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--budget-gib", type=float, default=2.0)
    parser.add_argument("--exact", default="100,200", help="image counts for anomalib's path")
    parser.add_argument("--compare", type=int, default=200, help="images for the exact-vs-chunked score comparison")
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--ratio", type=float, default=0.1,
                        help="coreset sampling ratio (the paper's 0.1; a smaller one shortens the greedy selection "
                             "on a CPU, and lowers the peak by the coreset it no longer keeps)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=lambda v: None if v == "none" else float(v), help=argparse.SUPPRESS)
    parser.add_argument("--score", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    from scipy.stats import spearmanr

    from bench.methods.patchcore import GIB, BankGeometry, coreset_plan

    folder = args.folder or Path(tempfile.mkdtemp(prefix="patchcore-memory-"))
    write_folder(folder, max(args.images, args.compare) + 100)
    geometry = BankGeometry.of("wide_resnet50_2", ("layer2", "layer3"), 256)
    ratio = args.ratio
    budgeted = run(folder, args.images, args.budget_gib, ratio)
    plan = coreset_plan(geometry, args.images, ratio, args.budget_gib, PAPER["batch_size"])
    exact = [run(folder, int(count), None, ratio) for count in args.exact.split(",") if count]
    # a budget whose chunks hold a quarter of the comparison's images (whole batches)
    batch = PAPER["batch_size"]
    quarter = -(-args.compare // 4 // batch) * batch
    four = (coreset_plan(geometry, args.compare, ratio, None).coreset_bytes + geometry.chunk_peak_bytes(quarter)) / GIB
    exact_scores = run(folder, args.compare, None, ratio, score=True)
    chunked_scores = run(folder, args.compare, four, ratio, score=True)
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU only",
        "configuration": f"wide_resnet50_2 layer2+layer3 at 256 px, coreset {ratio:.0%}, batch 32, random weights",
        "budgeted": {**budgeted, "estimated_peak_gib": round(plan.peak_bytes / GIB, 3),
                     "estimated_chunk_images": plan.chunk_images,
                     "bank_before_coreset_gib": round(geometry.bank_bytes(args.images) / GIB, 3)},
        "anomalib_path": [{**e, "bank_before_coreset_gib": round(geometry.bank_bytes(e["count"]) / GIB, 3),
                           "estimated_peak_gib": round(geometry.chunk_peak_bytes(e["count"]) / GIB, 3)} for e in exact],
        "chunked_vs_exact": {
            "images": args.compare, "chunks": chunked_scores["chunks"],
            "spearman_of_scores": round(float(spearmanr(exact_scores["scores"], chunked_scores["scores"])[0]), 4),
            "mean_relative_score_difference": round(float(np.mean(
                np.abs(np.subtract(chunked_scores["scores"], exact_scores["scores"])) / np.abs(exact_scores["scores"]))), 4),
        },
        "cifar10_class_estimate": {
            "bank_before_coreset_gib": round(geometry.bank_bytes(5000) / GIB, 2),
            "anomalib_path_estimated_peak_gib": round(geometry.chunk_peak_bytes(5000) / GIB, 1),
            "budget_8_gib": coreset_plan(geometry, 5000, 0.1, 8.0, 32).describe(geometry),
        },
    }
    record("patchcore_memory", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
