"""Fake-quality figures of the embedded near sets' banks, as their records carry them.

    python benchmarks/fake_quality.py [--classes 0,1,2] [--sets digits-fsde,digits-fsgan]

Builds (or reuses, from a fresh cache folder) the test bank of each near set and class —
the digits sets: smoke generators trained for 600 steps, on a CPU — and reports what
`bench.generators.quality` measured: FID/KID (when torch-fidelity's Inception weights are in
the torch hub cache), the Fréchet distance in the smoke backbone (a seeded random ResNet-18
at 32 px) and nearness, with the seconds each bank took. Also, for reference, the same
figures with the held-out real images of the class standing in for the fakes (nearness 0 by
construction, FD the real-vs-real floor at that sample size). Figures go to
benchmarks/figures/fake_quality.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import record


def main() -> None:
    from bench import registry
    from bench.context import RunContext
    from bench.generators.quality import QualityBackbone, measure

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", default="0,1,2")
    parser.add_argument("--sets", default="digits-fsde,digits-fsgan")
    args = parser.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory() as cache:
        ctx = RunContext(cache_dir=Path(cache), profile="smoke")
        for name in args.sets.split(","):
            for normal_class in (int(c) for c in args.classes.split(",")):
                start = time.perf_counter()
                split = registry.datasets.get(name).factory().split(normal_class, ctx)
                quality = split.metadata["test_fakes"]["quality"]
                figures[f"{name}/c{normal_class}"] = {**quality, "seconds": time.perf_counter() - start}
                print(name, normal_class, {k: quality.get(k) for k in ("fid", "fd_backbone", "nearness")}, flush=True)
                if name == args.sets.split(",")[0]:
                    base = registry.datasets.get("digits").factory().split(normal_class, ctx)
                    normal = np.flatnonzero(~base.is_anomaly)
                    half = len(normal) // 2
                    held_out = np.stack([np.asarray(base.test[i].convert("RGB")) for i in normal[:half]])
                    reference = measure(
                        held_out, base.train, ctx, backbone=QualityBackbone.for_profile("smoke"),
                        normal_test=base.test.subset(normal[half:], key=None),
                        anomalies=base.test.subset(np.flatnonzero(base.is_anomaly), key=None),
                    )
                    figures[f"real-held-out/c{normal_class}"] = reference
    record("fake_quality", figures)


if __name__ == "__main__":
    main()
