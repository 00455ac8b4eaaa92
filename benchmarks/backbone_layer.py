"""What the shared backbone layer saves, and what the harness costs.

    python benchmarks/backbone_layer.py [--repeats 3]

A. Feature cache. Digits classes 0–2, in this process through `run_cell`, each setting
   with an empty cache: one frozen-feature method alone, k = 4 methods on the same backbone
   with the cache, and the same 4 without it. Reported as ratios to the single method, at
   the smoke backbone (ResNet-18, 32 px) and a heavier one (ResNet-50, 64 px) where the
   network dominates as it does at paper scale.
B. Harness overhead. One digits cell (DN2, ResNet-18 at 128 px, no cache) through
   `bench run` in a fresh process, against a bare script in a fresh process that builds the
   same split and detector and calls fit, score and roc_auc_score. Median of `--repeats`.

Figures go to benchmarks/figures/backbone_layer.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import record

METHODS = ("dn2", "pyod-knn", "pyod-lof", "pyod-iforest")
CLASSES = "0,1,2"
HEAVY = {"backbone": "resnet50", "image_size": 64, "resize": 64}

BARE = """
import sys, time
from sklearn.metrics import roc_auc_score
from bench.datasets.digits import Digits
from bench.methods.dn2 import DN2
from bench.context import RunContext
from bench.seeding import seed_everything
seed_everything(0)
split = Digits().split(0, RunContext())
params = {**DN2.profiles["smoke"], "image_size": 128, "resize": 128}
ctx = RunContext(seed=0)
scores = DN2(**params).fit(split.train, ctx).score(split.test, ctx)
print(roc_auc_score(split.is_anomaly, scores))
"""


def sweep_seconds(methods, overrides: dict, cache: bool, classes: str = CLASSES) -> float:
    from bench.plan import make_plan
    from bench.runner import run_cell
    from bench.settings import RunSettings

    sets = [f"{m}.{k}={json.dumps(v)}" for m in methods for k, v in overrides.items()]
    cells = make_plan(",".join(methods), "digits", classes=classes, overrides=sets).cells
    with tempfile.TemporaryDirectory() as cache_dir:
        settings = RunSettings(cache_dir=Path(cache_dir) if cache else None)
        start = time.perf_counter()
        for cell in cells:
            assert run_cell(cell, settings)["status"] == "ok"
        return time.perf_counter() - start


def cache_figures(overrides: dict) -> dict:
    sweep_seconds(METHODS, {}, cache=False, classes="0")  # one-time imports are not the methods' cost
    one = sweep_seconds(METHODS[:1], overrides, cache=True)
    cached = sweep_seconds(METHODS, overrides, cache=True)
    uncached = sweep_seconds(METHODS, overrides, cache=False)
    return {
        "one_method_s": round(one, 2),
        "k4_cached_s": round(cached, 2),
        "k4_uncached_s": round(uncached, 2),
        "k4_cached_over_one": round(cached / one, 3),
        "k4_uncached_over_one": round(uncached / one, 3),
    }


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def overhead_figures(repeats: int) -> dict:
    bench, bare = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as results:
            bench.append(wall([
                sys.executable, "-m", "bench", "run", "--methods", "dn2", "--datasets", "digits", "--classes", "0",
                "--no-cache", "--quiet", "--results", results,
                "--set", "dn2.image_size=128", "--set", "dn2.resize=128",
            ]))
        bare.append(wall([sys.executable, "-c", BARE]))
    bench_s, bare_s = statistics.median(bench), statistics.median(bare)
    return {"bench_run_s": round(bench_s, 3), "bare_script_s": round(bare_s, 3), "overhead": round(bench_s / bare_s - 1, 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    figures = {
        "cache_smoke_resnet18_32px": cache_figures({}),
        "cache_resnet50_64px": cache_figures(HEAVY),
        "harness_overhead": overhead_figures(args.repeats),
    }
    record("backbone_layer", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
