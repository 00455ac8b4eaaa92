"""What content-derived image-set keys cost, against the feature extraction they guard.

    python benchmarks/content_keys.py [--images 2000] [--repeats 3]

A generated folder of `--images` PNGs (seeded noise, so they compress as little as photos do),
at two sizes: 32×32 (CIFAR-sized: the least work per file for the network, so the worst ratio)
and 256×256 (MVTec-sized after its usual downscale). For each, in this process:

- key: `FileImages(paths).key` with no digest remembered (every file read and hashed with
  SHA-256; the files are in the page cache, as they are after the split lists them);
- key, remembered: the same again (`bench.digest.content_digest` remembers unchanged files
  within a process: only `stat` calls);
- DN2 smoke features: `FeatureExtractor` with DN2's smoke spec (random-init ResNet-18 at
  32 px, batch 256) over the same `FileImages`, with no cache, on the CPU.

Median of `--repeats`; the ratio key / features is the issue's budget (at most 5%).
Figures go to benchmarks/figures/content_keys.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from _common import record


def write_folder(folder: Path, n: int, side: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for index in range(n):
        path = folder / f"{index:05d}.png"
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def figures_for(paths: list[Path], repeats: int) -> dict:
    from bench import digest
    from bench.context import RunContext
    from bench.detectors import SMOKE_FEATURES
    from bench.features import FeatureExtractor, FeatureSpec
    from bench.images import FileImages

    spec = FeatureSpec(SMOKE_FEATURES["backbone"], SMOKE_FEATURES["weights"], SMOKE_FEATURES["image_size"],
                       SMOKE_FEATURES["resize"])
    ctx = RunContext(seed=0, use_cache=False)
    extractor = FeatureExtractor(spec, ctx, batch_size=SMOKE_FEATURES["batch_size"])
    extractor(FileImages(paths[:8]))  # the network built, torch warmed up: not the set's cost

    def cold_key():
        digest._remembered.clear()
        return FileImages(paths).key

    keys, remembered, features = [], [], []
    for _ in range(repeats):
        keys.append(seconds(cold_key))
        remembered.append(seconds(lambda: FileImages(paths).key))
        features.append(seconds(lambda: extractor(FileImages(paths))))
    key_s, features_s = statistics.median(keys), statistics.median(features)
    return {
        "images": len(paths),
        "megabytes": round(sum(p.stat().st_size for p in paths) / 2**20, 1),
        "key_s": round(key_s, 4),
        "key_remembered_s": round(statistics.median(remembered), 4),
        "dn2_smoke_features_s": round(features_s, 3),
        "key_over_features": round(key_s / features_s, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    figures = {"torch_threads": torch.get_num_threads()}
    for side in (32, 256):
        with tempfile.TemporaryDirectory() as folder:
            paths = write_folder(Path(folder), args.images, side)
            time.sleep(2.5)  # past the digest memory's "just written" window, as real data is
            figures[f"png_{side}px"] = figures_for(paths, args.repeats)
    record("content_keys", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
